// The audit's drill-down and sign-off, offline. Buttons open or close every foreigner. Each
// finding's sign-off (decision, reviewer, date, comment) is kept in localStorage under the audit
// id (in memory when the browser refuses storage for a file), and "export" downloads every
// finding of the drill-down with its sign-off as a CSV file made in the page (a Blob): nothing
// leaves the computer.
(function () {
  "use strict";
  var FIELDS = ["decision", "reviewer", "date", "comment"];
  var key = "miner-audit-signoff:" + (document.body.getAttribute("data-audit") || "");
  var memory = {};
  function load(name) {
    try { var raw = window.localStorage.getItem(name); return raw ? JSON.parse(raw) : null; }
    catch (e) { return memory[name] || null; }
  }
  function store(name, value) {
    memory[name] = value;
    try { window.localStorage.setItem(name, JSON.stringify(value)); } catch (e) { /* kept in memory */ }
  }
  document.querySelectorAll("button[data-details]").forEach(function (button) {
    button.addEventListener("click", function () {
      var open = button.getAttribute("data-details") === "open";
      document.querySelectorAll("details.foreigner").forEach(function (d) { d.open = open; });
    });
  });
  var state = load(key) || {};
  var forms = Array.prototype.slice.call(document.querySelectorAll("fieldset.signoff"));
  var reviewer = document.getElementById("signoff-reviewer");
  function field(form, name) { return form.querySelector('[name="' + name + '"]'); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function today() {
    var d = new Date();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }
  function mark(form) {
    var article = form.closest("article.finding");
    if (article) { article.setAttribute("data-decision", field(form, "decision").value); }
  }
  function progress() {
    var el = document.getElementById("signoff-progress");
    if (!el) { return; }
    var done = forms.filter(function (f) {
      var s = state[f.getAttribute("data-finding")];
      return s && s.decision;
    }).length;
    el.setAttribute("data-done", String(done));
    el.textContent = el.getAttribute("data-template").replace("{done}", String(done))
      .replace("{total}", String(forms.length));
  }
  function save(form, target) {
    if (target && target.name === "decision" && target.value) {
      if (!field(form, "reviewer").value && reviewer && reviewer.value) {
        field(form, "reviewer").value = reviewer.value;
      }
      if (!field(form, "date").value) { field(form, "date").value = today(); }
    }
    var entry = {}, any = false;
    FIELDS.forEach(function (name) { entry[name] = field(form, name).value; any = any || !!entry[name]; });
    var id = form.getAttribute("data-finding");
    if (any) { state[id] = entry; } else { delete state[id]; }
    store(key, state);
    mark(form);
    progress();
  }
  forms.forEach(function (form) {
    var saved = state[form.getAttribute("data-finding")] || {};
    FIELDS.forEach(function (name) { field(form, name).value = saved[name] || ""; });
    mark(form);
    form.addEventListener("change", function (e) { save(form, e.target); });
    form.addEventListener("input", function (e) { if (e.target.name !== "decision") { save(form, e.target); } });
  });
  if (reviewer) {
    reviewer.value = load(key + ":reviewer") || "";
    reviewer.addEventListener("input", function () { store(key + ":reviewer", reviewer.value); });
  }
  progress();
  // A cell a spreadsheet would read as a formula gets a leading apostrophe (CSV injection).
  function cell(value) {
    var text = String(value === undefined || value === null ? "" : value);
    if (/^[=+\-@\t\r]/.test(text)) { text = "'" + text; }
    return '"' + text.replace(/"/g, '""') + '"';
  }
  var exporter = document.getElementById("signoff-export");
  if (exporter) {
    exporter.addEventListener("click", function () {
      var lines = [["finding_id", "foreigner", "category", "task", "activity"].concat(FIELDS).map(cell).join(",")];
      forms.forEach(function (form) {
        var s = state[form.getAttribute("data-finding")] || {};
        var row = ["finding", "foreigner", "category", "task", "activity"].map(function (a) {
          return form.getAttribute("data-" + a);
        }).concat(FIELDS.map(function (name) { return s[name] || ""; }));
        lines.push(row.map(cell).join(","));
      });
      var blob = new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
      var page = decodeURIComponent(window.location.pathname.split("/").pop() || "audit.html");
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = page.replace(/\.html?$/i, "") + "-signoff.csv";
      document.body.appendChild(link);
      link.click();
      document.body.removeChild(link);
      window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    });
  }
}());
