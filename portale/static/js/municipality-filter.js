// Office form: filter the list of municipalities as the administrator types.
(function () {
  var input = document.getElementById("municipality-filter");
  if (!input) { return; }
  var items = document.querySelectorAll("#municipality-list [data-name]");
  input.addEventListener("input", function () {
    var q = input.value.trim().toLowerCase();
    items.forEach(function (el) { el.hidden = q !== "" && el.dataset.name.indexOf(q) === -1; });
  });
})();
