#!/usr/bin/env bash
# Install dash.js (the npm package pinned in web/abr/package.json and package-lock.json) for the ABR demo
# page. The service serves web/abr/node_modules/dashjs/dist/modern/umd/dash.all.min.js from there; nothing
# is committed and nothing comes from a CDN. With --copy, also copy it into the package's static/vendor/
# folder (for a wheel or an installed reelkit that has no web/ folder beside it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here/web/abr"
if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  # Debian's npm, as `make test` installs Debian's chromium: a fresh machine gets the demo page's player too
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null) \
    || echo "note: could not install npm with apt-get" >&2
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "note: npm is not installed; the ABR demo page and its browser test need dash.js (skipped)" >&2
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
src="node_modules/dashjs/dist/modern/umd/dash.all.min.js"
test -f "$src" || { echo "error: $src is missing after npm ci" >&2; exit 1; }
if [[ "${1:-}" == "--copy" ]]; then
  dest="$here/src/reelkit/service/static/vendor"
  mkdir -p "$dest"
  cp "$src" "$dest/dash.all.min.js"
  cp node_modules/dashjs/LICENSE.md "$dest/dashjs-LICENSE.md"
  # the notices of what the bundle includes (buffer, ieee754, codem-isoboxer, ...), which its first line names
  cp "$src.LICENSE.txt" "$dest/dash.all.min.js.LICENSE.txt"
  echo "copied dash.js $(node -p "require('./node_modules/dashjs/package.json').version") to $dest"
else
  echo "dash.js $(node -p "require('./node_modules/dashjs/package.json').version") installed in web/abr/node_modules"
fi
