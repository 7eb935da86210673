"""Periodic HTML reports: notebook parameters, execution, offline export, privacy, index.

The report only reports: the numbers of a period are computed once by the period pipeline
(:func:`cpm_analysis.pipeline.build_period`) with the analyses, and charts are drawn by
:mod:`cpm_analysis.plots`. This package holds

- :func:`validate_parameters` (the second cell of every notebook) -> :class:`ReportContext`;
- :func:`run_report`, the engine of ``cpm report`` (:mod:`~cpm_analysis.report.runner`);
- :func:`export_html` (:mod:`~cpm_analysis.report.export`), :func:`write_index`
  (:mod:`~cpm_analysis.report.index`), :mod:`~cpm_analysis.report.metrics`;
- the page helpers: :mod:`~cpm_analysis.report.tables` (``show``),
  :mod:`~cpm_analysis.report.style` (``apply``), :mod:`~cpm_analysis.report.escaping`,
  :mod:`~cpm_analysis.report.availability` (a chart, section or verdict of what is not
  available), :mod:`~cpm_analysis.report.review` (the performance review's prose) and
  :mod:`~cpm_analysis.report.customer360` (the one-customer page).

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
