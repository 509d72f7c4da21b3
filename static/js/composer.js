// The composer: thread replies, resumable uploads with a progress bar, and re-checking after each change.
(function () {
  "use strict";
  var form = document.getElementById("composer");
  if (!form) return;

  function recheck() {
    form.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.getElementById("add-reply").addEventListener("click", function () {
    var template = document.getElementById("reply-template");
    var node = template.content.firstElementChild.cloneNode(true);
    document.getElementById("replies").appendChild(node);
    node.querySelector("textarea").focus();
  });

  var input = document.getElementById("media-input");
  var uploads = document.getElementById("media-uploads");
  var list = document.getElementById("attachments");

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
    label.textContent = "Alt text for " + item.name + (item.kind === "video" ? " (video, " + item.duration + ")" : "");
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

  list.addEventListener("click", function (event) {
    if (event.target.matches("[data-remove-attachment]")) {
      event.target.closest("li").remove();
      recheck();
    }
  });
})();
