// Chunked, resumable uploads (the Content-Range protocol of publishing/uploads.py).
// A file goes up in pieces; the upload's id is kept in localStorage, so after a reload the same
// file, chosen again, continues from the server's offset; a dropped connection is retried with
// backoff from the offset the server reports. No dependencies.
(function () {
  "use strict";
  var STORE = "postwright.uploads";
  var BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
  var MAX_TRIES = 30; // about a quarter of an hour of a dead connection before giving up

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // --- What is remembered across reloads ---------------------------------------------------
  function fileKey(file) { return [file.name, file.size, file.lastModified].join(":"); }
  function loadAll() {
    try { return JSON.parse(localStorage.getItem(STORE) || "{}"); } catch (e) { return {}; }
  }
  function saveAll(all) {
    try { localStorage.setItem(STORE, JSON.stringify(all)); } catch (e) { /* private mode: no resume */ }
  }
  function remember(key, value) { var all = loadAll(); all[key] = value; saveAll(all); }
  function forget(key) { var all = loadAll(); delete all[key]; saveAll(all); }

  // --- Requests ---------------------------------------------------------------------------
  function send(method, url, body, headers, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      Object.keys(headers || {}).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
      if (onProgress) xhr.upload.addEventListener("progress", function (e) { onProgress(e.loaded); });
      xhr.addEventListener("load", function () {
        var data = {};
        try { data = JSON.parse(xhr.responseText || "{}"); } catch (e) { data = {}; }
        resolve({ status: xhr.status, body: data });
      });
      xhr.addEventListener("error", function () { reject(new Error("network")); });
      xhr.addEventListener("abort", function () { reject(new Error("network")); });
      xhr.send(body === undefined ? null : body);
    });
  }
  function offline(message) { var error = new Error(message); error.keep = true; return error; }
  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }
  function backoff(attempt) { return BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]; }

  // --- What the user sees -----------------------------------------------------------------
  function formatBytes(n) {
    if (n >= 1e9) return (n / 1e9).toFixed(1) + " GB";
    if (n >= 1e6) return (n / 1e6).toFixed(1) + " MB";
    if (n >= 1e3) return Math.round(n / 1e3) + " KB";
    return n + " B";
  }
  function formatTime(seconds) {
    if (!isFinite(seconds)) return "";
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + (seconds % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function View(container, name) {
    this.node = document.createElement("div");
    this.node.className = "upload-item";
    this.node.dataset.uploadItem = name;
    this.node.innerHTML =
      '<span class="small"><strong></strong></span>' +
      '<progress class="progress" max="100" value="0" data-upload-progress></progress>' +
      '<span class="small muted upload-stats" data-upload-stats aria-live="polite"></span>';
    this.node.querySelector("strong").textContent = name;
    this.bar = this.node.querySelector("progress");
    this.stats = this.node.querySelector("[data-upload-stats]");
    this.samples = [];
    container.appendChild(this.node);
  }
  View.prototype.progress = function (loaded, total) {
    var now = Date.now();
    this.samples.push([now, loaded]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 5000) this.samples.shift();
    var first = this.samples[0];
    var elapsed = (now - first[0]) / 1000;
    var speed = elapsed > 0.2 ? (loaded - first[1]) / elapsed : 0;
    var percent = total ? Math.floor((loaded / total) * 100) : 0;
    this.bar.value = percent;
    var text = percent + "%";
    if (speed > 0) text += " · " + formatBytes(speed) + "/s · " + formatTime((total - loaded) / speed) + " left";
    this.stats.textContent = text;
  };
  View.prototype.say = function (text, isError) {
    this.stats.textContent = text;
    this.node.classList.toggle("has-error", Boolean(isError));
    if (isError) this.stats.setAttribute("role", "alert");
  };
  View.prototype.restart = function () { this.samples = []; };

  // --- The upload itself -------------------------------------------------------------------
  async function serverOffset(info, view) {
    for (var attempt = 0; attempt < MAX_TRIES; attempt++) {
      try {
        var answer = await send("GET", info.url);
        if (answer.status === 200) return answer.body.offset;
        if (answer.status === 404 || answer.status === 410) return null;
      } catch (e) { /* still offline */ }
      view.say("Connection lost — retrying in " + Math.round(backoff(attempt) / 1000) + " s…");
      await wait(backoff(attempt));
    }
    throw offline("The connection did not come back; choose the file again to continue.");
  }

  async function begin(file, options, view) {
    var key = fileKey(file);
    var saved = loadAll()[key];
    if (saved) {
      var offset = await serverOffset(saved, view);
      if (offset !== null) {
        view.say("Resuming at " + Math.floor((offset / file.size) * 100) + "%…");
        return { info: saved, offset: offset };
      }
      forget(key);
    }
    var body = JSON.stringify({ name: file.name, size: file.size, type: file.type });
    var answer = await send("POST", options.createUrl, body, { "Content-Type": "application/json" });
    if (answer.status !== 201) throw new Error(answer.body.error || "The upload could not start (" + answer.status + ").");
    var info = { url: answer.body.url, finish_url: answer.body.finish_url, chunk_size: answer.body.chunk_size,
                 name: file.name, size: file.size };
    remember(key, info);
    return { info: info, offset: 0 };
  }

  async function sendChunks(file, info, offset, view) {
    var failures = 0;
    while (offset < file.size) {
      var end = Math.min(offset + info.chunk_size, file.size);
      var start = offset;
      var headers = { "Content-Type": "application/octet-stream",
                      "Content-Range": "bytes " + start + "-" + (end - 1) + "/" + file.size };
      var answer;
      try {
        answer = await send("PUT", info.url, file.slice(start, end), headers, function (loaded) {
          view.progress(start + loaded, file.size);
        });
      } catch (e) {
        answer = { status: 0, body: {} };
      }
      if (answer.status === 200) {
        offset = answer.body.offset;
        failures = 0;
      } else if (answer.status === 409 && typeof answer.body.offset === "number") {
        offset = answer.body.offset; // the server has more (or less) than we thought: follow it
        if (++failures > MAX_TRIES) throw new Error(answer.body.error);
      } else if (answer.status === 0 || answer.status === 429 || answer.status >= 500) {
        if (++failures > MAX_TRIES) throw offline("The connection keeps dropping; choose the file again later.");
        view.say("Connection lost — retrying in " + Math.round(backoff(failures - 1) / 1000) + " s…");
        await wait(backoff(failures - 1));
        var known = await serverOffset(info, view);
        if (known === null) throw new Error("This upload has expired; choose the file again.");
        offset = known;
        view.restart();
      } else {
        throw new Error(answer.body.error || "The server refused a piece of the file (" + answer.status + ").");
      }
      view.progress(offset, file.size);
    }
  }

  async function finish(info, view) {
    view.say("Checking the file…");
    for (var attempt = 0; attempt < MAX_TRIES; attempt++) {
      try {
        var answer = await send("POST", info.finish_url);
        if (answer.status === 200) return answer.body;
        if (answer.status < 500) throw new Error(answer.body.error || "The file was refused (" + answer.status + ").");
      } catch (e) {
        if (e.message !== "network") throw e;
      }
      await wait(backoff(attempt));
    }
    throw new Error("The server did not answer; reload the page to see whether the file arrived.");
  }

  // A video is inspected after finishing (publishing/media.py, media_inspect_run): follow its
  // status until it is ready (attachable) or failed (with the reason).
  var POLL_MS = 2000;
  async function whenInspected(media, view) {
    var misses = 0;
    while (media.status === "processing") {
      view.say("Inspecting the video…");
      await wait(POLL_MS);
      try {
        var answer = await send("GET", media.status_url);
        if (answer.status === 200) { media = answer.body; misses = 0; continue; }
        if (answer.status < 500) throw new Error(answer.body.error || "The video is gone (" + answer.status + ").");
      } catch (e) {
        if (e.message !== "network") throw e;
      }
      if (++misses > MAX_TRIES) throw offline("The server stopped answering; the media library shows the video once ready.");
    }
    if (media.status === "failed") throw new Error(media.error || "The video could not be processed.");
    return media;
  }

  // upload(file, {createUrl, container, onDone}) -> Promise of the stored media (or null on failure).
  async function upload(file, options) {
    var view = new View(options.container, file.name);
    var key = fileKey(file);
    try {
      var started = await begin(file, options, view);
      view.progress(started.offset, file.size);
      await sendChunks(file, started.info, started.offset, view);
      var media = await finish(started.info, view);
      forget(key);
      if (media.status === "processing") {
        document.body.dispatchEvent(new CustomEvent("media-uploaded", { detail: media })); // the library shows it inspecting
        media = await whenInspected(media, view);
      }
      view.bar.value = 100;
      view.say("Uploaded " + media.name + (media.duration ? " (" + media.duration + ")" : "") + ".");
      if (options.onDone) options.onDone(media);
      document.body.dispatchEvent(new CustomEvent("media-uploaded", { detail: media }));
      return media;
    } catch (e) {
      if (!e.keep) forget(key); // a refusal is final; a dead connection can still be resumed
      view.say(e.message === "network" ? "Upload failed: the connection dropped." : e.message, true);
      return null;
    }
  }

  // Uploads a reload interrupted: say so, so the user chooses the same file to continue.
  function showPaused(container) {
    var all = loadAll();
    Object.keys(all).forEach(function (key) {
      var info = all[key];
      var note = document.createElement("p");
      note.className = "small muted";
      note.dataset.pausedUpload = key;
      note.textContent = info.name + " was interrupted; choose it again to continue where it stopped.";
      container.appendChild(note);
    });
  }

  function uploadAll(files, options) {
    options.container.querySelectorAll("[data-paused-upload]").forEach(function (node) { node.remove(); });
    return files.reduce(function (chain, file) {
      return chain.then(function () { return upload(file, options); });
    }, Promise.resolve());
  }

  window.PostwrightUploads = { upload: upload, uploadAll: uploadAll, showPaused: showPaused };

  // Any [data-uploader] block (the media library) wires itself.
  document.querySelectorAll("[data-uploader]").forEach(function (root) {
    var input = root.querySelector("[data-upload-input]");
    var list = root.querySelector("[data-upload-list]");
    showPaused(list);
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files);
      uploadAll(files, { createUrl: root.dataset.createUrl, container: list }).then(function () { input.value = ""; });
    });
  });
})();
