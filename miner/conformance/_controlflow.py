"""Control-flow conformance of variants against a Petri net: token replay, alignments, precision.

The boundary module around pm4py's replay algorithms (with ``miner/formats`` and the two ports
beside it, the only place that imports pm4py). Each distinct *variant* (activity sequence) is
replayed and aligned once and its figures are weighted by its number of cases, so the log-level
figures equal pm4py's on the whole log (see docs/conformance/controlflow.md for the definitions).
Token replay runs on :mod:`miner.conformance._tokenreplay`, a port of pm4py's algorithm with the same
figures (:data:`TOKEN_REPLAY` switches back to pm4py's own code); a trace the port fails on is
replayed by pm4py and logged.

- *Token-replay fitness* of a trace: ``0.5 (1 - m/c) + 0.5 (1 - r/p)`` with missing, consumed,
  remaining and produced tokens; of the log, the same over the case-weighted token sums.
- *Alignment fitness* of a trace: ``1 - cost / cost of the worst alignment`` (trace moved entirely on
  log plus the cheapest empty-trace run of the model); of the log, ``1 - sum cost / sum worst``.
- *Precision*: ETConformance (Muñoz-Gama and Carmona 2010) by token replay of the log's prefixes.

Alignments run under a per-variant time budget; a variant over budget is ``"unresolved"``, is never
counted as fitting, and is left out of every log-level figure. Ties between equally cheap alignments
are broken deterministically: the search runs on copies of the nets whose places, transitions and arcs
hash by their rank in a fixed order, so set iteration inside pm4py no longer depends on object ids.
The moves are returned as the search found them; which step of two swapped ones is named the
deviation is decided afterwards by one rule, the same for either search
(:func:`miner.conformance.deviations.prefer_postponed`).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from miner.conformance._automaton import Automaton, align, reachability_automaton
from miner.conformance._automaton import precision as graph_precision
from miner.conformance._tokenreplay import TokenReplay
from miner.errors import InputError, UnknownNameError

SCHEMA_VERSION = 1
_ACTIVITY = "concept:name"  # pm4py's activity key, used only on the one-trace logs built here
_MOVE_COST = 10_000  # pm4py's standard cost of a log move or a visible model move
_LOG = logging.getLogger(__name__)

#: Which token replay runs: ``"miner"`` (:mod:`miner.conformance._tokenreplay`, pm4py's figures at
#: a fraction of the time) or ``"pm4py"`` (pm4py's own code, kept for benchmarks and as the oracle).
#: Read when a check starts; worker processes inherit it.
TOKEN_REPLAY = "miner"
#: ETConformance's settings of the replay of prefixes (as pm4py's precision sets them).
_PREFIX_MODE = {"consider_remaining": False, "reach_final": False, "stop_unfit": True}
_REPLAY_KEYS = ("trace_fitness", "trace_is_fit", "missing_tokens", "consumed_tokens",
                "remaining_tokens", "produced_tokens")


@dataclass(frozen=True)
class Move:
    """One step of an alignment: a log move (``model`` None), a model move (``log`` None) or both
    (synchronous). Silent transitions are not listed."""

    log: str | None
    model: str | None


@dataclass(frozen=True)
class VariantCheck:
    """Conformance of one variant. ``status`` is ``"ok"`` or ``"unresolved"`` (alignment over budget
    or failed; ``reason`` says which). ``alignment_cost`` is pm4py's raw cost: 10000 per log move or
    visible model move, 1 per silent step. An unresolved variant keeps its token-replay figures but
    has no alignment and counts in no log-level figure."""

    variant: tuple[str, ...]
    cases: int
    status: str
    replay_fitness: float | None
    replay_fits: bool | None
    alignment_fitness: float | None
    alignment_cost: int | None
    moves: tuple[Move, ...]
    reason: str | None


@dataclass(frozen=True)
class ControlFlowResult:
    """Conformance of a log (given as variants) to a Petri net.

    The log-level figures are over the resolved variants, weighted by cases; ``unresolved`` counts the
    variants left out. ``percentage_fitting`` is 0-100 (cases whose alignment fitness is 1). The
    alignment figures are None when alignments were not asked for, ``precision`` when precision was
    not asked for.
    """

    variants: tuple[VariantCheck, ...]
    log_replay_fitness: float
    log_alignment_fitness: float | None
    percentage_fitting: float | None
    precision: float | None
    unresolved: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        for check in body["variants"]:
            check["variant"] = list(check["variant"])
            check["moves"] = [[m["log"], m["model"]] for m in check["moves"]]
        return {"schema_version": SCHEMA_VERSION, **body}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ControlFlowResult:
        fields = {k: v for k, v in d.items() if k not in ("schema_version", "variants")}
        checks = tuple(
            VariantCheck(
                **{
                    **c,
                    "variant": tuple(c["variant"]),
                    "moves": tuple(Move(log=m[0], model=m[1]) for m in c["moves"]),
                }
            )
            for c in d["variants"]
        )
        return cls(variants=checks, **fields)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pm4py's numpy calls warn (np.matrix is pending deprecation); not ours to fix, and a caller
    that turns warnings into errors must not see a sound net rejected or a variant unresolved."""
    with warnings.catch_warnings():
        for category in (PendingDeprecationWarning, DeprecationWarning, FutureWarning):
            warnings.simplefilter("ignore", category)
        yield


