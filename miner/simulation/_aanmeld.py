"""The aanmeldfase (000:7140-7259): IND registration at the aanmeldbalie, Politie I&R with its daily
quota, nachtopvang, col intake, medical check on dag 2, spoor, aanmeldgehoor on dag 3 when capacity
allows, and the two regietafel moments.
"""

from __future__ import annotations

import math

from miner.simulation._chain import Foreigner
from miner.simulation._procedure import after_col
from miner.simulation._world import Proc, World

IR_STEPS = ("A02", "A03", "A04", "A05", "A06")


def journey(w: World, f: Foreigner) -> Proc:
    """One applicant from arrival at Ter Apel or Budel to the end of the aanmeldfase and onward."""
    sc, rec, env = w.sc, w.rec, w.env
    arrival = env.now
    f.truth["arrival"] = w.iso(arrival)
    f.spoor = w.choose(sc.table("inflow", "spoor")) if f.origin == "first" else "hasa"
    balie_open, balie_close = sc.hours("aanmeld", "balie_open"), sc.hours("aanmeld", "balie_close")
    hour = (arrival - math.floor(arrival)) * 24
    if not balie_open <= hour < balie_close:
        # the aanmeldbalie is closed: nachtopvang until the desk opens (000:11289-11293)
        rec.move(f, "X01", "nachtopvang", _site_name(f), arrival)
        f.truth.update(nachtopvang=True, nachtopvang_cause="buiten_openingstijd_balie")
        yield w.wait_until(w.next_at(arrival, balie_open))
    w.new_zaak(f, env.now)
    rec.event(f, "A01", env.now)
    rec.flow("Aanmeldingen", f.origin)
    if f.origin == "first":
        yield from _identification(w, f)
    else:
        # repeat applicants are already identified: no Politie I&R (000:13-19)
        rec.move(f, "A09", "col", _site_name(f), env.now + 0.25 / 24)
        yield w.wait_until(env.now + 0.25 / 24)
    if f.stay is not None and f.stay[1] == "col" and "col_start" not in f.truth:
        f.truth["col_start"] = f.stay[3]
    yield from _after_intake(w, f)


def _site_name(f: Foreigner) -> str:
    return "Ter Apel" if f.site == "ter_apel" else "Budel-Cranendonck"


def _identification(w: World, f: Foreigner) -> Proc:
    sc, rec, env = w.sc, w.rec, w.env
    started = env.event()
    yield w.ir_queue.put((f, started))
    close = w.next_at(env.now, sc.hours("aanmeld", "ir_close"))
    if f.stay is None:
        result = yield started | env.timeout(max(0.0, close - env.now))
        if started not in result:
            # the I&R street reached its quota or closed before this person: nachtopvang (000:11295-11300)
            rec.move(f, "X01", "nachtopvang", _site_name(f), env.now)
            f.truth.update(nachtopvang=True, nachtopvang_cause="ir_capaciteit")
            yield started
    else:
        yield started
    step = sc.dist("aanmeld", "ir_step_minutes")
    steps = list(IR_STEPS)
    if w.chance(sc.prob("deviations", "repeat_photo")):
        steps.insert(2, "A03")  # photos and fingerprints taken twice
    if w.chance(sc.prob("aanmeld", "p_aanvullend_gehoor")):
        steps.append("A07")
    # the I&R steps follow each other within hours; written ahead, one wait for the whole street
    t = env.now
    photos = 0
    for act in steps:
        t += w.draw(step) / 1440
        if w.emit(f, act, t):
            if act == "A04":
                f.truth["identity_politie"] = f.truth.get("identity_politie", 0) + 1
            photos += act == "A03"
    f.truth["dev_repeat_photo"] = photos > 1
    t += w.draw(step) / 1440
    if w.emit(f, "A08", t):
        f.truth["double_registration"] = True
    # the same registration typed again into Smartflow, a few minutes later (000:11302-11307)
    if not w.chance(sc.prob("faults", "smartflow_missing")) and w.emit(
        f, "A08", t + w.rng.uniform(2, 30) / 1440, exports=("smartflow",)
    ):
        f.truth["smartflow_entry"] = True
    yield w.wait_until(t + 0.25 / 24)
    rec.move(f, "A09", "col", _site_name(f), env.now)
    f.truth["col_start"] = env.now


def ir_street(w: World, site: str) -> Proc:
    """The Politie I&R street of one site: at most ``ir_quota`` persons a day, FIFO."""
    sc, env = w.sc, w.env
    quota = sc.table("aanmeld", "ir_quota")[site]
    open_h, close_h = sc.hours("aanmeld", "ir_open"), sc.hours("aanmeld", "ir_close")
    spacing = (close_h - open_h) / 24 / max(quota, 1)
    queue = w.ir_queue
    while True:
        yield w.wait_until(w.next_at(env.now, open_h))
        close = math.floor(env.now) + close_h / 24
        done = 0
        while done < quota and env.now < close:
            get = queue.get()
            result = yield get | env.timeout(close - env.now)
            if get not in result:
                get.cancel()
                break
            f, started = result[get]
            f.site = site  # I&R, col and hearing at the site of the street that takes the person
            started.succeed()
            done += 1
            yield env.timeout(spacing)
        yield w.wait_until(close + 1e-6)


