"""After the col: RVT in the pol (pre-pol when full), the AA planned 3 weeks ahead with priority
groups, the AA days 1-8 with three outcomes, VA, beroep (a gegrond appeal sends the case back),
spoor 1 and 2 and repeat applications, azc, and the slow outflow of permit holders to gemeenten.
"""

from __future__ import annotations

import math

from miner.simulation._chain import Foreigner
from miner.simulation._world import Proc, World


def after_col(w: World, f: Foreigner) -> Proc:
    """Route a case by spoor once the aanmeldfase is over (000:7172-7248)."""
    sc, rec, env = w.sc, w.rec, w.env
    if f.spoor == "spoor4":
        yield from rvt(w, f)
        return
    if f.spoor == "spoor1":
        # "direct vanuit de col verplaatst naar een azc" (000:7584-7588)
        rec.move(f, "U01", "azc", _azc(w), env.now)
        yield env.timeout(w.rng.uniform(1, 5))
        rec.event(f, "X12", env.now)
        yield env.timeout(w.draw(sc.dist("dublin", "claim_weeks")) * 7)
        outcome = w.choose(sc.table("dublin", "outcome"))
        rec.event(f, "X13", env.now, result=outcome)
        if outcome == "overdracht":
            w.decide(f, "afwijzing", env.now, counted=False)
            from miner.simulation._departure import departure

            yield from departure(w, f, source="IND", how="dublin")
        else:
            yield from rvt(w, f)
        return
    section = "spoor2" if f.spoor == "spoor2" else "hasa"
    if f.spoor == "spoor2":
        rec.move(f, "X03", "spoor2", f.stay[2] if f.stay else "", env.now)
    yield env.timeout(w.draw(sc.dist(section, "decision_days")))
    outcome = w.choose(sc.table(section, "outcome"))
    rec.event(f, "X14" if f.spoor == "spoor2" else "X15", env.now, result=outcome)
    if outcome == "aa":
        yield from rvt(w, f)
    elif outcome == "inwilliging":
        w.decide(f, "inwilliging", env.now, counted=False)
        yield from grant(w, f)
    else:
        w.decide(f, "afwijzing", env.now, counted=False)
        yield from refused(w, f)


def _azc(w: World) -> str:
    return f"azc {('Almere', 'Arnhem', 'Den Helder', 'Gilze', 'Leeuwarden', 'Zweeloo', 'Dronten', 'Delfzijl')[w.rng.randrange(8)]}"


def rvt(w: World, f: Foreigner) -> Proc:
    """RVT of at least six days from the application (000:7347-7353), in the pol or first in pre-pol."""
    sc, rec, env = w.sc, w.rec, w.env
    req = w.pol.get(1)
    if not req.triggered:
        rec.move(f, "X02", "pre-pol", _azc(w).replace("azc", "pre-pol"), env.now)
        f.truth["pre_pol"] = True
    yield req
    f.truth["_pol_req"] = True
    rec.move(f, "R04", "pol", _azc(w).replace("azc", "pol"), env.now)
    yield env.timeout(1 / 24)
    rec.event(f, "R01", env.now)
    w.aa_enqueue(f, env.now)
    steps: list[tuple[float, str]] = []
    if w.chance(sc.prob("rvt", "p_kmar_documents")):
        steps.append((w.draw(sc.dist("rvt", "step_days")), "R02"))
    for act in ("R05", "R06", "R07"):
        steps.append((w.draw(sc.dist("rvt", "step_days")), act))
    begin = env.now
    for delay, act in sorted(steps):
        if act == "R02" and w.chance(sc.prob("deviations", "documents_by_politie")):
            # documents examined by the Politie instead of the KMar (000:7319-7327): another partner
            if w.emit(f, act, begin + delay, exports=("pshv",)):
                f.truth["dev_documents_by_politie"] = True
        else:
            w.emit(f, act, begin + delay)
    yield w.wait_until(begin + max(delay for delay, _ in steps))
    f.truth["_rvt_done"] = env.now
    yield from aa(w, f)


