#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries (initdb, pg_ctl, postgres) are installed, for the
# integration tests that start a throwaway server. Idempotent: installs Debian's
# `postgresql` package with apt-get only when no initdb can be found, then prints where
# the binaries are.
set -euo pipefail

find_bin_dir() {
  local candidate dir
  for candidate in $(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V -r) \
    /usr/local/bin/initdb "$(command -v initdb 2>/dev/null || true)"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    dir=$(dirname "$(readlink -f "$candidate")")
    if [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

if ! bin_dir=$(find_bin_dir); then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
  fi
  echo "PostgreSQL not found; installing Debian's postgresql package" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
  if ! bin_dir=$(find_bin_dir); then
    echo "postgresql was installed but no initdb/pg_ctl/postgres was found" >&2
    exit 1
  fi
fi
echo "PostgreSQL binaries: $bin_dir ($("$bin_dir/postgres" --version))"
