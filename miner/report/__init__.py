"""The periodic bottleneck report: one self-contained HTML file per period, rendered from saved
results (ARCHITECTURE.md §6).

- :func:`build_report_results` runs the chain analyses of a period and of the period before it on a
  workspace and reduces them to the *report results*, a JSON-safe dict (no identifiers);
- :func:`render_report` renders report results to HTML (Dutch by default, ``lang="en"``);
- :func:`write_report` does both and saves the results beside the HTML (``FILE.results.json``).

Example::

    results = build_report_results("chain.duckdb", "2021-T2")
    html = render_report(results, lang="en")
"""

from __future__ import annotations

from miner.report.render import render_report, write_report
from miner.report.results import NoDataError, build_report_results

__all__ = ["NoDataError", "build_report_results", "render_report", "write_report"]
