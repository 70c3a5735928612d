/* Progressive enhancement only: every page works without this file. Loaded from /static (the CSP
   forbids inline scripts). */
(function () {
  "use strict";

  // Show a block only while the radio group it names has the given value: data-show-when="name=value".
  function bindShowWhen() {
    document.querySelectorAll("[data-show-when]").forEach(function (block) {
      var rule = block.getAttribute("data-show-when").split("=");
      var radios = document.querySelectorAll('input[type="radio"][name="' + rule[0] + '"]');
      function update() {
        var chosen = Array.prototype.find.call(radios, function (r) { return r.checked; });
        block.hidden = !chosen || chosen.value !== rule[1];
      }
      radios.forEach(function (radio) { radio.addEventListener("change", update); });
      update();
    });
  }

  // Explain shared accounts while they are typed (the server says the same after saving).
  function bindAccountSharing() {
    var form = document.getElementById("accounts-form");
    var out = document.getElementById("account-sharing");
    if (!form || !out) { return; }
    var ids = ["build_account_id", "staging_account_id", "production_account_id"];
    function update() {
      // The server takes 1111-1111-1111 (the console's way of writing it) as 111111111111.
      var v = ids.map(function (id) {
        var typed = (document.getElementById(id).value || "").trim();
        return /^[0-9]{4}[- ]?[0-9]{4}[- ]?[0-9]{4}$/.test(typed) ? typed.replace(/[- ]/g, "") : typed;
      });
      var ok = v.every(function (x) { return /^[0-9]{12}$/.test(x); });
      var lines = [];
      if (ok) {
        if (v[0] === v[1] && v[1] === v[2]) {
          lines.push("Build, staging and production share account " + v[0] + ": the pipeline and both stages " +
                     "live in one account, and one deploy stack serves both stages.");
        } else {
          if (v[1] === v[2]) { lines.push("Staging and production share account " + v[1] + ": one deploy stack serves both."); }
          if (v[0] === v[1]) { lines.push("Build and staging share account " + v[0] + ": the pipeline and the staging application live in the same account."); }
          if (v[0] === v[2]) { lines.push("Build and production share account " + v[0] + ": the pipeline and the production application live in the same account."); }
          if (!lines.length) { lines.push("Build, staging and production are three separate accounts: each stage is isolated."); }
        }
      }
      out.textContent = "";
      lines.forEach(function (text) {
        var p = document.createElement("p");
        p.className = "note";
        p.textContent = text;
        out.appendChild(p);
      });
    }
    ids.forEach(function (id) { document.getElementById(id).addEventListener("input", update); });
    update();
  }

  // A wizard step's tabs post its form naming the tab's step (as Back does), so what was typed is
  // saved as a draft, or shown again with the reason it cannot be, instead of being dropped.
  function bindStepTabs() {
    var form = document.querySelector("form[data-wizard]");
    if (!form) { return; }
    document.querySelectorAll(".steps a[data-goto]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var goto = document.createElement("input");
        goto.type = "hidden";
        goto.name = "goto";
        goto.value = link.getAttribute("data-goto");
        form.appendChild(goto);
        form.submit();
      });
    });
  }

  // One click, one request: a double click must not ask for two plans.
  function bindDisableOnSubmit() {
    document.querySelectorAll("[data-disable-on-submit]").forEach(function (button) {
      button.form.addEventListener("submit", function () {
        window.setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindShowWhen();
    bindAccountSharing();
    bindStepTabs();
    bindDisableOnSubmit();
  });
})();
