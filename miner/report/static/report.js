// Sortable tables: click (or Enter on) a header of a table.sortable to sort its rows by that column;
// numbers sort by the cell's data-sort value, text by its content; a second click reverses.
(function () {
  "use strict";
  function key(cell, type) {
    if (!cell) { return type === "number" ? -Infinity : ""; }
    if (type === "number") {
      var raw = cell.getAttribute("data-sort");
      var v = raw === null || raw === "" ? NaN : Number(raw);
      return isNaN(v) ? -Infinity : v;
    }
    return cell.textContent.trim().toLowerCase();
  }
  function sortBy(table, th) {
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var type = th.getAttribute("data-type");
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, i) { row.__order = i; });
    rows.sort(function (a, b) {
      var x = key(a.cells[index], type), y = key(b.cells[index], type);
      var c = x < y ? -1 : (x > y ? 1 : a.__order - b.__order);
      return ascending ? c : -c;
    });
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable th[data-type]").forEach(function (th) {
    var table = th.closest("table");
    th.addEventListener("click", function () { sortBy(table, th); });
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sortBy(table, th); } });
  });
}());
