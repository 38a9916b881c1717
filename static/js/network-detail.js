// The network page's sightings map (Leaflet, vendored). No tiles are loaded: the map shows
// the sightings on a plain background so nothing leaves the machine; colour is signal strength.
(function () {
  "use strict";

  function colour(level) {
    if (level === null || level === undefined) return "#6c757d";
    if (level >= -55) return "#dc3545";
    if (level >= -70) return "#fd7e14";
    if (level >= -85) return "#0d6efd";
    return "#6c757d";
  }

  function draw() {
    var el = document.getElementById("network-map");
    if (!el || !window.L || el.dataset.drawn) return;
    el.dataset.drawn = "1";
    var points = JSON.parse(el.getAttribute("data-points") || "[]");
    var map = window.L.map(el, { attributionControl: false, zoomSnap: 0.25 });
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
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
