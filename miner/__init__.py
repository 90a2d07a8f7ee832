"""miner: object-centric process mining for the Dutch asylum chain.

Read any standard log into one object-centric model held in DuckDB, flatten it explicitly on a case
notion, and compute the basic process-mining figures as engine queries::

    import miner
    log = miner.read("orders.jsonocel")            # OCEL 2.0 JSON/XML/SQLite, XES, CSV/Parquet
    orders = miner.flatten(log, object_type="order")
    graph = miner.dfg(orders)                      # frequency and performance per edge
    miner.write(log, "orders.xmlocel")
"""

from miner.analysis.cases import CaseDurations, case_durations
from miner.analysis.dfg import DirectlyFollowsGraph, dfg
from miner.analysis.handover import HandoverNetwork, handover_network
from miner.analysis.statistics import (
    ActivityStatistics,
    LogStatistics,
    ObjectTypeStatistics,
    activity_statistics,
    log_statistics,
    object_type_statistics,
)
from miner.analysis.variants import Variants, variants
from miner.api import convert
from miner.errors import (
    CaseNotionError,
    InputError,
    MinerError,
    SchemaError,
    UnknownNameError,
    UnsafeInputError,
    WorkspaceError,
)
from miner.formats import load, read, write
from miner.formats.tables import ColumnMapping
from miner.model.filters import (
    AttributeFilter,
    CaseIdFilter,
    DurationFilter,
    EndpointFilter,
    Filter,  # noqa: F401  (the union of the filter classes, for type hints)
    FollowsFilter,
    TimeWindow,
    VariantFilter,
)
from miner.model.flatten import EventLog, flatten
from miner.model.log import Log, connect
from miner.simulation import ScenarioError, SimulationResult, load_postgres, simulate

__version__ = "0.1.0"

__all__ = [
    "ActivityStatistics",
    "AttributeFilter",
    "CaseDurations",
    "CaseIdFilter",
    "CaseNotionError",
    "ColumnMapping",
    "DirectlyFollowsGraph",
    "DurationFilter",
    "EndpointFilter",
    "EventLog",
    "FollowsFilter",
    "HandoverNetwork",
    "InputError",
    "Log",
    "LogStatistics",
    "MinerError",
    "ObjectTypeStatistics",
    "ScenarioError",
    "SchemaError",
    "SimulationResult",
    "TimeWindow",
    "UnknownNameError",
    "UnsafeInputError",
    "VariantFilter",
    "Variants",
    "WorkspaceError",
    "activity_statistics",
    "case_durations",
    "connect",
    "convert",
    "dfg",
    "flatten",
    "handover_network",
    "load",
    "load_postgres",
    "log_statistics",
    "object_type_statistics",
    "read",
    "simulate",
    "variants",
    "write",
]
