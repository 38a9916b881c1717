// Vigil's small behaviours. No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";

  function applyTheme() {
    var root = document.documentElement;
    if (root.dataset.themePref === "auto") {
      var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
      root.setAttribute("data-bs-theme", dark ? "dark" : "light");
    }
  }

  function showToasts(scope) {
    if (!window.bootstrap) return;
    scope.querySelectorAll(".toast[data-autoshow]").forEach(function (el) {
      el.removeAttribute("data-autoshow");
      window.bootstrap.Toast.getOrCreateInstance(el, { delay: 6000 }).show();
    });
  }

  function toast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast align-items-center border-0 text-bg-" + (kind || "secondary");
    el.setAttribute("role", "status");
    el.setAttribute("data-autoshow", "");
    var body = document.createElement("div");
    body.className = "toast-body";
    body.textContent = message;
    el.appendChild(body);
    box.appendChild(el);
    showToasts(box);
  }

  // Selects marked data-autosubmit submit their form on change (org switcher, filters).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-autosubmit], [data-autosubmit] select")) {
      target.form && target.form.requestSubmit();
    }
  });

  // A dropdown of checkboxes (data-checklist) names what is ticked on its button ("any": nothing).
  document.addEventListener("change", function (event) {
    var list = event.target.closest && event.target.closest("[data-checklist]");
    if (!list) return;
    var button = list.querySelector("[data-bs-toggle=dropdown]");
    var names = Array.prototype.slice.call(list.querySelectorAll("input:checked")).map(function (box) {
      var label = list.querySelector("label[for='" + box.id + "']");
      return label ? label.textContent.trim() : box.value;
    });
    button.textContent = names.length ? names.join(", ") : (button.getAttribute("data-empty-label") || "any");
  });

  // Buttons with data-confirm ask first.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);

  // Times on chart axes: ISO dates and 24-hour clocks, as everywhere else in Vigil. `utc`: the
  // value is already the user's wall-clock time (the server shifted it), so read it as UTC.
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function parts(ms, utc) {
    var d = new Date(ms);
    return utc ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()]
      : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes()];
  }
  function isoMinute(ms, utc) {
    var p = parts(ms, utc);
    return p[0] + "-" + pad(p[1]) + "-" + pad(p[2]) + " " + pad(p[3]) + ":" + pad(p[4]);
  }
  function axisTime(ms, spanMs, utc) {
    var p = parts(ms, utc);
    if (spanMs <= 86400000) return pad(p[3]) + ":" + pad(p[4]);
    if (spanMs <= 14 * 86400000) return pad(p[1]) + "-" + pad(p[2]) + " " + pad(p[3]) + ":" + pad(p[4]);
    return p[0] + "-" + pad(p[1]) + "-" + pad(p[2]);
  }
  // 2000000 -> "2.0 MB/s": bytes per second in decimal units.
  function bytesRate(value) {
    if (value === null || value === undefined) return "";
    var units = ["B/s", "kB/s", "MB/s", "GB/s", "TB/s"], i = 0, v = Math.abs(value);
    while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return (value < 0 ? "-" : "") + (i === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 1 : 0)) + " " + units[i];
  }
  // A linear x axis over milliseconds: points sit where their time is (a real time scale),
  // ticks and tooltips read as ISO times.
  // Tick steps that read as times (whole minutes, hours, days), at most about 8 ticks.
  var STEPS = [60e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3,
               2 * 86400e3, 7 * 86400e3, 30 * 86400e3];
  function timeAxis(times, utc) {
    var span = times.length ? times[times.length - 1] - times[0] : 0;
    var step = STEPS.filter(function (s) { return span / s <= 8; })[0] || STEPS[STEPS.length - 1];
    return {
      scale: { type: "linear", min: span ? times[0] : undefined, max: span ? times[times.length - 1] : undefined,
               ticks: { stepSize: step, maxTicksLimit: 10, callback: function (v) { return axisTime(v, span, utc); } } },
      title: function (items) { return items.length ? isoMinute(items[0].parsed.x, utc) : ""; }
    };
  }
  window.VigilFormat = { isoMinute: isoMinute, axisTime: axisTime, bytesRate: bytesRate, timeAxis: timeAxis };

  // <canvas data-chart="stacked-bar|line" data-chart-data='{"labels": [...], "series": {...}}'>;
  // a line chart whose data has "times" (wall-clock milliseconds) is drawn on a time axis.
  var SEVERITY_COLOURS = { critical: "#dc3545", high: "#fd7e14", medium: "#ffc107", low: "#0dcaf0", info: "#6c757d" };
  var LINE_COLOURS = ["#0d6efd", "#198754", "#6f42c1", "#fd7e14", "#20c997", "#dc3545", "#6c757d"];
  function drawCharts(scope) {
    if (!window.Chart) return;
    scope.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var data = JSON.parse(canvas.getAttribute("data-chart-data"));
      var line = canvas.getAttribute("data-chart") === "line";
      var times = line && data.times && data.times.length ? data.times : null;
      var axis = times ? timeAxis(times, true) : null;
      var existing = window.Chart.getChart(canvas);
      if (existing) existing.destroy();
      var yScale = canvas.getAttribute("data-chart-scale") === "auto" ? { beginAtZero: true } : { min: 0, max: 100 };
      new window.Chart(canvas, {
        type: line ? "line" : "bar",
        data: {
          labels: times ? undefined : data.labels,
          datasets: Object.keys(data.series).map(function (name, i) {
            var colour = line ? LINE_COLOURS[i % LINE_COLOURS.length] : SEVERITY_COLOURS[name] || "#6c757d";
            var values = data.series[name];
            return { label: name, backgroundColor: colour, borderColor: colour, spanGaps: true,
                     borderWidth: line && i === 0 ? 3 : line ? 1.5 : 0,
                     data: times ? values.map(function (v, k) { return { x: times[k], y: v }; }) : values };
          })
        },
        // Scores run 0-100; data-chart-scale="auto" (a metric's own values) fits the data instead.
        options: line ? {
          animation: false, maintainAspectRatio: false,
          scales: times ? { x: axis.scale, y: yScale } : { y: yScale },
          plugins: times ? { tooltip: { callbacks: { title: axis.title } } } : {}
        } : {
          animation: false, maintainAspectRatio: false,
          scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } }
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    applyTheme();
    showToasts(document);
    drawCharts(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });

  // Server events: HX-Trigger {"vigil-toast": {"message": "...", "kind": "success"}}.
  document.body && document.body.addEventListener("vigil-toast", function (event) {
    toast(event.detail.message, event.detail.kind);
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    // 503: Redis or the database does not answer (the job queue is unavailable); nothing was done.
    toast(status === 403 ? "Your role does not allow this."
      : status === 503 ? "The job queue or database is unavailable; nothing was started. Try again in a minute."
      : "The request failed (" + status + ").", "danger");
  });
  document.addEventListener("htmx:afterSwap", function (event) { showToasts(event.target); });
})();
