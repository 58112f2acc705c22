#!/usr/bin/env bash
# Set-up shared by `make demo` and `make test`: the virtualenv with the package and its test tools, then
# every scripts/setup-*.sh (system and npm tools each feature needs: anvil/solc, chromium, java, ...).
set -euo pipefail
PY=${1:-python3}
VENV=${2:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[test]"
for extra in scripts/setup-*.sh; do
  [ -e "$extra" ] || continue
  echo "== $extra"
  bash "$extra" "$VENV"
done
