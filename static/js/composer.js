// The composer: thread replies, resumable uploads with a progress bar, the date and time only
// when scheduling, and re-checking (previews, counters, the main button's words) after each change.
(function () {
  "use strict";
  var form = document.getElementById("composer");
  if (!form) return;

  function recheck() {
    form.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // A platform option that means something only for some choices of another (an event's start,
  // for events) shows only then; a hidden one keeps its value, which the platform ignores.
  function showDependentOptions() {
    Array.prototype.forEach.call(form.querySelectorAll("[data-shown-when]"), function (field) {
      var control = form.elements.namedItem(field.getAttribute("data-shown-when"));
      var values = field.getAttribute("data-shown-values").split(" ");
      field.hidden = !!control && values.indexOf(control.value) === -1;
    });
  }
  form.addEventListener("change", showDependentOptions);
  showDependentOptions();

  // An option whose choices each belong to a choice of another (a board's sections, valued
  // "board:section") offers only the chosen one's; a choice that no longer belongs is let go.
  function followChosen() {
    Array.prototype.forEach.call(form.querySelectorAll("select[data-choices-follow]"), function (select) {
      var control = form.elements.namedItem(select.getAttribute("data-choices-follow"));
      var chosen = control ? control.value : "";
      Array.prototype.forEach.call(select.options, function (option) {
        option.hidden = Boolean(option.value) && option.value.split(":")[0] !== chosen;
      });
      if (select.selectedOptions.length && select.selectedOptions[0].hidden) select.value = "";
    });
  }
  form.addEventListener("change", followChosen);
  followChosen();

  // A long option list (an account's communities or boards) has a box above it: typing hides
  // the choices that do not match (never the empty one, nor one the author chose) and picks the
  // first match until the author chooses in the list. Without script it is a plain select.
  Array.prototype.forEach.call(form.querySelectorAll("[data-filter-for]"), function (box) {
    var select = document.getElementById(box.dataset.filterFor);
    var autoValue = ""; // what the filter picked last: the author's own choice is anything else
    box.addEventListener("input", function (event) {
      event.stopPropagation(); // narrowing a list changes nothing the checks read
      var words = box.value.trim().toLowerCase();
      var picked = select.value === autoValue;
      var first = null;
      Array.prototype.forEach.call(select.options, function (option) {
        var matches = option.text.toLowerCase().indexOf(words) !== -1;
        var kept = !option.value || (option.selected && !picked);
        option.hidden = Boolean(words) && !matches && !kept;
        if (words && matches && option.value && !first) first = option;
      });
      if (picked && select.value !== (first ? first.value : "")) {
        autoValue = first ? first.value : "";
        select.value = autoValue;
        recheck();
      }
    });
  });

  // Thread replies: added, removed and reordered; each keeps a number, a label and its buttons'
  // names in step with its place ("Move thread reply 2 up").
  var replies = document.getElementById("replies");

  function renumber() {
    Array.prototype.forEach.call(replies.querySelectorAll("[data-reply]"), function (reply, index) {
      var n = index + 1;
      var box = reply.querySelector("textarea");
      box.id = "reply-" + n;
      var label = reply.querySelector("[data-reply-label]");
      label.htmlFor = box.id;
      label.textContent = "Thread reply " + n;
      reply.querySelector('[data-reply-move="-1"]').setAttribute("aria-label", "Move thread reply " + n + " up");
      reply.querySelector('[data-reply-move="1"]').setAttribute("aria-label", "Move thread reply " + n + " down");
      reply.querySelector("[data-reply-remove]").setAttribute("aria-label", "Remove thread reply " + n);
    });
  }

  document.getElementById("add-reply").addEventListener("click", function () {
    var template = document.getElementById("reply-template");
    var node = template.content.firstElementChild.cloneNode(true);
    replies.appendChild(node);
    renumber();
    node.querySelector("textarea").focus();
  });

  replies.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    var reply = button.closest("[data-reply]");
    if (button.hasAttribute("data-reply-remove")) {
      var next = reply.nextElementSibling || reply.previousElementSibling;
      reply.remove();
      renumber();
      (next ? next.querySelector("textarea") : document.getElementById("add-reply")).focus();
      recheck();
      return;
    }
    var step = parseInt(button.dataset.replyMove, 10);
    var other = step < 0 ? reply.previousElementSibling : reply.nextElementSibling;
    if (!other) return;
    replies.insertBefore(reply, step < 0 ? other : other.nextElementSibling);
    renumber();
    button.focus(); // the same button, now on the moved reply, for a second step
    recheck();
  });

  // Only "Schedule" takes a date and time.
  var whenAt = document.getElementById("when-at");
  form.addEventListener("change", function (event) {
    if (event.target.name === "when") whenAt.disabled = event.target.value !== "schedule";
  });

  var input = document.getElementById("media-input");
  var uploads = document.getElementById("media-uploads");
  var list = document.getElementById("attachments");

  // The file picker offers PDFs only while an account that posts documents is picked (the server
  // takes them either way; the live checks name any account that would refuse one).
  var documentTypes = input.dataset.documentTypes.split(",");
  var mediaTypes = input.accept.split(",").filter(function (type) { return documentTypes.indexOf(type) < 0; });
  function offerDocuments() {
    var wanted = form.querySelector("input[name=accounts][data-documents]:checked") !== null;
    input.accept = (wanted ? mediaTypes.concat(documentTypes) : mediaTypes).join(",");
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "accounts") offerDocuments();
  });
  offerDocuments();

  function addAttachment(item) {
    if (list.querySelector('[data-media-id="' + item.id + '"]')) return;
    var li = document.createElement("li");
    li.className = "row attachment";
    li.dataset.mediaId = item.id;
    li.innerHTML =
      '<input type="hidden" name="main_media">' +
      '<img alt="" width="64" height="64" class="thumb">' +
      '<div class="field spacer"><label></label><input type="text" maxlength="1500"></div>' +
      '<button type="button" class="btn btn-ghost btn-sm" data-remove-attachment>Remove</button>';
    li.querySelector("input[type=hidden]").value = item.id;
    li.querySelector("img").src = item.url;
    var label = li.querySelector("label");
    var alt = li.querySelector("input[type=text]");
    alt.id = "alt-" + item.id;
    alt.name = "alt_" + item.id;
    label.htmlFor = alt.id;
    // A document has no alt text: what goes there is its title (the file's name if left empty).
    label.textContent = item.kind === "document"
      ? "Title of " + item.name + " (PDF; shown above the document, the file's name if left empty)"
      : "Alt text for " + item.name + (item.kind === "video" ? " (video, " + item.duration + ")" : "");
    list.appendChild(li);
    recheck();
  }

  // Chunked and resumable (static/js/uploads.js): big videos survive a reload or a dropped connection.
  window.PostwrightUploads.showPaused(uploads);
  input.addEventListener("change", function () {
    var files = Array.prototype.slice.call(input.files);
    window.PostwrightUploads.uploadAll(files, {
      createUrl: input.dataset.createUrl, container: uploads, onDone: addAttachment,
    }).then(function () { input.value = ""; });
  });

  // The media library as a picker: files uploaded before, attached without uploading again.
  var dialog = document.getElementById("library-dialog");
  var opener = document.getElementById("library-open");
  var items = document.getElementById("library-items");
  var libraryStatus = document.getElementById("library-status");
  opener.addEventListener("click", function () {
    dialog.showModal();
    fetch(opener.dataset.url, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : Promise.reject(response.status);
    }).then(function (html) {
      items.innerHTML = html;
      var first = items.querySelector("button");
      if (first) first.focus();
    }).catch(function () { items.innerHTML = '<p class="small">Could not load the library.</p>'; });
  });
  document.getElementById("library-close").addEventListener("click", function () { dialog.close(); });
  dialog.addEventListener("close", function () { opener.focus(); });
  items.addEventListener("click", function (event) {
    var pick = event.target.closest(".media-pick");
    if (!pick) return;
    addAttachment({ id: pick.dataset.id, name: pick.dataset.name, url: pick.dataset.url,
                    kind: pick.dataset.kind, duration: pick.dataset.duration });
    pick.setAttribute("aria-pressed", "true");
    libraryStatus.textContent = pick.dataset.name + " attached.";
  });

  list.addEventListener("click", function (event) {
    if (event.target.matches("[data-remove-attachment]")) {
      event.target.closest("li").remove();
      recheck();
    }
  });
})();
