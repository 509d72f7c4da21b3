// The composer's "Split into a thread": the server splits the text (publishing/threads.py, by
// the same counting its checks use) and this fills the main box and the thread's reply boxes.
// Kept apart from composer.js; it adds reply boxes with the composer's own "+ Add" button.
(function () {
  "use strict";
  var form = document.getElementById("composer");
  if (!form) return;

  // The new parts come first in the thread; replies already written follow them.
  function fill(field, parts) {
    var box = form.elements.namedItem(field);
    var replies = document.getElementById("replies");
    var kept = Array.prototype.map.call(replies.querySelectorAll("[data-reply] textarea"), function (t) {
      return t.value;
    });
    var add = document.getElementById("add-reply");
    for (var i = 1; i < parts.length; i++) add.click();
    var values = parts.slice(1).concat(kept);
    Array.prototype.forEach.call(replies.querySelectorAll("[data-reply] textarea"), function (t, index) {
      t.value = values[index];
    });
    box.value = parts[0];
    var details = box.closest("details");
    if (details) details.open = true; // a platform's own text: show where its first part went
    box.focus();
    form.dispatchEvent(new Event("change", { bubbles: true })); // counters and previews again
  }

  // "Number the parts" lives in the checks panel, which each re-check redraws: its state is kept
  // here, and ticking it re-checks nothing (a redraw already under way would undo the tick).
  var numbered = false;
  form.addEventListener("change", function (event) {
    if (event.target.name !== "split_numbered") return;
    numbered = event.target.checked;
    event.stopPropagation();
  }, true);
  document.body.addEventListener("htmx:afterSwap", function () {
    Array.prototype.forEach.call(form.querySelectorAll('[name="split_numbered"]'), function (box) {
      box.checked = numbered;
    });
  });

  form.addEventListener("click", function (event) {
    var button = event.target.closest("[data-split-thread]");
    if (!button) return;
    var status = button.closest("[data-thread-split]").querySelector("[data-split-status]");
    var data = new FormData(form);
    data.set("split_account", button.dataset.splitThread);
    button.disabled = true;
    status.textContent = "Splitting…";
    fetch(button.dataset.url, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRFToken": data.get("csrfmiddlewaretoken") },
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { ok: response.ok, body: body };
      });
    }).then(function (answer) {
      if (!answer.ok) throw new Error(answer.body.error || "Could not split the text; try again.");
      fill(answer.body.field, answer.body.parts);
    }).catch(function (error) {
      status.textContent = error instanceof TypeError ? "Could not reach the server; try again." : error.message;
      button.disabled = false;
    });
  });
})();
