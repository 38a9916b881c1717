/* The wireless map (templates/wireless/map.html): the basemap (static/js/basemap.js), then
   networks and sightings clustered and coloured by threat level, a heat layer, home with its
   radius, routes and agency offices. The data requests carry the view (bbox and zoom): the
   server answers clusters when many networks are in view, so no answer grows with the data. Every data URL comes from the page's data attributes
   and carries the filter form's query, so the map shows exactly what the explorer lists.
   No inline script or style anywhere: colours are set through Leaflet options and classes. */
(function () {
  "use strict";

  var COLOURS = { CRITICAL: "#b91c1c", HIGH: "#ea580c", MEDIUM: "#ca8a04", LOW: "#2563eb", NONE: "#6b7280", UNSCORED: "#9ca3af" };
  var RANK = { CRITICAL: 5, HIGH: 4, MEDIUM: 3, LOW: 2, NONE: 1, UNSCORED: 0 };

  function levelOf(props) { return (props && COLOURS[props.level]) ? props.level : "UNSCORED"; }

  function showStatus(el, message) {
    if (!el) { return; }
    el.textContent = message;
    el.classList.toggle("d-none", !message);
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error((body && body.error && body.error.message) || ("HTTP " + r.status)); }
        return body;
      });
    });
  }

  function withQuery(url, extra) {
    var params = new URLSearchParams(window.location.search);
    Object.keys(extra || {}).forEach(function (k) { params.set(k, extra[k]); });
    var q = params.toString();
    return q ? url + (url.indexOf("?") >= 0 ? "&" : "?") + q : url;
  }

  function clusterIcon(cluster) {
    var worst = "UNSCORED";
    cluster.getAllChildMarkers().forEach(function (m) {
      if (RANK[m.options.threatLevel] > RANK[worst]) { worst = m.options.threatLevel; }
    });
    var n = cluster.getChildCount();
    return L.divIcon({ html: "<span>" + n + "</span>", className: "threat-cluster level-" + worst,
                       iconSize: L.point(36, 36) });
  }

  function popupFor(props) {
    var box = document.createElement("div");
    var title = document.createElement(props.url ? "a" : "strong");
    if (props.url) { title.href = props.url; }
    title.textContent = props.ssid || "(hidden)";
    box.appendChild(title);
    var lines = [props.bssid, (props.level || "UNSCORED") + (props.score != null ? " " + Math.round(props.score) : ""),
                 props.manufacturer, props.time, props.signal != null ? props.signal + " dBm" : null];
    lines.forEach(function (text) {
      if (text) { var d = document.createElement("div"); d.className = "small"; d.textContent = text; box.appendChild(d); }
    });
    return box;
  }

  function pointLayer(fc, radius) {
    var group = L.markerClusterGroup({ iconCreateFunction: clusterIcon, chunkedLoading: true, showCoverageOnHover: false });
    var markers = [];
    fc.features.forEach(function (f) {
      if (!f.geometry) { return; }
      var level = levelOf(f.properties);
      var c = f.geometry.coordinates;
      var m = L.circleMarker([c[1], c[0]], { radius: radius, color: COLOURS[level], fillColor: COLOURS[level],
                                             fillOpacity: 0.8, weight: 1, threatLevel: level });
      m.bindPopup(function () { return popupFor(f.properties); });
      markers.push(m);
    });
    group.addLayers(markers);
    return group;
  }

  function fixedLayers(fc) {
    var home = L.layerGroup(), routes = L.layerGroup(), offices = L.layerGroup();
    fc.features.forEach(function (f) {
      var p = f.properties, c = f.geometry.coordinates;
      if (p.layer === "home" || p.layer === "marker") {
        var at = [c[1], c[0]];
        L.circleMarker(at, { radius: 8, color: "#1d4ed8", fillColor: p.color || "#3b82f6", fillOpacity: 1, weight: 2 })
          .bindTooltip(p.name).addTo(home);
        if (p.radius_km) {
          L.circle(at, { radius: p.radius_km * 1000, color: "#1d4ed8", weight: 1, fillOpacity: 0.05, interactive: false }).addTo(home);
        }
      } else if (p.layer === "route") {
        L.polyline(c.map(function (pt) { return [pt[1], pt[0]]; }), { color: p.color || "#ef4444", weight: 3, opacity: 0.8 })
          .bindTooltip(p.name + (p.distance_km ? " (" + p.distance_km.toFixed(1) + " km)" : "")).addTo(routes);
      } else if (p.layer === "office") {
        L.circleMarker([c[1], c[0]], { radius: 5, color: "#111827", fillColor: "#fbbf24", fillOpacity: 1, weight: 1 })
          .bindTooltip(p.name + " (" + p.office_type + ")").addTo(offices);
      }
    });
    return { home: home, routes: routes, offices: offices };
  }

  function shortCount(n) {
    if (n >= 1000000) { return (n / 1000000).toFixed(n >= 10000000 ? 0 : 1) + "M"; }
    if (n >= 1000) { return (n / 1000).toFixed(n >= 10000 ? 0 : 1) + "k"; }
    return String(n);
  }

  // The server's clusters (one per grid cell at this zoom): a disc with the count, coloured
  // by the cell's worst level; a click zooms in towards it (single networks from zoom 16).
  function serverClusters(fc, map, into) {
    fc.features.forEach(function (f) {
      var p = f.properties, c = f.geometry.coordinates, level = levelOf(p);
      var label = document.createElement("span");
      label.textContent = shortCount(p.count);
      var size = p.count >= 1000 ? 44 : (p.count >= 100 ? 38 : 32);
      var m = L.marker([c[1], c[0]], { icon: L.divIcon({ html: label, className: "threat-cluster level-" + level,
                                                          iconSize: L.point(size, size) }), threatLevel: level });
      m.bindTooltip(p.count.toLocaleString() + " networks, worst " + level + " (click to zoom in)");
      m.on("click", function () { map.setView(m.getLatLng(), Math.min(map.getZoom() + 2, 16)); });
      into.addLayer(m);
    });
  }

  function viewQuery(map) {
    var b = map.getBounds();
    var bbox = [Math.max(-180, b.getWest()), Math.max(-90, b.getSouth()), Math.min(180, b.getEast()), Math.min(90, b.getNorth())]
      .map(function (v) { return v.toFixed(5); }).join(",");
    return { bbox: bbox, zoom: String(Math.round(map.getZoom())) };
  }

  function boundsOf(fc) {
    var x = fc.extent;  // [west, south, east, north] of the networks the answer stands for
    return x ? L.latLngBounds([x[1], x[0]], [x[3], x[2]]) : null;
  }

  function init(el) {
    var status = document.getElementById("map-status");
    var map = L.map(el, { minZoom: 2, maxZoom: 19 }).setView([39.5, -98.35], 4);
    var control = L.control.layers(null, null, { collapsed: false }).addTo(map);
    // The layers stay; each view's answer replaces what is inside them.
    var networks = L.layerGroup().addTo(map);
    var sightings = L.layerGroup();
    var heat = L.heatLayer([], { radius: 18, blur: 15, maxZoom: 17 }).addTo(map);
    var fitted = false, seq = 0;
    el.vigilMap = map;
    // What the view leaves out is said inside the map (bottom left), so that panning never
    // moves the page; the alert above the map is for errors.
    var noteBox = L.DomUtil.create("div", "map-note small d-none");
    var noteControl = L.control({ position: "bottomleft" });
    noteControl.onAdd = function () { return noteBox; };
    noteControl.addTo(map);
    function showNote(text) { noteBox.textContent = text; noteBox.classList.toggle("d-none", !text); }

    window.VigilBasemap.add(map, el, control, document.getElementById("basemap-status"));

    // The map asks only for its view: the networks (points, or clusters when many are in
    // view) and the newest sightings there. An answer to an older view is dropped.
    function loadView() {
      var mine = ++seq, q = viewQuery(map), notes = { networks: "", sightings: "" };
      function note(which, text) {
        notes[which] = text;
        showNote([notes.networks, notes.sightings].filter(Boolean).join(" "));
      }
      // Each layer is drawn as soon as its own answer arrives.
      var nets = getJSON(withQuery(el.dataset.networksUrl, q)).then(function (fc) {
        if (mine !== seq) { return; }
        networks.clearLayers();
        if (fc.mode === "clusters") { serverClusters(fc, map, networks); } else { networks.addLayer(pointLayer(fc, 7)); }
        el.dataset.networkCount = String(fc.total);
        el.dataset.networkMode = fc.mode;
        note("networks", fc.truncated ? "Showing the " + fc.cap + " most threatening networks in view; zoom in or filter to see the rest." : "");
      });
      var obs = getJSON(withQuery(el.dataset.observationsUrl, q)).then(function (fc) {
        if (mine !== seq) { return; }
        sightings.clearLayers();
        sightings.addLayer(pointLayer(fc, 4));
        heat.setLatLngs(fc.features.map(function (f) {
          var c = f.geometry.coordinates;
          return [c[1], c[0], Math.max(0.2, Math.min(1, (f.properties.signal + 100) / 60))];
        }));
        el.dataset.observationCount = String(fc.features.length);
        note("sightings", fc.truncated ? "Sightings: the newest " + fc.cap.toLocaleString() + " of more than " + fc.cap.toLocaleString() + " in view; zoom in to see them all." : "");
      });
      return Promise.all([nets, obs]);
    }

    // With no home to open on, the world's answer (clustered) frames the map once.
    function frame() {
      if (fitted) { return Promise.resolve(); }
      fitted = true;
      return getJSON(withQuery(el.dataset.networksUrl, { zoom: "0" })).then(function (fc) {
        var bounds = boundsOf(fc);
        if (bounds) { map.fitBounds(bounds, { maxZoom: 15, padding: [20, 20], animate: false }); }
      });
    }

    function reload() {
      return frame().then(loadView)
        .then(function () { el.dataset.loaded = "true"; })
        .catch(function (err) { showStatus(status, "The map data could not be loaded: " + err.message); el.dataset.loaded = "error"; el.dataset.error = String(err.stack || err); });
    }

    var pending = null;
    function follow() {
      map.on("moveend", function () {
        clearTimeout(pending);
        pending = setTimeout(function () { loadView().catch(function (err) { showStatus(status, err.message); }); }, 300);
      });
    }

    control.addOverlay(networks, "Networks");
    control.addOverlay(sightings, "Sightings");
    control.addOverlay(heat, "Heat");

    var form = document.getElementById("network-filters");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var params = new URLSearchParams(new FormData(form));
        Array.from(params.keys()).forEach(function (k) { if (!params.get(k)) { params.delete(k); } });
        var q = params.toString();
        window.history.pushState(null, "", window.location.pathname + (q ? "?" + q : ""));
        reload();
      });
    }
    window.addEventListener("popstate", reload);

    // Home first (the view to open on), then the data of that view.
    getJSON(el.dataset.layersUrl).then(function (fc) {
      var layers = fixedLayers(fc);
      layers.home.addTo(map); control.addOverlay(layers.home, "Home");
      layers.routes.addTo(map); control.addOverlay(layers.routes, "Routes");
      control.addOverlay(layers.offices, "Agency offices");
      var homeFeature = fc.features.filter(function (f) { return f.properties.layer === "home"; })[0];
      if (homeFeature) {
        fitted = true;
        map.setView([homeFeature.geometry.coordinates[1], homeFeature.geometry.coordinates[0]], 12, { animate: false });
      }
    }).catch(function (err) { showStatus(status, err.message); })
      .then(reload).then(follow);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("wireless-map");
    if (el && window.L) { init(el); }
  });
})();
