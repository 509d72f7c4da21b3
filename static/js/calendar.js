// The calendar's ways to move and write posts, all in the viewer's zone (the server does the
// arithmetic):
// - drag a scheduled post onto another day (month) or hour (week), keeping the rest of its time;
// - hover or focus a chip for a preview; its Reschedule form is the keyboard and touch way to move;
// - click an empty day or hour to write a post there.
(function () {
  "use strict";
  var status = document.getElementById("calendar-status");
  var grid = document.querySelector(".calendar");
  if (!grid) return;
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var composeUrl = grid.dataset.composeUrl;
  var dragged = null;

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
      credentials: "same-origin",
    });
  }

  // The cell a post lands in: its hour on the week grid, its day on the month.
  function cellFor(date, time) {
    if (grid.classList.contains("calendar-view-week")) {
      var hour = String(parseInt(time.split(":")[0], 10));
      return grid.querySelector('.calendar-day[data-date="' + date + '"][data-hour="' + hour + '"]');
    }
    return grid.querySelector('.calendar-day[data-date="' + date + '"]');
  }

  function placeChip(chip, cell, response) {
    var clock = response.headers.get("X-Post-Clock");
    if (clock) chip.querySelector("time").textContent = clock;
    if (cell) cell.insertBefore(chip, cell.querySelector("a.small")); // before any "+N more"
    else chip.remove(); // moved out of this month or week
  }

  // --- Drag and drop -------------------------------------------------------------------------
  // A movable chip links to its post; rescheduling is that address plus "reschedule/" (not
  // repeated in the page: a week shows up to 336 chips).
  function rescheduleUrl(chip) {
    return chip.getAttribute("href").replace(/\/?$/, "/") + "reschedule/";
  }

  function draggable(chip) {
    chip.addEventListener("dragstart", function (event) {
      closePreview();
      dragged = chip;
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", rescheduleUrl(chip));
    });
  }

  grid.querySelectorAll(".calendar-day").forEach(function (cell) {
    cell.addEventListener("dragover", function (event) {
      if (dragged) { event.preventDefault(); cell.classList.add("is-drop-target"); }
    });
    cell.addEventListener("dragleave", function () { cell.classList.remove("is-drop-target"); });
    cell.addEventListener("drop", function (event) {
      event.preventDefault();
      cell.classList.remove("is-drop-target");
      if (!dragged) return;
      var chip = dragged;
      dragged = null;
      var body = new URLSearchParams({ date: cell.dataset.date });
      if (cell.dataset.hour) body.set("hour", cell.dataset.hour); // the week's hour grid
      post(rescheduleUrl(chip), body).then(function (response) {
        return response.text().then(function (text) {
          status.textContent = text;
          if (response.ok) placeChip(chip, cell, response);
        });
      }).catch(function () { status.textContent = "Could not move the post: the connection dropped."; });
    });
    // An empty part of a day or hour: write a post there.
    cell.addEventListener("click", function (event) {
      if (!composeUrl || event.target.closest("a, button, .post-chip")) return;
      var url = composeUrl + "?date=" + cell.dataset.date;
      if (cell.dataset.hour) url += "&time=" + ("0" + cell.dataset.hour).slice(-2) + ":00";
      window.location.assign(url);
    });
  });

  // --- Preview and reschedule ----------------------------------------------------------------
  var preview = null;
  var previewFor = null;
  var openTimer = null;
  var closeTimer = null;
  var lastPointer = "mouse";
  var openBeforeTap = false;

  function focusables(box) {
    return Array.prototype.filter.call(box.querySelectorAll("a[href], button, input"), function (el) {
      return !el.disabled && el.offsetParent !== null;
    });
  }

  function closePreview() {
    clearTimeout(openTimer);
    clearTimeout(closeTimer);
    if (preview) preview.remove();
    if (previewFor) previewFor.removeAttribute("aria-describedby");
    preview = null;
    previewFor = null;
  }

  function place(box, chip) {
    var rect = chip.getBoundingClientRect();
    var width = box.offsetWidth;
    var left = Math.max(8, Math.min(rect.left, document.documentElement.clientWidth - width - 8));
    box.style.left = left + window.scrollX + "px";
    box.style.top = rect.bottom + window.scrollY + 4 + "px";
  }

  function openPreview(chip) {
    if (previewFor === chip) return;
    closePreview();
    previewFor = chip;
    var box = document.createElement("div");
    box.className = "chip-preview";
    box.id = "chip-preview";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Post preview");
    box.innerHTML = '<p class="small muted">Loading…</p>';
    document.body.appendChild(box);
    preview = box;
    place(box, chip);
    chip.setAttribute("aria-describedby", "chip-preview");
    fetch(chip.getAttribute("href") + "preview/", { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : Promise.reject(response.status);
    }).then(function (html) {
      if (preview !== box) return; // closed or replaced meanwhile
      box.innerHTML = html;
      wirePreview(box, chip);
      place(box, chip);
    }).catch(function () {
      if (preview === box) box.innerHTML = '<p class="small">Could not load the preview.</p>';
    });
    box.addEventListener("mouseenter", function () { clearTimeout(closeTimer); });
    box.addEventListener("mouseleave", laterClose);
    box.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { closePreview(); chip.focus(); return; }
      if (event.key !== "Tab") return;
      var items = focusables(box);
      if (event.shiftKey && document.activeElement === items[0]) {
        event.preventDefault();
        chip.focus();
      } else if (!event.shiftKey && document.activeElement === items[items.length - 1]) {
        // Back to the chip without preventing the Tab: focus then moves on to what follows it.
        var from = chip;
        closePreview();
        from.focus();
      }
    });
  }

  function laterClose() {
    clearTimeout(closeTimer);
    closeTimer = setTimeout(function () {
      if (preview && !preview.contains(document.activeElement)) closePreview();
    }, 300);
  }

  function wirePreview(box, chip) {
    var open = box.querySelector("[data-reschedule-open]");
    var form = box.querySelector("form.chip-reschedule");
    if (!open || !form) return;
    open.addEventListener("click", function () {
      form.hidden = !form.hidden;
      open.setAttribute("aria-expanded", String(!form.hidden));
      if (!form.hidden) form.querySelector("input[type=date]").focus();
    });
    box.querySelector("[data-preview-close]").addEventListener("click", function () {
      closePreview();
      chip.focus();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var date = form.elements.date.value;
      var time = form.elements.time.value;
      post(form.action, new URLSearchParams({ date: date, time: time })).then(function (response) {
        return response.text().then(function (text) {
          status.textContent = text;
          if (!response.ok) return;
          closePreview();
          placeChip(chip, cellFor(date, time), response);
          if (chip.isConnected) chip.focus();
        });
      }).catch(function () { status.textContent = "Could not move the post: the connection dropped."; });
    });
  }

  function previewable(chip) {
    chip.addEventListener("pointerdown", function (event) {
      lastPointer = event.pointerType;
      openBeforeTap = previewFor === chip;
      clearTimeout(openTimer); // a press is a click or a drag, not a hover
    });
    chip.addEventListener("mouseenter", function () {
      clearTimeout(closeTimer);
      clearTimeout(openTimer);
      openTimer = setTimeout(function () { openPreview(chip); }, 250);
    });
    chip.addEventListener("mouseleave", function () { clearTimeout(openTimer); laterClose(); });
    // Keyboard focus only: a press of the mouse focuses the chip too, and may be a drag's start.
    chip.addEventListener("focus", function () { if (chip.matches(":focus-visible")) openPreview(chip); });
    chip.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { closePreview(); return; }
      if (event.key === "Tab" && !event.shiftKey && preview && previewFor === chip) {
        var items = focusables(preview);
        if (items.length) { event.preventDefault(); items[0].focus(); }
      }
    });
    // On a touch screen the first tap shows the preview (with Open post and Reschedule).
    chip.addEventListener("click", function (event) {
      if (lastPointer === "touch" && !openBeforeTap) {
        event.preventDefault();
        openPreview(chip);
      }
      lastPointer = "mouse";
    });
  }

  // A week slot's "+N more" loads the rest of its hour in place (htmx); its href, the day's
  // posts list, is where it goes without script. The hour's address is built here from the
  // slot's date and hour, and the grid's filter, rather than repeated in each of 168 links.
  grid.addEventListener("click", function (event) {
    var more = event.target.closest && event.target.closest("a[data-more]");
    if (!more || !window.htmx || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var slot = more.closest(".calendar-slot");
    event.preventDefault();
    var query = new URLSearchParams(grid.dataset.hourFilter || "");
    query.set("date", slot.dataset.date);
    query.set("hour", slot.dataset.hour);
    window.htmx.ajax("GET", grid.dataset.hourUrl + "?" + query.toString(), { target: more, swap: "outerHTML" });
  });

  // Chips drawn with the page, and those a slot's "+N more" loads later (htmx).
  function enhanceChips(root) {
    root.querySelectorAll(".post-chip").forEach(function (chip) {
      if (chip.dataset.enhanced) return;
      chip.dataset.enhanced = "1";
      previewable(chip);
      if (chip.draggable) draggable(chip);
    });
  }
  enhanceChips(grid);
  document.addEventListener("htmx:load", function (event) {
    if (event.target.querySelectorAll && grid.contains(event.target)) enhanceChips(event.target.parentNode || event.target);
  });

  document.addEventListener("focusin", function (event) {
    if (preview && !preview.contains(event.target) && event.target !== previewFor) closePreview();
  });
  document.addEventListener("pointerdown", function (event) {
    if (preview && !preview.contains(event.target) && !event.target.closest(".post-chip")) closePreview();
  });
})();
