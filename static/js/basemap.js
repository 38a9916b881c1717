/* The basemap under both wireless maps (templates/wireless/map.html and network_detail.html).
   The page's data attributes say what to draw (app/wireless/basemap.py):
     data-pmtiles-url  a self-hosted PMTiles file (protomaps-leaflet, vendored), or
     data-tile-url     online raster tiles (OpenStreetMap's standard tiles by default), or
     neither           the shipped country and US state outlines (tiles switched off).
   When online tiles fail before any has loaded (no internet, blocked host), the tile layer
   is dropped and the outlines are drawn instead, with a note saying so. The element records
   what it shows in data-basemap ("tiles", "pmtiles", "outlines") and counts drawn tiles in
   data-tiles-loaded, so the browser tests can tell. */
(function () {
  "use strict";

  /* world-atlas rings that cross the antimeridian jump from +180 to -180; Leaflet would draw
     that jump as a stripe across the map. Unwrapping keeps each ring continuous (Chukotka
     and Fiji continue past 180), and a ring that goes all the way round (Antarctica) is
     closed along the pole instead of straight back across the map. */
  function unwrapRing(ring) {
    var out = [], offset = 0, i, lon, prev;
    for (i = 0; i < ring.length; i++) {
      lon = ring[i][0];
      if (i > 0) {
        prev = ring[i - 1][0];
        if (lon - prev > 180) { offset -= 360; } else if (lon - prev < -180) { offset += 360; }
      }
      out.push([lon + offset, ring[i][1]]);
    }
    if (out.length && Math.abs(out[out.length - 1][0] - out[0][0]) >= 180) {
      var pole = out[0][1] < 0 ? -90 : 90;
      out.push([out[out.length - 1][0], pole], [out[0][0], pole], out[0]);
    }
    return out;
  }

  function unwrapGeometry(geometry) {
    if (!geometry) { return geometry; }
    if (geometry.type === "Polygon") {
      return { type: "Polygon", coordinates: geometry.coordinates.map(unwrapRing) };
    }
    if (geometry.type === "MultiPolygon") {
      return { type: "MultiPolygon", coordinates: geometry.coordinates.map(function (p) { return p.map(unwrapRing); }) };
    }
    return geometry;
  }

  function outlines(url, object, style) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (topo) {
      var fc = window.topojson.feature(topo, topo.objects[object]);
      fc.features.forEach(function (f) { f.geometry = unwrapGeometry(f.geometry); });
      return L.geoJSON(fc, { style: style, interactive: false });
    });
  }

  function note(status, message) {
    if (!status) { return; }
    status.textContent = message;
    status.classList.toggle("d-none", !message);
  }

  function drawOutlines(map, el, control, status) {
    el.dataset.basemap = "outlines";
    map.getContainer().classList.add("offline-basemap");
    if (!el.dataset.countriesUrl || !window.topojson) { return Promise.resolve(); }
    var countries = null;
    return outlines(el.dataset.countriesUrl, "countries", { color: "#64748b", weight: 1, fillColor: "#e2e8f0", fillOpacity: 1 })
      .then(function (layer) {
        countries = layer;
        layer.addTo(map); layer.bringToBack();
        if (control) { control.addOverlay(layer, "Countries"); }
        if (!el.dataset.statesUrl) { return null; }
        return outlines(el.dataset.statesUrl, "states", { color: "#94a3b8", weight: 0.6, fill: false });
      })
      .then(function (layer) {
        // State lines above the country fills, both below the data.
        if (layer) { layer.addTo(map); layer.bringToBack(); countries.bringToBack(); if (control) { control.addOverlay(layer, "US states"); } }
      })
      .catch(function (err) { note(status, "The offline outlines could not be loaded: " + err.message); });
  }

  function drawTiles(map, el, control, status) {
    var loaded = 0, failedOver = false;
    var tiles = L.tileLayer(el.dataset.tileUrl, {
      maxZoom: 19,
      attribution: el.dataset.attribution || "",
      // The page sends no referrer elsewhere (Referrer-Policy: same-origin), but the
      // OpenStreetMap tile policy asks for one: send only this console's origin.
      referrerPolicy: "strict-origin-when-cross-origin"
    });
    el.dataset.basemap = "tiles";
    el.dataset.tilesLoaded = "0";
    tiles.on("tileload", function () { loaded += 1; el.dataset.tilesLoaded = String(loaded); });
    tiles.on("tileerror", function () {
      if (loaded || failedOver) { return; }  // a single missing tile on a working server is no outage
      failedOver = true;
      map.removeLayer(tiles);
      if (control) { control.removeLayer(tiles); }
      note(status, "The map tiles could not be loaded (no internet, or the tile server is blocked): showing the offline country outlines.");
      drawOutlines(map, el, control, status);
    });
    tiles.addTo(map);
    if (control) { control.addBaseLayer(tiles, "Streets"); }
  }

  // PMTiles v3 header: byte 101 is the archive's highest zoom. Extracts made for air-gapped
  // sites often stop below 15 (protomaps-leaflet's default), so tiles past it are over-zoomed
  // from the deepest level the file has instead of being asked for and missing.
  var PMTILES_MAX_ZOOM_BYTE = 101;

  function pmtilesMaxZoom(url) {
    return fetch(url, { headers: { Range: "bytes=0-126" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.arrayBuffer(); })
      .then(function (buf) {
        var bytes = new Uint8Array(buf);
        if (String.fromCharCode.apply(null, bytes.slice(0, 7)) !== "PMTiles") { throw new Error("not a PMTiles file"); }
        return bytes[PMTILES_MAX_ZOOM_BYTE];
      });
  }

  function drawPmtiles(map, el, control, status) {
    var dark = document.documentElement.getAttribute("data-bs-theme") === "dark";
    el.dataset.basemap = "pmtiles";
    pmtilesMaxZoom(el.dataset.pmtilesUrl).then(function (maxZoom) {
      var layer = window.protomapsL.leafletLayer({
        url: el.dataset.pmtilesUrl, flavor: dark ? "dark" : "light", lang: "en", maxDataZoom: maxZoom,
        attribution: el.dataset.attribution || ""
      });
      // protomaps-leaflet 5.1 reads maxDataZoom 0 as "not given" (15) and would ask for tiles
      // a world-only archive does not have: give its views the archive's real depth.
      layer.views.forEach(function (view) { view.maxDataLevel = maxZoom; });
      layer.addTo(map);
      el.dataset.pmtilesMaxZoom = String(maxZoom);
      if (control) { control.addBaseLayer(layer, "Streets (self-hosted)"); }
    }).catch(function (err) {
      note(status, "The self-hosted basemap could not be read (" + err.message + "): showing the offline country outlines.");
      drawOutlines(map, el, control, status);
    });
  }

  /* Draw the basemap for `el` on `map`; `control` (a layers control) and `status` (an element
     for messages) are optional. */
  function add(map, el, control, status) {
    if (el.dataset.pmtilesUrl && window.protomapsL) {
      drawPmtiles(map, el, control, status);
    } else if (el.dataset.tileUrl) {
      drawTiles(map, el, control, status);
    } else {
      drawOutlines(map, el, control, status);
    }
  }

  window.VigilBasemap = { add: add };
})();
