#!/usr/bin/env bash
# Make sure Debian's Chromium is installed at /usr/bin/chromium, for the browser test of
# the page (tests/e2e/test_page.py drives it with Playwright; `playwright install` is
# never used). Idempotent: installs the `chromium` package with apt-get only when
# /usr/bin/chromium is missing, then prints its version.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ ! -x "$CHROMIUM" ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
  fi
  echo "Chromium not found at $CHROMIUM; installing Debian's chromium package" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
  if [ ! -x "$CHROMIUM" ]; then
    echo "chromium was installed but $CHROMIUM was not found" >&2
    exit 1
  fi
fi
"$CHROMIUM" --version