def _pm4py() -> Any:
    """pm4py, imported on first use with its welcome banner (stderr) and prints kept quiet."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import pm4py
    return pm4py


def load_model(path: str | Path) -> tuple[Any, Any, Any]:
    """Read a Petri net with initial and final marking from ``.pnml``, ``.ptml`` (a process tree,
    converted to a net) or ``.bpmn`` (converted to a net).

    The XML is parsed here with entities and the network off, then handed to pm4py's importers.

    Raises:
        InputError: the file is missing, empty or cannot be read as its format (the message names it).
        UnsafeInputError: the XML declares entities.
        UnknownNameError: the extension is none of the three.
    """
    from lxml import etree, objectify

    from miner.formats._input import check_file, check_xml_prolog

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".pnml", ".ptml", ".bpmn"):
        raise UnknownNameError("model format", suffix or path.name, (".bpmn", ".pnml", ".ptml"))
    check_file(path)
    data = path.read_bytes()
    check_xml_prolog(path, data[: 1 << 16])
    pm4py = _pm4py()
    parser = etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True)
    try:
        with contextlib.redirect_stdout(io.StringIO()), _quiet():
            root = objectify.fromstring(data, parser=parser)
            if suffix == ".pnml":
                pnml = importlib.import_module("pm4py.objects.petri_net.importer.variants.pnml")
                net, im, fm = pnml.import_net_from_xml_object(root)
            elif suffix == ".ptml":
                ptml = importlib.import_module("pm4py.objects.process_tree.importer.variants.ptml")
                tree = ptml.import_tree_from_xml_object(root)
                net, im, fm = pm4py.convert_to_petri_net(tree)
            else:
                bpmn_lxml = importlib.import_module("pm4py.objects.bpmn.importer.variants.lxml")
                bpmn = bpmn_lxml.import_xml_tree_from_root(root)
                net, im, fm = pm4py.convert_to_petri_net(bpmn)
    except Exception as exc:  # pm4py raises bare Exceptions, lxml its own errors
        raise InputError(f"{path}: cannot be read as {suffix[1:].upper()}: {exc}") from exc
    if not im or not fm:
        raise InputError(f"{path}: the net has no initial or no final marking")
    return net, im, fm


# --- deterministic copies of nets -----------------------------------------------------------------


def _ranked(base: type) -> type:
    class Ranked(base):  # type: ignore[misc]
        """Hashes by its rank: pm4py's own classes hash by id(), which makes set order vary."""

        rank = 0

        def __hash__(self) -> int:
            return self.rank

    return Ranked


_CLASSES: dict[str, type] = {}


