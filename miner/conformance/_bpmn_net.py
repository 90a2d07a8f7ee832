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
    model: SwimlaneModel, *, labels: Iterable[str] | None = None
) -> tuple[Any, Any, Any]:
    """The model as a pm4py ``(net, initial_marking, final_marking)``.

    Args:
        model: the swimlane model.
        labels: activity labels to keep visible; every other task becomes a silent (tau)
            transition. Use it to project the model on one phase or on the activities a log
            actually records. None keeps every task visible.
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
    return net, Marking({source: 1}), Marking({sink: 1})
