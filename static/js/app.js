// Small behaviours shared by every page. No dependencies beyond the vendored htmx.
(function () {
  "use strict";

  // Django's CSRF token on every htmx request.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
  });

  // htmx swaps 4xx responses too: our partials carry inline errors with those statuses.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 400 || status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Close open dropdowns (workspace switcher, user menu) on outside click or Escape.
  function closeMenus(except) {
    document.querySelectorAll("details.switcher[open], details.menu[open]").forEach(function (el) {
      if (el !== except) el.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest("details.switcher, details.menu"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus(null);
  });

  // Copy buttons: <button data-copy="#selector">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  // Messages can be dismissed; success messages leave by themselves.
  function enhanceMessages(root) {
    root.querySelectorAll(".message:not([data-enhanced])").forEach(function (message) {
      message.dataset.enhanced = "1";
      var close = document.createElement("button");
      close.type = "button";
      close.className = "message-close";
      close.setAttribute("aria-label", "Dismiss");
      close.textContent = "×";
      close.addEventListener("click", function () { message.remove(); });
      message.appendChild(close);
      if (message.classList.contains("message-success")) {
        setTimeout(function () { message.remove(); }, 6000);
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { enhanceMessages(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enhanceMessages(event.target); });
})();
