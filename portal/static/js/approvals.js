/* The approval page follows its approval: while it is open, it asks every 2 s whether what it shows
   changed (the review read, the decision answered, the execution moved on) and reloads itself then,
   unless the approver has started typing a comment: then it only says so. */
(function () {
  "use strict";
  var root = document.getElementById("approval");
  if (!root) { return; }
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  var url = root.getAttribute("data-live-url");
  var shown = root.getAttribute("data-version");
  function typing() {
    var comment = document.getElementById("comment");
    return comment && comment.value.trim() !== "";
  }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json", "X-Portal-Poll": "1" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && body.version !== shown) {
          if (typing()) { document.getElementById("approval-stale").hidden = false; }
          else { window.location.reload(); return; }
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
}());
