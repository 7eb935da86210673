"""cpm-analysis: customer performance management analyses and periodic reports.

The package backs the notebooks in ``notebooks/`` and the ``cpm`` command:

- :mod:`cpm_analysis.data`: the data contract, :func:`load` and :class:`Dataset`.
- :mod:`cpm_analysis.periods`: monthly, quarterly and yearly reporting periods.
- :mod:`cpm_analysis.synthetic`: a seeded generator of a realistic company.

Examples
--------
>>> import cpm_analysis as cpm
>>> ds = cpm.load("data/sample")
>>> ds.orders.shape
(15735, 7)
"""

from __future__ import annotations

from cpm_analysis import kpis as _kpis  # noqa: F401  (the KPI registry, which validation reads)
from cpm_analysis import scale as _scale  # noqa: F401  (registers engine="dask"; no Dask import)
from cpm_analysis.data import Dataset, load
from cpm_analysis.exceptions import DataValidationError, PeriodError

__version__ = "0.1.0"

__all__ = ["DataValidationError", "Dataset", "PeriodError", "__version__", "load"]
