"""Conformance of the chain's event data to a swimlane reference model (BPMN 2.0 with lanes).

:func:`reference_model` is the reference model shipped with miner (the foreigner's journey through
the chain, one lane per organisation); :func:`read_swimlane_model` reads an analyst's own BPMN file,
with ``lane_organisations`` mapping its lane names to organisations. See
``docs/conformance/reference-model.md``.
"""

from miner.conformance.swimlane import (
    CONTROL_FLOW_LIFECYCLE,
    Flow,
    Lane,
    SwimlaneModel,
    Task,
    read_swimlane_model,
    reference_model,
)
from miner.errors import ModelError

__all__ = [
    "CONTROL_FLOW_LIFECYCLE",
    "Flow",
    "Lane",
    "ModelError",
    "SwimlaneModel",
    "Task",
    "read_swimlane_model",
    "reference_model",
]
