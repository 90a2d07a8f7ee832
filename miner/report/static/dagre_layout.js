/* The report's process map, laid out by dagre (miner/explore/static/dagre.min.js) when the report
   is built, in an embedded JavaScript engine (quickjs): miner_layout(JSON text) -> JSON text.
   Input: {graph: dagre graph options, nodes: [{id, width, height, lane}], edges: [{source,
   target, width, height}]}; nodes of one lane form one cluster. Output: the graph's size, each
   node's and lane's centre and size, each edge's points and label centre. */
function miner_layout(text) {
  var spec = JSON.parse(text);
  var g = new dagre.graphlib.Graph({ compound: true, multigraph: false });
  g.setGraph(spec.graph);
  g.setDefaultEdgeLabel(function () { return {}; });
  spec.nodes.forEach(function (n) {
    g.setNode(n.id, { width: n.width, height: n.height });
    if (n.lane) {
      if (!g.hasNode("lane\u001f" + n.lane)) g.setNode("lane\u001f" + n.lane, { lane: n.lane });
      g.setParent(n.id, "lane\u001f" + n.lane);
    }
  });
  spec.edges.forEach(function (e) {
    g.setEdge(e.source, e.target, { width: e.width, height: e.height, labelpos: "c" });
  });
  dagre.layout(g);
  var out = { graph: { width: g.graph().width, height: g.graph().height }, nodes: {}, lanes: [], edges: [] };
  g.nodes().forEach(function (v) {
    var n = g.node(v);
    if (n.lane !== undefined) out.lanes.push({ lane: n.lane, x: n.x, y: n.y, width: n.width, height: n.height });
    else out.nodes[v] = { x: n.x, y: n.y };
  });
  g.edges().forEach(function (r) {
    var e = g.edge(r);
    out.edges.push({ source: r.v, target: r.w, points: e.points, x: e.x, y: e.y });
  });
  return JSON.stringify(out);
}
