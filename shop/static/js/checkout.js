// Checkout: choosing a saved address copies it into the address fields (without script,
// "Update totals" does the same on the server).
(function () {
  "use strict";
  var fields = {
    name: "name", line1: "line1", line2: "line2", city: "city",
    region: "region", postalCode: "postal_code", country: "country"
  };
  document.querySelectorAll('input[name="saved_address"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (!radio.checked || !radio.value) { return; }
      Object.keys(fields).forEach(function (key) {
        var input = document.getElementById(fields[key]);
        if (input) { input.value = radio.dataset[key] || ""; }
      });
    });
  });
})();
