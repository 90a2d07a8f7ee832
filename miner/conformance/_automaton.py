"""Boundary module: optimal alignments and precision on a Petri net's reachability graph.

A bounded net with a small state space (the reference model of the chain has about 150 reachable
markings) is better aligned on its *reachability graph* than by pm4py's A* over the synchronous
product, which solves a linear programme per search state: here one shortest-path search over
(marking, trace position) pairs aligns a trace in milliseconds.

Definitions, as in pm4py's standard cost function (so the costs are pm4py's; the oracle test in
``tests/conformance`` compares them on every variant of a simulated year):

- a *synchronous move* (the trace's next activity fires a transition with that label) costs 0;
- a *log move* (a trace activity the model does not do there) and a *model move* (a visible
  transition fired with no trace activity) cost 10000 each;
- a silent transition costs 1, so among alignments with the fewest deviations the one with the
  fewest silent steps wins.

Ties are broken by a fixed order (trace position, then marking rank, then move kind), so the same
input gives the same alignment run after run. The graph is built with pm4py's firing rule
(``pm4py.objects.petri_net.semantics``); construction stops, and callers fall back to pm4py's A*,
when the net has more than :data:`MAX_STATES` reachable markings.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MOVE_COST = 10_000
TAU_COST = 1
SKIP = ">>"  # pm4py's marker of "no move" in an alignment step
MAX_STATES = 20_000


@dataclass(frozen=True)
class Automaton:
    """The reachability graph: ``edges[s]`` lists ``(label or None, target state)`` in a fixed
    order; state 0 is the initial marking; ``finals`` holds the states equal to the final
    marking."""

    edges: tuple[tuple[tuple[str | None, int], ...], ...]
    finals: frozenset[int]

    @property
    def states(self) -> int:
        return len(self.edges)


def _key(marking: Any) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(p.name), int(n)) for p, n in marking.items() if n))


def reachability_automaton(net: Any, im: Any, fm: Any,
                           max_states: int = MAX_STATES) -> Automaton | None:
    """The net's reachability graph as an :class:`Automaton`, or None when it has more than
    ``max_states`` markings (an unbounded or highly concurrent net)."""
    from pm4py.objects.petri_net import semantics

    order = sorted(net.transitions, key=lambda t: (str(t.name), t.label or ""))
    index: dict[tuple[tuple[str, int], ...], int] = {_key(im): 0}
    markings = [im]
    edges: list[list[tuple[str | None, int]]] = [[]]
    todo = 0
    while todo < len(markings):
        marking = markings[todo]
        for t in order:
            if not semantics.is_enabled(t, net, marking):
                continue
            after = semantics.execute(t, net, marking)
            key = _key(after)
            if key not in index:
                if len(markings) >= max_states:
                    return None
                index[key] = len(markings)
                markings.append(after)
                edges.append([])
            edges[todo].append((t.label, index[key]))
        todo += 1
    final = _key(fm)
    return Automaton(tuple(tuple(e) for e in edges),
                     frozenset(i for k, i in index.items() if k == final))


def align(auto: Automaton, trace: Sequence[str],
          budget_s: float = float("inf")) -> tuple[int, list[tuple[Any, Any]]] | None:
    """An optimal alignment of ``trace``: ``(cost, steps)`` with steps ``(log, model)`` as pm4py
    writes them (``">>"`` for no move; ``(">>", None)`` for a silent transition). None when the
    search exceeds ``budget_s`` seconds or the final marking cannot be reached."""
    started = time.perf_counter()
    n = len(trace)
    best: dict[tuple[int, int], int] = {(0, 0): 0}
    back: dict[tuple[int, int], tuple[tuple[int, int], tuple[Any, Any]]] = {}
    heap: list[tuple[int, int, int]] = [(0, 0, 0)]  # (cost, position, state)
    done: set[tuple[int, int]] = set()
    steps_seen = 0
    while heap:
        cost, i, s = heapq.heappop(heap)
        node = (s, i)
        if node in done:
            continue
        done.add(node)
        if i == n and s in auto.finals:
            return cost, _path(back, node)
        steps_seen += 1
        if steps_seen % 4096 == 0 and time.perf_counter() - started > budget_s:
            return None
        moves: list[tuple[int, tuple[int, int], tuple[Any, Any]]] = []
        if i < n:
            moves.append((MOVE_COST, (s, i + 1), (trace[i], SKIP)))
        for label, t in auto.edges[s]:
            if label is None:
                moves.append((TAU_COST, (t, i), (SKIP, None)))
            else:
                if i < n and label == trace[i]:
                    moves.append((0, (t, i + 1), (label, label)))
                moves.append((MOVE_COST, (t, i), (SKIP, label)))
        for step_cost, nxt, step in moves:
            total = cost + step_cost
            if nxt not in done and total < best.get(nxt, total + 1):
                best[nxt] = total
                back[nxt] = (node, step)
                heapq.heappush(heap, (total, nxt[1], nxt[0]))
    return None


def _path(back: Mapping[tuple[int, int], tuple[tuple[int, int], tuple[Any, Any]]],
          node: tuple[int, int]) -> list[tuple[Any, Any]]:
    steps = []
    while node in back:
        node, step = back[node]
        steps.append(step)
    return steps[::-1]


def _closure(auto: Automaton, states: frozenset[int]) -> frozenset[int]:
    seen = set(states)
    todo = list(states)
    while todo:
        for label, t in auto.edges[todo.pop()]:
            if label is None and t not in seen:
                seen.add(t)
                todo.append(t)
    return frozenset(seen)


def precision(auto: Automaton, variants: Mapping[tuple[str, ...], int]) -> float:
    """ETConformance precision (escaping edges, as pm4py's ``precision_token_based_replay``
    counts them) with the set of markings a prefix can reach in place of token replay's single
    marking: for every prefix of the log that the model can replay, the visible activities the
    model enables next (*allowed*) and those no trace of the log does next (*escaping*), each
    weighted by the cases with that prefix; precision is ``1 - escaping / allowed``."""
    following: dict[tuple[str, ...], set[str]] = {}
    count: dict[tuple[str, ...], int] = {}
    for variant, cases in variants.items():
        for i in range(len(variant)):
            following.setdefault(variant[:i], set()).add(variant[i])
            count[variant[:i]] = count.get(variant[:i], 0) + cases
    reached: dict[tuple[str, ...], frozenset[int]] = {(): _closure(auto, frozenset({0}))}
    allowed = escaping = 0
    for prefix in sorted(following, key=lambda p: (len(p), p)):
        if prefix:
            before = reached.get(prefix[:-1], frozenset())
            step = frozenset(t for s in before for label, t in auto.edges[s]
                             if label == prefix[-1])
            reached[prefix] = _closure(auto, step) if step else frozenset()
        states = reached[prefix]
        if not states:
            continue  # the model cannot replay this prefix: it counts neither way
        enabled = {label for s in states for label, _ in auto.edges[s] if label is not None}
        allowed += len(enabled) * count[prefix]
        escaping += len(enabled - following[prefix]) * count[prefix]
    return 1 - escaping / allowed if allowed > 0 else 1.0


def directly_follows(auto: Automaton) -> frozenset[tuple[str, str]]:
    """The directly-follows relation of the model's language: (a, b) when some run fires a visible
    ``a`` and next a visible ``b`` with only silent transitions between. Unlike the sequence flows
    of a drawing it holds the interleavings of parallel branches."""
    pairs: set[tuple[str, str]] = set()
    for edges in auto.edges:
        for a, t in edges:
            if a is None:
                continue
            for s in _closure(auto, frozenset({t})):
                pairs.update((a, b) for b, _ in auto.edges[s] if b is not None)
    return frozenset(pairs)
