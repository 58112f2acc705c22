#!/usr/bin/env bash
# Set-up for the web UI and the browser tests (run by scripts/setup.sh as `bash scripts/setup-web.sh .venv`):
#  1. Debian's chromium (Playwright drives it via executable_path; `playwright install` downloads are blocked),
#  2. the UI's npm packages (pinned in src/chainsleuth/web/package.json) into .tools/web/node_modules,
#  3. the built JS copied into the package (src/chainsleuth/web/static/vendor/) with its licence, so the UI
#     needs no CDN at run time and the package works after `pip install`.
set -euo pipefail
VENV=${1:-.venv}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian chromium"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null
  fi
fi
command -v chromium >/dev/null || { echo "setup-web: chromium still missing" >&2; exit 1; }

WEB_TOOLS=.tools/web
VENDOR=src/chainsleuth/web/static/vendor
mkdir -p "$WEB_TOOLS" "$VENDOR"
cp src/chainsleuth/web/package.json "$WEB_TOOLS/package.json"
if [ ! -f "$WEB_TOOLS/node_modules/cytoscape/dist/cytoscape.min.js" ] || \
   ! cmp -s src/chainsleuth/web/package.json "$WEB_TOOLS/.installed-package.json"; then
  npm install --prefix "$WEB_TOOLS" --no-audit --no-fund --loglevel=error
  cp src/chainsleuth/web/package.json "$WEB_TOOLS/.installed-package.json"
fi
cp "$WEB_TOOLS/node_modules/cytoscape/dist/cytoscape.min.js" "$VENDOR/cytoscape.min.js"
cp "$WEB_TOOLS/node_modules/cytoscape/LICENSE" "$VENDOR/cytoscape.LICENSE.txt"
echo "cytoscape $(node -p "require('./$WEB_TOOLS/node_modules/cytoscape/package.json').version") from the npm registry" \
  > "$VENDOR/SOURCE"
echo "setup-web: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), vendored UI libraries in $VENDOR"
