// Small behaviours shared by every page. No dependencies; works with or without the vendored htmx.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) return meta.content;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // The browser's time zone, so a new workspace (at signup or created later) starts in it.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) {
      document.cookie = "browser_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
      document.querySelectorAll("input[data-browser-default]").forEach(function (input) {
        input.value = zone; // the server had no cookie yet: this is the first page load
      });
    }
  } catch (error) { /* an old browser without Intl: the server's default (UTC) stands */ }

  // Phones: the menu button folds the navigation (CSS shows it open when this never ran).
  document.documentElement.classList.add("js");
  function setUpMenu() {
    var toggle = document.querySelector(".nav-toggle");
    var sidebar = document.getElementById("sidebar");
    if (!toggle || !sidebar) return;
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = sidebar.classList.toggle("is-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // (a) Django's CSRF token on every htmx request.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) event.detail.headers["X-CSRFToken"] = token;
  });

  // htmx swaps 4xx responses too: our partials carry inline errors with those statuses.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 400 || status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // (b) Dropdowns (workspace switcher, user menu): one open at a time; an outside click or Escape closes them.
  var DROPDOWNS = "details.switcher, details.menu";
  function closeDropdowns(except) {
    document.querySelectorAll("details.switcher[open], details.menu[open]").forEach(function (el) {
      if (el !== except) el.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeDropdowns(event.target.closest ? event.target.closest(DROPDOWNS) : null);
  });
  document.addEventListener("toggle", function (event) {
    var el = event.target;
    if (el.matches && el.matches(DROPDOWNS) && el.open) closeDropdowns(el);
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") return;
    var open = document.querySelectorAll("details.switcher[open], details.menu[open]");
    if (!open.length) return;
    var focusInside = null;
    open.forEach(function (el) { if (el.contains(document.activeElement)) focusInside = el; });
    closeDropdowns(null);
    if (focusInside) focusInside.querySelector("summary").focus(); // keep keyboard users where they were
  });

  // (c) Copy buttons: <button type="button" data-copy="#selector">Copy</button>.
  var announcer = null;
  function announce(text) {
    if (!announcer) {
      announcer = document.createElement("div");
      announcer.className = "sr-only";
      announcer.setAttribute("aria-live", "polite");
      document.body.appendChild(announcer);
    }
    announcer.textContent = "";
    setTimeout(function () { announcer.textContent = text; }, 50);
  }
  function selectContents(el) {
    if (el.select) { el.select(); return; }
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  function fallbackCopy(el) {
    selectContents(el);
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }
  function flash(button, text, ok) {
    if (!button.dataset.label) button.dataset.label = button.textContent;
    clearTimeout(button._copyTimer);
    button.textContent = text;
    button.classList.toggle("is-copied", ok);
    button._copyTimer = setTimeout(function () {
      button.textContent = button.dataset.label;
      button.classList.remove("is-copied");
    }, 1800);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    event.preventDefault();
    var source;
    try { source = document.querySelector(button.dataset.copy); } catch (e) { source = null; }
    if (!source) return;
    var text = ("value" in source && typeof source.value === "string" ? source.value : source.textContent).trim();
    function done(ok) {
      flash(button, ok ? "Copied" : "Press Ctrl+C", ok);
      if (ok) announce("Copied to the clipboard");
      else selectContents(source);
    }
    // The async clipboard API needs HTTPS or localhost; a self-hosted server on plain HTTP falls back.
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(fallbackCopy(source)); });
    } else {
      done(fallbackCopy(source));
    }
  });

  // (d) Messages get a close button; success messages leave by themselves after 6 s
  // (the countdown pauses while the pointer or focus is on the message).
  function dismiss(message) {
    if (!message.isConnected) return;
    message.classList.add("is-leaving");
    setTimeout(function () {
      var list = message.parentNode;
      message.remove();
      if (list && list.classList && list.classList.contains("messages") && !list.querySelector(".message")) list.remove();
    }, 200);
  }
  function autoDismiss(message, delay) {
    var timer = null;
    function start() { clearTimeout(timer); timer = setTimeout(function () { dismiss(message); }, delay); }
    function stop() { clearTimeout(timer); }
    message.addEventListener("mouseenter", stop);
    message.addEventListener("mouseleave", start);
    message.addEventListener("focusin", stop);
    message.addEventListener("focusout", start);
    start();
  }
  function enhanceMessages(root) {
    if (!root || !root.querySelectorAll) return;
    var found = Array.prototype.slice.call(root.querySelectorAll(".message:not([data-enhanced])"));
    if (root.matches && root.matches(".message:not([data-enhanced])")) found.push(root);
    found.forEach(function (message) {
      message.dataset.enhanced = "1";
      var close = document.createElement("button");
      close.type = "button";
      close.className = "message-close";
      close.setAttribute("aria-label", "Dismiss message");
      close.innerHTML = '<span aria-hidden="true">&times;</span>';
      close.addEventListener("click", function () { dismiss(message); });
      message.appendChild(close);
      if (message.classList.contains("message-success")) autoDismiss(message, 6000);
    });
  }

  // Destructive buttons: <form data-confirm="Question?" data-confirm-button="Cancel post">. The
  // dialog adds confirm=1; without it the server answers with a page that asks the same.
  var confirmDialog = null;
  function askToConfirm(form) {
    if (!confirmDialog) {
      confirmDialog = document.createElement("dialog");
      confirmDialog.className = "confirm-dialog";
      confirmDialog.setAttribute("aria-labelledby", "confirm-dialog-text");
      confirmDialog.innerHTML = '<form method="dialog" class="stack"><p id="confirm-dialog-text"></p>' +
        '<div class="row"><button value="yes" class="btn btn-danger"></button>' +
        '<button value="no" class="btn btn-secondary">Go back</button></div></form>';
      document.body.appendChild(confirmDialog);
    }
    confirmDialog.querySelector("p").textContent = form.dataset.confirm;
    var yes = confirmDialog.querySelector('button[value="yes"]');
    yes.textContent = form.dataset.confirmButton || "Confirm";
    confirmDialog.onclose = function () {
      if (confirmDialog.returnValue !== "yes") return;
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = "confirm";
      field.value = "1";
      form.appendChild(field);
      form.submit();
    };
    confirmDialog.returnValue = "";
    confirmDialog.showModal();
    confirmDialog.querySelector('button[value="no"]').focus(); // the safe choice has the focus
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset || !form.dataset.confirm || typeof HTMLDialogElement === "undefined") return;
    event.preventDefault();
    askToConfirm(form);
  });

  // Preview frames: the share of an image a platform keeps comes as data-frame-* percentages; the
  // policy forbids style attributes, so the size is set here through the CSSOM.
  function sizeFrames(root) {
    root.querySelectorAll(".pv-frame[data-frame-width]").forEach(function (frame) {
      frame.style.width = frame.dataset.frameWidth + "%";
      frame.style.height = frame.dataset.frameHeight + "%";
    });
  }

  function ready() { enhanceMessages(document); setUpMenu(); sizeFrames(document); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
  // Fires for every piece of content htmx adds, including out-of-band swaps.
  document.addEventListener("htmx:load", function (event) {
    enhanceMessages(event.target);
    if (event.target.querySelectorAll) sizeFrames(event.target);
  });
})();
