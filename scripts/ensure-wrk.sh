#!/usr/bin/env bash
# Make sure `wrk` (the HTTP load tool bench/api_load.py --wrk checks its figures with) is
# installed. Idempotent: installs Debian's `wrk` package with apt-get only when missing,
# then prints where it is. The bench's small mode never needs it.
set -euo pipefail

if ! command -v wrk >/dev/null 2>&1; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
  fi
  echo "wrk not found; installing Debian's wrk package" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk
fi
echo "wrk: $(command -v wrk)"
