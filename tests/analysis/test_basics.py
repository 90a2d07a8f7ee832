"""The basics (DFG, variants, case durations) on the foreigner as case notion, per period and segment:
pm4py is the oracle on the segment's events, flattened here by direct SQL; the spoor segment against
the simulator's ground truth; JSON round trip; unknown segment values."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from miner.analysis.basics import Basics, Segment, basics, segment_log
from miner.analysis.cases import case_durations
from miner.analysis.chain import ChainAnalysis, analyze
from miner.analysis.period import Period
from miner.errors import UnknownNameError
from miner.model.log import Log, connect
from tests.conftest import KEY, Ingested, import_pm4py

YEAR = Period.parse("2021")
Q2 = Period.parse("2021-Q2")

#: (period, segment, the oracle's SQL condition on the foreigner ``f`` and the event ``e``)
CASES: dict[str, tuple[Period, Segment, str]] = {
    "spoor 1 in 2021": (YEAR, Segment(spoor="Spoor 1"), """
        f.object_id IN (SELECT eo.object_id FROM event_attributes a JOIN event_objects eo
                        ON eo.event_id = a.event_id AND eo.qualifier = 'vreemdeling'
                        WHERE a.name = 'spoor' AND a.value_string = 'Spoor 1')"""),
    "Almere, Syrians and Eritreans, COA and IND, 2021-Q2": (
        Q2,
        Segment(location=("pol Almere", "pre-pol Almere"), nationality_group=("SYR", "Eritrea"),
                partner=("COA", "IND")),
        """f.object_id IN (SELECT object_id FROM object_attributes WHERE name = 'nationaliteit'
                           AND value_string IN ('SYR', 'ERI'))
           AND f.object_id IN (SELECT x.object_id FROM event_objects l
                               JOIN events le ON le.event_id = l.event_id
                               JOIN event_objects x ON x.event_id = l.event_id
                                   AND x.qualifier = 'vreemdeling'
                               WHERE l.object_id IN ('locatie:pol Almere', 'locatie:pre-pol Almere')
                                 AND le.timestamp >= $lo AND le.timestamp < $hi)
           AND e.event_id IN (SELECT event_id FROM event_attributes WHERE name = 'partner'
                              AND value_string IN ('COA', 'IND'))"""),
}


@pytest.fixture(scope="module")
def year_log(ingested_year: Ingested) -> Iterator[Log]:
    log = connect(ingested_year.workspace, read_only=True)
    yield log
    log.close()


def _oracle_frame(log: Log, period: Period, condition: str) -> pd.DataFrame:
    """The segment's events, case = foreigner, in pm4py's format (sorted by time, then read order)."""
    pm4py = import_pm4py()
    frame = log.con.execute(f"""
        SELECT f.object_id AS case_id, e.event_type AS activity, e.timestamp, e.seq
        FROM events e JOIN event_objects f ON f.event_id = e.event_id AND f.qualifier = 'vreemdeling'
        WHERE e.timestamp >= $lo AND e.timestamp < $hi AND {condition}
        ORDER BY case_id, e.timestamp, e.seq""",
        {"lo": period.start_utc, "hi": period.end_utc}).df()
    frame["timestamp"] = frame["timestamp"].dt.tz_convert("UTC")
    formatted: pd.DataFrame = pm4py.format_dataframe(
        frame, case_id="case_id", activity_key="activity", timestamp_key="timestamp")
    return formatted


@pytest.fixture(scope="module")
def computed(year_log: Log) -> dict[str, tuple[Basics, pd.DataFrame, float]]:
    out = {}
    for name, (period, segment, condition) in CASES.items():
        started = time.perf_counter()
        result = basics(year_log, period=period, segment=segment, top=10**6)
        seconds = time.perf_counter() - started
        out[name] = (result, _oracle_frame(year_log, period, condition), seconds)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_basics_equal_pm4py_on_the_segment(
    name: str, computed: dict[str, tuple[Basics, pd.DataFrame, float]]
) -> None:
    pm4py = import_pm4py()
    result, frame, seconds = computed[name]
    assert result.cases == frame["case:concept:name"].nunique() > 100
    assert result.events == len(frame)
    expected, starts, ends = pm4py.discover_dfg(frame)
    assert {(e.source, e.target): e.frequency for e in result.edges} == {
        k: int(v) for k, v in expected.items()}
    assert result.start_activities == {k: int(v) for k, v in starts.items()}
    assert result.end_activities == {k: int(v) for k, v in ends.items()}
    performance, _, _ = pm4py.discover_performance_dfg(frame)
    for e in result.edges:
        stats = performance[(e.source, e.target)]
        for ours, theirs in (("mean_days", "mean"), ("median_days", "median"), ("min_days", "min"),
                             ("max_days", "max")):
            assert math.isclose(getattr(e, ours) * 86400, stats[theirs], rel_tol=1e-9,
                                abs_tol=1e-6), (e, ours)
    found = pm4py.get_variants(frame)
    assert result.variant_count == len(found)
    assert {v.activities: v.cases for v in result.variants} == {
        tuple(k): int(n) for k, n in found.items()}
    durations = np.sort(np.asarray(pm4py.get_all_case_durations(frame), dtype=float)) / 86400
    d = result.durations
    assert d.cases == len(durations)
    for ours, theirs in ((d.mean_days, durations.mean()), (d.median_days, np.median(durations)),
                         (d.p90_days, np.percentile(durations, 90)), (d.min_days, durations[0]),
                         (d.max_days, durations[-1])):
        assert ours is not None and math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9)
    assert seconds < 10, seconds


@pytest.mark.slow
def test_top_variants_are_the_most_frequent(year_log: Log) -> None:
    result = basics(year_log, period=YEAR, segment=Segment(spoor="Spoor 1"))
    full = basics(year_log, period=YEAR, segment=Segment(spoor="Spoor 1"), top=10**6)
    assert len(result.variants) == 20 and result.variant_count == full.variant_count > 20
    assert result.variants == full.variants[:20]
    counts = [v.cases for v in full.variants]
    assert counts == sorted(counts, reverse=True) and sum(counts) == full.cases
    assert result.variants[0].share == pytest.approx(result.variants[0].cases / result.cases)


@pytest.mark.slow
def test_spoor_segment_equals_the_ground_truth(year_log: Log, ingested_year: Ingested) -> None:
    """The truth's spoor per foreigner (mapped to pseudonyms as an auditor would) against the
    segment, over the whole log: equal but for the foreigners whose INDiGO rows carrying a spoor
    did not reach the workspace (quarantined), who are in no spoor."""
    people = pd.read_parquet(ingested_year.run.out / "truth" / "foreigners.parquet")
    with_spoor = {r[0] for r in year_log.con.execute("""
        SELECT DISTINCT eo.object_id FROM event_attributes a JOIN event_objects eo
        ON eo.event_id = a.event_id AND eo.qualifier = 'vreemdeling' WHERE a.name = 'spoor'
    """).fetchall()}
    for truth, label in (("spoor1", "Spoor 1"), ("spoor2", "Spoor 2"), ("spoor4", "Spoor 4"),
                         ("hasa", "HASA")):
        planted = {"vreemdeling:" + KEY.pseudonym("v_nummer", v)
                   for v in people.v_nummer[people.spoor == truth]}
        found = set(case_durations(segment_log(year_log, segment=Segment(spoor=label))).table[
            "case_id"])
        assert found == planted & with_spoor, label
        assert len(planted - found) <= 0.001 * len(planted), label


@pytest.mark.slow
def test_partner_and_period_segments_count_directly(year_log: Log) -> None:
    result = basics(year_log, period=Q2, segment=Segment(partner="COA"))
    direct = year_log.con.execute("""
        SELECT count(*), count(DISTINCT f.object_id) FROM events e
        JOIN event_objects f ON f.event_id = e.event_id AND f.qualifier = 'vreemdeling'
        JOIN event_attributes a ON a.event_id = e.event_id AND a.name = 'partner'
        WHERE a.value_string = 'COA' AND e.timestamp >= ? AND e.timestamp < ?""",
        [Q2.start_utc, Q2.end_utc]).fetchone()
    assert (result.events, result.cases) == direct
    assert sum(result.start_activities.values()) == result.cases
    # aliases name the same location: TA (PSH-V) and ter_apel are Ter Apel
    ter_apel = basics(year_log, period=Q2, segment=Segment(location="Ter Apel"))
    assert basics(year_log, period=Q2, segment=Segment(location=("TA", "ter_apel"))).to_dict()[
        "cases"] == ter_apel.cases
    everyone = basics(year_log, period=Q2)
    assert ter_apel.cases < everyone.cases
    per_nationality = Counter(r[0] for r in year_log.con.execute("""
        SELECT value_string FROM object_attributes WHERE name = 'nationaliteit'""").fetchall())
    assert per_nationality["SYR"] > 0


@pytest.mark.slow
@pytest.mark.parametrize(("segment", "message"), [
    (Segment(spoor="Spoor 3"), r"unknown spoor .*'Spoor 3'. Known: 'HASA', .*'Spoor 4'. Did you"),
    (Segment(location="Amsterdam"), r"unknown location .*'Amsterdam'. Known: 'AVIM', 'Budel'"),
    (Segment(nationality_group=("SYR", "XXX")), r"unknown nationality .*'XXX'. Known: 'AFG'"),
    (Segment(partner="Gemeente"), r"unknown partner .*'Gemeente'. Known: 'COA', 'DT&V', 'IND'"),
])
def test_unknown_segment_values_are_refused(year_log: Log, segment: Segment, message: str) -> None:
    with pytest.raises(UnknownNameError, match=message):
        basics(year_log, segment=segment)


@pytest.mark.slow
def test_json_round_trip_and_analyze(year_log: Log) -> None:
    segment = Segment(spoor=("Spoor 1", "Spoor 2"), nationality_group="Syrië")
    result = basics(year_log, period=YEAR, segment=segment)
    data: dict[str, Any] = json.loads(json.dumps(result.to_dict()))
    assert data["kind"] == "basics" and data["schema_version"] == 1
    assert data["segment"] == {"spoor": ["Spoor 1", "Spoor 2"], "location": None,
                               "nationality_group": ["Syrië"], "partner": None}
    assert Basics.from_dict(data) == result
    assert Basics.from_dict(data).to_dict() == result.to_dict()
    bundle = analyze(year_log, period=YEAR, only=["basics"], segment=segment)
    assert bundle.results["basics"] == result
    again = ChainAnalysis.from_dict(json.loads(json.dumps(bundle.to_dict())))
    assert again.results["basics"] == result


def test_segment_takes_one_value_or_several() -> None:
    assert Segment(spoor="Spoor 1").spoor == ("Spoor 1",)
    assert Segment(partner=["IND", "COA"]).partner == ("IND", "COA")  # type: ignore[arg-type]
    assert Segment().empty and not Segment(location="Budel").empty
    with pytest.raises(ValueError, match="at least one value"):
        Segment(spoor=())
    assert Segment.from_dict(Segment(spoor="Spoor 1").to_dict()) == Segment(spoor="Spoor 1")
