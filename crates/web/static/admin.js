// Gazette administration: optional enhancements. Every action works without
// this file; it adds a Markdown toolbar and a live preview to each text
// column of the editor (the preview is rendered by the server, exactly as
// the public page renders the text), and image uploads from the toolbar or
// by dropping a file onto the text, inserted where the cursor is (the
// editor's "Insert image" form does the same without script).
(function () {
  "use strict";
  var form = document.querySelector("form.editor");
  if (!form) return;
  var previewUrl = form.getAttribute("data-preview-url");
  var csrfInput = form.querySelector('input[name="_csrf"]');
  var uploadUrl = form.getAttribute("data-upload-url");

  // Uploads `file` to the library with alt text asked of the person, then
  // puts its Markdown at the cursor. `say` reports progress and refusals.
  function uploadImage(area, file, say) {
    if (!uploadUrl || !csrfInput) return;
    var alt = window.prompt(form.getAttribute("data-alt-prompt") || "Alternative text:", "");
    if (alt === null) return;
    var data = new FormData();
    data.append("_csrf", csrfInput.value);
    data.append("alt", alt);
    data.append("file", file);
    say(form.getAttribute("data-uploading") || "Uploading…");
    fetch(uploadUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (!res.ok) { say(res.body.error || "Upload refused"); return; }
        var start = area.selectionStart;
        var before = area.value.slice(0, start);
        var gap = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
        area.setRangeText(gap + res.body.markdown + "\n", start, area.selectionEnd, "end");
        area.focus();
        area.dispatchEvent(new Event("input"));
        say(form.getAttribute("data-inserted") || "Inserted.");
      })
      .catch(function (e) { say(String(e)); });
  }

  function wrap(area, before, after, placeholder) {
    var start = area.selectionStart, end = area.selectionEnd;
    var chosen = area.value.slice(start, end) || placeholder;
    area.setRangeText(before + chosen + after, start, end, "select");
    area.focus();
    area.dispatchEvent(new Event("input"));
  }

  function linePrefix(area, prefix) {
    var start = area.value.lastIndexOf("\n", area.selectionStart - 1) + 1;
    area.setRangeText(prefix, start, start, "end");
    area.focus();
    area.dispatchEvent(new Event("input"));
  }

  function addToolbar(area) {
    var labels = (area.getAttribute("data-tb") || "").split("|");
    var bar = document.createElement("div");
    bar.className = "toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", area.getAttribute("data-toolbar-label") || "Formatting");
    bar.setAttribute("aria-controls", area.id);
    var actions = [
      function () { linePrefix(area, "## "); },
      function () { wrap(area, "**", "**", "text"); },
      function () { wrap(area, "_", "_", "text"); },
      function () { wrap(area, "[", "](https://)", "text"); },
      function () { linePrefix(area, "> "); },
      function () { linePrefix(area, "- "); },
      function () { picker.click(); }
    ];
    var status = document.createElement("p");
    status.className = "hint";
    status.setAttribute("role", "status");
    function say(text) { status.textContent = text; }
    var picker = document.createElement("input");
    picker.type = "file";
    picker.accept = "image/jpeg,image/png,image/gif,image/webp";
    picker.hidden = true;
    picker.addEventListener("change", function () {
      if (picker.files && picker.files[0]) uploadImage(area, picker.files[0], say);
      picker.value = "";
    });
    area.addEventListener("dragover", function (e) {
      if (e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types, "Files") >= 0) {
        e.preventDefault();
        area.classList.add("dropping");
      }
    });
    area.addEventListener("dragleave", function () { area.classList.remove("dropping"); });
    area.addEventListener("drop", function (e) {
      area.classList.remove("dropping");
      var files = e.dataTransfer && e.dataTransfer.files;
      if (!files || !files.length) return;
      e.preventDefault();
      uploadImage(area, files[0], say);
    });
    actions.forEach(function (act, i) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = labels[i] || String(i);
      b.addEventListener("click", act);
      bar.appendChild(b);
    });
    area.parentNode.insertBefore(bar, area);
    area.parentNode.insertBefore(picker, area);
    area.parentNode.insertBefore(status, area.nextSibling);
  }

  function livePreview(area) {
    var target = document.getElementById(area.id.replace(/-body$/, "-preview"));
    if (!target || !previewUrl || !csrfInput) return;
    var timer = null, seq = 0;
    function refresh() {
      var mine = ++seq;
      var body = new URLSearchParams();
      body.set("_csrf", csrfInput.value);
      body.set("body", area.value);
      fetch(previewUrl, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) { if (mine === seq) target.innerHTML = html; })
        .catch(function () {});
    }
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    });
    if (area.value.trim()) refresh();
  }

  Array.prototype.forEach.call(form.querySelectorAll("textarea.markdown"), function (area) {
    addToolbar(area);
    livePreview(area);
  });

  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
