"""Token-based replay: a port of pm4py's algorithm onto integer structures, with the same results.

pm4py's token replay (``pm4py.algo.conformance.tokenreplay.variants.token_replay``, 2.7.23) spends
its time rebuilding the set of enabled transitions of the whole net at every event and, at the end
of every trace, exploring the markings reachable through silent transitions with ``repr`` strings
as keys. This module runs the same code path on places and transitions numbered once per net:

- a marking is a ``dict`` place number → tokens kept in the insertion order pm4py's ``Counter``
  has (that order decides ties in pm4py's search for the final marking), and pm4py's firing rule
  (``semantics.execute``: tokens taken in the order of the transition's input arcs, a place left
  empty is deleted, output places are appended);
- the walk through silent transitions to enable a visible one is pm4py's heuristic, ported line by
  line (``apply_hidden_trans``, ``enable_hidden_transitions``, at most two levels deep), on the same
  shortest silent paths between places (pm4py's own ``get_places_shortest_path_by_hidden``,
  computed once per net instead of once per call);
- ties pm4py breaks by set order (which of two enabled transitions with the same label fires) are
  broken by building the same Python set of pm4py's transition objects in the same insertion order.

What an event does depends only on the marking (with its order) and the activity, so the step is
cached per ``(marking, activity)``, the search for the final marking per marking, and the visible
transitions reachable through silent ones per marking: variants that share a prefix replay it once.

Two settings are ported, the two :mod:`miner.conformance._controlflow` uses:

- :meth:`TokenReplay.replay` with the defaults: pm4py's token-based replay fitness (remaining
  tokens count, the final marking is sought through silent transitions);
- :meth:`TokenReplay.prefixes`: ETConformance's replay of prefixes (stop at the first missing
  token, remaining tokens not counted, no search for the final marking), with the labels of the
  visible transitions enabled, possibly after silent ones, in the reached marking.

pm4py's other options (token-flood cleaning, exhaustive silent exploration, place-level fitness,
the postfix and marking caches of its "reduction" mode) are not ported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: pm4py's TechnicalParameters: depth of the shortest-silent-path search, of the recursion of the
#: silent walk, and the rounds of the two searches for the final marking.
_MAX_REC_DEPTH = 50
_MAX_REC_DEPTH_HIDDEN = 2
_MAX_IT_FINAL1 = 5
_MAX_IT_FINAL2 = 5
#: The most entries a cache holds before it is emptied (a net that floods tokens has unboundedly
#: many markings).
CACHE_LIMIT = 500_000

Key = tuple[tuple[int, int], ...]  # a marking frozen in its insertion order


@dataclass(frozen=True)
class _Step:
    """What one event does from a marking: the marking after the silent walk (``walk``) and its
    tokens; whether the event's transition was then enabled (``ok``); the marking after it fired
    (``after``, missing tokens added first) and the tokens of the whole step."""

    walk: Key
    walk_consumed: int
    walk_produced: int
    ok: bool
    after: Key
    missing: int
    consumed: int
    produced: int


class TokenReplay:
    """pm4py's token-based replay of traces on one Petri net (``net``, ``im``, ``fm`` are pm4py
    objects; the net must not change while this object is used)."""

    def __init__(self, net: Any, im: Any, fm: Any) -> None:
        from pm4py.objects.petri_net.utils.petri_utils import get_places_shortest_path_by_hidden

        places = list(net.places)
        trans = list(net.transitions)  # pm4py's iteration order of net.transitions
        pidx = {p: i for i, p in enumerate(places)}
        tidx = {t: i for i, t in enumerate(trans)}
        self._places = places
        self._trans = trans
        self._tidx = tidx
        self._pre = [tuple((pidx[a.source], a.weight) for a in t.in_arcs) for t in trans]
        self._post = [tuple((pidx[a.target], a.weight) for a in t.out_arcs) for t in trans]
        self._cons = [sum(w for _, w in pre) for pre in self._pre]
        self._prod = [sum(w for _, w in post) for post in self._post]
        self._label: list[str | None] = [t.label for t in trans]
        names = sorted({p.name for p in places})
        rank = {n: i for i, n in enumerate(names)}
        self._prank = [rank[p.name] for p in places]  # sorting by this = pm4py's key=name
        self._unique_names = len(names) == len(places)
        trans_map: dict[Any, int] = {}
        for t in sorted(trans, key=lambda x: x.name):
            trans_map[t.label] = tidx[t]
        self._trans_map = trans_map
        by_label: dict[str, list[int]] = {}
        for i, t in enumerate(trans):
            if t.label is not None:
                by_label.setdefault(t.label, []).append(i)
        self._by_label = {k: tuple(v) for k, v in by_label.items()}
        visible_order = sorted(trans, key=lambda x: (str(x.name), id(x)))
        self._vrank = [0] * len(trans)
        for i, t in enumerate(visible_order):
            self._vrank[tidx[t]] = i
        self._trepr = [repr(t) for t in trans]
        self._pname = [str(p.name) for p in places]
        spaths = get_places_shortest_path_by_hidden(net, _MAX_REC_DEPTH)
        self._spaths: dict[int, dict[int, tuple[int, ...]]] = {
            pidx[p1]: {pidx[p2]: tuple(tidx[t] for t in path) for p2, path in d.items()}
            for p1, d in spaths.items()
        }
        self._im: Key = tuple((pidx[p], int(n)) for p, n in im.items())
        self._im_tokens = sum(n for _, n in self._im)
        self._fm: dict[int, int] = {pidx[p]: int(n) for p, n in fm.items()}
        self._fm_sorted = sorted(self._fm, key=self._prank.__getitem__)
        self._fm_keys = frozenset(self._fm)
        self._fm_tokens = sum(self._fm.values())
        self._steps: dict[tuple[Key, str], _Step] = {}
        self._finals: dict[Key, tuple[Key, int, int]] = {}
        self._visible: dict[Key, tuple[str, ...]] = {}

    # --- pm4py's firing rule on dict markings -------------------------------------------------

    def _enabled(self, t: int, m: dict[int, int]) -> bool:
        for p, w in self._pre[t]:
            if m.get(p, 0) < w:
                return False
        return True

    def _execute(self, t: int, m: dict[int, int]) -> dict[int, int]:
        out = dict(m)
        for p, w in self._pre[t]:
            v = out.get(p, 0) - w
            out[p] = v
            if v == 0:
                del out[p]
        for p, w in self._post[t]:
            out[p] = out.get(p, 0) + w
        return out

    def _enabled_set_first(self, m: dict[int, int], label: str) -> int:
        """``[x for x in semantics.enabled_transitions(net, m) if x.label == label][0]``: the set is
        built as pm4py builds it, so its iteration order is pm4py's."""
        enabled: set[Any] = set()
        for i, t in enumerate(self._trans):
            if self._enabled(i, m):
                enabled.add(t)
        return next(self._tidx[x] for x in enabled if x.label == label)

    def _sorted_places(self, places: Iterable[int]) -> list[int]:
        """A set of places sorted by name as pm4py sorts it (ties, only with repeated names, in the
        set's own order)."""
        if self._unique_names:
            return sorted(set(places), key=self._prank.__getitem__)
        objs: set[Any] = set()
        for p in places:
            objs.add(self._places[p])
        index = {id(o): i for i, o in enumerate(self._places)}
        return sorted((index[id(o)] for o in objs), key=self._prank.__getitem__)

    def _paths(self, m: dict[int, int], targets: Sequence[int]) -> list[tuple[int, ...]]:
        """``get_hidden_transitions_to_enable`` / ``get_req_transitions_for_final_marking``."""
        out = []
        for p1 in sorted(m, key=self._prank.__getitem__):
            d = self._spaths.get(p1)
            if d is None:
                continue
            for p2 in targets:
                path = d.get(p2)
                if path is not None:
                    out.append(path)
        out.sort(key=len)
        return out

    # --- the silent walk: apply_hidden_trans and enable_hidden_transitions ---------------------

    def _enable_hidden(self, m: dict[int, int], fired: list[int], visited: set[int],
                       groups: list[tuple[int, ...]], t: int) -> dict[int, int]:
        j = [0] * len(groups)
        for z in range(10_000_000):
            changed = False
            g = z % len(groups)
            group = groups[g]
            for _ in range(j[g], len(group)):
                t3 = group[j[g]]
                if t3 != t and self._enabled(t3, m) and t3 not in visited:
                    m = self._execute(t3, m)
                    fired.append(t3)
                    visited.add(t3)
                    changed = True
                j[g] += 1
                if self._enabled(t, m):
                    break
            if self._enabled(t, m):
                break
            if not changed:
                break
        return m

    def _apply_hidden(self, t: int, m: dict[int, int], depth: int, visited: set[int],
                      fired: list[int]) -> dict[int, int]:
        if depth >= _MAX_REC_DEPTH_HIDDEN or t in visited:
            return m
        visited.add(t)
        at_start = dict(m)
        missing = self._sorted_places(p for p, w in self._pre[t] if m.get(p, 0) < w)
        groups = self._paths(m, missing)
        if groups:
            m = self._enable_hidden(m, fired, visited, groups, t)
            if not self._enabled(t, m):
                for group in self._paths(m, missing):
                    for t4 in group:
                        if t4 != t and t4 not in visited:
                            if not self._enabled(t4, m):
                                m = self._apply_hidden(t4, m, depth + 1, visited, fired)
                            if self._enabled(t4, m):
                                m = self._execute(t4, m)
                                fired.append(t4)
                                visited.add(t4)
            if not self._enabled(t, m) and at_start != m:
                m = self._apply_hidden(t, m, depth + 1, visited, fired)
        return m

    # --- one event, and the search for the final marking ---------------------------------------

    def _step(self, key: Key, activity: str) -> _Step:
        cached = self._steps.get((key, activity))
        if cached is not None:
            return cached
        m = dict(key)
        enabled = [t for t in self._by_label.get(activity, ()) if self._enabled(t, m)]
        if len(enabled) == 1:
            t = enabled[0]
        elif enabled:
            t = self._enabled_set_first(m, activity)
        else:
            t = self._trans_map[activity]
        walk_consumed = walk_produced = 0
        if not self._enabled(t, m):
            fired: list[int] = []
            m = self._apply_hidden(t, dict(m), 0, set(), fired)
            for h in fired:
                walk_consumed += self._cons[h]
                walk_produced += self._prod[h]
        walk = tuple(m.items())
        ok = self._enabled(t, m)
        missing = 0
        if not ok:  # add_missing_tokens, as pm4py writes it (adds the arc weight)
            for p, w in self._pre[t]:
                v = m.get(p, 0)
                if v < w:
                    missing += w - v
                    m[p] = v + w
        if self._enabled(t, m):
            m = self._execute(t, m)
        step = _Step(walk, walk_consumed, walk_produced, ok, tuple(m.items()), missing,
                     walk_consumed + self._cons[t], walk_produced + self._prod[t])
        if len(self._steps) >= CACHE_LIMIT:
            self._steps.clear()
        self._steps[(key, activity)] = step
        return step

    def _final(self, key: Key) -> tuple[Key, int, int]:
        """pm4py's two searches for the final marking through silent transitions: the marking
        reached and the tokens consumed and produced on the way."""
        cached = self._finals.get(key)
        if cached is not None:
            return cached
        m = dict(key)
        consumed = produced = 0
        fm_keys = self._fm_keys
        for _ in range(_MAX_IT_FINAL1):
            if fm_keys <= m.keys():
                break
            for group in self._paths(m, self._fm_sorted):
                for t in group:
                    if self._enabled(t, m):
                        m = self._execute(t, m)
                        consumed += self._cons[t]
                        produced += self._prod[t]
                if fm_keys <= m.keys():
                    break
        if not fm_keys <= m.keys() and len(self._fm) == 1:
            sink = next(iter(self._fm))
            connections = [self._spaths[p][sink] for p in m
                           if p in self._spaths and sink in self._spaths[p]]
            connections.sort(key=len)
            for _ in range(_MAX_IT_FINAL2):
                for path in connections:
                    for t in path:
                        if self._enabled(t, m):
                            m = self._execute(t, m)
                            consumed += self._cons[t]
                            produced += self._prod[t]
                        else:
                            break
        result = (tuple(m.items()), consumed, produced)
        if len(self._finals) >= CACHE_LIMIT:
            self._finals.clear()
        self._finals[key] = result
        return result

    def visible_labels(self, key: Key) -> tuple[str, ...]:
        """The labels (sorted) of ``align_utils.get_visible_transitions_eventually_enabled_by_
        marking``: visible transitions enabled in the marking or after silent ones."""
        cached = self._visible.get(key)
        if cached is not None:
            return cached
        vrank = self._vrank.__getitem__
        start = dict(key)
        pending = sorted((t for t in range(len(self._trans)) if self._enabled(t, start)),
                         key=vrank)
        marking_of = {t: start for t in pending}
        visible: set[str] = set()
        visited: set[tuple[str, tuple[str, ...]]] = set()
        i = 0
        while i < len(pending):
            t = pending[i]
            m = marking_of[t]
            seen = (self._trepr[t], tuple(f"{self._pname[p]}:{m[p]}"
                                          for p in sorted(m, key=self._prank.__getitem__)))
            if seen not in visited:
                label = self._label[t]
                if label is not None:
                    visible.add(label)
                elif self._enabled(t, m):
                    new = self._execute(t, m)
                    for t2 in sorted((u for u in range(len(self._trans)) if self._enabled(u, new)),
                                     key=vrank):
                        pending.append(t2)
                        marking_of[t2] = new
                visited.add(seen)
            i += 1
        labels = tuple(sorted(visible))
        if len(self._visible) >= CACHE_LIMIT:
            self._visible.clear()
        self._visible[key] = labels
        return labels

    # --- traces ---------------------------------------------------------------------------------

    def replay(self, trace: Sequence[str], *, consider_remaining: bool = True,
               reach_final: bool = True, stop_unfit: bool = False) -> dict[str, Any]:
        """One trace, with pm4py's result keys ``trace_is_fit``, ``trace_fitness``,
        ``missing_tokens``, ``consumed_tokens``, ``remaining_tokens``, ``produced_tokens``, and
        ``reached_marking`` (place number → tokens, in pm4py's order). The defaults are pm4py's
        token-based replay fitness; ``consider_remaining=False, reach_final=False,
        stop_unfit=True`` its ETConformance replay."""
        key = self._im
        missing = consumed = 0
        produced = self._im_tokens
        trans_map = self._trans_map
        for activity in trace:
            if activity not in trans_map:
                continue  # an activity the model lacks: skipped, as pm4py does
            step = self._step(key, activity)
            if stop_unfit and not step.ok:
                key = step.walk
                consumed += step.walk_consumed
                produced += step.walk_produced
                missing += 1
                break
            key = step.after
            missing += step.missing
            consumed += step.consumed
            produced += step.produced
        if reach_final:
            key, c, p = self._final(key)
            consumed += c
            produced += p
        reached = dict(key)
        remaining = 0
        for place, n in reached.items():
            if place in self._fm:
                remaining += max(0, n - self._fm[place])
            else:
                remaining += n
        fits = missing == 0 and remaining == 0 if consider_remaining else missing == 0
        consumed += self._fm_tokens
        for place, n in self._fm.items():
            diff = n - reached.get(place, 0)
            if diff > 0:
                missing += diff
        if consumed > 0 and produced > 0:
            fitness = 0.5 * (1.0 - float(missing) / float(consumed)) + 0.5 * (
                1.0 - float(remaining) / float(produced))
        else:
            fitness = 1.0
        return {
            "trace_is_fit": fits,
            "trace_fitness": fitness,
            "missing_tokens": missing,
            "consumed_tokens": consumed,
            "remaining_tokens": remaining,
            "produced_tokens": produced,
            "reached_marking": reached,
        }

    def prefix(self, prefix: Sequence[str],
               memo: dict[tuple[str, ...], tuple[Key, bool]] | None = None
               ) -> tuple[bool, tuple[str, ...]]:
        """ETConformance's replay of one prefix: whether it fits (no missing token) and the labels
        of the visible transitions enabled, possibly after silent ones, where its replay ends (as
        :meth:`replay` with ``consider_remaining=False, reach_final=False, stop_unfit=True``).
        ``memo`` (prefix → marking and fit, shared between calls) lets prefixes sharing a
        beginning replay it once; give prefixes shorter first (sorted) to profit from it."""
        prefix = tuple(prefix)
        memo = {} if memo is None else memo
        known = len(prefix)
        while known > 0 and prefix[:known] not in memo:
            known -= 1
        key, fits = memo[prefix[:known]] if known else (self._im, True)
        for i in range(known, len(prefix)):
            if fits and prefix[i] in self._trans_map:
                step = self._step(key, prefix[i])
                key, fits = (step.after, True) if step.ok else (step.walk, False)
            memo[prefix[: i + 1]] = (key, fits)
        return fits, self.visible_labels(key)

    def prefixes(self, prefixes: Iterable[Sequence[str]]
                 ) -> dict[tuple[str, ...], tuple[bool, tuple[str, ...]]]:
        """:meth:`prefix` of each, with one memo."""
        memo: dict[tuple[str, ...], tuple[Key, bool]] = {}
        return {tuple(p): self.prefix(p, memo) for p in prefixes}

    def cache_sizes(self) -> dict[str, int]:
        return {"steps": len(self._steps), "finals": len(self._finals),
                "visible": len(self._visible)}
