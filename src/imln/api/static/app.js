// Progressive enhancement only: the form works without this file.
// Inline validation: the browser's own range checks at once, then the server's
// checks (cross-field rules included) for the whole form, shown next to each field.
(function () {
  "use strict";
  var printButton = document.querySelector("[data-action=print]");
  if (printButton) printButton.addEventListener("click", function () { window.print(); });

  var form = document.getElementById("patient-form");
  if (!form) return;
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  function errorSpan(input) { return document.getElementById(input.id + "-error"); }

  function show(input, messages) {
    var span = errorSpan(input);
    if (!span) return;
    span.textContent = messages.join("; ");
    var box = input.closest(".field");
    if (messages.length) { input.setAttribute("aria-invalid", "true"); if (box) box.classList.add("has-error"); }
    else { input.removeAttribute("aria-invalid"); if (box) box.classList.remove("has-error"); }
  }

  function nativeMessage(input) {
    if (input.validity.valid) return [];
    var v = input.validity;
    var min = input.getAttribute("min"), max = input.getAttribute("max");
    if (v.badInput) return ["not a number"];
    if (v.rangeUnderflow || v.rangeOverflow) return ["out of range (allowed " + (min || "…") + "–" + (max || "…") + ")"];
    if (v.stepMismatch) return ["use steps of " + input.getAttribute("step")];
    if (v.valueMissing) return ["required"];
    if (v.patternMismatch) return ["letters, digits, . _ - only"];
    return [input.validationMessage];
  }

  var timer = null, seq = 0;
  function serverCheck() {
    var mine = ++seq;
    var body = new URLSearchParams(new FormData(form));
    fetch("/validate", { method: "POST", body: body, headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (result) {
        if (!result || mine !== seq) return;
        form.querySelectorAll("input[name], select[name]").forEach(function (input) {
          if (!input.dataset.touched) return;
          var msgs = nativeMessage(input).concat(result.errors[input.name] || []);
          show(input, msgs);
        });
      })
      .catch(function () { /* offline or server busy: the submit still validates */ });
  }

  form.addEventListener("change", function (e) {
    var input = e.target;
    if (!input.name) return;
    input.dataset.touched = "1";
    show(input, nativeMessage(input));
    clearTimeout(timer);
    timer = setTimeout(serverCheck, 250);
  });
})();
