"""The conformance audit (``miner audit``): a conformance result (:mod:`miner.conformance.check`)
turned into an audit report for reviewers: one self-contained HTML file with the conformance rates
per month, phase, lane and partner, the deviation categories, the model against practice per
phase (:mod:`miner.conformance.compare`), a drill-down per (pseudonymised)
foreigner with the full timeline, the violated model element and the evidence rows, the accepted
deviations apart, and a sign-off per finding; with a CSV annex of every finding.

- :func:`build_audit_results`: the *audit results*, a JSON-safe dict (results first,
  ARCHITECTURE.md §6);
- :func:`render_audit`: the HTML of audit results (Dutch by default, ``lang="en"``);
- :func:`write_audit`: both, plus ``FILE-annex.csv`` and ``FILE.results.json`` beside the HTML;
- :func:`read_conformance_dir`: a result saved by ``miner conformance`` read back.

Example::

    log = miner.connect("chain.duckdb", read_only=True)
    write_audit(log, check_conformance(log), Path("reports/audit.html"))

Definitions: ``docs/audit.md``.
"""

from __future__ import annotations

from miner.audit.loading import read_conformance_dir
from miner.audit.render import read_audit_results, render_audit, write_audit
from miner.audit.results import build_audit_results

__all__ = ["build_audit_results", "read_audit_results", "read_conformance_dir", "render_audit",
           "write_audit"]
