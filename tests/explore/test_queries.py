"""The explorer's server-side figures on a chain workspace: its chain filters equal the segments of
`miner analyze` (basics), its map equals `miner dfg`, its chip counts each filter's view."""

from __future__ import annotations

import pytest

from miner.analysis.basics import Segment, basics
from miner.analysis.dfg import dfg
from miner.explore import open_explorer
from miner.explore.queries import counts, parse_filters, process_map, variant_list
from miner.simulation import SimulationResult
from tests.conftest import Ingested, ingest_run


@pytest.fixture(scope="module")
def chain(short_run: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    return ingest_run(short_run, tmp_path_factory.mktemp("explore") / "short.duckdb")


@pytest.mark.parametrize("field", ["spoor", "partner", "nationality_group", "location"])
def test_chain_filters_equal_the_segments_of_analyze(chain: Ingested, field: str) -> None:
    explorer = open_explorer(chain.workspace)
    log = explorer.base.log
    try:
        assert explorer.lanes, "a chain workspace has swimlanes"
        value = {"spoor": "Spoor 2", "partner": "COA", "nationality_group": "SYR",
                 "location": log.con.execute(
                     "SELECT object_id FROM objects WHERE object_type = 'locatie' "
                     "ORDER BY object_id LIMIT 1").fetchone()[0]}[field]
        view = explorer.base.narrowed(*parse_filters(
            [{"kind": "chain", "field": field, "values": [value]}], log))
        expected = basics(log, segment=Segment(**{field: (value,)}))
        found = counts(view)
        assert 0 < found["cases"] < counts(explorer.base)["cases"]
        assert found["cases"] == expected.cases
        assert found["events"] == expected.events
    finally:
        log.close()


def test_the_map_and_chips_equal_dfg_of_each_filters_view(chain: Ingested) -> None:
    explorer = open_explorer(chain.workspace)
    log = explorer.base.log
    try:
        specs = [{"kind": "chain", "field": "partner", "values": ["IND"]},
                 {"kind": "duration", "min_s": 3600}]
        filters = parse_filters(specs, log)
        view = explorer.base.narrowed(*filters)
        found = process_map(view, metric="mean", lanes=explorer.lanes)
        graph = dfg(view)
        assert {(e["source"], e["target"]): e["frequency"] for e in found["edges"]} == {
            (r.source, r.target): r.frequency for r in graph.table.itertuples()}
        means = {(r.source, r.target): r.mean_s for r in graph.table.itertuples()}
        assert all(e["value"] == pytest.approx(means[(e["source"], e["target"])])
                   for e in found["edges"])
        assert found["chips"] == [counts(explorer.base.narrowed(*filters[:1])), counts(view)]
        # swimlanes: each catalogue activity in the lane of the reference model
        from miner.report.activities import activity_info
        for node in found["nodes"]:
            info = activity_info(node["id"])
            assert node["lane"] == (info.lane if info.known else None), node["id"]
        assert len({n["lane"] for n in found["nodes"]} - {None}) >= 3
        top = variant_list(view, top=5)
        assert top["cases"] == found["chips"][-1]["cases"]
        assert [v["cases"] for v in top["variants"]] == sorted(
            (v["cases"] for v in top["variants"]), reverse=True)
    finally:
        log.close()
