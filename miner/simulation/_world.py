"""The simulated world: the simpy environment, clocks and calendars, shared capacities, arrivals.

Simulation time is in days since 00:00 local time on the scenario's start date. Working days are
Monday to Friday (Dutch public holidays are not modelled).
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections import deque
from collections.abc import Generator
from datetime import date, timedelta
from typing import Any

import simpy

from miner.simulation._chain import Foreigner
from miner.simulation._people import make_identity, make_vnummer
from miner.simulation._record import Recorder
from miner.simulation.scenario import Dist, Scenario

Proc = Generator[simpy.Event, Any, None]


class World:
    """Everything the processes share: environment, random stream, capacities, queues, recorder."""

    def __init__(self, sc: Scenario, rec: Recorder, seed: int, horizon: float) -> None:
        self.sc = sc
        self.rec = rec
        self.env = simpy.Environment()
        self.rng = random.Random(f"model-{seed}")
        self.id_rng = random.Random(f"identity-{seed}")
        self.horizon = horizon
        self.start = sc.start
        self.start_weekday = sc.start.weekday()
        self.serial = 0
        self.zaak_seq = 0
        self.active: dict[int, Foreigner] = {}
        nats = sc.nationalities
        self.nats = nats
        self.nat_cum = _cumulative([float(n["weight"]) for n in nats])
        # shared capacities
        cap = max(1, sc.count("rvt", "pol_capacity"))
        self.pol = simpy.Container(self.env, capacity=cap, init=cap)  # free pol places
        # one queue for both I&R streets: who cannot be handled at one site goes to the other
        self.ir_queue = simpy.Store(self.env)
        self.hearings: dict[tuple[str, int], int] = {}
        self.aa_normal: deque[Foreigner] = deque()
        self.aa_priority: deque[Foreigner] = deque()
        self.aa_waiting: list[tuple[float, int]] = []  # heap of (aa_entry, fid) not yet started
        self.aa_started: set[int] = set()
        self.housing = simpy.Store(self.env)
        self.permit_holders = 0
        self.start_minute = 0

    # time --------------------------------------------------------------------------------------
    def weekday(self, t: float) -> int:
        return (self.start_weekday + math.floor(t)) % 7

    def date_of(self, t: float) -> date:
        return self.start + timedelta(days=math.floor(t))

    def next_at(
        self, t: float, hours: float, *, workday: bool = False, after: bool = False
    ) -> float:
        """The first moment >= ``t`` (> ``t`` when ``after``) at clock time ``hours``."""
        d = math.floor(t)
        cand = d + hours / 24
        if cand < t or (after and cand <= t):
            cand += 1
        while workday and self.weekday(cand) >= 5:
            cand += 1
        return cand

    def workday_from(self, d: int) -> int:
        while self.weekday(d) >= 5:
            d += 1
        return d

    def emit(self, f: Foreigner, act: str, t: float, **kw: Any) -> bool:
        """Record an event that may lie ahead of the clock; nothing at or after the horizon."""
        if t >= self.horizon:
            return False
        self.rec.event(f, act, t, **kw)
        return True

    def wait_until(self, t: float) -> simpy.Timeout:
        return self.env.timeout(max(0.0, t - self.env.now))

    # random ------------------------------------------------------------------------------------
    def draw(self, dist: Dist) -> float:
        p, r = dist.params, self.rng
        if dist.kind == "fixed":
            return p[0]
        if dist.kind == "uniform":
            return r.uniform(p[0], p[1])
        if dist.kind == "triangular":
            return r.triangular(p[0], p[2], p[1])
        if dist.kind == "exponential":
            return r.expovariate(1.0 / p[0]) if p[0] > 0 else 0.0
        sigma = math.log(p[1] / p[0]) / 1.2815515655446004
        return r.lognormvariate(math.log(p[0]), sigma)

    def choose(self, shares: dict[str, float]) -> str:
        u, acc = self.rng.random(), 0.0
        for key, share in shares.items():
            acc += share
            if u < acc:
                return key
        return next(reversed(shares))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # people ------------------------------------------------------------------------------------
    def new_foreigner(self, origin: str, site: str) -> Foreigner:
        nat = self.nats[
            bisect.bisect_right(self.nat_cum, self.id_rng.random() * self.nat_cum[-1])
            if self.nat_cum[-1] > 0
            else 0
        ]
        given, family, dob, sex = make_identity(self.id_rng, str(nat["names"]), self.start)
        f = Foreigner(
            self.serial, make_vnummer(self.serial), given, family, dob, sex, nat, site, origin
        )
        self.serial += 1
        f.truth.update(
            foreigner=f.fid,
            v_nummer=f.vnr,
            given_name=given,
            family_name=family,
            date_of_birth=dob.isoformat(),
            sex=sex,
            nationality=str(nat["iso3"]),
            origin=origin,
            site=site,
        )
        self.active[f.fid] = f
        return f

    def new_zaak(self, f: Foreigner, t: float) -> None:
        self.zaak_seq += 1
        f.zaak = f"Z{self.date_of(t).year}{self.zaak_seq:07d}"
        f.zaak_start = t

    def finish(self, f: Foreigner) -> None:
        """``f`` leaves the simulation: write its ground-truth row and forget it."""
        self.rec.leave(f, self.env.now)
        f.truth["spoor"] = f.spoor
        self.rec.finish(f)
        self.active.pop(f.fid, None)

    def close(self) -> None:
        """End of the run: open stays stay open in the export; everyone still active is written."""
        for fid in sorted(self.active):
            f = self.active[fid]
            if f.stay is not None:
                self.rec._stay_row(f, f.stay, None, "")
                f.stay = None
            f.truth["spoor"] = f.spoor
            self.rec.finish(f)
        self.active.clear()

    def decide(self, f: Foreigner, outcome: str, t: float, *, counted: bool = True) -> None:
        """Record the first decision on the merits; ``counted`` marks the AA/VA track (spoor 4)."""
        self.rec.flow("Beslissingen", outcome)
        if f.truth.get("decision"):
            return
        f.truth.update(
            decision=outcome,
            decision_time=self.iso(t),
            decision_track="aa_va" if counted else f.spoor,
            weeks_to_decision=round((t - f.zaak_start) / 7, 3),
        )

    def iso(self, t: float) -> str:
        return self.rec.clock.iso(t)

    # AA queue (priority groups overtake the others) ---------------------------------------------
    def aa_enqueue(self, f: Foreigner, t: float) -> None:
        # queue order is compared at the minute, the resolution at which the exports show it
        entry = math.floor(t * 1440 + 0.5)
        f.truth["aa_entry"] = self.iso(t)
        f.truth["_aa_entry"] = entry
        heapq.heappush(self.aa_waiting, (entry, f.fid))
        (self.aa_priority if f.nat["priority"] else self.aa_normal).append(f)
        f.truth["aa_priority"] = bool(f.nat["priority"])

    def aa_mark_started(self, f: Foreigner, t: float) -> None:
        """At AA day 1: did ``f`` overtake someone who entered the queue earlier and still waits?"""
        self.aa_started.add(f.fid)
        while self.aa_waiting and self.aa_waiting[0][1] in self.aa_started:
            self.aa_started.discard(heapq.heappop(self.aa_waiting)[1])
        entry = int(f.truth["_aa_entry"])
        f.truth["aa_overtook"] = bool(self.aa_waiting and self.aa_waiting[0][0] < entry)
        f.truth["aa_start"] = self.iso(t)


def _cumulative(weights: list[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


def arrivals(w: World, start_journey: Any) -> Proc:
    """Poisson arrivals of asylum applicants with a monthly profile and an hour-of-day profile."""
    sc = w.sc
    per_day = sc.num("inflow", "per_year") / 365.0
    profile = sc.weights("inflow", "monthly_profile")
    mean_profile = sum(profile) / 12 if sum(profile) > 0 else 1.0
    hours = sc.weights("inflow", "hour_weights")
    hour_cum = _cumulative(hours)
    sites = sc.table("inflow", "sites")
    kinds = sc.table("inflow", "kind")
    d = 0
    while d < w.horizon:
        month = w.date_of(d).month - 1
        lam = per_day * profile[month] / mean_profile if mean_profile else 0.0
        n = _poisson(w.rng, lam)
        times = sorted(
            d + (bisect.bisect_right(hour_cum, w.rng.random() * hour_cum[-1]) + w.rng.random()) / 24
            for _ in range(n)
        )
        for t in times:
            if t >= w.horizon:
                break
            yield w.wait_until(t)
            f = w.new_foreigner(w.choose(kinds), w.choose(sites))
            w.env.process(start_journey(w, f))
        d += 1
        yield w.wait_until(d)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