def _after_intake(w: World, f: Foreigner) -> Proc:
    sc, rec, env = w.sc, w.rec, w.env
    reg_day = math.floor(f.zaak_start)
    regie_h = sc.hours("aanmeld", "regietafel_time")
    yield w.wait_until(w.next_at(env.now + 2 / 24, regie_h, workday=True))
    rec.event(f, "A10", env.now)
    f.truth["regietafel_moments"] = f.truth.get("regietafel_moments", 0) + 1
    yield env.timeout(0.5 / 24)
    rec.event(f, "A11", env.now)
    hearing_day = _book_hearing(
        w, f, max(reg_day + sc.count("aanmeld", "hearing_target_day") - 1, math.floor(env.now) + 1)
    )
    # medical check on dag 2 in the col (000:11267-11269), or the day after a late col intake
    med = w.next_at(
        max(reg_day + 1.0, f.truth.get("col_start", env.now)), sc.hours("aanmeld", "medical_time")
    )
    skip = w.chance(sc.prob("deviations", "skip_medical"))
    if not skip and w.chance(sc.prob("deviations", "late_medical")):
        med += w.rng.randint(1, 3)
    hearing_t = hearing_day + sc.hours("aanmeld", "hearing_time") / 24
    wrong_order = w.chance(sc.prob("deviations", "spoor_after_hearing"))
    if not skip and med < hearing_t - 1 / 24:
        yield w.wait_until(med)
        _medical(w, f, reg_day)
    if not wrong_order:
        yield w.wait_until(max(env.now, hearing_t - 0.5 / 24))
        rec.event(f, "A13", env.now)
        rec.flow("Instroom naar spoor", f.spoor)
    while True:
        yield w.wait_until(max(env.now, hearing_t))
        if w.chance(_noshow_p(w, f, env.now)):
            rec.event(f, "X10", env.now, result="niet verschenen aanmeldgehoor")
            f.truth["no_shows"] = f.truth.get("no_shows", 0) + 1
            if f.truth.get("budel_measure"):
                f.truth["no_shows_budel_measure"] = f.truth.get("no_shows_budel_measure", 0) + 1
            hearing_t = (
                _book_hearing(w, f, math.floor(env.now) + 1)
                + sc.hours("aanmeld", "hearing_time") / 24
            )
            continue
        break
    rec.event(
        f,
        "A14",
        env.now,
        result={"spoor1": "aanmeldgehoor Dublin", "spoor2": "gehoor veilig land"}.get(
            f.spoor, "aanmeldgehoor"
        ),
    )
    f.truth["hearing_day"] = math.floor(env.now) - reg_day + 1
    if wrong_order:
        yield env.timeout(2 / 24)
        rec.event(f, "A13", env.now)
        rec.flow("Instroom naar spoor", f.spoor)
        f.truth["dev_spoor_after_hearing"] = True
    if not skip and "_medical" not in f.truth:
        # the planned check fell after the hearing: it happens the next morning (late)
        yield w.wait_until(w.next_at(env.now, sc.hours("aanmeld", "medical_time")))
        _medical(w, f, reg_day)
    if w.chance(sc.prob("aanmeld", "p_ind_identity")):
        yield env.timeout(1 / 24)
        rec.event(f, "X11", env.now)
        f.truth["identity_ind"] = f.truth.get("identity_ind", 0) + 1
    yield w.wait_until(w.next_at(env.now, regie_h, workday=True, after=True))
    present = f.site == "budel" or w.date_of(env.now) >= sc.day("aanmeld", "politie_full_strength")
    present = present and w.chance(sc.prob("aanmeld", "p_politie_regietafel2"))
    rec.event(f, "A15", env.now, result="Politie aanwezig" if present else "Politie afwezig")
    f.truth["dev_skipped_medical"] = skip  # witnessed by the second regietafel without a check
    f.truth["regietafel_moments"] += 1
    f.truth["regietafel2_politie"] = present
    yield env.timeout(w.draw(sc.dist("col", "transfer_wait_days")))
    yield from after_col(w, f)


def _medical(w: World, f: Foreigner, reg_day: int) -> None:
    w.rec.event(f, "A12", w.env.now)
    f.truth["_medical"] = w.env.now
    f.truth["dev_late_medical"] = math.floor(w.env.now) != reg_day + 1


def _noshow_p(w: World, f: Foreigner, t: float) -> float:
    sc = w.sc
    if f.site == sc.text("measure", "site") and w.date_of(t) >= sc.day("measure", "start"):
        f.truth["budel_measure"] = True
        return sc.prob("measure", "noshow_after")
    return sc.table("aanmeld", "noshow")[f.site]


def _book_hearing(w: World, f: Foreigner, earliest: int) -> int:
    """Book the first working day >= ``earliest`` with an aanmeldgehoor slot left at the site."""
    cap = int(w.sc.table("aanmeld", "hearing_capacity")[f.site])
    d = w.workday_from(earliest)
    while w.hearings.get((f.site, d), 0) >= cap:
        d = w.workday_from(d + 1)
    w.hearings[(f.site, d)] = w.hearings.get((f.site, d), 0) + 1
    return d
