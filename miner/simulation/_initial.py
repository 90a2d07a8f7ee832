"""The state on the start date (scenario section ``[initial]``): cases already waiting for the AA,
in the VA, permit holders waiting in azc and the DT&V caseload. Their earlier history is written
with back-dated times, as a case-history extract of all cases active in the period would hold it.
"""

from __future__ import annotations

import math

from miner.simulation._chain import Foreigner
from miner.simulation._departure import departure
from miner.simulation._procedure import _azc, aa, grant, va
from miner.simulation._world import Proc, World


def seed_initial(w: World) -> None:
    """Create the initial stocks and start their processes (at simulation time 0)."""
    sc, rec, env = w.sc, w.rec, w.env
    weeks = sc.num("initial", "aa_queue_weeks")
    entries = sorted(-w.rng.uniform(0, weeks * 7) for _ in range(sc.count("initial", "aa_queue")))
    for entry in entries:
        f = w.new_foreigner("beginstand_aa", "ter_apel" if w.chance(0.5) else "budel")
        f.spoor = "spoor4"
        applied = entry - w.rng.uniform(8, 20)
        _history(w, f, applied)
        req = w.pol.get(1)
        f.truth["_pol_req"] = True
        if req.triggered:
            rec.move(f, "R04", "pol", _azc(w).replace("azc", "pol"), entry - 1 / 24)
        else:
            rec.move(f, "X02", "pre-pol", _azc(w).replace("azc", "pre-pol"), entry - 1 / 24)
            f.truth["pre_pol"] = True
        rec.event(f, "R01", entry)
        w.aa_enqueue(f, entry)
        f.truth["_rvt_done"] = entry
        env.process(_wait_pol(w, f, req))
    for _ in range(sc.count("initial", "va_stock")):
        f = w.new_foreigner("beginstand_va", "ter_apel" if w.chance(0.5) else "budel")
        f.spoor = "spoor4"
        into_va = -w.rng.uniform(0, 52 * 7)
        _history(w, f, into_va - w.rng.uniform(20, 60) * 7)
        rec.event(f, "P06", into_va, result="va")
        rec.move(f, "U01", "azc", _azc(w), into_va + 3)
        env.process(_va_rest(w, f, into_va))
    grants = sorted(-w.rng.uniform(0, 60 * 7) for _ in range(sc.count("initial", "permit_holders")))
    for granted in grants:
        f = w.new_foreigner("beginstand_vergunninghouder", "")
        f.truth["permit"] = True
        rec.move(f, "U01", "azc", _azc(w), granted + 3)
        env.process(grant(w, f))
    for _ in range(sc.count("initial", "dtv_caseload")):
        f = w.new_foreigner("beginstand_dtv", "")
        handed = -w.rng.uniform(0, 52 * 7)
        rec.event(f, "V01", handed, source="IND")
        f.truth["dtv_source"] = "IND"
        env.process(departure(w, f, source="IND", how="", handed_over=True))


def _history(w: World, f: Foreigner, applied: float) -> None:
    day = math.floor(applied)
    applied = day + w.rng.uniform(8.5, 16.5) / 24
    w.new_zaak(f, applied)
    f.truth["arrival"] = w.iso(applied)
    w.rec.event(f, "A01", applied)
    w.rec.event(f, "A12", day + 1 + 9.5 / 24)
    w.rec.event(f, "A13", day + 2 + 8.5 / 24)
    w.rec.event(f, "A14", day + 2 + 10 / 24, result="aanmeldgehoor")
    f.truth.update(hearing_day=3, regietafel_moments=0)


def _wait_pol(w: World, f: Foreigner, req: object) -> Proc:
    if not getattr(req, "triggered", True):
        yield req  # type: ignore[misc]
        w.rec.move(f, "R04", "pol", _azc(w).replace("azc", "pol"), w.env.now)
    yield from aa(w, f)


def _va_rest(w: World, f: Foreigner, into_va: float) -> Proc:
    # the VA has run since ``into_va``; the rest of it is drawn anew, at least a week
    f.truth["va"] = True
    yield w.env.timeout(max(7.0, w.draw(w.sc.dist("va", "duration_weeks")) * 7 + into_va))
    outcome = w.choose(w.sc.table("va", "outcome"))
    w.rec.event(f, "X16", w.env.now, result=outcome)
    w.decide(f, outcome, w.env.now)
    yield from (grant(w, f) if outcome == "inwilliging" else _refused(w, f))


def _refused(w: World, f: Foreigner) -> Proc:
    from miner.simulation._procedure import refused

    yield from refused(w, f)


__all__ = ["seed_initial", "va"]
