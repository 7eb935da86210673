"""Periodic HTML reports: notebook parameters, execution, offline export, privacy, index.

- :func:`validate_parameters` (the second cell of every notebook) -> :class:`ReportContext`;
- :func:`run_report`, the engine of ``cpm report`` (:mod:`~cpm_analysis.report.runner`);
- :func:`export_html` (:mod:`~cpm_analysis.report.export`), :func:`write_index`
  (:mod:`~cpm_analysis.report.index`), :mod:`~cpm_analysis.report.metrics`,
  :mod:`~cpm_analysis.report.tables` (``show``), :mod:`~cpm_analysis.report.style` (``apply``),
  :mod:`~cpm_analysis.report.quality` (the data-quality section).

Examples
--------
>>> from cpm_analysis.report import validate_parameters
>>> ctx = validate_parameters(data="data/sample", period="latest")
"""

from __future__ import annotations

from typing import Any

from cpm_analysis.report.params import ParameterError, ReportContext, validate_parameters

__all__ = [
    "ParameterError",
    "ReportContext",
    "export_html",
    "run_report",
    "validate_parameters",
    "write_index",
]


def __getattr__(name: str) -> Any:
    # papermill/nbconvert are imported only when the runner or the exporter is used, so a
    # notebook's `from cpm_analysis.report import validate_parameters` stays fast.
    if name == "run_report":
        from cpm_analysis.report.runner import run_report

        return run_report
    if name == "export_html":
        from cpm_analysis.report.export import export_html

        return export_html
    if name == "write_index":
        from cpm_analysis.report.index import write_index

        return write_index
    raise AttributeError(f"module 'cpm_analysis.report' has no attribute {name!r}")
