"""Hand-offs between organisations: exact figures on a hand-made log (ties in time, ping-pong, an
event without organisation, an unmapped code, periods), pm4py's handover-of-work network as the
oracle on the simulated year, the planted DT&V → Politie (AVIM) → DT&V loop and hand-over delay
against the ground truth, the JSON round trip, and untouched inputs."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from dataclasses import astuple, is_dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from miner.analysis.handoffs import (
    Handoffs,
    HandoverOfWork,
    PingPong,
    Transfer,
    handoffs,
    handover_of_work,
    journey_phases,
)
from miner.analysis.journey import create_journey
from miner.analysis.period import Period
from miner.catalogue import chain_catalogue
from miner.errors import UnknownNameError
from miner.model.log import Log, connect
from miner.model.schema import CANONICAL_TABLES
from tests.conftest import KEY, Ingested, import_pm4py

DAY = 86400.0
T0 = datetime.fromisoformat("2021-01-04T10:00:00+00:00")

#: (foreigner, event, time, seq, organisation or None, activity id or None)
#: F1: a tie at 10:00 (seq decides: IND first), ping-pongs COA→IND→COA and IND→COA→IND (with a
#: continuation in COA between), and a hand-off into February. F2: a tie where the later seq was
#: read first (so IND comes before COA), IND→COA→IND ping-pong, an unmapped code, an event without
#: organisation. F3: one event.
EVENTS = [
    ("F1", "e1", T0, 1, "IND", "A01"),
    ("F1", "e2", T0, 2, "Politie", "A02"),
    ("F1", "e3", T0 + timedelta(hours=2), 3, "Politie", "A08"),
    ("F1", "e4", T0 + timedelta(days=1, hours=2), 4, "COA", "A09"),
    ("F1", "e5", T0 + timedelta(days=1, hours=4), 5, "IND", "A10"),
    ("F1", "e6", T0 + timedelta(days=2, hours=4), 6, "COA", "R04"),
    ("F1", "e7", T0 + timedelta(days=3, hours=4), 7, "COA", "X02"),
    ("F1", "e8", T0 + timedelta(days=4, hours=4), 8, "IND", "R01"),
    ("F1", "e9", T0 + timedelta(days=29, hours=4), 9, "DT&V", "V01"),
    ("F2", "g1", datetime.fromisoformat("2021-02-01T09:00:00+00:00"), 20, "COA", "X03"),
    ("F2", "g2", datetime.fromisoformat("2021-02-01T09:00:00+00:00"), 10, "IND", "A13"),
    ("F2", "g3", datetime.fromisoformat("2021-02-03T09:00:00+00:00"), 21, "IND", "X16"),
    ("F2", "g4", datetime.fromisoformat("2021-02-03T10:00:00+00:00"), 22, "DT&V", None),
    ("F2", "g5", datetime.fromisoformat("2021-02-04T10:00:00+00:00"), 23, None, "V02"),
    ("F3", "h1", datetime.fromisoformat("2021-03-01T09:00:00+00:00"), 30, "KMar", "V20"),
]


def small_log() -> Log:
    log = connect()
    con = log.con
    labels = {a.id: a.label for a in chain_catalogue().values()}
    for i, person in enumerate(("F1", "F2", "F3")):
        con.execute("INSERT INTO objects VALUES (?, 'vreemdeling', ?)", [f"vreemdeling:{person}", i])
    for person, event, ts, seq, organisation, activity in EVENTS:
        label = labels[activity] if activity else "ONBEKENDE-CODE"
        con.execute("INSERT INTO events VALUES (?, ?, ?, 'test', NULL, ?, ?)",
                    [event, label, ts, seq, seq])
        con.execute("INSERT INTO event_objects VALUES (?, ?, 'vreemdeling', ?)",
                    [event, f"vreemdeling:{person}", seq])
        for name, value in (("organisation", organisation), ("activity_id", activity)):
            if value is not None:
                con.execute("INSERT INTO event_attributes VALUES (?, ?, 'string', ?, NULL, NULL, "
                            "NULL, NULL, ?)", [event, name, value, seq])
    return log


def close(found: object, expected: object) -> bool:
    """Equal, floats to 1e-12 relative (quantiles are interpolated in microseconds)."""
    if isinstance(expected, float) and isinstance(found, float):
        return found == pytest.approx(expected, rel=1e-12, abs=1e-9)
    if isinstance(expected, tuple) and isinstance(found, tuple):
        return len(found) == len(expected) and all(map(close, found, expected))
    if is_dataclass(expected) and type(found) is type(expected):
        return close(astuple(found), astuple(expected))
    return found == expected


def test_small_log_exact_figures() -> None:
    r = handoffs(small_log())
    assert (r.events, r.foreigners, r.events_without_organisation) == (14, 3, 1)
    assert (r.pairs, r.handoffs) == (11, 9)
    assert close(r.matrix, (
        Transfer("COA", "IND", 3, 2, DAY, 1.8 * DAY, 88800.0, 266400.0),
        Transfer("IND", "COA", 2, 2, DAY / 2, 0.9 * DAY, DAY / 2, DAY),
        Transfer("IND", "DT&V", 2, 2, 1081800.0, 3600 + 0.9 * (25 * DAY - 3600), 1081800.0,
                 25 * DAY + 3600),
        Transfer("IND", "Politie", 1, 1, 0.0, 0.0, 0.0, 0.0),
        Transfer("Politie", "COA", 1, 1, DAY, DAY, DAY, DAY),
    ))
    assert [(c.organisation, c.pairs) for c in r.continuations] == [("COA", 1), ("Politie", 1)]
    assert (r.ping_pongs, r.ping_pong_foreigners) == (3, 2)
    assert r.ping_pong == (PingPong("IND", "COA", 2, 2), PingPong("COA", "IND", 1, 1))
    per = r.per_foreigner  # hand-offs per foreigner: 6, 3, 0
    assert close((per.foreigners, per.mean, per.median, per.p90, per.max), (3, 3.0, 3.0, 5.4, 6))
    lead = (4 * DAY + 4 * 3600 + 25 * DAY) + (2 * DAY + 3600)
    between = 266400 + 25 * DAY + 176400
    assert (r.lead_time_s, r.handoff_time_s) == (lead, between)
    assert r.handoff_share == pytest.approx(between / lead, rel=1e-12)
    assert [(w.organisation, w.handoffs, w.total_s) for w in r.waits] == [
        ("DT&V", 2, 25 * DAY + 3600), ("IND", 3, 266400.0), ("COA", 3, 2 * DAY), ("Politie", 1, 0.0)]
    assert r.waits[0].share_of_handoff_time == pytest.approx((25 * DAY + 3600) / between)
    assert r.waits[0].share_of_lead_time == pytest.approx((25 * DAY + 3600) / lead)

    phases = {p.phase: p for p in r.phases}
    assert [p.phase for p in r.phases] == [*journey_phases()[0], None]
    a = phases["aanmeldfase"]
    assert close((a.pairs, a.handoffs, a.foreigners, a.median_s, a.p90_s, a.mean_s),
                 (4, 3, 1, 7200.0, 7200 + 0.8 * (DAY - 7200), 31200.0))
    assert (a.handoff_time_s, a.time_s, a.ping_pongs) == (93600.0, 100800.0, 0)
    rvt = phases["RVT"]
    assert (rvt.pairs, rvt.handoffs, rvt.handoff_time_s, rvt.time_s, rvt.ping_pongs) == (
        3, 2, 2 * DAY, 3 * DAY, 2)
    assert rvt.handoff_share == pytest.approx(2 / 3)
    assert (phases["AA"].handoffs, phases["AA"].time_s, phases["AA"].handoff_share) == (1, 0.0, None)
    assert (phases["VA"].handoffs, phases["VA"].handoff_time_s, phases["VA"].ping_pongs) == (
        1, 2 * DAY, 1)
    assert phases["vertrek"].matrix == (Transfer("IND", "DT&V", 1, 1, 25 * DAY, 25 * DAY,
                                                 25 * DAY, 25 * DAY),)
    assert phases[None].matrix == (Transfer("IND", "DT&V", 1, 1, 3600.0, 3600.0, 3600.0, 3600.0),)
    assert phases["beroep"].pairs == phases["uitstroom"].pairs == 0
    assert [w.organisation for w in phases["aanmeldfase"].waits] == ["COA", "IND", "Politie"]


def test_small_log_periods_count_a_pair_where_its_receiving_event_lies() -> None:
    log = small_log()
    feb = handoffs(log, period=Period.parse("2021-02"))
    assert (feb.period, feb.phase) == ("2021-02", None)
    assert (feb.events, feb.foreigners, feb.events_without_organisation) == (5, 2, 1)
    # e9 (F1, 2 February) came from IND on 8 January: it counts, with its whole latency
    assert (feb.pairs, feb.handoffs, feb.ping_pongs, feb.ping_pong_foreigners) == (4, 4, 1, 1)
    assert [(t.source, t.target, t.handoffs) for t in feb.matrix] == [
        ("IND", "DT&V", 2), ("COA", "IND", 1), ("IND", "COA", 1)]
    assert feb.lead_time_s == feb.handoff_time_s == 25 * DAY + 176400
    assert feb.handoff_share == 1.0
    per = feb.per_foreigner
    assert close((per.foreigners, per.mean, per.median, per.p90, per.max), (2, 2.0, 2.0, 2.8, 3))

    march = handoffs(log, period=Period.parse("2021-03"))
    assert (march.events, march.foreigners, march.pairs, march.handoffs) == (1, 1, 0, 0)
    assert (march.per_foreigner.max, march.handoff_share, march.matrix) == (0, None, ())
    empty = handoffs(log, period=Period.parse("2020"))
    assert (empty.events, empty.foreigners, empty.per_foreigner.mean, empty.ping_pong) == (
        0, 0, None, ())


def test_small_log_one_phase() -> None:
    log = small_log()
    rvt = handoffs(log, phase="RVT")
    assert (rvt.phase, rvt.events, rvt.foreigners, rvt.pairs, rvt.handoffs) == ("RVT", 3, 1, 3, 2)
    assert (rvt.ping_pongs, rvt.ping_pong_foreigners) == (2, 1)
    assert rvt.ping_pong == (PingPong("COA", "IND", 1, 1), PingPong("IND", "COA", 1, 1))
    assert [(t.source, t.target, t.handoffs, t.total_s) for t in rvt.matrix] == [
        ("COA", "IND", 1, DAY), ("IND", "COA", 1, DAY)]
    assert (rvt.lead_time_s, rvt.handoff_time_s, rvt.per_foreigner.max) == (3 * DAY, 2 * DAY, 2)
    assert [p.phase for p in rvt.phases] == ["RVT"]
    assert rvt.phases[0] == next(p for p in handoffs(log).phases if p.phase == "RVT")
    assert handoffs(log, phase="AA", period=Period.parse("2021-01")).pairs == 0
    with pytest.raises(UnknownNameError, match="unknown phase 'rvt'.*'RVT'"):
        handoffs(log, phase="rvt")


def test_small_log_equals_pm4py_handover_of_work() -> None:
    pm4py = import_pm4py()
    ordered = sorted((e for e in EVENTS if e[4] is not None), key=lambda e: (e[0], e[2], e[3]))
    frame = pd.DataFrame({
        "case:concept:name": [e[0] for e in ordered],
        "concept:name": [e[5] or "ONBEKENDE-CODE" for e in ordered],
        "time:timestamp": pd.to_datetime([e[2] for e in ordered], utc=True),
        "org:resource": [e[4] for e in ordered],
    })
    expected = pm4py.discover_handover_of_work_network(frame, beta=0, resource_key="org:resource")
    found = handoffs(small_log()).handover_of_work()
    assert found == expected.connections
    assert found[("COA", "IND")] == 3 / 11
    alone = handover_of_work(small_log())
    assert alone.network() == expected.connections and alone.pairs == 11
    assert ("COA", "IND", 3) in alone.counts


def test_small_log_handover_of_work_alone_equals_the_full_analysis_in_every_scope() -> None:
    log = small_log()
    for period in (None, Period.parse("2021-01"), Period.parse("2021-02"), Period.parse("2020")):
        full = handoffs(log, period=period)
        alone = handover_of_work(log, period=period)
        assert alone.pairs == full.pairs and alone.network() == full.handover_of_work()
        counts = {(a, b): n for a, b, n in alone.counts}
        assert counts == {**{(t.source, t.target): t.handoffs for t in full.matrix},
                          **{(c.organisation, c.organisation): c.pairs for c in full.continuations}}
        assert [n for _, _, n in alone.counts] == sorted((n for _, _, n in alone.counts), reverse=True)
        d = json.loads(json.dumps(alone.to_dict()))
        assert d["kind"] == "handover_of_work" and HandoverOfWork.from_dict(d) == alone
    assert handover_of_work(log, period=Period.parse("2020")).network() == {}
    with pytest.raises(ValueError):
        HandoverOfWork.from_dict({**d, "kind": "handoffs"})


def test_json_round_trip_and_inputs_untouched() -> None:
    log = small_log()
    before = {t: log.count(t) for t in CANONICAL_TABLES}
    for period, phase in ((None, None), (Period.parse("2021-02"), None), (Period.parse("2020"), None),
                          (None, "vertrek")):
        r = handoffs(log, period=period, phase=phase)
        d = json.loads(json.dumps(r.to_dict()))
        assert d["schema_version"] == 1 and d["kind"] == "handoffs"
        assert Handoffs.from_dict(d) == r
    assert {t: log.count(t) for t in CANONICAL_TABLES} == before
    # no scratch table left behind, and the connection's setting is as it was
    tables = {t for (t,) in log.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert not {"_miner_handoff_pairs", "_miner_handoffs"} & tables
    setting = log.con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
    assert setting == [(True,)]
    with pytest.raises(ValueError):
        Handoffs.from_dict({**d, "kind": "duplicates"})


def test_every_catalogue_activity_has_one_of_the_seven_phases() -> None:
    order, phase_of = journey_phases()
    assert order == ("aanmeldfase", "RVT", "AA", "VA", "beroep", "uitstroom", "vertrek")
    assert set(phase_of) == set(chain_catalogue())
    assert (phase_of["A01"], phase_of["R04"], phase_of["P08"], phase_of["X16"], phase_of["X17"],
            phase_of["U02"], phase_of["V21"]) == (
        "aanmeldfase", "RVT", "AA", "VA", "beroep", "uitstroom", "vertrek")
    text = (resources.files("miner") / "data" / "phases.toml").read_text("utf-8")
    assert all(p["seed"].startswith("000:") for p in tomllib.loads(text)["phase"])


# -- the simulated year ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def year(ingested_year: Ingested) -> Iterator[tuple[Log, Handoffs]]:
    log = connect(ingested_year.workspace, read_only=True)
    try:
        yield log, handoffs(log)
    finally:
        log.close()


@pytest.mark.slow
def test_year_counts_equal_pm4py_handover_of_work(year: tuple[Log, Handoffs]) -> None:
    log, r = year
    create_journey(log)
    frame = log.con.execute("""
        SELECT foreigner AS "case:concept:name", activity AS "concept:name",
               ts AS "time:timestamp", organisation AS "org:resource"
        FROM journey WHERE organisation IS NOT NULL ORDER BY foreigner, ts, seq""").df()
    expected = import_pm4py().discover_handover_of_work_network(
        frame, beta=0, resource_key="org:resource").connections
    found = r.handover_of_work()
    assert set(found) == set(expected)
    assert all(abs(found[k] - expected[k]) <= 1e-9 for k in expected)
    assert handover_of_work(log).network() == found
    # pm4py's value is the pair count over all consecutive pairs: the counts themselves agree
    counts = {(t.source, t.target): t.handoffs for t in r.matrix}
    assert {k: round(expected[k] * r.pairs) for k in counts} == counts
    assert r.pairs == len(frame) - frame["case:concept:name"].nunique()
    assert r.handoffs == sum(counts.values()) and r.events == len(frame)


@pytest.mark.slow
def test_year_totals_add_up(year: tuple[Log, Handoffs]) -> None:
    log, r = year
    create_journey(log)
    lead = log.con.execute("""SELECT sum(epoch_us(last) - epoch_us(first)) / 1e6 FROM (
        SELECT foreigner, min(ts) AS first, max(ts) AS last FROM journey
        WHERE organisation IS NOT NULL GROUP BY foreigner)""").fetchall()[0][0]
    assert r.lead_time_s == pytest.approx(lead, rel=1e-12)
    assert r.handoff_time_s == pytest.approx(sum(t.total_s for t in r.matrix), rel=1e-12)
    assert sum(w.total_s for w in r.waits) == pytest.approx(r.handoff_time_s, rel=1e-12)
    assert sum(p.handoffs for p in r.phases) == r.handoffs
    assert sum(p.pairs for p in r.phases) == r.pairs
    assert sum(p.ping_pongs for p in r.phases) == r.ping_pongs == sum(p.count for p in r.ping_pong)
    assert r.per_foreigner.foreigners == r.foreigners
    assert r.per_foreigner.mean == pytest.approx(r.handoffs / r.foreigners)
    assert 0 < r.handoff_share < 1


@pytest.mark.slow
def test_year_planted_avim_loop_is_a_dtv_politie_ping_pong(
        year: tuple[Log, Handoffs], ingested_year: Ingested) -> None:
    """DT&V asks the Politie (AVIM) for extra identity research (V08) and takes the dossier back
    (000:7941-7947): a DT&V → Politie → DT&V ping-pong for nearly every planted V08."""
    _, r = year
    truth = ingested_year.run.out / "truth"
    rows = pd.read_parquet(truth / "rows.parquet")
    people = pd.read_parquet(truth / "foreigners.parquet")
    planted = rows[(rows["activity"] == "V08") & (rows["fault"] == "")]["foreigner"]
    assert planted.is_unique  # at most one V08 per person
    found = next(p for p in r.ping_pong if (p.origin, p.via) == ("DT&V", "Politie"))
    assert found.count == found.foreigners  # once per person, like the planted V08
    recall = found.foreigners / planted.nunique()
    assert 0.9 <= recall <= 1.0, recall
    # and every foreigner with a planted V08 exists in the workspace under their pseudonym
    v_nummers = people.set_index("foreigner").loc[planted, "v_nummer"]
    ids = {"vreemdeling:" + KEY.pseudonym("v_nummer", v) for v in v_nummers}
    known = {o for (o,) in year[0].con.execute(
        "SELECT object_id FROM objects WHERE object_type = 'vreemdeling'").fetchall()}
    assert len(ids & known) >= found.foreigners


@pytest.mark.slow
def test_year_ind_to_dtv_latency_is_the_planted_handover_delay(year: tuple[Log, Handoffs]) -> None:
    """After a definitive refusal the IND hands the dossier to DT&V after ``dtv.handover_days``
    (lognormal, median 10, p90 30 days in the default scenario). The measured IND → DT&V latency
    follows it; long delays of late decisions fall after the year's end, so it runs a little low."""
    _, r = year
    scenario = Path(str(resources.files("miner") / "data" / "scenarios" / "default.toml"))
    planted = tomllib.loads(scenario.read_text("utf-8"))["dtv"]["handover_days"]
    cell = next(t for t in r.matrix if (t.source, t.target) == ("IND", "DT&V"))
    assert cell.handoffs == cell.foreigners > 5000
    assert planted["median"] * 0.85 <= cell.median_s / DAY <= planted["median"] * 1.05
    assert planted["p90"] * 0.8 <= cell.p90_s / DAY <= planted["p90"] * 1.05
    # DT&V is the organisation the waits of the departure phase sit with
    vertrek = next(p for p in r.phases if p.phase == "vertrek")
    assert vertrek.waits[0].organisation == "DT&V"


@pytest.mark.slow
def test_year_period_round_trip_and_the_tertalen_add_up_to_the_year(
        ingested_year: Ingested) -> None:
    log = connect(ingested_year.workspace, read_only=True)
    try:
        r = handoffs(log, period=Period.parse("2021-T2"))
        assert Handoffs.from_dict(json.loads(json.dumps(r.to_dict()))) == r
        year = handoffs(log, period=Period.parse("2021"))
        parts = [handoffs(log, period=Period.parse(f"2021-T{k}")) for k in (1, 2, 3)]
        assert parts[1] == r
        # a hand-off belongs to the period of its receiving event: the three tertalen add up
        assert sum(p.handoffs for p in parts) == year.handoffs
        assert 0 < r.handoffs < year.handoffs <= handoffs(log).handoffs
    finally:
        log.close()
