/* Procedure form: show_if conditions, the "update the dossier too" prompt, autosave every ~20 s,
 * and one-click submission. The server enforces the same rules; this only helps the user. */
(function () {
  "use strict";
  var script = document.currentScript;
  var form = document.getElementById("procedure-form");
  if (!form) { return; }
  var status = document.getElementById("autosave-status");
  var dirty = false;

  function valueOf(name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    if (!inputs.length) { return ""; }
    var input = inputs[0];
    if (input.type === "checkbox") { return input.checked ? "true" : "false"; }
    return input.value;
  }

  function truthy(value) {
    return ["", "0", "false", "n", "no", "off"].indexOf(String(value).trim().toLowerCase()) === -1;
  }

  function applyConditions() {
    // Repeat until stable: a field whose controller is hidden is hidden too.
    var changed = true, guard = 0;
    while (changed && guard++ < 20) {
      changed = false;
      form.querySelectorAll("[data-show-if]").forEach(function (wrap) {
        var controller = document.getElementById("wrap-" + wrap.dataset.showIf);
        var values = wrap.dataset.showValues ? wrap.dataset.showValues.split("|") : [];
        var current = valueOf(wrap.dataset.showIf);
        var show = !(controller && controller.hidden) &&
          (values.length ? values.indexOf(current) !== -1 : truthy(current));
        if (wrap.hidden === show) { wrap.hidden = !show; changed = true; }
      });
    }
  }

  function applyDossierPrompts() {
    form.querySelectorAll(".dossier-update").forEach(function (box) {
      var same = valueOf(box.dataset.field) === box.dataset.dossierValue;
      box.hidden = same;
      var badge = box.parentElement.querySelector(".dossier-badge");
      if (badge) { badge.hidden = !same; }
    });
  }

  function say(text) { if (status) { status.textContent = text; } }

  function autosave() {
    if (!dirty) { return; }
    var data = new FormData(form);
    Array.from(data.keys()).forEach(function (key) {
      if (data.get(key) instanceof File) { data.delete(key); }
    });
    dirty = false;
    fetch(form.dataset.autosaveUrl, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-CSRFToken": data.get("csrf_token") || "", "Accept": "application/json"}
    }).then(function (response) {
      if (response.ok) {
        say(script.dataset.saved + " " + new Date().toLocaleTimeString("it-IT", {hour: "2-digit", minute: "2-digit"}));
      } else if (response.status === 401 || response.status === 400) {
        say(script.dataset.expired);
      } else if (response.status === 409) {
        window.location.reload();
      } else {
        dirty = true; say(script.dataset.failed);
      }
    }).catch(function () { dirty = true; say(script.dataset.failed); });
  }

  form.addEventListener("input", function () { dirty = true; applyConditions(); applyDossierPrompts(); });
  form.addEventListener("change", function () { dirty = true; applyConditions(); applyDossierPrompts(); });
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.hasAttribute("data-submit-once")) {
      if (form.dataset.submitting) { event.preventDefault(); return; }
      form.dataset.submitting = "1";
      // Disabled after the form data is built, so the button's value is still posted.
      setTimeout(function () { button.disabled = true; }, 0);
    }
  });
  applyConditions();
  applyDossierPrompts();
  window.setInterval(autosave, 20000);
  window.addEventListener("pagehide", autosave);
})();
