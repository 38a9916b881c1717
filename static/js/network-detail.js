// The network page's sightings map (Leaflet, vendored) on the same basemap as the big map
// (static/js/basemap.js: streets, a self-hosted PMTiles file, or the offline outlines);
// colour is signal strength; home and the nearest agency office give the dots a reference.
(function () {
  "use strict";

  function colour(level) {
    if (level === null || level === undefined) return "#6c757d";
    if (level >= -55) return "#dc3545";
    if (level >= -70) return "#fd7e14";
    if (level >= -85) return "#0d6efd";
    return "#6c757d";
  }

  // Leaflet puts a string tooltip in as HTML; names are user-entered, so pass text nodes.
  function text(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span;
  }

  function draw() {
    var el = document.getElementById("network-map");
    if (!el || !window.L || el.dataset.drawn) return;
    el.dataset.drawn = "1";
    var points = JSON.parse(el.getAttribute("data-points") || "[]");
    var map = window.L.map(el, { zoomSnap: 0.25, maxZoom: 19 });
    if (window.VigilBasemap) window.VigilBasemap.add(map, el, null, null);
    var layer = window.L.featureGroup().addTo(map);
    points.forEach(function (p) {
      window.L.circleMarker([p.lat, p.lon], { radius: 4, weight: 1, color: colour(p.level), fillOpacity: 0.7 })
        .bindTooltip(p.t.replace("T", " ").slice(0, 16) + " UTC, " + (p.level === null ? "?" : p.level) + " dBm")
        .addTo(layer);
    });
    if (points.length) {
      map.fitBounds(layer.getBounds(), { padding: [12, 12], maxZoom: 17 });
    } else {
      map.setView([0, 0], 1);
    }
    // Home (with its radius) and the nearest agency office, for "near what" (drawn once the sightings
    // have set the view: Leaflet cannot place a circle on a map without one).
    var places = JSON.parse(el.getAttribute("data-places") || "{}");
    if (places.home) {
      window.L.circle([places.home.lat, places.home.lon], { radius: places.home.radius_km * 1000, color: "#198754", weight: 1, fillOpacity: 0.08, interactive: false }).addTo(map);
      window.L.circleMarker([places.home.lat, places.home.lon], { radius: 6, weight: 2, color: "#198754", fillOpacity: 0.9 })
        .bindTooltip(text("Home: " + places.home.name)).addTo(map);
    }
    if (places.office) {
      var square = window.L.divIcon({ className: "network-map-office", iconSize: [12, 12] });
      window.L.marker([places.office.lat, places.office.lon], { icon: square, keyboard: false })
        .bindTooltip(text("Agency office: " + places.office.name)).addTo(map);
    }
    layer.bringToFront();  // the sightings stay hoverable over the home disc
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