def _stable_copy(
    net: Any, markings: Sequence[Any], place_key: Any, trans_key: Any, rename: bool
) -> tuple[Any, list[Any], dict[Any, Any]]:
    """A copy of ``net`` whose nodes and arcs hash by rank (places and transitions sorted by the
    keys); ``rename`` gives them names from that rank, so the order survives a reload of a model
    whose names are random (pm4py names process-tree transitions by uuid)."""
    pn = _pm4py().objects.petri_net.obj.PetriNet
    if not _CLASSES:
        _CLASSES.update(place=_ranked(pn.Place), trans=_ranked(pn.Transition), arc=_ranked(pn.Arc))
    new = pn(str(net.name))
    mapping: dict[Any, Any] = {}
    for i, p in enumerate(sorted(net.places, key=place_key)):
        q = _CLASSES["place"](f"p{i:05d}" if rename else p.name)
        q.rank = i
        new.places.add(q)
        mapping[p] = q
    for i, t in enumerate(sorted(net.transitions, key=trans_key)):
        u = _CLASSES["trans"](f"t{i:05d}" if rename else t.name, t.label)
        u.rank = i
        new.transitions.add(u)
        mapping[t] = u
    arcs = sorted(
        net.arcs,
        key=lambda a: (
            isinstance(a.source, pn.Place),
            mapping[a.source].rank,
            mapping[a.target].rank,
        ),
    )
    for i, a in enumerate(arcs):
        arc = _CLASSES["arc"](mapping[a.source], mapping[a.target], a.weight)
        arc.rank = i
        new.arcs.add(arc)
        arc.source.out_arcs.add(arc)
        arc.target.in_arcs.add(arc)
    marks = [pn_marking({mapping[p]: n for p, n in m.items()}) for m in markings]
    return new, marks, mapping


def pn_marking(items: Mapping[Any, int]) -> Any:
    marking = _pm4py().objects.petri_net.obj.Marking()
    for place in sorted(items, key=lambda p: p.rank):
        marking[place] = items[place]
    return marking


def _stable_model(net: Any, im: Any, fm: Any) -> tuple[Any, Any, Any]:
    def trans_key(t: Any) -> tuple[Any, ...]:
        pre = tuple(sorted(str(a.source.name) for a in t.in_arcs))
        post = tuple(sorted(str(a.target.name) for a in t.out_arcs))
        return (t.label is not None, t.label or "", pre, post, str(t.name))

    new, (im2, fm2), _ = _stable_copy(net, [im, fm], lambda p: str(p.name), trans_key, rename=True)
    return new, im2, fm2


# --- the work done per variant, in worker processes or inline --------------------------------------


@dataclass
class _Context:
    net: Any
    im: Any
    fm: Any
    budget_s: float
    alignments: bool
    best_worst: int  # cost of aligning the empty trace (pm4py's "best worst cost")
    automaton: Automaton | None = None  # the reachability graph, when aligning on it
    replayer: TokenReplay | None = None  # the port of pm4py's token replay (None: pm4py's own)


_WORKER: list[_Context] = []  # the context of a pool worker process, set by its initializer


def _make_context(
    net: Any, im: Any, fm: Any, budget_s: float, alignments: bool, reachability: bool = False
) -> _Context:
    net, im, fm = _stable_model(net, im, fm)
    auto = reachability_automaton(net, im, fm) if reachability else None
    best_worst = 0
    if alignments:
        empty = _align_one((), _Context(net, im, fm, float("inf"), True, 0, auto))
        best_worst = int(empty[0]) if empty else 0
    replayer = TokenReplay(net, im, fm) if TOKEN_REPLAY == "miner" else None
    return _Context(net, im, fm, budget_s, alignments, best_worst, auto, replayer)


def _init_worker(
    net: Any, im: Any, fm: Any, budget_s: float, alignments: bool, reachability: bool
) -> None:
    with _quiet():
        _WORKER[:] = [_make_context(net, im, fm, budget_s, alignments, reachability)]


