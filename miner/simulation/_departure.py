"""Departure through DT&V (000:7709-8031; 11488-11572): the hand-over dossier, the departure plan,
extra identity research (by the Politie AVIM or DT&V's own projectgroep), the removability checks,
and self-departure, forced departure (IBS, KMar escort) or departure without supervision (MOB).
Dossiers also arrive from KMar, Politie and other sources (000:7829-7843).
"""

from __future__ import annotations

from miner.simulation._chain import Foreigner
from miner.simulation._world import Proc, World, _poisson

PLAN = ("V02", "V03", "V04", "V05", "V06")
CHECKS = ("V09", "V10", "V11", "V12", "V13")
ENDINGS = {
    "zelfstandig": ("V17", "X18", "V20", "V21"),
    "gedwongen": ("X21", "V14", "V15", "V16", "V17", "V18", "V19", "X20", "V20", "V21"),
    "zonder_toezicht": ("X19", "V21"),
    "dublin": ("V14", "V16", "V17", "V19", "X20", "V20", "V21"),
}


def departure(w: World, f: Foreigner, *, source: str, how: str, handed_over: bool = False) -> Proc:
    """The DT&V dossier of ``f`` from the overdrachtsdossier (V01) to closing (V21)."""
    sc, rec, env = w.sc, w.rec, w.env
    if not handed_over:
        yield env.timeout(w.draw(sc.dist("dtv", "handover_days")))
        # a KMar dossier is also in the KMar's own registration (000:7717-7731)
        rec.event(
            f, "V01", env.now, source=source, exports=("dtv", "kmar") if source == "KMar" else None
        )
        rec.flow("Instroom DT&V", source)
        f.truth["dtv_source"] = source
    leave_at = env.now + sc.num("dtv", "reception_leave_days")
    to_vbl = f.stay is not None and w.chance(sc.prob("dtv", "p_vbl"))
    if to_vbl:
        rec.move(f, "X04", "vbl", "vbl Ter Apel", env.now + 1)
    kind = how or w.choose(sc.table("dtv", "departure"))
    steps: list[str] = list(PLAN) + ["V07"] * w.rng.randint(1, 3)
    p_id = sc.prob("dtv", "p_aanvullend_id") * (2.0 if source == "Politie" else 1.0)
    if w.chance(min(1.0, p_id)):
        steps.append("X22" if w.chance(sc.prob("dtv", "p_projectgroep")) else "V08")
    steps += list(CHECKS) + list(ENDINGS[kind])
    total = w.draw(sc.dist("dtv", "departure_weeks")) * 7
    gap = total / len(steps)
    t = env.now
    for act in steps:
        # the dossier's steps are written ahead; the process waits once, not per step
        t += gap * w.rng.uniform(0.5, 1.5)
        if act == "V08":
            # the DT&V asks the Politie (AVIM) for additional identity research (000:7941-7947)
            if w.emit(f, act, t, how="avim"):
                f.truth["identity_politie"] = f.truth.get("identity_politie", 0) + 1
            continue
        if w.emit(f, act, t, source=source, how=kind):
            if act == "X22":
                f.truth["identity_dtv"] = f.truth.get("identity_dtv", 0) + 1
            elif act == "V19":
                f.truth["kmar_escort"] = True
            elif act == "V20":
                f.truth["departure_message"] = True
            elif act in ("X18", "X19", "X20"):
                f.truth.update(departure=kind, dublin_transfer=kind == "dublin")
    if f.stay is not None and not to_vbl and leave_at < t:
        yield w.wait_until(leave_at)
        rec.leave(f, env.now, "vertrektermijn verstreken")
    yield w.wait_until(t)
    rec.flow("Vertrek", kind)
    rec.leave(f, env.now, "vertrek")
    w.finish(f)


def other_sources(w: World) -> Proc:
    """Dossiers handed to DT&V by KMar, Politie and others, outside the asylum procedure."""
    env = w.env
    rates = w.sc.table("dtv", "other_sources_per_year")
    names = {"kmar": "KMar", "politie": "Politie", "overig": "overig"}
    d = 0
    while d < w.horizon:
        for key in sorted(rates):
            for _ in range(_poisson(w.rng, rates[key] / 365.0)):
                yield w.wait_until(d + w.rng.uniform(0.35, 0.7))
                f = w.new_foreigner(f"dtv_{key}", "")
                f.truth["arrival"] = w.iso(env.now)
                env.process(departure(w, f, source=names[key], how="", handed_over=False))
        d += 1
        yield w.wait_until(d)
