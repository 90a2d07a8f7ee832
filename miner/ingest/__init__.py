"""Ingest: partner case histories into one pseudonymised, fully accounted chain event log.

``ingest(workspace, sources, key=...)`` reads each source with its mapping file, links rows to
foreigners across partners, replaces identifying fields by keyed pseudonyms and writes events,
objects, links, provenance and row accounting in one transaction. See docs/ingest.md.
"""

from miner.ingest.accounting import IngestSummary
from miner.ingest.mapping import Mapping, read_mapping, shipped_mappings
from miner.ingest.pipeline import ingest
from miner.ingest.pseudonyms import PseudonymKey
from miner.ingest.sources import SourceSpec

__all__ = ["IngestSummary", "Mapping", "PseudonymKey", "SourceSpec", "ingest", "read_mapping",
           "shipped_mappings"]
