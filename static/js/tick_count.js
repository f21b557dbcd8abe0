// Meeting page, "register members": say how many are ticked ("12 selected") and tick or untick
// the whole page at once. Without JavaScript the checkboxes still work; only the count is lost.
(function () {
  "use strict";
  document.querySelectorAll("[data-tick-count]").forEach(function (form) {
    var boxes = form.querySelectorAll("input[name='user_ids']");
    var all = form.querySelector("[data-tick-all]");
    var output = form.querySelector("[data-tick-output]");
    function update() {
      var n = 0;
      boxes.forEach(function (box) { if (box.checked) { n += 1; } });
      output.textContent = n + " selected";
      if (all) { all.checked = n === boxes.length && n > 0; }
    }
    form.addEventListener("change", function (event) {
      if (event.target === all) {
        boxes.forEach(function (box) { box.checked = all.checked; });
      }
      update();
    });
    update();
  });
})();