def aa(w: World, f: Foreigner) -> Proc:
    """Wait to be planned, then the AA days 1-8 (000:7420-7460; 11422-11439)."""
    sc, rec, env = w.sc, w.rec, w.env
    planned = env.event()
    f.truth["_planned"] = planned
    start = yield planned
    rec.event(f, "R03", env.now)
    w.emit(f, "R08", env.now + 1 / 24)
    w.emit(f, "P01", math.floor(start) - 1 + 14 / 24)
    yield w.wait_until(start)
    w.aa_mark_started(f, env.now)
    rec.event(f, "P02", env.now)
    t = start + 1
    w.emit(f, "P03", t)
    t += 1
    while w.chance(sc.prob("aa", "p_noshow_nader_gehoor")):
        if w.emit(f, "X10", t, result="niet verschenen nader gehoor"):
            f.truth["no_shows"] = f.truth.get("no_shows", 0) + 1
        t += w.rng.randint(2, 5)
    w.emit(f, "P04", t)
    w.emit(f, "P05", t + 1)
    t += 2
    first = w.choose(sc.table("aa", "initial_decision"))
    w.emit(f, "P06", t, result=first)
    if first == "voornemen":
        t += 1
        w.emit(f, "P07", t)
        final = w.choose(sc.table("aa", "final_after_voornemen"))
    else:
        final = first
    yield w.wait_until(t)
    yield env.timeout(1)
    _leave_pol(w, f)
    if final == "va":
        yield from va(w, f)
        return
    rec.event(f, "P08", env.now, result=final)
    w.decide(f, final, env.now)
    if final == "inwilliging":
        yield from grant(w, f)
    else:
        yield from refused(w, f)


def _leave_pol(w: World, f: Foreigner) -> None:
    if f.truth.pop("_pol_req", None):
        w.pol.put(1)


def va(w: World, f: Foreigner) -> Proc:
    """Verlengde asielprocedure in an azc: at most 6, up to 18 months (000:7568-7578)."""
    sc, rec, env = w.sc, w.rec, w.env
    f.truth["va"] = True
    w.rec.event(f, "P10", env.now)
    yield env.timeout(w.draw(sc.dist("gemeenten", "azc_transfer_days")))
    if f.stay is None or f.stay[1] != "azc":
        rec.move(f, "U01", "azc", _azc(w), env.now)
    yield env.timeout(w.draw(sc.dist("va", "duration_weeks")) * 7)
    outcome = w.choose(sc.table("va", "outcome"))
    rec.event(f, "X16", env.now, result=outcome)
    w.decide(f, outcome, env.now)
    if outcome == "inwilliging":
        yield from grant(w, f)
    else:
        yield from refused(w, f)


def grant(w: World, f: Foreigner) -> Proc:
    """A permit: to an azc, then wait for housing offered by a gemeente (000:7687-7707; 11581-11588)."""
    sc, rec, env = w.sc, w.rec, w.env
    f.truth["permit"] = True
    _leave_pol(w, f)
    if f.stay is None or f.stay[1] != "azc":
        rec.event(f, "P10", env.now)
        yield env.timeout(w.draw(sc.dist("gemeenten", "azc_transfer_days")))
        rec.move(f, "U01", "azc", _azc(w), env.now)
    yield from housing(w, f)


def housing(w: World, f: Foreigner) -> Proc:
    sc, rec, env = w.sc, w.rec, w.env
    since = env.now
    rec.stocks[("Vergunninghouders in azc", "totaal")] += 1
    offer = env.event()
    yield w.housing.put((f, offer))
    yield offer
    rec.stocks[("Vergunninghouders in azc", "totaal")] -= 1
    rec.event(f, "U02", env.now)
    rec.flow("Uitstroom vergunninghouders", "gemeente")
    f.truth.update(housed=True, permit_wait_days=round(env.now - since, 3))
    rec.leave(f, env.now, "UITSTR-GEM")
    w.finish(f)
    del sc


