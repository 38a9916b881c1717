// Global search: "/" focuses the top bar's box; the dropdown opens when results arrive and
// closes on Escape or a click elsewhere. No inline script (CSP).
(function () {
  "use strict";

  function box() { return document.querySelector("[data-search-box]"); }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function setOpen(open) {
    var form = box();
    if (!form) return;
    var menu = form.querySelector(".search-dropdown");
    menu.classList.toggle("show", open && menu.children.length > 0);
  }

  document.addEventListener("keydown", function (event) {
    var form = box();
    if (!form) return;
    if (event.key === "/" && !typing(event.target) && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      var input = form.querySelector("input[name=q]");
      input.focus();
      input.select();
    } else if (event.key === "Escape" && form.contains(event.target)) {
      setOpen(false);
      event.target.blur();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "global-search-results") setOpen(true);
  });

  document.addEventListener("click", function (event) {
    var form = box();
    if (form && !form.contains(event.target)) setOpen(false);
  });

  document.addEventListener("focusin", function (event) {
    var form = box();
    if (form && event.target === form.querySelector("input[name=q]")) setOpen(true);
  });
})();
