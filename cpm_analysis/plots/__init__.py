"""Charts for notebooks and reports (seaborn/matplotlib); every function returns its Axes.

One module per analysis: :mod:`~cpm_analysis.plots.quality` (data quality),
:mod:`~cpm_analysis.plots.segments`, :mod:`~cpm_analysis.plots.clv`,
:mod:`~cpm_analysis.plots.churn`, :mod:`~cpm_analysis.plots.kpis`,
:mod:`~cpm_analysis.plots.teams` and :mod:`~cpm_analysis.plots.customers` (one customer's
page). The report and the notebooks draw them; the pipeline and the analyses never import them
(an import-linter contract in ``pyproject.toml``).
"""
