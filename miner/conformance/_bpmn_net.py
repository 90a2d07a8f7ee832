"""Boundary module: a :class:`SwimlaneModel` as a pm4py Petri net (pm4py is imported only here).

The translation is the usual one for BPMN without data: every sequence flow is a place; a task is
a transition labelled with its activity (or silent when ``labels`` leaves it out); an exclusive
gateway is a hub place with silent transitions from each incoming and to each outgoing flow; a
parallel gateway is one silent transition from all incoming to all outgoing flows; start events
take a token from the net's source place, end events put one in its sink place, so the result is
a workflow net. A task or event with several incoming flows merges them (exclusive), with several
outgoing flows splits them (parallel), as BPMN's uncontrolled flows do. Inclusive, complex and
event-based gateways are translated as exclusive ones (an over-approximation for the inclusive
kind, stated in ``docs/conformance/reference-model.md``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from miner.conformance.swimlane import SwimlaneModel


def to_petri_net(
    model: SwimlaneModel, *, labels: Iterable[str] | None = None, reduce: bool = False
) -> tuple[Any, Any, Any]:
    """The model as a pm4py ``(net, initial_marking, final_marking)``.

    Args:
        model: the swimlane model.
        labels: activity labels to keep visible; every other task becomes a silent (tau)
            transition. Use it to project the model on one phase or on the activities a log
            actually records. None keeps every task visible.
        reduce: fuse silent transitions into their neighbours where that keeps the language
            (:func:`fuse_silent`). A phase projection has every other phase's tasks silent; fused,
            its alignments are about five times faster with the same costs.
    """
    from pm4py.objects.petri_net.obj import Marking, PetriNet
    from pm4py.objects.petri_net.utils.petri_utils import add_arc_from_to

    keep = None if labels is None else frozenset(labels)
    net = PetriNet(f"{model.name}")
    place_of: dict[str, Any] = {}
    for flow in model.flows:
        place_of[flow.id] = PetriNet.Place(f"p_{flow.id}")
        net.places.add(place_of[flow.id])
    source, sink = PetriNet.Place("source"), PetriNet.Place("sink")
    net.places.update((source, sink))
    incoming: dict[str, list[Any]] = {}
    outgoing: dict[str, list[Any]] = {}
    for flow in model.flows:
        outgoing.setdefault(flow.source, []).append(place_of[flow.id])
        incoming.setdefault(flow.target, []).append(place_of[flow.id])

    def transition(name: str, label: str | None) -> Any:
        t = PetriNet.Transition(name, label)
        net.transitions.add(t)
        return t

    def merged_input(node: str) -> list[Any]:
        ins = incoming.get(node, [])
        if len(ins) <= 1:
            return ins
        hub = PetriNet.Place(f"in_{node}")
        net.places.add(hub)
        for i, place in enumerate(ins):
            t = transition(f"merge_{node}_{i}", None)
            add_arc_from_to(place, t, net)
            add_arc_from_to(t, hub, net)
        return [hub]

    def connect(t: Any, ins: list[Any], outs: list[Any]) -> None:
        for place in ins:
            add_arc_from_to(place, t, net)
        for place in outs:
            add_arc_from_to(t, place, net)

    for task in model.tasks.values():
        visible = keep is None or task.label in keep
        t = transition(task.id, task.label if visible else None)
        connect(t, merged_input(task.id), outgoing.get(task.id, []))
    for node, kind in model.nodes.items():
        if kind == "startEvent":
            connect(transition(node, None), [source, *incoming.get(node, [])],
                    outgoing.get(node, []))
        elif kind == "endEvent":
            connect(transition(node, None), merged_input(node), [sink])
        elif kind == "parallelGateway":
            connect(transition(node, None), incoming.get(node, []), outgoing.get(node, []))
        elif kind.endswith("Gateway"):
            hub = PetriNet.Place(f"hub_{node}")
            net.places.add(hub)
            for i, place in enumerate(incoming.get(node, [])):
                connect(transition(f"{node}_in{i}", None), [place], [hub])
            for i, place in enumerate(outgoing.get(node, [])):
                connect(transition(f"{node}_out{i}", None), [hub], [place])
        else:  # intermediate and boundary events pass the token on
            connect(transition(node, None), merged_input(node), outgoing.get(node, []))
    if reduce:
        fuse_silent(net)
    return net, Marking({source: 1}), Marking({sink: 1})


def fuse_silent(net: Any) -> Any:
    """Remove silent transitions by the two series-fusion rules (Murata), in place, in the order of
    transition names so that the result is the same run after run:

    - a silent transition ``t`` with one input place ``p``, where ``p`` has one producer ``s`` and
      feeds only ``t``: ``s`` takes over ``t``'s outputs, ``t`` and ``p`` go;
    - a silent transition ``t`` with one output place ``q``, where ``q`` is fed only by ``t`` and
      has one consumer ``u``: ``u`` takes over ``t``'s inputs, ``t`` and ``q`` go.

    Both keep the visible language (the sequences of labels the net can produce), so alignment
    costs in visible moves, and the enabled labels after a prefix, stay the same. The initial and
    final places are never removed (the source has no producer, the sink no consumer).
    """
    from pm4py.objects.petri_net.utils.petri_utils import (
        add_arc_from_to,
        remove_place,
        remove_transition,
    )

    def fusable(t: Any) -> tuple[Any, Any, list[Any], list[Any]] | None:
        if t.label is not None:
            return None
        if len(t.in_arcs) == 1:
            p = next(iter(t.in_arcs)).source
            if len(p.in_arcs) == 1 and {a.target for a in p.out_arcs} == {t}:
                s = next(iter(p.in_arcs)).source
                if s is not t:
                    return p, s, [], [a.target for a in t.out_arcs]
        if len(t.out_arcs) == 1:
            q = next(iter(t.out_arcs)).target
            if len(q.out_arcs) == 1 and {a.source for a in q.in_arcs} == {t}:
                u = next(iter(q.out_arcs)).target
                if u is not t:
                    return q, u, [a.source for a in t.in_arcs], []
        return None

    changed = True
    while changed:
        changed = False
        for t in sorted(net.transitions, key=lambda x: str(x.name)):
            found = fusable(t)
            if found is None:
                continue
            place, neighbour, ins, outs = found
            remove_transition(net, t)
            remove_place(net, place)
            for p in sorted(ins, key=lambda x: str(x.name)):
                add_arc_from_to(p, neighbour, net)
            for p in sorted(outs, key=lambda x: str(x.name)):
                add_arc_from_to(neighbour, p, net)
            changed = True
            break
    return net
