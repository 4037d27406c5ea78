// Regenerates examples/niger/territories.geojson from Natural Earth 1:50m
// country borders shipped in the world-atlas npm package.
// Usage: cd tools/borders && npm ci && node build.mjs
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { feature } from "topojson-client";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const OUT = resolve(here, "../../examples/niger/territories.geojson");
const SOURCE = "Natural Earth 1:50m via world-atlas@2.0.2";
const DECIMALS = 5;

// ISO 3166-1 alpha-2 -> [name, numeric code as used for world-atlas ids]
const COUNTRIES = [
  ["NE", "Niger", "562"],
  ["ML", "Mali", "466"],
  ["DZ", "Algeria", "012"],
  ["LY", "Libya", "434"],
  ["TD", "Chad", "148"],
  ["NG", "Nigeria", "566"],
  ["BJ", "Benin", "204"],
  ["BF", "Burkina Faso", "854"],
  ["MR", "Mauritania", "478"],
  ["SN", "Senegal", "686"],
  ["GN", "Guinea", "324"],
  ["CI", "Côte d'Ivoire", "384"],
];

const topo = JSON.parse(
  readFileSync(require.resolve("world-atlas/countries-50m.json"), "utf8"),
);
const all = feature(topo, topo.objects.countries).features;

// Ids are zero-padded strings ("012"); normalise both sides to be safe.
const norm = (id) => String(id ?? "").padStart(3, "0");
const byId = new Map(all.map((f) => [norm(f.id), f]));

const scale = 10 ** DECIMALS;
const round = (v) => Math.round(v * scale) / scale;

function roundRing(ring) {
  const out = [];
  for (const [x, y] of ring) {
    const p = [round(x), round(y)];
    const last = out[out.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) out.push(p);
  }
  return out;
}

function roundGeometry(g) {
  switch (g.type) {
    case "Polygon":
      return { type: g.type, coordinates: g.coordinates.map(roundRing) };
    case "MultiPolygon":
      return {
        type: g.type,
        coordinates: g.coordinates.map((poly) => poly.map(roundRing)),
      };
    default:
      throw new Error(`unexpected geometry type ${g.type}`);
  }
}

const missing = [];
const features = [];
for (const [party, name, iso] of COUNTRIES) {
  const f = byId.get(norm(iso));
  if (!f || !f.geometry) {
    missing.push(`${party} ${name} (${iso})`);
    continue;
  }
  features.push({
    type: "Feature",
    id: party,
    properties: { party, name, iso_n3: iso, source: SOURCE },
    geometry: roundGeometry(f.geometry),
  });
}

if (missing.length) {
  console.error(`missing countries in countries-50m.json: ${missing.join(", ")}`);
  process.exit(1);
}

const body = features.map((f) => JSON.stringify(f)).join(",\n");
const text = `{"type":"FeatureCollection","features":[\n${body}\n]}\n`;
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, text);
console.log(`wrote ${features.length} features to ${OUT} (${text.length} bytes)`);
