// The side navigation's domain groups (templates/base.html): one open at a time, and the one
// opened last is remembered (localStorage) for pages that belong to no group. The group of
// the current page is always open. No inline script: the CSP forbids it.
(function () {
  "use strict";

  var KEY = "vigil.nav.open";

  function remember(key) {
    try { window.localStorage.setItem(KEY, key); } catch (e) { /* private mode: nothing kept */ }
  }

  function remembered() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }

  // A section with many pages scrolls its tab strip sideways on a narrow screen: bring the
  // current page's tab into view, or the strip shows no active tab at all.
  // On "load": only once the styles and the icon font are in do the tabs have their widths.
  window.addEventListener("load", function () {
    var strip = document.querySelector(".domain-tabs");
    var current = strip && strip.querySelector(".nav-link.active");
    if (current) strip.scrollLeft = current.offsetLeft + current.offsetWidth / 2 - strip.clientWidth / 2;
  });

  document.addEventListener("DOMContentLoaded", function () {
    var nav = document.querySelector("[data-nav-groups]");
    if (!nav) return;
    var groups = Array.prototype.slice.call(nav.querySelectorAll("details[data-nav-group]"));
    var active = nav.querySelector("details[data-nav-active]");
    if (active) {
      remember(active.dataset.navGroup);
    } else {
      var last = remembered();
      groups.forEach(function (g) { if (g.dataset.navGroup === last) g.open = true; });
    }
    groups.forEach(function (group) {
      group.addEventListener("toggle", function () {
        if (!group.open) return;
        remember(group.dataset.navGroup);
        groups.forEach(function (other) { if (other !== group) other.open = false; });
      });
    });
  });
})();