def _log_of(traces: Iterable[Sequence[str]]) -> Any:
    obj = _pm4py().objects.log.obj
    return obj.EventLog([obj.Trace([obj.Event({_ACTIVITY: a}) for a in t]) for t in traces])


def _replay(traces: Sequence[Sequence[str]], ctx: _Context, for_precision: bool) -> list[Any]:
    """Token replay of traces: pm4py's result dict per trace (with ``"fallback"`` True where the
    port failed and pm4py replayed the trace)."""
    if ctx.replayer is None:
        return _pm4py_replay(traces, ctx, for_precision)
    mode: dict[str, bool] = _PREFIX_MODE if for_precision else {}
    out = []
    for trace in traces:
        try:
            out.append({**ctx.replayer.replay(trace, **mode), "fallback": False})
        except Exception as exc:  # noqa: BLE001 - pm4py's own code answers for the port
            _LOG.warning("token replay of a trace of %d events fell back to pm4py: %s: %s",
                         len(trace), type(exc).__name__, exc)
            out.append({**_pm4py_replay([trace], ctx, for_precision)[0], "fallback": True})
    return out


def _replay_prefixes(prefixes: Sequence[tuple[str, ...]], ctx: _Context
                     ) -> list[tuple[bool, list[str]]]:
    """ETConformance's replay of prefixes: whether each fits and the labels of the visible
    transitions enabled, possibly after silent ones, where its replay ends."""
    if ctx.replayer is None:
        return [
            (
                r["trace_is_fit"],
                sorted(
                    {t.label for t in r["enabled_transitions_in_marking"] if t.label is not None}
                ),
            )
            for r in _pm4py_replay(prefixes, ctx, for_precision=True)
        ]
    memo: dict[Any, Any] = {}
    out = []
    for prefix in prefixes:
        try:
            fits, labels = ctx.replayer.prefix(prefix, memo)
            out.append((fits, list(labels)))
        except Exception as exc:  # noqa: BLE001 - pm4py's own code answers for the port
            _LOG.warning("token replay of a prefix of %d events fell back to pm4py: %s: %s",
                         len(prefix), type(exc).__name__, exc)
            out += _replay_prefixes([prefix], replace(ctx, replayer=None))
    return out


def _pm4py_replay(traces: Sequence[Sequence[str]], ctx: _Context, for_precision: bool
                  ) -> list[Any]:
    tr = _pm4py().algo.conformance.tokenreplay.variants.token_replay
    params: dict[Any, Any] = {
        tr.Parameters.ACTIVITY_KEY: _ACTIVITY,
        tr.Parameters.SHOW_PROGRESS_BAR: False,
    }
    if for_precision:  # the settings pm4py's ETConformance uses
        params.update(
            {
                tr.Parameters.CONSIDER_REMAINING_IN_FITNESS: False,
                tr.Parameters.TRY_TO_REACH_FINAL_MARKING_THROUGH_HIDDEN: False,
                tr.Parameters.STOP_IMMEDIATELY_UNFIT: True,
                tr.Parameters.WALK_THROUGH_HIDDEN_TRANS: True,
            }
        )
    else:  # the settings of pm4py's token-based replay fitness
        params[tr.Parameters.CONSIDER_REMAINING_IN_FITNESS] = True
    return list(tr.apply(_log_of(traces), ctx.net, ctx.im, ctx.fm, parameters=params))


