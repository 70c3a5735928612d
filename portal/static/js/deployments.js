/* Live view of an operation: poll its events endpoint, append new stack events, update the statuses,
   stop at a terminal status. Progressive enhancement only: without this file the pages show the same
   on reload. Loaded from /static (the CSP forbids inline scripts). */
(function () {
  "use strict";

  var INTERVAL = 1000;
  var MAX_INTERVAL = 15000;

  // The same reduction as portal/deployments/views.py tone(): ok, bad, busy or plain.
  function tone(status) {
    if (!status) { return "plain"; }
    if (status.indexOf("FAILED") >= 0 || status.indexOf("ROLLBACK") >= 0) { return "bad"; }
    if (/_IN_PROGRESS$/.test(status)) { return "busy"; }
    if (/_COMPLETE$/.test(status)) { return "ok"; }
    return "plain";
  }

  function cfnStatus(status) {
    var span = document.createElement("span");
    span.className = status ? "cfn cfn-" + tone(status) : "muted";
    span.textContent = status || "no status yet";
    return span;
  }

  function cell(child, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    if (typeof child === "string") { td.textContent = child; } else { td.appendChild(child); }
    return td;
  }

  function code(text) {
    var element = document.createElement("code");
    element.textContent = text;
    return element;
  }

  // Timestamps arrive as ISO 8601 in UTC; the page shows HH:MM:SS UTC like the server does.
  function clock(iso) {
    var match = /T(\d\d:\d\d:\d\d)/.exec(iso || "");
    return match ? match[1] : "";
  }

  // Returns false when the event's stack is not on the page (the page must be rendered again).
  function appendEvent(event) {
    var body = document.getElementById("events-" + event.stack);
    if (!body) { return false; }
    if (body.querySelector('tr[data-event-id="' + event.id + '"]')) { return true; }  // sent again: skip
    var empty = body.querySelector("tr.no-events");
    if (empty) { empty.remove(); }
    var row = document.createElement("tr");
    row.setAttribute("data-event-id", String(event.id));
    row.className = "fresh";
    row.appendChild(cell(clock(event.timestamp), "time"));
    row.appendChild(cell(code(event.logical_id)));
    row.appendChild(cell(event.type));
    row.appendChild(cell(cfnStatus(event.status)));
    row.appendChild(cell(event.reason));
    // Keep the page's order (newest first unless data-order says oldest), by id: a late-committed
    // event may carry a lower id than rows already shown.
    var newestFirst = body.getAttribute("data-order") !== "oldest";
    var after = Array.prototype.find.call(body.rows, function (r) {
      var shown = Number(r.getAttribute("data-event-id"));
      return newestFirst ? shown < event.id : shown > event.id;
    });
    body.insertBefore(row, after || null);
    var count = body.closest("section").querySelector(".event-count");
    if (count) { count.textContent = String(body.querySelectorAll("tr[data-event-id]").length); }
    return true;
  }

  function updateStack(stack, labels) {
    var section = document.querySelector('[data-stack-id="' + stack.id + '"]');
    if (!section) { return false; }
    var status = section.querySelector(".stack-status");
    if (status) { status.replaceChildren(cfnStatus(stack.stack_status)); }
    var phase = section.querySelector(".stack-phase");
    if (phase) { phase.textContent = labels[stack.phase] || stack.phase; }
    var reason = section.querySelector(".stack-reason");
    if (reason) { reason.textContent = stack.status_reason || ""; }
    return true;
  }

  function updateOperation(operation) {
    var pill = document.getElementById("operation-status");
    if (!pill) { return; }
    pill.textContent = operation.status;
    pill.className = "status status-" + operation.status;
  }

  function schedule(fn, delay) { window.setTimeout(fn, delay); }

  // Every poll says it is one (portal/sessions.py POLL_HEADER), so a page left open does not keep
  // its session alive: the idle timeout counts only what a person does.
  var POLL = {headers: {Accept: "application/json", "X-Portal-Poll": "1"}, credentials: "same-origin"};

  // The operation page: append events as they come; reload when the operation's status changes (to
  // show its outputs, root cause or launch instructions) or a stack appears that the page lacks.
  // A terminal page carries no data-live, so polling stops there.
  function follow(root) {
    var labels = JSON.parse(root.getAttribute("data-phase-labels") || "{}");
    var delay = INTERVAL;
    function poll() {
      var url = root.getAttribute("data-events-url") + "?after=" + encodeURIComponent(root.getAttribute("data-after"));
      fetch(url, POLL)
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          var complete = data.events.every(appendEvent);
          complete = data.stacks.map(function (s) { return updateStack(s, labels); }).every(Boolean) && complete;
          updateOperation(data.operation);
          root.setAttribute("data-after", String(data.next_after));
          // A new status (running, waiting for an admin, finished) changes what the page explains.
          if (data.operation.status !== root.getAttribute("data-status") || !complete) {
            window.location.reload();
            return;
          }
          delay = INTERVAL;
          schedule(poll, delay);
        })
        .catch(function () {
          // The portal restarting or the network dropping: try again, less often.
          delay = Math.min(delay * 2, MAX_INTERVAL);
          schedule(poll, delay);
        });
    }
    schedule(poll, INTERVAL);
  }

  // The setup page: reload when the watched plan or apply changes status.
  function watch(root) {
    var delay = INTERVAL;
    function poll() {
      fetch(root.getAttribute("data-events-url") + "?after=" + (root.getAttribute("data-after") || "0"),
            POLL)
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          if (data.operation.status !== root.getAttribute("data-status")) {
            window.location.reload();
            return;
          }
          root.setAttribute("data-after", String(data.next_after));
          delay = INTERVAL;
          schedule(poll, delay);
        })
        .catch(function () {
          delay = Math.min(delay * 2, MAX_INTERVAL);
          schedule(poll, delay);
        });
    }
    schedule(poll, INTERVAL);
  }

  // A small "Copy" button on each command and link block.
  function bindCopyButtons() {
    if (!navigator.clipboard) { return; }
    document.querySelectorAll("pre.copy").forEach(function (block) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy-button secondary small";
      button.textContent = "Copy";
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(block.querySelector("code").textContent).then(function () {
          button.textContent = "Copied";
          window.setTimeout(function () { button.textContent = "Copy"; }, 1500);
        });
      });
      block.appendChild(button);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.querySelector("[data-live]");
    if (live) { follow(live); }
    var watched = document.querySelector("[data-watch]");
    if (watched) { watch(watched); }
    bindCopyButtons();
  });
})();
