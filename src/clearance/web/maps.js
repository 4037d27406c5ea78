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
// another operation's volume in a conflict: drawn, never edited or snapped to
export const OTHER_STYLE = { className: "other-volume", color: "#a4161a", weight: 2, dashArray: "6 4", fillOpacity: 0.15, pmIgnore: true, snapIgnore: true };
const BASE = { pmIgnore: true, snapIgnore: true, interactive: false };

export async function makeMap(elementId) {
  const base = await scenarioBase();
  const map = L.map(elementId, { attributionControl: false, zoomSnap: 0.5 }).fitBounds(REGION);
  L.control.scale({ metric: true, imperial: false, maxWidth: 150 }).addTo(map);
  // The base map takes no clicks (they go to the map, for drawing) and is no snapping target.
  const territories = L.geoJSON(base.territories, {
    ...BASE,
    style: { className: "territory", color: "#7a8794", weight: 1, fillColor: "#fdfcf7", fillOpacity: 0.9 },
  }).addTo(map);
  countryLabels(map, territories);
  L.geoJSON(base.areas, {
    ...BASE,
    style: { className: "area", color: "#8a5a00", weight: 1, dashArray: "4 4", fillOpacity: 0.05 },
    // the name above the area, not over it, where a request's volumes are drawn
    onEachFeature: (feature, layer) => {
      const bounds = layer.getBounds();
      map.openTooltip(text(feature.properties.name), [bounds.getNorth(), bounds.getCenter().lng],
        { permanent: true, direction: "top", className: "area-label" });
    },
  }).addTo(map);
  for (const site of base.sites) {
    L.circleMarker([site.lat, site.lng], { ...BASE, className: "site", radius: 5, color: "#1b1f23", fillOpacity: 1 })
      .bindTooltip(text(site.name), { permanent: true, direction: "right", className: "site-label" }).addTo(map);
  }
  return map;
}

// ---- country names at every zoom -----------------------------------------------------
// Each territory is named once, inside the part of it that is on screen: its outline is
// clipped to the view (Leaflet's own Sutherland-Hodgman clipping, in screen pixels), the
// largest visible piece is kept, and the name goes at the point of that piece farthest
// from its edges (a grid search, refined around the best cell). A country too little of
// which is visible to hold its name is not named.
const LABEL_MARGIN_PX = 12;
const LABEL_MIN_AREA_PX = 1500;

function countryLabels(map, territories) {
  const labels = [];
  territories.eachLayer((layer) => {
    const marker = L.marker([0, 0], {
      ...BASE, keyboard: false,
      icon: L.divIcon({ className: "party-label", html: text(layer.feature.properties.name), iconSize: null }),
    });
    marker.feature = layer.feature;
    labels.push({ layer, marker });
  });
  const place = () => {
    const size = map.getSize();
    if (!size.x || !size.y) return;  // hidden: placed again when shown
    const topLeft = map.containerPointToLayerPoint([LABEL_MARGIN_PX, LABEL_MARGIN_PX]);
    const bottomRight = map.containerPointToLayerPoint([size.x - LABEL_MARGIN_PX, size.y - LABEL_MARGIN_PX]);
    const view = L.bounds(topLeft, bottomRight);
    for (const { layer, marker } of labels) {
      const spot = labelSpot(map, layer, view);
      if (spot) {
        marker.setLatLng(map.layerPointToLatLng(spot));
        if (!map.hasLayer(marker)) marker.addTo(map);
      } else if (map.hasLayer(marker)) {
        marker.remove();
      }
    }
  };
  map.on("moveend zoomend resize viewreset", place);
  place();
}

function outerRings(latlngs) {
  // Polygon: [outer, holes...]; MultiPolygon: [[outer, holes...], ...]
  if (L.LineUtil.isFlat(latlngs)) return [latlngs];
  if (L.LineUtil.isFlat(latlngs[0])) return [latlngs[0]];
  return latlngs.map((polygon) => polygon[0]);
}