def _align_one(variant: Sequence[str], ctx: _Context) -> tuple[int, list[Any]] | None:
    """pm4py's state-equation A* alignment (its default) of one trace, on rank-hashed nets; or the
    same costs by a search on the reachability graph (:mod:`miner.conformance._automaton`)."""
    if ctx.automaton is not None:
        return align(ctx.automaton, variant, ctx.budget_s)
    pm4py = _pm4py()
    utils = pm4py.objects.petri_net.utils
    astar = pm4py.algo.conformance.alignments.petri_net.variants.state_equation_a_star
    skip = utils.align_utils.SKIP
    trace = _log_of([variant])[0]
    tnet, tim, tfm, tcosts = utils.petri_utils.construct_trace_net_cost_aware(
        trace, [_MOVE_COST] * len(variant), activity_key=_ACTIVITY
    )
    model_costs = {
        t: _MOVE_COST if t.label is not None else utils.align_utils.STD_TAU_COST
        for t in ctx.net.transitions
    }
    sync_costs = {
        (a, b): utils.align_utils.STD_SYNC_COST
        for a in tnet.transitions
        for b in ctx.net.transitions
        if b.label is not None and a.label == b.label
    }
    sync, sim, sfm, costs = utils.synchronous_product.construct_cost_aware(
        tnet, tim, tfm, ctx.net, ctx.im, ctx.fm, skip, tcosts, model_costs, sync_costs
    )
    stable, (sim2, sfm2), mapping = _stable_copy(
        sync, [sim, sfm], lambda p: str(p.name), lambda t: str(t.name), rename=False
    )
    result = astar.apply_sync_prod(
        stable,
        sim2,
        sfm2,
        {mapping[t]: c for t, c in costs.items()},
        skip,
        max_align_time_trace=ctx.budget_s,
    )
    if result is None:
        return None
    return int(result["cost"]), list(result["alignment"])


def _check_variant(variant: tuple[str, ...], replayed: Any, ctx: _Context) -> dict[str, Any]:
    out: dict[str, Any] = {
        "replay": {k: replayed[k] for k in _REPLAY_KEYS},
        "fallback": bool(replayed.get("fallback", False)),
        "alignment": None,
        "reason": None,
    }
    if not ctx.alignments:
        return out
    try:
        aligned = _align_one(variant, ctx)
    except Exception as exc:  # noqa: BLE001 - a pm4py failure on one variant must not sink the rest
        out["reason"] = f"alignment failed: {type(exc).__name__}: {exc}"
        return out
    if aligned is None:
        out["reason"] = f"alignment exceeded the budget of {ctx.budget_s:g} s"
    else:
        cost, steps = aligned
        out["alignment"] = {"cost": cost, "steps": steps}
    return out


def _run_chunk(kind: str, items: list[tuple[str, ...]], ctx: _Context | None = None) -> list[Any]:
    ctx = ctx or _WORKER[0]
    with _quiet():
        return _run_chunk_quietly(kind, items, ctx)


def _run_chunk_quietly(kind: str, items: list[tuple[str, ...]], ctx: _Context) -> list[Any]:
    if kind == "prefixes":
        return _replay_prefixes(items, ctx)
    replayed = _replay(items, ctx, for_precision=False)
    return [_check_variant(v, r, ctx) for v, r in zip(items, replayed)]


# --- orchestration ---------------------------------------------------------------------------------


#: The most traces replayed in one call of pm4py: its transient objects per trace (the replayed
#: log, markings, transition lists) then stay bounded, however many variants a log has.
MAX_CHUNK = 2_000


