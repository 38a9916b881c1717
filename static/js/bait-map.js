// The canary token page's map of sources (Leaflet, vendored) over the offline country
// outlines (static/js/basemap.js). Locations are country-level (geoip2fast), so a dot is the
// country's representative place, sized by hits and coloured by threat level.
(function () {
  "use strict";

  var COLOURS = { critical: "#dc3545", high: "#fd7e14", medium: "#0d6efd" };

  // Leaflet puts a string tooltip in as HTML; pass a text node instead.
  function text(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span;
  }

  function draw() {
    var el = document.getElementById("bait-map");
    if (!el || !window.L || el.dataset.drawn) return;
    el.dataset.drawn = "1";
    var points = JSON.parse(el.getAttribute("data-points") || "[]");
    var map = window.L.map(el, { zoomSnap: 0.25, maxZoom: 8, worldCopyJump: true });
    if (window.VigilBasemap) window.VigilBasemap.add(map, el, null, null);
    var layer = window.L.featureGroup().addTo(map);
    points.forEach(function (p) {
      window.L.circleMarker([p.lat, p.lon], { radius: Math.min(18, 5 + 2 * Math.log2(p.hits)), weight: 1,
        color: COLOURS[p.level] || "#6c757d", fillOpacity: 0.7 })
        .bindTooltip(text(p.ip + " · " + p.place + " · " + p.hits + " hit(s)"))
        .addTo(layer);
    });
    if (points.length) {
      map.fitBounds(layer.getBounds(), { padding: [24, 24], maxZoom: 4 });
    } else {
      map.setView([20, 0], 1);
    }
    el.dataset.markers = String(points.length);
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
