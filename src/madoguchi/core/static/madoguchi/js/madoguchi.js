// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Stop a second click from sending the same form twice (the server is idempotent anyway).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitted === "yes") {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-once")) {
      form.dataset.submitted = "yes";
    }
  });

  // Postal code lookup without reloading the page.
  document.querySelectorAll("[data-postal-lookup]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      var prefix = button.getAttribute("data-postal-lookup");
      var codeInput = document.getElementById(prefix + "-postal_code");
      var status = document.getElementById(prefix + "-lookup-status");
      if (!codeInput || !window.fetch) { return; }
      event.preventDefault();
      var code = codeInput.value.normalize("NFKC").replace(/[^0-9]/g, "");
      if (code.length !== 7) {
        status.textContent = status.getAttribute("data-invalid");
        return;
      }
      fetch("/api/postal-codes/" + code, { headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { status.textContent = status.getAttribute("data-notfound"); return; }
          document.getElementById(prefix + "-prefecture").value = data.prefecture;
          document.getElementById(prefix + "-city").value = data.city;
          document.getElementById(prefix + "-street").value = data.town;
          status.textContent = status.getAttribute("data-found");
          document.getElementById(prefix + "-street").focus();
        })
        .catch(function () { status.textContent = status.getAttribute("data-notfound"); });
    });
  });

  // Show a field only when the answers on the same page match its condition.
  function evaluate(condition, form) {
    if (condition.all) { return condition.all.every(function (c) { return evaluate(c, form); }); }
    if (condition.any) { return condition.any.some(function (c) { return evaluate(c, form); }); }
    if (condition.not) { return !evaluate(condition.not, form); }
    var inputs = form.querySelectorAll("[name='f-" + condition.field + "']");
    if (!inputs.length) { inputs = form.querySelectorAll("[name='" + condition.field + "']"); }
    if (!inputs.length) { return true; }  // on another page: the server decided already
    var values = [];
    inputs.forEach(function (input) {
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) { return; }
      if (input.value !== "") { values.push(input.type === "checkbox" && input.value === "yes" ? true : input.value); }
    });
    var value = values.length ? values[0] : null;
    if ("equals" in condition) { return String(value) === String(condition.equals); }
    if ("not_equals" in condition) { return String(value) !== String(condition.not_equals); }
    if ("in" in condition) { return condition.in.map(String).indexOf(String(value)) >= 0; }
    if ("contains" in condition) { return values.map(String).indexOf(String(condition.contains)) >= 0; }
    if ("is_set" in condition) { return (values.length > 0) === condition.is_set; }
    if ("greater_than" in condition) { return value !== null && Number(value) > condition.greater_than; }
    if ("less_than" in condition) { return value !== null && Number(value) < condition.less_than; }
    return true;
  }
  var conditional = document.querySelectorAll("[data-show-if]");
  if (conditional.length) {
    var refresh = function () {
      conditional.forEach(function (element) {
        var form = element.closest("form");
        var shown = evaluate(JSON.parse(element.getAttribute("data-show-if")), form);
        element.hidden = !shown;
      });
    };
    document.addEventListener("change", refresh);
    refresh();
  }
})();
