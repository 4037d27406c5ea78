#!/bin/sh
# Vendors the page's front-end packages (versions pinned in package.json) into
# src/clearance/web/vendor: Leaflet (leaflet.js, leaflet.css, images/, LICENSE) and
# Leaflet-Geoman, which draws circles and polygons on the map (its bundled build, its
# LICENSE and the licences of the packages bundled into it). The page loads them from its
# own origin; nothing is fetched from another host at run time, and running the page
# needs no Node. Swagger UI (swagger-ui-dist: its bundle, CSS, LICENSE, NOTICE and the
# licence notes of what the bundle holds) goes to src/clearance/web/vendor/swagger-ui for
# the API docs at /docs. The browser tests' accessibility checker, axe-core, goes to
# tests/e2e/vendor/axe-core (axe.min.js and its licence); the page never loads it.
# No install scripts run (swagger-ui-dist's dependency @scarf/scarf would report the
# install to its vendor; only files are copied from these packages).
set -eu
export SCARF_ANALYTICS=false
here=$(cd "$(dirname "$0")" && pwd)
vendor="$here/../../src/clearance/web/vendor"
dest="$vendor/leaflet"
cd "$here"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --ignore-scripts
else
  npm install --no-audit --no-fund --ignore-scripts
  # Keep versions and integrity hashes only: no registry URLs in the repository.
  node -e '
    const fs = require("fs");
    const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
    for (const entry of Object.values(lock.packages || {})) delete entry.resolved;
    fs.writeFileSync("package-lock.json", JSON.stringify(lock, null, 2) + "\n");
  '
fi
src=node_modules/leaflet
rm -rf "$dest"
mkdir -p "$dest/images"
cp "$src/dist/leaflet.js" "$src/dist/leaflet.css" "$dest/"
cp "$src/dist/images/"*.png "$dest/images/"
cp "$src/LICENSE" "$dest/LICENSE"
echo "Leaflet $(node -p 'require("./node_modules/leaflet/package.json").version') -> $dest"

geoman=node_modules/@geoman-io/leaflet-geoman-free
gdest="$vendor/geoman"
rm -rf "$gdest"
mkdir -p "$gdest/licenses"
cp "$geoman/dist/leaflet-geoman.min.js" "$geoman/dist/leaflet-geoman.css" "$gdest/"
cp "$geoman/LICENSE" "$gdest/LICENSE"
# the build bundles its dependencies: keep each one's licence beside it
for pkg in $(cd node_modules && ls -d */ @*/*/ | sed 's:/$::' \
    | grep -v -e '^@[^/]*$' -e '^leaflet$' -e '^axe-core$' -e '^@geoman-io/' -e '^@types/' \
        -e '^swagger-ui-dist$' -e '^@scarf/'); do
  licence=$(ls "node_modules/$pkg" | grep -i -m1 '^licen[cs]e' || true)
  if [ -z "$licence" ]; then echo "no licence file in $pkg" >&2; exit 1; fi
  cp "node_modules/$pkg/$licence" "$gdest/licenses/$(echo "$pkg" | tr / _).LICENSE"
done
echo "Leaflet-Geoman $(node -p "require('./$geoman/package.json').version") -> $gdest"

swagger=node_modules/swagger-ui-dist
sdest="$vendor/swagger-ui"
rm -rf "$sdest"
mkdir -p "$sdest"
cp "$swagger/swagger-ui-bundle.js" "$swagger/swagger-ui.css" "$swagger/LICENSE" "$swagger/NOTICE" \
  "$swagger/swagger-ui-bundle.js.LICENSE.txt" "$sdest/"
echo "Swagger UI $(node -p "require('./$swagger/package.json').version") -> $sdest"

axe=node_modules/axe-core
adest="$here/../../tests/e2e/vendor/axe-core"
rm -rf "$adest"
mkdir -p "$adest"
cp "$axe/axe.min.js" "$axe/LICENSE" "$adest/"
echo "axe-core $(node -p "require('./$axe/package.json').version") -> $adest"
