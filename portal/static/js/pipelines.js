/* Live part of a pipeline page: poll its live endpoint every 2 s with If-None-Match, so an unchanged
   pipeline costs a 304; update stage and action statuses in place, count the state's age on between
   answers, and reload only when the page's structure no longer fits (other stages or actions). Progressive enhancement: without this file the page shows the same on reload. Loaded from
   /static (the CSP forbids inline scripts). */
(function () {
  "use strict";

  var INTERVAL = 2000;
  var MAX_INTERVAL = 30000;

  function span(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) { return seconds + " s"; }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) { return minutes + " min"; }
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function setText(root, selector, text) {
    var element = root.querySelector(selector);
    if (element && element.textContent !== text) { element.textContent = text; }
  }

  function clock(iso) { return (iso || "").slice(11, 19); }

  // Returns false when the page's stages no longer match the answer (another list of stages or actions):
  // the page must be rendered again. A stage's retry button shows while it has failed.
  function updateStages(stages) {
    var sections = document.querySelectorAll("#pipeline-stages [data-stage]");
    if (sections.length !== stages.length) { return false; }
    return stages.every(function (stage, index) {
      var section = sections[index];
      if (section.getAttribute("data-stage") !== stage.name) { return false; }
      var pill = section.querySelector("h2 [data-field=status]");
      if (!pill) { return false; }
      var retry = section.querySelector("form.retry-form");
      if (retry) { retry.hidden = stage.status !== "Failed"; }
      pill.textContent = stage.status;
      pill.className = "status status-" + stage.status.toLowerCase().replace(/ /g, "-");
      setText(section, "[data-field=execution]", stage.execution_id ? "Execution " + stage.execution_id.slice(0, 8) : "");
      return stage.actions.every(function (action) {
        var row = section.querySelector('tr[data-action="' + action.name + '"]');
        if (!row) { return false; }
        // A build's log tail came (or went): the page renders it, so render the page again.
        if ((row.getAttribute("data-log") || "") !== (action.log_tail ? action.log_tail.read_at || "" : "")) { return false; }
        setText(row, "[data-field=status]", action.status);
        setText(row, "[data-field=started_at]", clock(action.started_at));
        setText(row, "[data-field=ended_at]", clock(action.ended_at));
        setText(row, "[data-field=duration]", action.duration);
        var summary = action.error && action.error.code ? action.error.code + ": " + action.error.message : action.summary;
        setText(row, "[data-field=summary]", summary);
        return true;
      });
    });
  }

  // The requests table, rebuilt from the answer: a request's status and AWS's answer come in later.
  function updateRequests(requests) {
    var body = document.getElementById("request-rows");
    if (!body || !requests) { return; }
    body.replaceChildren.apply(body, requests.map(function (r) {
      var row = document.createElement("tr");
      var what = r.kind + (r.stage ? " " + r.stage : "") + (r.reason ? " (" + r.reason + ")" : "");
      [String(r.id), what, r.requested_by, r.status, r.message].forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = text;
        row.appendChild(td);
      });
      return row;
    }));
    document.getElementById("requests").hidden = requests.length === 0;
  }

  // The history's rows of executions the live answer carries (its newest few) follow their status.
  function updateHistory(executions) {
    executions.forEach(function (execution) {
      var row = document.querySelector('#history tr[data-execution-id="' + execution.id + '"]');
      if (!row) { return; }
      var status = row.querySelector('[data-field="status"]');
      status.textContent = execution.status;
      status.className = "status status-" + execution.status.toLowerCase();
      setText(row, '[data-field="status_summary"]', execution.status_summary);
      setText(row, '[data-field="duration"]', execution.duration);
    });
  }

  function follow(root) {
    var etag = null;
    var age = root.getAttribute("data-age") === "" ? null : Number(root.getAttribute("data-age"));
    var receivedAt = Date.now();
    var newest = root.getAttribute("data-newest");
    var delay = INTERVAL;

    function showAge() {
      if (age === null) { return; }
      setText(document, "#pipeline-freshness", "State as of " + span(age + (Date.now() - receivedAt) / 1000) + " ago.");
    }

    function apply(data) {
      age = data.age_seconds;
      receivedAt = Date.now();
      var head = data.executions.length ? data.executions[0].id : "";
      if (head !== newest) {
        // A new execution: the stages follow it here; the history below is the page's, so say it is older.
        var stale = document.getElementById("history-stale");
        if (stale) { stale.hidden = false; }
      }
      newest = head;
      updateHistory(data.executions);
      if (!updateStages(data.stages)) { window.location.reload(); return false; }
      var state = document.getElementById("pipeline-state");
      if (state) { state.textContent = data.state; state.className = "status status-" + data.state.toLowerCase(); }
      setText(document, "#pipeline-waiting", data.waiting_for);
      updateRequests(data.requests);
      root.setAttribute("data-version", String(data.version));
      return true;
    }

    function poll() {
      // X-Portal-Poll: a poll is not activity, so an open page does not keep its sign-in alive (portal/sessions.py).
      var headers = {Accept: "application/json", "X-Portal-Poll": "1"};
      if (etag) { headers["If-None-Match"] = etag; }
      fetch(root.getAttribute("data-live-url"), {headers: headers, credentials: "same-origin"})
        .then(function (response) {
          if (response.status === 304) { return null; }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          etag = response.headers.get("ETag");
          return response.json();
        })
        .then(function (data) {
          if (data && !apply(data)) { return; }
          showAge();
          delay = INTERVAL;
          window.setTimeout(poll, delay);
        })
        .catch(function () {
          // The portal restarting or the network gone: keep the page, show its age, try again later.
          showAge();
          delay = Math.min(delay * 2, MAX_INTERVAL);
          window.setTimeout(poll, delay);
        });
    }

    window.setInterval(showAge, 1000);
    window.setTimeout(poll, INTERVAL);
  }

  function bindConfirmations() {
    document.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.form.addEventListener("submit", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); return; }
        // One click, one request; disabled after the submit has read the form.
        window.setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("pipeline-live");
    if (root) { follow(root); }
    bindConfirmations();
  });
})();
