"""The period pipeline: everything a period's pages show, computed once.

:func:`build_period` takes the validated data and a period and returns a :class:`PeriodResult`:
the point-in-time view, the scored customer table, the fitted models and their checks, KPIs
against targets, trends, cohorts, team scorecards, the forecast check, the improvement actions
and, for every section, whether it is available and why not. The report runner builds it once
per period, saves it (:meth:`PeriodResult.save`) and hands its path to every notebook, which
renders it; an owner's pages render :meth:`PeriodResult.for_owner`, a filter of the company
result. An analyst can call :func:`build_period` in JupyterLab as well.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> ds = generate(300, seed=1).to_dataset()
>>> result = build_period(ds, "2025-06", seed=0)
>>> result.period.label, result.scored["customer_id"].is_unique
('2025-06', True)
"""

from cpm_analysis.pipeline.period import PeriodResult, build_period, load_period_result

__all__ = ["PeriodResult", "build_period", "load_period_result"]
