// The page's maps: the scenario's own territories, named areas and sites as the base (no
// tiles, no other host), with volumes and flown paths drawn over them. Leaflet is the
// global ``L`` (vendor/leaflet); drawing on the compose map uses Leaflet-Geoman (``map.pm``).
import { api } from "./util.js";

let basePromise = null;

// The scenario's map and vocabulary (GET /v1/scenario/map), fetched once per sign-in.
export function scenarioBase() {
  if (!basePromise) basePromise = api("GET", "/v1/scenario/map").catch((e) => { basePromise = null; throw e; });
  return basePromise;
}

export function forgetBase() {
  basePromise = null;
}

// Names from the scenario go into the map as text, never as HTML.
export function text(value) {
  const span = document.createElement("span");
  span.textContent = String(value);
  return span;
}

export const REGION = [[4, -12], [26, 26]];  // the Sahel and its neighbours

export const VOLUME_STYLE = { className: "volume", color: "#0b5cad", weight: 2, fillOpacity: 0.2 };

export async function makeMap(elementId) {
  const base = await scenarioBase();
  const map = L.map(elementId, { attributionControl: false, zoomSnap: 0.5 }).fitBounds(REGION);
  // The base map takes no clicks (they go to the map, for drawing) and is no snapping target.
  L.geoJSON(base.territories, {
    pmIgnore: true,
    snapIgnore: true,
    interactive: false,
    style: { className: "territory", color: "#7a8794", weight: 1, fillColor: "#fdfcf7", fillOpacity: 0.9 },
    onEachFeature: (feature, layer) => layer.bindTooltip(text(feature.properties.party),
      { permanent: true, direction: "center", className: "party-label" }),
  }).addTo(map);
  L.geoJSON(base.areas, {
    pmIgnore: true,
    snapIgnore: true,
    interactive: false,
    style: { className: "area", color: "#8a5a00", weight: 1, dashArray: "4 4", fillOpacity: 0.05 },
    // the name above the area, not over it, where a request's volumes are drawn
    onEachFeature: (feature, layer) => {
      const bounds = layer.getBounds();
      map.openTooltip(text(feature.properties.name), [bounds.getNorth(), bounds.getCenter().lng],
        { permanent: true, direction: "top", className: "area-label" });
    },
  }).addTo(map);
  for (const site of base.sites) {
    L.circleMarker([site.lat, site.lng], { pmIgnore: true, snapIgnore: true, interactive: false, className: "site", radius: 5, color: "#1b1f23", fillOpacity: 1 })
      .bindTooltip(text(site.name), { permanent: true, direction: "right", className: "site-label" }).addTo(map);
  }
  return map;
}

// A Leaflet layer for an F3548 Volume4D's outline, or null when it has none we can draw.
export function volumeLayer(v, style = VOLUME_STYLE) {
  const outline = (v && v.volume) || {};
  if (outline.outline_circle && outline.outline_circle.center) {
    const c = outline.outline_circle;
    return L.circle([c.center.lat, c.center.lng], { ...style, radius: Number(c.radius && c.radius.value) || 0 });
  }
  if (outline.outline_polygon && Array.isArray(outline.outline_polygon.vertices)) {
    return L.polygon(outline.outline_polygon.vertices.map((p) => [p.lat, p.lng]), style);
  }
  return null;
}

// Show ``group`` with enough around it to see whose territory it is over.
export function fitAround(map, group) {
  map.invalidateSize();  // the section may have been hidden when the map was made
  if (group.getLayers().length) map.fitBounds(group.getBounds().pad(2.5), { maxZoom: 8, animate: false });
  else map.fitBounds(REGION, { animate: false });
}
