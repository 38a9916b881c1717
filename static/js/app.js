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

  // <canvas data-chart="stacked-bar|line" data-chart-data='{"labels": [...], "series": {...}}'>
  var SEVERITY_COLOURS = { critical: "#dc3545", high: "#fd7e14", medium: "#ffc107", low: "#0dcaf0", info: "#6c757d" };
  var LINE_COLOURS = ["#0d6efd", "#198754", "#6f42c1", "#fd7e14", "#20c997", "#dc3545", "#6c757d"];
  function drawCharts(scope) {
    if (!window.Chart) return;
    scope.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var data = JSON.parse(canvas.getAttribute("data-chart-data"));
      var line = canvas.getAttribute("data-chart") === "line";
      var existing = window.Chart.getChart(canvas);
      if (existing) existing.destroy();
      new window.Chart(canvas, {
        type: line ? "line" : "bar",
        data: {
          labels: data.labels,
          datasets: Object.keys(data.series).map(function (name, i) {
            var colour = line ? LINE_COLOURS[i % LINE_COLOURS.length] : SEVERITY_COLOURS[name] || "#6c757d";
            return { label: name, data: data.series[name], backgroundColor: colour, borderColor: colour,
                     spanGaps: true, borderWidth: line && i === 0 ? 3 : line ? 1.5 : 0 };
          })
        },
        // Scores run 0-100; data-chart-scale="auto" (a metric's own values) fits the data instead.
        options: line ? {
          animation: false, maintainAspectRatio: false,
          scales: { y: canvas.getAttribute("data-chart-scale") === "auto" ? { beginAtZero: true } : { min: 0, max: 100 } }
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
    toast(status === 403 ? "Your role does not allow this." : "The request failed (" + status + ").", "danger");
  });
  document.addEventListener("htmx:afterSwap", function (event) { showToasts(event.target); });
})();
