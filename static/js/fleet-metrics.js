// Fleet device page: metric charts from the JSON series endpoint, and the tab bar's
// active state when htmx loads a tab.
(function () {
  "use strict";
  var COLOURS = { avg: "#0d6efd", max: "#dc3545" };
  var PERCENT = { cpu: true, ram: true, disk_root: true };
  var RATES = { net_rx: true, net_tx: true };  // bytes per second, shown as kB/s, MB/s...

  function draw(box, data) {
    box.querySelectorAll("canvas[data-metric]").forEach(function (canvas) {
      var metric = canvas.getAttribute("data-metric");
      var points = data.series[metric] || [];
      var empty = box.querySelector('[data-empty="' + metric + '"]');
      if (empty) empty.classList.toggle("d-none", points.length > 0);
      var existing = window.Chart.getChart(canvas);
      if (existing) existing.destroy();
      if (!points.length) return;
      // A real time axis (each point at its time), ISO 24-hour ticks in the user's profile zone:
      // `wall_ms` is their wall-clock time, read back as UTC like the metrics charts' `times`.
      var times = points.map(function (p) { return p.wall_ms; });
      var fmt = window.VigilFormat, axis = fmt.timeAxis(times, true);
      var y = PERCENT[metric] ? { min: 0, max: 100 } : { beginAtZero: true };
      if (RATES[metric]) y.ticks = { callback: function (v) { return fmt.bytesRate(v); } };
      new window.Chart(canvas, {
        type: "line",
        data: {
          datasets: ["avg", "max"].map(function (key) {
            return { label: key === "avg" ? "average" : "maximum",
                     data: points.map(function (p, i) { return { x: times[i], y: p[key] }; }),
                     borderColor: COLOURS[key], backgroundColor: COLOURS[key], pointRadius: 0,
                     borderWidth: key === "avg" ? 2 : 1, spanGaps: true };
          })
        },
        options: {
          animation: false, maintainAspectRatio: false,
          scales: { x: axis.scale, y: y },
          plugins: {
            legend: { display: true, position: "bottom" },
            tooltip: { callbacks: {
              title: axis.title,
              label: function (item) {
                var v = item.parsed.y;
                return item.dataset.label + ": " + (RATES[metric] ? fmt.bytesRate(v) : v);
              }
            } }
          }
        }
      });
    });
  }

  function load(scope) {
    if (!window.Chart || !scope.querySelectorAll) return;
    var boxes = scope.matches && scope.matches("[data-metrics-url]") ? [scope] : scope.querySelectorAll("[data-metrics-url]");
    Array.prototype.forEach.call(boxes, function (box) {
      fetch(box.getAttribute("data-metrics-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) { draw(box, data); })
        .catch(function () { box.insertAdjacentHTML("afterbegin", '<p class="small text-danger">The metrics could not be loaded.</p>'); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { load(document); });
  document.addEventListener("htmx:afterSettle", function (event) { load(event.target); });

  // Keep the tab bar in step with the tab htmx loaded.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#device-tabs a[data-tab]");
    if (!link) return;
    document.querySelectorAll("#device-tabs a[data-tab]").forEach(function (a) {
      a.classList.toggle("active", a === link);
      if (a === link) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
  });
})();