def gemeenten(w: World) -> Proc:
    """Municipalities offer ``housing_per_week`` homes a week, one permit holder each, FIFO."""
    env = w.env
    rate = w.sc.num("gemeenten", "housing_per_week") / 5
    credit = 0.0
    while True:
        yield w.wait_until(w.next_at(env.now, 11.0, workday=True, after=True))
        credit += rate
        while credit >= 1 and w.housing.items:
            credit -= 1
            _, offer = yield w.housing.get()
            offer.succeed()
        credit = min(credit, rate * 5)


def refused(w: World, f: Foreigner) -> Proc:
    """Beroep (000:7544-7564): gegrond sends the case back to the IND for a new decision."""
    sc, rec, env = w.sc, w.rec, w.env
    _leave_pol(w, f)
    appealed = False
    while w.chance(
        sc.prob("beroep", "p_beroep") if not appealed else sc.prob("beroep", "p_hoger_beroep")
    ):
        appealed = True
        if f.stay is not None and f.stay[1] == "pol":
            rec.move(f, "U01", "azc", _azc(w), env.now)
        yield env.timeout(w.rng.uniform(3, 28))
        rec.event(f, "P09", env.now, result="beroep ingesteld")
        f.truth["appeals"] = f.truth.get("appeals", 0) + 1
        yield env.timeout(w.draw(sc.dist("beroep", "duration_weeks")) * 7)
        upheld = w.chance(sc.prob("beroep", "p_gegrond"))
        rec.event(f, "X17", env.now, result="gegrond" if upheld else "ongegrond")
        if upheld:
            f.truth["appeals_upheld"] = f.truth.get("appeals_upheld", 0) + 1
            if f.spoor == "spoor2":
                yield from va(w, f)  # spoor 2 after a gegrond beroep goes to the VA (000:7620-7630)
                return
            yield env.timeout(w.rng.uniform(14, 60))
            outcome = w.choose(sc.table("beroep", "new_decision"))
            rec.event(f, "P08", env.now, result=outcome)
            if outcome == "inwilliging":
                yield from grant(w, f)
                return
            appealed = False
            continue
    from miner.simulation._departure import departure

    yield from departure(w, f, source="IND", how="")


def aa_planner(w: World) -> Proc:
    """Every Monday the IND plans AA starts ``horizon_weeks`` ahead (000:8240-8244; 11329-11334).

    Priority nationalities are planned first, so the queue is not first-in-first-out. Only cases in
    the pol with the RVT done can be planned (000:11413-11419).
    """
    sc, env = w.sc, w.env
    per_day = sc.count("aa", "starts_per_workday")
    horizon = sc.count("aa", "horizon_weeks")
    min_days = sc.num("rvt", "min_days")
    first = math.floor(env.now) + (7 - w.weekday(env.now)) % 7 + 7 / 24
    yield w.wait_until(first if first >= env.now else first + 7)
    while True:
        now = env.now
        monday = w.workday_from(math.floor(now) + (7 - w.weekday(now)) % 7) + 7 * horizon
        slots = [monday + day + 9 / 24 + k / 1440 for day in range(5) for k in range(per_day)]
        slots.sort()
        chosen: list[Foreigner] = []
        for queue in (w.aa_priority, w.aa_normal):
            skipped = []
            while queue and len(chosen) < len(slots):
                f = queue.popleft()
                ready = "_rvt_done" in f.truth and "_planned" in f.truth
                if ready and f.zaak_start + min_days <= monday:
                    chosen.append(f)
                else:
                    skipped.append(f)
            queue.extendleft(reversed(skipped))
        chosen.sort(key=lambda f: float(f.truth["_aa_entry"]))
        for f, slot in zip(chosen, slots, strict=False):
            f.truth.pop("_planned").succeed(slot)
        yield env.timeout(7)
