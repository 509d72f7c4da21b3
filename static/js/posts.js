// The Posts list's bulk bar: select all on the page, count the selection, and offer the day and
// time only when moving (they mean nothing to cancel or delete).
(function () {
  "use strict";
  var form = document.getElementById("bulk");
  if (!form) return;
  var all = document.getElementById("bulk-all");
  var count = document.getElementById("bulk-count");
  var action = document.getElementById("bulk-action");
  var picks = Array.prototype.slice.call(document.querySelectorAll('input[name="posts"][form="bulk"]'));

  function chosen() { return picks.filter(function (box) { return box.checked; }).length; }
  function update() {
    var n = chosen();
    count.textContent = n ? n + (n === 1 ? " post selected" : " posts selected") : "";
    all.checked = n === picks.length;
    all.indeterminate = n > 0 && n < picks.length;
  }
  function showWhen() {
    var moving = action.value === "reschedule";
    form.querySelectorAll("[data-bulk-when]").forEach(function (field) {
      field.hidden = !moving;
      field.querySelector("input").disabled = !moving;
    });
  }

  all.hidden = false;
  document.getElementById("bulk-all-label").hidden = false;
  all.addEventListener("change", function () {
    picks.forEach(function (box) { box.checked = all.checked; });
    update();
  });
  picks.forEach(function (box) { box.addEventListener("change", update); });
  action.addEventListener("change", showWhen);
  showWhen();
  update();
})();
