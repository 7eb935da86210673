"""Issue 15 items 4 and 10: no overlapping text on the report's main charts.

Each chart is drawn from a period of a synthetic company as the pages draw it, in English and
in Chinese (the widths of the labels differ), and every two visible texts (tick labels, axis
labels, titles, annotations, legend entries) are compared by their drawn bounding boxes.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest
from chart_text import text_overlaps

from cpm_analysis.pipeline import build_period
from cpm_analysis.plots import clv, kpis, segments, teams
from cpm_analysis.report import availability, style
from cpm_analysis.synthetic import generate

matplotlib.use("Agg")
pytestmark = pytest.mark.slow

CHARTS = {
    "CLV distribution": lambda r: clv.plot_clv_distribution(r.scored),
    "scorecard": lambda r: kpis.plot_scorecard(r.scorecard),
    "KPI trends": lambda r: kpis.plot_kpi_trends(r.trends, targets=r.view.targets),
    "cohorts": lambda r: kpis.cohort_heatmap(r.cohorts),
    "owners": lambda r: teams.plot_team(r.owners),
    "agents": lambda r: teams.plot_team(r.agents),
    "segment sizes": lambda r: segments.plot_segment_sizes(r.segments),
    "RF heatmap": lambda r: segments.plot_rf_heatmap(r.segments),
    "value tiers": lambda r: segments.plot_value_tiers(r.segments),
    "migration": lambda r: availability.chart(segments.plot_migration, r.migration),
    "clusters": lambda r: availability.chart(segments.plot_cluster_profile, r.clusters),
}


@pytest.fixture(scope="module")
def result():
    return build_period(generate(400, seed=41).to_dataset(), "2025-12", seed=0)


def _figures(drawn):
    axes = drawn if isinstance(drawn, (list, tuple)) else getattr(drawn, "flat", [drawn])
    return {ax.figure for ax in axes if hasattr(ax, "figure")}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("chart", sorted(CHARTS))
def test_no_text_overlaps_on_the_main_charts(result, chart, lang):
    from cpm_analysis.i18n import translator, use

    tr = translator(lang)
    with matplotlib.rc_context():  # the page style must not leak into later tests
        style.apply(lang=lang, words=tr.gettext)
        try:
            drawn = CHARTS[chart](result)
            figures = _figures(drawn) if drawn is not None else set()
            found = [problem for fig in figures for problem in text_overlaps(fig)]
            assert not found, f"{chart} ({lang}): {found[:5]}"
        finally:
            plt.close("all")
            use(None)


def test_the_check_would_catch_overlapping_labels():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.axvline(1.0)
    ax.text(1.0, 0.5, "median 1,549", transform=ax.get_xaxis_transform())
    ax.text(1.02, 0.5, "mean 1,482", transform=ax.get_xaxis_transform())
    ax.set_xlim(0, 2)
    ax.set_yticks([])
    try:
        assert text_overlaps(fig) == ["'median 1,549' overlaps 'mean 1,482'"]
    finally:
        plt.close(fig)
