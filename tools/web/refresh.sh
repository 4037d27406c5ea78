#!/bin/sh
# Vendors Leaflet (the version pinned in package.json) into src/clearance/web/vendor/leaflet:
# leaflet.js, leaflet.css, images/ and the package's LICENSE. The page loads them from
# its own origin; nothing is fetched from another host at run time.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest="$here/../../src/clearance/web/vendor/leaflet"
cd "$here"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
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
