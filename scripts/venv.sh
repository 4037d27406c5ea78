# Sourced by ./run and ./test: make .venv (Python >= 3.11) and install the project into
# it when pyproject.toml changed since the last install. Needs only python3 on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CLEARANCE_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "error: Clearance needs Python 3.11 or newer; $PY is $("$PY" --version 2>&1)" >&2
  exit 2
}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi

# $1: extras to install ("" or "dev"); reinstalls only when pyproject.toml changes.
install_project() {
  local extras="$1" spec="$ROOT" stamp
  [ -n "$extras" ] && spec="$ROOT[$extras]"
  stamp="$VENV/.clearance-installed-${extras:-base}"
  # The dev install (./test) includes the base one (./run).
  if [ -z "$extras" ] && cmp -s "$ROOT/pyproject.toml" "$VENV/.clearance-installed-dev" 2>/dev/null; then
    return 0
  fi
  if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/pyproject.toml" "$stamp"; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec" >&2
    cp "$ROOT/pyproject.toml" "$stamp"
  fi
}