function area(points) {
  let sum = 0;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    sum += (points[j].x + points[i].x) * (points[j].y - points[i].y);
  }
  return Math.abs(sum / 2);
}

function inside(p, points) {
  let within = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const a = points[i], b = points[j];
    if ((a.y > p.y) !== (b.y > p.y) && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) within = !within;
  }
  return within;
}

function edgeDistance(p, points) {
  let best = Infinity;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    best = Math.min(best, L.LineUtil.pointToSegmentDistance(p, points[j], points[i]));
  }
  return best;
}

function labelSpot(map, layer, view) {
  let piece = null, pieceArea = 0;
  for (const ring of outerRings(layer.getLatLngs())) {
    const projected = ring.map((ll) => map.latLngToLayerPoint(ll));
    const clipped = L.PolyUtil.clipPolygon(projected, view);
    const a = clipped.length > 2 ? area(clipped) : 0;
    if (a > pieceArea) { piece = clipped; pieceArea = a; }
  }
  if (!piece || pieceArea < LABEL_MIN_AREA_PX) return null;
  const box = L.bounds(piece);
  let best = null, bestDistance = -1;
  const search = (min, max, steps) => {
    for (let i = 0; i <= steps; i++) {
      for (let k = 0; k <= steps; k++) {
        const p = L.point(min.x + ((max.x - min.x) * i) / steps, min.y + ((max.y - min.y) * k) / steps);
        if (!inside(p, piece)) continue;
        const d = edgeDistance(p, piece);
        if (d > bestDistance) { best = p; bestDistance = d; }
      }
    }
  };
  search(box.min, box.max, 16);
  if (!best) return null;
  const cell = box.getSize().divideBy(16);
  search(best.subtract(cell), best.add(cell), 8);
  return best;
}

// ---- volumes, sites and ranges -------------------------------------------------------

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

// The other side of a conflict (``conflicts`` of a request or an evaluation): its volume
// when the viewer may see it, else the box of its extent; labelled with its window.
export function conflictLayers(conflicts) {
  return (conflicts || []).map((c) => {
    const e = c.extent;
    const layer = (c.other && volumeLayer(c.other, OTHER_STYLE))
      || L.rectangle([[e.south, e.west], [e.north, e.east]], OTHER_STYLE);
    const whose = c.visible ? `request ${c.request}, volume ${c.other_volume}` : "another operator's operation (its extent and time only)";
    layer.bindTooltip(text(`${whose}: ${c.time_start} to ${c.time_end}, ${e.altitude_lower_m}–${e.altitude_upper_m} m`));
    return layer;
  });
}

// The launch site, marked, and the circle the aircraft can reach from it (its combat
// radius), or nothing when either is unknown.
export async function siteRangeLayers(siteId, aircraftId) {
  const base = await scenarioBase();
  const site = base.sites.find((s) => s.id === siteId);
  if (!site) return [];
  const layers = [L.circleMarker([site.lat, site.lng], { ...BASE, className: "launch-site", radius: 8, color: "#0b5cad", weight: 3, fillOpacity: 0 })];
  const aircraft = base.aircraft.find((a) => a.id === aircraftId);
  if (aircraft && aircraft.combat_radius_m) {
    layers.push(L.circle([site.lat, site.lng], { ...BASE, className: "range", radius: aircraft.combat_radius_m, color: "#0b5cad", weight: 1.5, dashArray: "2 6", fill: false })
      .bindTooltip(text(`${aircraft.id} (${aircraft.type}) from ${site.name}: ${Math.round(aircraft.combat_radius_m / 1000)} km combat radius`), { sticky: true }));
  }
  return layers;
}

// Show ``group`` with enough around it to see whose territory it is over.
export function fitAround(map, group) {
  map.invalidateSize();  // the section may have been hidden when the map was made
  if (group.getLayers().length) map.fitBounds(group.getBounds().pad(2.5), { maxZoom: 8, animate: false });
  else map.fitBounds(REGION, { animate: false });
}