def _chunks(items: Sequence[tuple[str, ...]], parts: int) -> list[list[tuple[str, ...]]]:
    # Round robin: the frequent (and often short) variants spread over all chunks.
    parts = max(parts, -(-len(items) // MAX_CHUNK))
    return [c for c in (list(items[i::parts]) for i in range(parts)) if c]


def _map(
    kind: str,
    items: Sequence[tuple[str, ...]],
    pool: ProcessPoolExecutor | None,
    ctx: _Context | None,
    parts: int,
) -> dict[tuple[str, ...], Any]:
    chunks = _chunks(items, parts)
    if pool is None:
        results = [_run_chunk(kind, c, ctx) for c in chunks]
    else:
        results = list(pool.map(_run_chunk, [kind] * len(chunks), chunks))
    return {item: r for chunk, rs in zip(chunks, results) for item, r in zip(chunk, rs)}


def _precision(
    variants: Mapping[tuple[str, ...], int], ctx_net: Any, ctx_im: Any, replay_prefixes: Any
) -> float:
    """ETConformance as pm4py computes it, with each prefix counted once per case."""
    following: dict[tuple[str, ...], set[str]] = {}
    count: dict[tuple[str, ...], int] = {}
    for variant, cases in variants.items():
        for i in range(1, len(variant)):
            following.setdefault(variant[:i], set()).add(variant[i])
            count[variant[:i]] = count.get(variant[:i], 0) + cases
    align_utils = _pm4py().objects.petri_net.utils.align_utils
    initial = {
        t.label
        for t in align_utils.get_visible_transitions_eventually_enabled_by_marking(ctx_net, ctx_im)
    }
    starts = {v[0] for v in variants if v}
    traces = sum(variants.values())
    allowed = traces * len(initial)
    escaping = traces * len(initial - starts)
    for prefix, (fits, enabled) in sorted(replay_prefixes(sorted(following)).items()):
        if fits:
            allowed += len(enabled) * count[prefix]
            escaping += len(set(enabled) - following[prefix]) * count[prefix]
    return 1 - escaping / allowed if allowed > 0 else 1.0


def _move(step: tuple[Any, Any], skip: str) -> Move | None:
    log, model = step
    if log == skip and model is None:
        return None  # a silent transition
    return Move(log=None if log == skip else log, model=None if model == skip else model)


def check_variants(
    net: Any,
    im: Any,
    fm: Any,
    variants: Mapping[tuple[str, ...], int],
    *,
    budget_s: float = 10.0,
    workers: int | None = None,
    precision: bool = True,
    alignments: bool = True,
    reachability: bool = False,
) -> ControlFlowResult:
    """Check each variant once against a Petri net: token replay, an optimal alignment, and the
    log-level fitness and precision weighted by the variants' case counts (equal to pm4py's figures
    on the whole log).

    Args:
        net, im, fm: the Petri net with initial and final marking (see :func:`load_model`).
        variants: activity sequence → number of cases.
        budget_s: time budget of one variant's alignment search; over it the variant is
            ``"unresolved"`` and left out of the log-level figures.
        workers: processes (default: all cores); 1 runs in this process.
        precision: compute ETConformance precision (token replay of every prefix).
        alignments: compute alignments (otherwise token replay only).
        reachability: align, and compute precision, on the net's reachability graph when it has
            at most :data:`~miner.conformance._automaton.MAX_STATES` markings (the same costs
            as pm4py's A*, much faster on small bounded nets; precision from the set of markings
            a prefix reaches, see :func:`miner.conformance._automaton.precision`).

    Raises:
        InputError: alignments were asked on a net that is not an easy-sound workflow net.

    Example::

        net, im, fm = load_model("model.ptml")
        result = check_variants(net, im, fm, {("a", "b"): 10, ("a",): 2}, workers=1)
    """
    with _quiet():
        return _check(net, im, fm, variants, budget_s, workers, precision, alignments,
                      reachability)


def _check(
    net: Any,
    im: Any,
    fm: Any,
    variants: Mapping[tuple[str, ...], int],
    budget_s: float,
    workers: int | None,
    precision: bool,
    alignments: bool,
    reachability: bool = False,
) -> ControlFlowResult:
    started = time.perf_counter()
    pm4py = _pm4py()
    soundness = pm4py.objects.petri_net.utils.check_soundness
    # On a rank-hashed copy: on pm4py's own net the check's search depends on object ids and was
    # seen to fail now and then on a sound net.
    if alignments and not soundness.check_easy_soundness_net_in_fin_marking(
        *_stable_model(net, im, fm)
    ):
        raise InputError(
            "the net is not an easy-sound workflow net: alignments cannot be "
            "computed on it; pass alignments=False for token replay only"
        )
    order = sorted(variants, key=lambda v: (-variants[v], v))
    workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    parts = min(len(order), workers * 4) or 1
    skip = pm4py.objects.petri_net.utils.align_utils.SKIP
    # The parent's own copy gives the best worst cost and the net for precision; workers make theirs.
    ctx = _make_context(net, im, fm, budget_s, alignments, reachability)
    pool: ProcessPoolExecutor | None = None
    if workers > 1 and len(order) > 1:
        pool = ProcessPoolExecutor(
            workers,
            initializer=_init_worker,
            initargs=(net, im, fm, budget_s, alignments, reachability),
        )
    inline = ctx if pool is None else None
    try:
        done = _map("variants", order, pool, inline, parts)
        fallbacks = sum(1 for v in order if done[v]["fallback"])
        if fallbacks:
            _LOG.warning("token replay fell back to pm4py on %d of %d variants", fallbacks,
                         len(order))
        best_worst = ctx.best_worst
        checks: list[VariantCheck] = []
        resolved: dict[tuple[str, ...], int] = {}
        for v in order:
            r, a = done[v]["replay"], done[v]["alignment"]
            ok = not alignments or a is not None
            if ok:
                resolved[v] = variants[v]
            fitness = None
            if a is not None:
                worst = (len(v) * _MOVE_COST + best_worst) // _MOVE_COST
                fitness = 1 - (a["cost"] // _MOVE_COST) / worst if worst > 0 else 0.0
            checks.append(
                VariantCheck(
                    variant=v,
                    cases=variants[v],
                    status="ok" if ok else "unresolved",
                    replay_fitness=float(r["trace_fitness"]),
                    replay_fits=bool(r["trace_is_fit"]),
                    alignment_fitness=fitness,
                    alignment_cost=a["cost"] if a else None,
                    moves=tuple(m for m in (_move(s, skip) for s in a["steps"]) if m) if a else (),
                    reason=done[v]["reason"],
                )
            )
        figures = _log_figures(checks, done, best_worst, alignments)
        value = None
        if precision and resolved and ctx.automaton is not None:
            value = graph_precision(ctx.automaton, resolved)
        elif precision and resolved and ctx.replayer is not None:
            # in this process: the port replays a prefix once, sharing its beginning
            value = _precision(
                resolved, ctx.net, ctx.im, lambda ps: dict(zip(ps, _replay_prefixes(ps, ctx)))
            )
        elif precision and resolved:
            value = _precision(
                resolved, ctx.net, ctx.im, lambda ps: _map("prefixes", ps, pool, inline, parts)
            )
    finally:
        if pool is not None:
            pool.shutdown()
    return ControlFlowResult(
        variants=tuple(checks),
        precision=value,
        unresolved=len(order) - len(resolved),
        seconds=time.perf_counter() - started,
        **figures,
    )


def _log_figures(
    checks: Sequence[VariantCheck],
    done: Mapping[tuple[str, ...], Any],
    best_worst: int,
    alignments: bool,
) -> dict[str, Any]:
    ok = [c for c in checks if c.status == "ok"]
    tokens = {
        k: sum(c.cases * done[c.variant]["replay"][k] for c in ok)
        for k in ("missing_tokens", "consumed_tokens", "remaining_tokens", "produced_tokens")
    }
    replay = 0.0
    if ok and tokens["consumed_tokens"] > 0 and tokens["produced_tokens"] > 0:
        replay = 0.5 * (1 - tokens["missing_tokens"] / tokens["consumed_tokens"]) + 0.5 * (
            1 - tokens["remaining_tokens"] / tokens["produced_tokens"]
        )
    figures: dict[str, Any] = {
        "log_replay_fitness": replay,
        "log_alignment_fitness": None,
        "percentage_fitting": None,
    }
    if alignments:
        cases = sum(c.cases for c in ok)
        cost = sum(c.cases * (c.alignment_cost or 0) for c in ok)
        worst = sum(c.cases * (len(c.variant) * _MOVE_COST + best_worst) for c in ok)
        figures["log_alignment_fitness"] = 1 - cost / worst if worst > 0 else 0.0
        fitting = sum(c.cases for c in ok if c.alignment_fitness == 1.0)
        figures["percentage_fitting"] = 100.0 * fitting / cases if cases else 0.0
    return figures
