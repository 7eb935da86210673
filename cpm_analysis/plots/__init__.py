"""Charts for notebooks and reports (seaborn/matplotlib); every function returns its Axes.

One module per analysis: :mod:`~cpm_analysis.plots.quality` (data quality),
:mod:`~cpm_analysis.plots.segments`, :mod:`~cpm_analysis.plots.clv`,
:mod:`~cpm_analysis.plots.churn`, :mod:`~cpm_analysis.plots.kpis` and
:mod:`~cpm_analysis.plots.teams`.
"""
