"""Bring your own log: the analyses on logs `miner ingest` did not make.

* the simulated chain ingested, exported to OCEL 2.0 and read back as a plain log gives the same
  analyses as the ingested workspace;
* on the real logs (no chain catalogue) the generic analyses agree with pm4py: hand-offs between
  resources, rework per activity, the performance DFG;
* what cannot run says what it needs (exit 3), never a figure over nobody.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import miner
from miner.adopt import load_profile, log_facts, open_for_analysis, parse_profile
from miner.analysis.chain import analyze
from miner.cli import main
from miner.errors import MinerError, SchemaError, UnknownNameError
from miner.ingest import PseudonymKey
from miner.model.log import connect
from miner.simulation import SimulationResult
from tests.conftest import Ingested, import_pm4py, ingest_run, reallog


@pytest.fixture(scope="module")
def ingested_short(short_run: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    return ingest_run(short_run, tmp_path_factory.mktemp("adopt") / "short.duckdb")


@pytest.fixture(scope="module")
def exported(ingested_short: Ingested) -> Path:
    """The ingested workspace exported to OCEL 2.0 JSON (what a colleague would send)."""
    target = ingested_short.workspace.with_name("chain.jsonocel")
    log = connect(ingested_short.workspace, read_only=True)
    try:
        miner.write(log, target)
    finally:
        log.close()
    return target


def _results(log: Any) -> dict[str, Any]:
    try:
        return analyze(log).to_dict()
    finally:
        log.close()


def test_an_exported_chain_log_read_back_gives_every_figure_of_the_ingested_workspace(
        ingested_short: Ingested, exported: Path) -> None:
    ingested = _results(connect(ingested_short.workspace, read_only=True))
    adopted_log = open_for_analysis(exported)
    facts = log_facts(adopted_log)
    adopted = _results(adopted_log)
    assert facts.kind == "chain" and facts.case_type == "vreemdeling"
    assert adopted["left_out"] == {} and ingested["left_out"] == {}
    assert ingested["results"]["handoffs"]["foreigners"] > 100
    lag_from_issues = {p["name"] for p in ingested["results"]["registration_lag"]["pairs"]
                       if p["basis"] == "ingest_issues"}
    for name, result in ingested["results"].items():
        other = adopted["results"][name]
        if name == "registration_lag":
            # pairs measured on ingest's issue table (a record of the ingest, not of the log)
            # cannot travel in an OCEL file; every other pair must be equal
            result = {**result, "pairs": [p for p in result["pairs"]
                                          if p["name"] not in lag_from_issues]}
            other = {**other, "pairs": [p for p in other["pairs"]
                                        if p["name"] not in lag_from_issues]}
            assert result["pairs"], "no registration-lag pair measured on the events themselves"
        assert _equal(other, result), name


def _equal(a: Any, b: Any) -> bool:
    """Equal, floats to 1e-9 relative (a mean summed in another order differs in the last bits)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_a_full_run_on_a_real_log_leaves_out_the_chain_analyses_and_says_why(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "bpic.json"
    assert main(["analyze", str(reallog("bpic2012.xes.gz")), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "norms              left out: needs the chain catalogue's activity labels" in printed
    import json
    data = json.loads(out.read_text("utf-8"))
    assert set(data["results"]) == {"handoffs", "bottlenecks", "stock", "basics", "rework"}
    assert data["left_out"]["registration_lag"] == ["chain", "sources"]
    assert data["results"]["basics"]["cases"] == 13087


def test_asking_for_a_chain_analysis_of_a_real_log_is_exit_3_with_what_it_needs(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(reallog("receipt.xes")), "--only", "duplicates"]) == 3
    error = capsys.readouterr().err
    assert "receipt.xes: the analysis 'duplicates' needs activity labels of the chain" in error
    assert "0% of this log's events carry one" in error


def test_an_object_centric_log_without_a_case_notion_names_its_object_types(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(reallog("order-management.json.gz"))]) == 3
    error = capsys.readouterr().err
    assert "which objects are the foreigners (or cases)?" in error
    assert "orders" in error and "--object-type T" in error


def test_conformance_of_a_real_log_needs_a_model_and_checks_against_the_one_given(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["conformance", str(reallog("receipt.xes")), "--out", str(tmp_path / "a")]) == 3
    assert "give the model to check against with --model" in capsys.readouterr().err
    model = reallog("receipt-imf.ptml")
    assert main(["conformance", str(reallog("receipt.xes")), "--model", str(model),
                 "--out", str(tmp_path / "b")]) == 0
    import json
    result = json.loads((tmp_path / "b" / "conformance.json").read_text("utf-8"))
    pm4py = import_pm4py()
    log = pm4py.read_xes(str(reallog("receipt.xes")))
    tree = pm4py.read_ptml(str(model))
    net, im, fm = pm4py.convert_to_petri_net(tree)
    fitness = pm4py.fitness_token_based_replay(log, net, im, fm)["log_fitness"]
    assert result["foreigners"] == 1434
    assert math.isclose(result["replay_fitness"], fitness, rel_tol=1e-9)


def _pm4py_frame(name: str) -> Any:
    pm4py = import_pm4py()
    return pm4py, pm4py.read_xes(str(reallog(name)))


@pytest.mark.parametrize("name", ["bpic2012.xes.gz", "receipt.xes"])
def test_generic_handoffs_rework_and_performance_dfg_equal_pm4py(name: str) -> None:
    pm4py, frame = _pm4py_frame(name)
    log = open_for_analysis(reallog(name))
    try:
        result = analyze(log, only=["handoffs", "rework", "basics"]).results
        # the organisation is the first of org:group, org:resource the log has
        resource = str(log_facts(log).organisation).removeprefix("attribute ")
    finally:
        log.close()
    assert resource == ("org:group" if name == "receipt.xes" else "org:resource")
    # hand-offs between groups or resources: consecutive events of a case with different ones;
    # events without one stay out of the sequence (pm4py on the events that have one)
    with_resource = frame[frame[resource].notna()]
    metric = pm4py.discover_handover_of_work_network(with_resource, beta=0,
                                                     resource_key=resource).connections
    pairs = sum(len(g) - 1 for _, g in with_resource.groupby("case:concept:name") if len(g) > 1)
    expected = {(a, b): round(v * pairs) for (a, b), v in metric.items() if a != b}
    found = {(m.source, m.target): m.handoffs for m in result["handoffs"].matrix}
    assert sum(expected.values()) > 1000
    assert found == expected
    # rework: cases where the activity occurs more than once
    assert result["rework"].per_activity() == {
        a: n for a, n in pm4py.get_rework_cases_per_activity(frame).items() if n}
    # the performance DFG (mean seconds between directly-following events)
    performance = pm4py.discover_performance_dfg(frame)[0]
    edges = {(e["source"], e["target"]): e for e in result["basics"].to_dict()["edges"]}
    assert set(edges) == set(performance)
    for edge, stats in performance.items():
        assert math.isclose(edges[edge]["mean_days"] * 86400, stats["mean"], rel_tol=1e-9,
                            abs_tol=1e-6)


def test_a_profile_maps_labels_names_the_organisation_and_refuses_unknown_targets(
        tmp_path: Path, exported: Path) -> None:
    import json
    data = json.loads(exported.read_text("utf-8"))
    renamed = "Aanmelding IND (eigen label)"
    catalogue_label = next(e["type"] for e in data["events"] if e["type"].startswith("Aanmeld"))
    moved = 0
    for event in data["events"]:
        if event["type"] == catalogue_label:
            event["type"] = renamed
            moved += 1
        for attribute in event.get("attributes", []):
            if attribute["name"] == "organisation":
                attribute["name"] = "uitvoerder"
            if attribute["name"] == "activity_id":
                attribute["name"] = "code_in_bron"
    for event_type in data["eventTypes"]:
        for attribute in event_type["attributes"]:
            attribute["name"] = {"organisation": "uitvoerder", "activity_id": "code_in_bron"}.get(
                attribute["name"], attribute["name"])
    data["eventTypes"].append({**next(t for t in data["eventTypes"]
                                      if t["name"] == catalogue_label), "name": renamed})
    log_file = tmp_path / "renamed.jsonocel"
    log_file.write_text(json.dumps(data), "utf-8")
    profile = tmp_path / "profile.toml"
    profile.write_text(f'[organisation]\nattribute = "uitvoerder"\n\n[activities]\n'
                       f'"{renamed}" = "{catalogue_label}"\n', "utf-8")
    log = open_for_analysis(log_file, profile=profile)
    try:
        count = log.con.execute("SELECT count(*) FROM events WHERE event_type = ?",
                                [catalogue_label]).fetchone()
        assert count is not None and count[0] == moved > 0
        handoffs = analyze(log, only=["handoffs"]).results["handoffs"]
        assert log_facts(log).organisation == "attribute uitvoerder"
    finally:
        log.close()
    original = open_for_analysis(exported)
    try:
        assert handoffs == analyze(original, only=["handoffs"]).results["handoffs"]
    finally:
        original.close()
    profile.write_text(f'[activities]\n"x" = "{catalogue_label[:-1]}"\n', "utf-8")
    with pytest.raises(UnknownNameError, match="Did you mean"):
        open_for_analysis(log_file, profile=profile)


def test_profile_keys_are_checked_with_the_closest_name() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'object_type'"):
        parse_profile({"case": {"objecttype": "x"}}, "p.toml")
    with pytest.raises(SchemaError, match=r"p.toml: \[case\] identifiers is 'raw'"):
        parse_profile({"case": {"identifiers": "raw"}}, "p.toml")
    assert load_profile(None).catalogue == "auto"


def _v_nummer_log(tmp_path: Path) -> Path:
    """A small OCEL 2.0 JSON chain log whose foreigners are raw V-nummers."""
    import json

    from miner.catalogue import chain_catalogue
    labels = [a.label for a in chain_catalogue().values()][:2]
    events = []
    for i, v in enumerate(("1234567890", "2234567890")):
        for k, label in enumerate(labels):
            events.append({"id": f"e{i}{k}", "type": label, "time": f"2021-03-0{k + 1}T10:00:00Z",
                           "attributes": [{"name": "organisation", "value": "IND"},
                                          {"name": "dossier", "value": v}],
                           "relationships": [{"objectId": v, "qualifier": "persoon"}]})
    data = {"objectTypes": [{"name": "persoon", "attributes": []}],
            "eventTypes": [{"name": n, "attributes": [{"name": "organisation", "type": "string"},
                                                      {"name": "dossier", "type": "string"}]}
                           for n in labels],
            "objects": [{"id": v, "type": "persoon"} for v in ("1234567890", "2234567890")],
            "events": events}
    path = tmp_path / "raw.jsonocel"
    path.write_text(json.dumps(data), "utf-8")
    return path


def test_raw_v_nummers_are_refused_or_pseudonymised_with_the_key(tmp_path: Path) -> None:
    path = _v_nummer_log(tmp_path)
    with pytest.raises(SchemaError, match="like raw V-nummers"):
        open_for_analysis(path)
    key_file = tmp_path / "key"
    secret = b"a key of the test, 32 bytes long!"
    key_file.write_bytes(secret)
    profile = tmp_path / "p.toml"
    profile.write_text('[case]\nidentifiers = "v-nummers"\n', "utf-8")
    log = open_for_analysis(path, profile=profile, key_file=key_file)
    try:
        ids = sorted(r[0] for r in log.con.execute(
            "SELECT object_id FROM objects WHERE object_type = 'vreemdeling'").fetchall())
        key = PseudonymKey(secret)
        assert ids == sorted(f"vreemdeling:{key.pseudonym('v_nummer', v)}"
                             for v in ("1234567890", "2234567890"))
        leaked = log.con.execute(
            "SELECT count(*) FROM (SELECT value_string FROM event_attributes UNION ALL "
            "SELECT object_id FROM event_objects UNION ALL SELECT object_id FROM objects) "
            "WHERE value_string LIKE '%1234567890%'").fetchone()
        assert leaked == (0,)
        assert log_facts(log).kind == "chain"
        assert analyze(log, only=["handoffs"]).results["handoffs"].foreigners == 2
    finally:
        log.close()


def test_a_workspace_whose_links_miss_the_qualifier_is_an_error_not_zero_foreigners(
        tmp_path: Path, exported: Path) -> None:
    from miner.analysis.handoffs import handoffs
    workspace = tmp_path / "plain.duckdb"
    miner.convert(exported, workspace)
    log = connect(workspace)
    try:
        log.con.execute("UPDATE event_objects SET qualifier = 'betreft' "
                        "WHERE qualifier = 'vreemdeling'")
        with pytest.raises(MinerError, match="none is linked to a 'vreemdeling' object"):
            handoffs(log)
    finally:
        log.close()
    # the same workspace given to the command is adopted: the qualifier is set right
    adopted = open_for_analysis(workspace)
    try:
        assert analyze(adopted, only=["handoffs"]).results["handoffs"].foreigners > 100
    finally:
        adopted.close()


def test_the_report_of_a_real_log_leaves_the_chain_sections_out(tmp_path: Path) -> None:
    import json
    import re
    out = tmp_path / "bpic.html"
    assert main(["report", str(reallog("bpic2012.xes.gz")), "--period", "2012-Q1",
                 "--out", str(out)]) == 0
    html = out.read_text("utf-8")
    sections = re.findall(r'<section[^>]*id="([^"]+)"', html)
    assert "duplicates" not in sections and "norms" not in sections
    assert {"process-map", "bottlenecks", "handoffs"} <= set(sections)
    results = json.loads(out.with_name("bpic.results.json").read_text("utf-8"))
    assert results["left_out"] == ["duplicates", "norms"]
    # its cases are no foreigners: the texts say "zaken", and the title drops the chain
    assert results["subject"] == "cases"
    assert "<title>Knelpuntenrapport 2012-Q1</title>" in html
    assert "Zaken in de periode" in html
    # only the data files' names in the provenance still say it
    assert re.findall(r"(?<!reference/)vreemdeling", html.lower()) == []
    assert [k["key"] for k in results["kpis"]] == ["top_wait_days", "foreigners",
                                                   "mean_lead_days", "handoff_share"]
    # every activity of the log is on the map (none is a catalogue activity)
    pm4py = import_pm4py()
    frame = pm4py.read_xes(str(reallog("bpic2012.xes.gz")))
    in_quarter = frame[(frame["time:timestamp"] >= "2012-01-01") & (frame["time:timestamp"] < "2012-04-01")]
    assert {n["activity"] for n in results["process_map"]["nodes"]} <= set(in_quarter["concept:name"])
    assert len(results["process_map"]["nodes"]) > 20


def test_ingest_takes_an_event_log_as_a_source_with_its_accounting(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, ingested_short: Ingested,
        exported: Path) -> None:
    import json
    key = tmp_path / "key"
    key.write_bytes(b"a key of the test, 32 bytes long!")
    workspace = tmp_path / "ws.duckdb"
    argv = ["ingest", "--workspace", str(workspace), "--key-file", str(key), str(exported),
            "--json", str(tmp_path / "summary.json")]
    assert main(argv) == 0
    summary = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    log = connect(workspace, read_only=True)
    try:
        events = log.count("events")
        files = log.con.execute("SELECT source, kind, rows FROM ingest_files").fetchall()
        reconciled = log.con.execute(
            "SELECT rows_read, rows_to_events + rows_to_figures + rows_quarantined + "
            "duplicate_rows, events_made FROM ingest_reconciliation").fetchall()
        ingested = analyze(log, only=["handoffs", "duplicates"]).to_dict()["results"]
    finally:
        log.close()
    original = connect(ingested_short.workspace, read_only=True)
    try:
        assert events == original.count("events")
        expected = analyze(original, only=["handoffs", "duplicates"]).to_dict()["results"]
    finally:
        original.close()
    assert files == [("log", "OCEL 2.0 JSON", events)]
    assert reconciled == [(events, events, events)]
    assert summary["events"] == events and summary["rows"] == events
    assert _equal(ingested, expected)
    # the same file again is recognised by its content and skipped
    assert main(argv) == 0
    again = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    assert again["events"] == 0 and again["skipped"][0]["reason"] == "already ingested"


def test_the_audit_of_a_real_log_against_its_model_speaks_of_cases(tmp_path: Path) -> None:
    import json
    out = tmp_path / "audit.html"
    assert main(["audit", str(reallog("receipt.xes")), "--model",
                 str(reallog("receipt-imf.ptml")), "--lang", "en", "--out", str(out)]) == 0
    results = json.loads(out.with_name("audit.results.json").read_text("utf-8"))
    assert results["subject"] == "cases"
    assert results["headline"]["foreigners"] == 1434
    html = out.read_text("utf-8")
    import re
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)>.*?</\1>", "", html, flags=re.DOTALL))
    assert "<title>Conformance audit" in html and "cases" in text
    assert "foreigner" not in text.lower()
