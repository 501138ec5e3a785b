// Gazette administration: optional enhancements. Every action works without
// this file; it adds a Markdown toolbar and a live preview to each text
// column of the editor (the preview is rendered by the server, exactly as
// the public page renders the text).
(function () {
  "use strict";
  var form = document.querySelector("form.editor");
  if (!form) return;
  var previewUrl = form.getAttribute("data-preview-url");
  var csrfInput = form.querySelector('input[name="_csrf"]');

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
      function () { linePrefix(area, "- "); }
    ];
    actions.forEach(function (act, i) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = labels[i] || String(i);
      b.addEventListener("click", act);
      bar.appendChild(b);
    });
    area.parentNode.insertBefore(bar, area);
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
