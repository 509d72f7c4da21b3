// The composer: thread replies, uploads with a progress bar, and re-checking after each change.
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
  var bar = document.getElementById("media-progress");
  var status = document.getElementById("media-status");
  var list = document.getElementById("attachments");

  function csrfToken() {
    return form.querySelector("input[name=csrfmiddlewaretoken]").value;
  }

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
    label.textContent = "Alt text for " + item.name;
    list.appendChild(li);
    recheck();
  }

  function upload(file) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      var data = new FormData();
      data.append("file", file);
      xhr.open("POST", input.dataset.uploadUrl);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      bar.hidden = false;
      bar.value = 0;
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
      });
      xhr.addEventListener("load", function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = { error: "Upload failed." }; }
        if (xhr.status === 200) {
          addAttachment(body);
          status.textContent = "Uploaded " + body.name + ".";
        } else {
          status.textContent = body.error || "Upload failed (" + xhr.status + ").";
        }
        resolve();
      });
      xhr.addEventListener("error", function () {
        status.textContent = "Upload failed: the connection dropped.";
        resolve();
      });
      xhr.send(data);
    });
  }

  input.addEventListener("change", function () {
    var files = Array.prototype.slice.call(input.files);
    files.reduce(function (chain, file) {
      return chain.then(function () { return upload(file); });
    }, Promise.resolve()).then(function () {
      bar.hidden = true;
      input.value = "";
    });
  });

  list.addEventListener("click", function (event) {
    if (event.target.matches("[data-remove-attachment]")) {
      event.target.closest("li").remove();
      recheck();
    }
  });
})();
