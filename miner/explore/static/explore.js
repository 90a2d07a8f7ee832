/* miner explore: the page. Everything it shows comes from the server's JSON API; every text from
   the data is set with textContent (never parsed as HTML). The view (filters, sliders, metric,
   tab) lives in the URL's hash, so a link reopens it. */
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const params = new URLSearchParams(location.search);
  const lang = params.get("lang") === "en" ? "en" : "nl";
  let T = {};
  let info = {};
  const state = { f: [], a: 1, p: 0.3, m: "frequency", tab: "variants", ot: null };

  function readHash() {
    if (location.hash.length > 1) {
      try { Object.assign(state, JSON.parse(decodeURIComponent(location.hash.slice(1)))); } catch (e) { /* keep defaults */ }
    }
  }
  function writeHash() { history.replaceState(null, "", "#" + encodeURIComponent(JSON.stringify(state))); }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function fmt(n) { return Number(n).toLocaleString(lang === "nl" ? "nl-NL" : "en-GB", { maximumFractionDigits: 1 }); }
  function days(s) { return fmt(s / 86400) + " d"; }

  async function api(path, extra) {
    const q = new URLSearchParams({ f: JSON.stringify(state.f), ...(state.ot ? { ot: state.ot } : {}), ...(extra || {}) });
    const response = await fetch(path + "?" + q.toString(), { credentials: "same-origin" });
    const data = await response.json();
    const box = document.getElementById("error");
    if (!response.ok) { box.hidden = false; box.textContent = data.error || response.statusText; throw new Error(data.error); }
    box.hidden = true;
    return data;
  }

  /* ---------- filters ---------- */
  const FIELDS = {
    time: [["start", "text", "2021-01-01"], ["end", "text", "2021-05-01"], ["mode", "select", ["events", "contained", "intersecting"]]],
    attribute: [["name", "text", "org:resource"], ["values", "text", "A,B"], ["level", "select", ["event", "case"]], ["retain", "check"]],
    activity: [["values", "text", "A,B"], ["retain", "check"]],
    variant: [["variants", "text", "A>B>C"], ["retain", "check"]],
    duration: [["min", "text", "1d"], ["max", "text", "30d"], ["retain", "check"]],
    follows: [["source", "text", "A"], ["target", "text", "B"], ["directly", "check"], ["retain", "check"]],
    endpoint: [["activities", "text", "A"], ["side", "select", ["start", "end"]], ["retain", "check"]],
    chain: [["field", "select", ["spoor", "location", "nationality_group", "partner"]], ["values", "text", "Spoor 2"]],
  };
  function showFields() {
    const kind = document.getElementById("filter-kind").value;
    const box = document.getElementById("filter-fields");
    box.replaceChildren();
    for (const [name, type, hint] of FIELDS[kind]) {
      let input;
      if (type === "select") {
        input = el("select", { name: name });
        for (const option of hint) input.append(el("option", { value: option }, option));
      } else if (type === "check") {
        input = el("input", { type: "checkbox", name: name });
        input.checked = true;
      } else {
        input = el("input", { type: "text", name: name, placeholder: hint });
      }
      const label = el("label", {}, name + " ");
      label.append(input);
      box.append(label);
    }
  }
  function seconds(text) {
    if (!text) return null;
    const m = /^\s*([0-9.]+)\s*([smhdw]?)\s*$/.exec(text);
    if (!m) throw new Error("duration " + text);
    return parseFloat(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]];
  }
  function list(text) { return text.split(",").map(s => s.trim()).filter(Boolean); }
  function readForm() {
    const form = document.getElementById("filter-form");
    const kind = form.elements.kind.value;
    const v = name => form.elements[name] ? (form.elements[name].type === "checkbox" ? form.elements[name].checked : form.elements[name].value) : undefined;
    const spec = { kind: kind };
    if (kind === "time") Object.assign(spec, { start: v("start") || null, end: v("end") || null, mode: v("mode") });
    if (kind === "attribute") Object.assign(spec, { name: v("name"), values: list(v("values")), level: v("level"), retain: v("retain") });
    if (kind === "activity") Object.assign(spec, { values: list(v("values")), retain: v("retain") });
    if (kind === "variant") Object.assign(spec, { variants: [v("variants").split(">").map(s => s.trim())], retain: v("retain") });
    if (kind === "duration") Object.assign(spec, { min_s: seconds(v("min")), max_s: seconds(v("max")), retain: v("retain") });
    if (kind === "follows") Object.assign(spec, { source: v("source"), target: v("target"), directly: v("directly"), retain: v("retain") });
    if (kind === "endpoint") Object.assign(spec, { activities: list(v("activities")), side: v("side"), retain: v("retain") });
    if (kind === "chain") Object.assign(spec, { field: v("field"), values: list(v("values")) });
    return spec;
  }
  function describe(spec) {
    const not = spec.retain === false ? "¬ " : "";
    switch (spec.kind) {
      case "time": return `${T.kinds.time} ${spec.start || "…"} – ${spec.end || "…"} (${spec.mode})`;
      case "attribute": return `${not}${spec.name} = ${spec.values.join(", ")} (${spec.level})`;
      case "activity": return `${not}${T.kinds.activity}: ${spec.values.join(", ")}`;
      case "variant": return `${not}${T.kinds.variant}: ${spec.variants.map(v => v.join(" › ")).join(" | ")}`;
      case "duration": return `${not}${T.kinds.duration} ${spec.min_s == null ? "…" : days(spec.min_s)} – ${spec.max_s == null ? "…" : days(spec.max_s)}`;
      case "follows": return `${not}${spec.source} ${spec.directly ? "→" : "⇢"} ${spec.target}`;
      case "endpoint": return `${not}${spec.side}: ${spec.activities.join(", ")}`;
      case "chain": return `${spec.field}: ${spec.values.join(", ")}`;
    }
    return spec.kind;
  }
  function addFilter(spec) { state.f.push(spec); refresh(); }
  function drawChips(chips) {
    const box = document.getElementById("chips");
    box.replaceChildren();
    state.f.forEach((spec, i) => {
      const chip = el("span", { class: "chip", "data-testid": "chip" });
      chip.append(el("span", { class: "chip-label" }, describe(spec)));
      const kept = chips[i] || { cases: 0, events: 0 };
      chip.append(el("span", { class: "chip-counts", "data-cases": kept.cases, "data-events": kept.events },
        `${fmt(kept.cases)} ${T.cases} · ${fmt(kept.events)} ${T.events}`));
      const remove = el("button", { type: "button", class: "chip-remove", title: T.remove, "aria-label": T.remove }, "×");
      remove.addEventListener("click", () => { state.f.splice(i, 1); refresh(); });
      chip.append(remove);
      box.append(chip);
    });
  }

  /* ---------- the process map ---------- */
  function label(n) { return n.length > 34 ? n.slice(0, 33) + "…" : n; }
  function edgeText(e, metric) { return metric === "frequency" ? fmt(e.value) : days(e.value); }
  function drawMap(data) {
    const root = document.getElementById("map");
    root.replaceChildren();
    const g = new dagre.graphlib.Graph({ compound: info.lanes, multigraph: false });
    g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 60, edgesep: 8, marginx: 20, marginy: 20 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of data.nodes) {
      g.setNode(n.id, { width: Math.max(90, 7 * label(n.id).length + 20), height: 40, data: n });
      if (info.lanes && n.lane) {
        if (!g.hasNode("lane:" + n.lane)) g.setNode("lane:" + n.lane, { lane: n.lane, clusterLabelPos: "top" });
        g.setParent(n.id, "lane:" + n.lane);
      }
    }
    for (const e of data.edges) g.setEdge(e.source, e.target, { width: 40, height: 14, labelpos: "c", data: e });
    dagre.layout(g);
    const graph = g.graph();
    root.setAttribute("viewBox", `0 0 ${graph.width || 100} ${graph.height || 100}`);
    root.dataset.width = graph.width; root.dataset.height = graph.height;
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#566" }));
    defs.append(marker);
    root.append(defs);
    const layer = svg("g", { id: "map-layer" });
    root.append(layer);
    for (const id of g.nodes()) {
      const n = g.node(id);
      if (!n.lane) continue;
      const lane = svg("g", { class: "lane" });
      lane.append(svg("rect", { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 6 }));
      lane.append(svg("text", { x: n.x - n.width / 2 + 8, y: n.y - n.height / 2 + 14 }, n.lane));
      layer.append(lane);
    }
    const maxFreq = Math.max(1, ...data.edges.map(e => e.frequency));
    for (const ref of g.edges()) {
      const e = g.edge(ref);
      const points = e.points.map(p => `${p.x},${p.y}`).join(" ");
      const group = svg("g", { class: "edge", "data-source": ref.v, "data-target": ref.w, tabindex: "0" });
      group.append(svg("polyline", { points: points, "marker-end": "url(#arrow)", "stroke-width": 1 + 5 * e.data.frequency / maxFreq }));
      group.append(svg("text", { x: e.x, y: e.y + 4, "text-anchor": "middle" }, edgeText(e.data, data.metric)));
      group.append(svg("title", {}, `${ref.v} → ${ref.w}: ${fmt(e.data.frequency)}`));
      group.addEventListener("click", () => addFilter({ kind: "follows", source: ref.v, target: ref.w, directly: true, retain: true }));
      layer.append(group);
    }
    const maxNode = Math.max(1, ...data.nodes.map(n => n.frequency));
    for (const n of data.nodes) {
      const p = g.node(n.id);
      const group = svg("g", { class: "node", "data-activity": n.id, tabindex: "0" });
      const shade = Math.round(235 - 120 * n.frequency / maxNode);
      group.append(svg("rect", { x: p.x - p.width / 2, y: p.y - p.height / 2, width: p.width, height: p.height, rx: 5, fill: `rgb(${shade},${shade + 10},255)` }));
      group.append(svg("text", { x: p.x, y: p.y - 3, "text-anchor": "middle", class: "node-label" }, label(n.id)));
      group.append(svg("text", { x: p.x, y: p.y + 13, "text-anchor": "middle", class: "node-count" }, fmt(n.frequency)));
      group.append(svg("title", {}, `${n.id}: ${fmt(n.frequency)} ${T.events}`));
      group.addEventListener("click", () => addFilter({ kind: "activity", values: [n.id], retain: true }));
      layer.append(group);
    }
    document.getElementById("map-shown").textContent =
      `${data.nodes.length}/${data.activities_total} ${T.activities.toLowerCase()}, ${data.edges.length}/${data.edges_total} ${T.paths.toLowerCase()} ${T.shown}`;
    root.dataset.nodes = data.nodes.length; root.dataset.edges = data.edges.length;
  }
  function panZoom() {
    const root = document.getElementById("map");
    let drag = null;
    const box = () => root.getAttribute("viewBox").split(" ").map(Number);
    root.addEventListener("wheel", ev => {
      ev.preventDefault();
      const [x, y, w, h] = box(); const k = ev.deltaY > 0 ? 1.15 : 1 / 1.15;
      const r = root.getBoundingClientRect();
      const cx = x + w * (ev.clientX - r.left) / r.width, cy = y + h * (ev.clientY - r.top) / r.height;
      root.setAttribute("viewBox", `${cx - (cx - x) * k} ${cy - (cy - y) * k} ${w * k} ${h * k}`);
    }, { passive: false });
    root.addEventListener("pointerdown", ev => { drag = { x: ev.clientX, y: ev.clientY, box: box() }; });
    window.addEventListener("pointerup", () => { drag = null; });
    root.addEventListener("pointermove", ev => {
      if (!drag) return;
      const r = root.getBoundingClientRect(); const [x, y, w, h] = drag.box;
      root.setAttribute("viewBox", `${x - (ev.clientX - drag.x) * w / r.width} ${y - (ev.clientY - drag.y) * h / r.height} ${w} ${h}`);
    });
  }

  /* ---------- side panels ---------- */
  function drawVariants(data) {
    const box = document.getElementById("tab-variants");
    box.replaceChildren();
    box.append(el("p", {}, `${fmt(data.variants_total)} ${T.variants.toLowerCase()}, ${fmt(data.cases)} ${T.cases}`));
    const table = el("table", { "data-testid": "variants" });
    const head = el("tr");
    for (const h of ["#", T.cases, T.share, T.mean_duration, T.activities]) head.append(el("th", {}, h));
    table.append(head);
    data.variants.forEach((v, i) => {
      const row = el("tr", { class: "variant", tabindex: "0" });
      row.append(el("td", {}, String(i + 1)), el("td", {}, fmt(v.cases)), el("td", {}, fmt(100 * v.share) + " %"),
        el("td", {}, days(v.mean_s)), el("td", { class: "sequence" }, v.activities.join(" › ")));
      row.addEventListener("click", () => addFilter({ kind: "variant", variants: [v.activities], retain: true }));
      table.append(row);
    });
    box.append(table);
  }
  function bars(rows, key, value, title) {
    const width = 360, height = 120, n = Math.max(1, rows.length), max = Math.max(1, ...rows.map(r => r[value]));
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height + 20}`, class: "bars" });
    rows.forEach((r, i) => {
      const h = height * r[value] / max;
      const bar = svg("rect", { x: i * width / n, y: height - h, width: Math.max(1, width / n - 2), height: h });
      bar.append(svg("title", {}, `${r[key]}: ${fmt(r[value])}`));
      chart.append(bar);
    });
    const block = el("div");
    block.append(el("h3", {}, title), chart);
    return block;
  }
  function drawStatistics(data) {
    const box = document.getElementById("tab-statistics");
    box.replaceChildren();
    box.append(bars(data.events_per_month, "month", "events", T.events_per_month));
    box.append(bars(data.durations.bins.map(b => ({ key: days(b.from_s) + " – " + days(b.to_s), cases: b.cases })), "key", "cases",
      `${T.durations}: ${T.mean} ${days(data.durations.mean_s)}, ${T.median} ${days(data.durations.median_s)}`));
    const table = el("table", { "data-testid": "activities" });
    const head = el("tr");
    for (const h of [T.activity, T.events, T.cases]) head.append(el("th", {}, h));
    table.append(head);
    for (const a of data.activities) {
      const row = el("tr");
      row.append(el("td", {}, a.activity), el("td", {}, fmt(a.events)), el("td", {}, fmt(a.cases)));
      table.append(row);
    }
    box.append(table);
  }
  function drawCases(rows) {
    const box = document.getElementById("tab-case_list");
    box.replaceChildren();
    const table = el("table");
    for (const c of rows) {
      const row = el("tr", { class: "case-row", tabindex: "0" });
      row.append(el("td", {}, c.case), el("td", {}, fmt(c.events) + " " + T.events), el("td", {}, days(c.duration_s)));
      row.addEventListener("click", () => openCase(c.case));
      table.append(row);
    }
    box.append(table);
  }
  async function openCase(id) {
    const data = await api("/api/case", { id: id });
    const box = document.getElementById("case-detail");
    box.replaceChildren(el("h3", {}, `${T.case} ${data.case}`));
    const list = el("ol", { class: "timeline" });
    for (const e of data.events) {
      const item = el("li");
      item.append(el("time", {}, e.time), el("strong", {}, " " + e.activity));
      item.append(el("div", { class: "source" }, `${e.source || ""} ${e.source_file || ""} #${e.source_row ?? ""} (${e.event_id})`));
      const attrs = el("dl");
      for (const a of e.attributes) attrs.append(el("dt", {}, a.name), el("dd", {}, a.value ?? ""));
      item.append(attrs);
      list.append(item);
    }
    box.append(list);
  }
  function showTab(name) {
    state.tab = name;
    for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.id !== "tab-" + name;
    for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  }

  /* ---------- export ---------- */
  function download(blob, name) {
    const link = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }
  function svgText() {
    const root = document.getElementById("map").cloneNode(true);
    const style = svg("style", {}, "text{font:12px sans-serif}.edge polyline{fill:none;stroke:#566}.lane rect{fill:#f4f6f8;stroke:#ccd}.node rect{stroke:#557}");
    root.insertBefore(style, root.firstChild);
    return new XMLSerializer().serializeToString(root);
  }

  /* ---------- refresh ---------- */
  let generation = 0;
  async function refresh() {
    // a newer refresh (another slider move) supersedes this one: only the latest draws
    const mine = ++generation;
    const current = () => mine === generation;
    writeHash();
    document.getElementById("slider-activities").value = Math.round(100 * state.a);
    document.getElementById("slider-paths").value = Math.round(100 * state.p);
    document.getElementById("out-activities").textContent = Math.round(100 * state.a) + " %";
    document.getElementById("out-paths").textContent = Math.round(100 * state.p) + " %";
    document.getElementById("metric").value = state.m;
    for (const format of ["csv", "jsonocel", "xes"]) {
      document.getElementById("export-" + format).href = "/api/export?" + new URLSearchParams({ format: format, f: JSON.stringify(state.f), ...(state.ot ? { ot: state.ot } : {}) });
    }
    const map = await api("/api/map", { activities: state.a, paths: state.p, metric: state.m });
    if (!current()) return;
    drawChips(map.chips);
    const now = map.chips.length ? map.chips[map.chips.length - 1] : map.total;
    const counts = document.getElementById("counts");
    counts.dataset.cases = now.cases; counts.dataset.events = now.events;
    counts.textContent = `${fmt(now.cases)} / ${fmt(map.total.cases)} ${T.cases} · ${fmt(now.events)} / ${fmt(map.total.events)} ${T.events}`;
    drawMap(map);
    const [variants, stats, cases] = await Promise.all(
      [api("/api/variants", { top: 50 }), api("/api/stats"), api("/api/cases")]);
    if (!current()) return;
    drawVariants(variants);
    drawStatistics(stats);
    drawCases(cases);
    showTab(state.tab);
    document.body.dataset.ready = String(mine);
    document.body.dataset.view = JSON.stringify(state);
  }

  // at most this many activities on the first map of a log (the slider shows the rest)
  const FIRST_MAP_ACTIVITIES = 40;

  async function start() {
    const fresh = location.hash.length <= 1;
    readHash();
    T = (await (await fetch("/static/texts.json")).json())[lang];
    document.documentElement.lang = lang;
    document.title = T.title;
    info = await (await fetch("/api/info" + (state.ot ? "?" + new URLSearchParams({ ot: state.ot }) : ""))).json();
    state.ot = info.object_type;
    const types = document.getElementById("object-type");
    for (const t of info.object_types) types.append(el("option", { value: t }, t));
    types.value = info.object_type;
    types.hidden = info.object_types.length < 2;
    // another case notion: its own activities, so the filters start again
    types.addEventListener("change", () => { state.ot = types.value; state.f = []; writeHash(); location.reload(); });
    if (fresh && info.activities > FIRST_MAP_ACTIVITIES) state.a = Math.floor(100 * FIRST_MAP_ACTIVITIES / info.activities) / 100;
    document.getElementById("title").textContent = T.title;
    document.getElementById("log-name").textContent = info.name;
    for (const key of ["activities", "paths", "metric"]) document.getElementById("label-" + key).textContent = T[key];
    const metric = document.getElementById("metric");
    for (const m of ["frequency", "mean", "median", "p90", "total"]) metric.append(el("option", { value: m }, T[m]));
    for (const option of document.querySelectorAll("#filter-kind option")) option.textContent = T.kinds[option.value];
    document.querySelector("#filter-kind option[value='chain']").hidden = !info.lanes;
    document.getElementById("filter-add").textContent = T.add;
    document.getElementById("copy-view").textContent = T.copy_view;
    for (const b of document.querySelectorAll("#tabs button")) {
      b.textContent = T[b.dataset.tab];
      b.addEventListener("click", () => { showTab(b.dataset.tab); writeHash(); });
    }
    document.getElementById("filter-kind").addEventListener("change", showFields);
    showFields();
    document.getElementById("filter-form").addEventListener("submit", ev => {
      ev.preventDefault();
      try { addFilter(readForm()); } catch (e) { const box = document.getElementById("error"); box.hidden = false; box.textContent = e.message; }
    });
    document.getElementById("slider-activities").addEventListener("change", ev => { state.a = ev.target.value / 100; refresh(); });
    document.getElementById("slider-paths").addEventListener("change", ev => { state.p = ev.target.value / 100; refresh(); });
    metric.addEventListener("change", ev => { state.m = ev.target.value; refresh(); });
    document.getElementById("export-svg").addEventListener("click", () => download(new Blob([svgText()], { type: "image/svg+xml" }), "process-map.svg"));
    document.getElementById("export-png").addEventListener("click", () => {
      const root = document.getElementById("map");
      const image = new Image();
      image.onload = () => {
        const canvas = el("canvas", { width: root.dataset.width, height: root.dataset.height });
        const ctx = canvas.getContext("2d"); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(image, 0, 0);
        canvas.toBlob(blob => download(blob, "process-map.png"));
      };
      image.src = URL.createObjectURL(new Blob([svgText()], { type: "image/svg+xml" }));
    });
    document.getElementById("copy-view").addEventListener("click", () => { navigator.clipboard && navigator.clipboard.writeText(location.href); });
    panZoom();
    await refresh();
  }
  start();
}());
