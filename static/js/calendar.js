// Drag a scheduled post onto another day (month) or hour (week) to move it there, keeping the
// rest of its time of day in the viewer's zone (the server does the arithmetic).
(function () {
  "use strict";
  var status = document.getElementById("calendar-status");
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var dragged = null;

  document.querySelectorAll(".post-chip[draggable=true]").forEach(function (chip) {
    chip.addEventListener("dragstart", function (event) {
      dragged = chip;
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", chip.dataset.rescheduleUrl);
    });
  });

  document.querySelectorAll(".calendar-day").forEach(function (cell) {
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
      fetch(chip.dataset.rescheduleUrl, {
        method: "POST",
        headers: { "X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded" },
        body: body,
        credentials: "same-origin",
      }).then(function (response) {
        return response.text().then(function (text) {
          status.textContent = text;
          if (response.ok) cell.appendChild(chip);
        });
      }).catch(function () { status.textContent = "Could not move the post: the connection dropped."; });
    });
  });
})();
