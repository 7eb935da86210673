"""Charts of team scorecards; every function takes an optional ``ax`` and returns it.

Examples
--------
>>> from cpm_analysis.plots.teams import composite_bars, score_heatmap
>>> from cpm_analysis.teams import owner_scorecard
>>> ax = composite_bars(owner_scorecard(ds, "2024-06"))
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from cpm_analysis.i18n import N_
from cpm_analysis.plots.language import _, category
from cpm_analysis.teams_review import TeamScorecard

FLAG_LABELS = {
    "improvement_plan": N_("improvement plan"),
    "reward": N_("reward"),
    "review": N_("review"),
    "penalty": N_("penalty"),
    "": N_("no flag"),
}
"""The legend's name of each flag."""

FLAG_COLORS: dict[str, str] = {
    "reward": "#2e7d32",
    "review": "#6a1b9a",
    "improvement_plan": "#c62828",
    "": "#90a4ae",
}
"""Bar colours by the most serious flag (review > improvement plan > reward > none)."""


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _fig, ax = plt.subplots(figsize=size)
    return ax


def _main_flag(flags: str) -> str:
    for rule in ("review", "improvement_plan", "reward"):
        if rule in flags.split(", "):
            return rule
    return ""


def composite_bars(scorecard: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Ranked horizontal bars of the composite score, coloured by flag.

    Parameters
    ----------
    scorecard : DataFrame
        From :func:`cpm_analysis.teams.owner_scorecard` or ``agent_scorecard``.
    ax : Axes, optional
        Where to draw.

    Returns
    -------
    Axes

    Examples
    --------
    >>> from cpm_analysis.teams import agent_scorecard
    >>> ax = composite_bars(agent_scorecard(ds, "2024-06"))
    """
    if "composite" not in scorecard.columns:
        raise ValueError("scorecard: column 'composite' is missing (use owner_scorecard)")
    card = scorecard.sort_values("composite", ascending=True, na_position="first")
    flags = card["flags"] if "flags" in card else pd.Series("", index=card.index)
    main = [_main_flag(str(f)) for f in flags]
    ax = _axes(ax, (7, 1 + 0.32 * len(card)))
    values = card["composite"].fillna(0).to_numpy()
    ax.barh(range(len(card)), values, color=[FLAG_COLORS[m] for m in main])
    for i, (value, rank) in enumerate(
        zip(card["composite"], card.get("rank", card.index), strict=True)
    ):
        label = _("n/a") if pd.isna(value) else f"{value:.1f}  (#{rank})"
        ax.text(min(value if pd.notna(value) else 0, 100) + 1, i, label, va="center", fontsize=7)
    ax.set_yticks(range(len(card)), card.index.astype(str), fontsize=8)
    ax.set_xlim(0, 115)
    ax.set_xlabel(_("composite score (0-100)"))
    period = scorecard.attrs.get("period")
    title = (
        _("Composite score, %(period)s") % {"period": period} if period else _("Composite score")
    )
    ax.set_title(title)
    for rule, color in FLAG_COLORS.items():
        if rule in main:
            ax.bar(0, 0, color=color, label=_(FLAG_LABELS.get(rule, rule)))
    ax.legend(fontsize=7, loc="lower right")
    return ax


def score_heatmap(scorecard: pd.DataFrame, *, ax: Axes | None = None, cmap: str = "RdYlGn") -> Axes:
    """Heatmap of the 0-100 KPI scores by person (rows, best first) and KPI (columns).

    Examples
    --------
    >>> from cpm_analysis.teams import owner_scorecard
    >>> ax = score_heatmap(owner_scorecard(ds, "2024-06"))
    """
    columns = [c for c in scorecard.columns if str(c).startswith("score_")]
    if not columns:
        raise ValueError("scorecard: no score_<kpi> columns (use owner_scorecard)")
    extra = [c for c in ("kpi_score", "assessment", "composite") if c in scorecard.columns]
    table = scorecard[columns + extra].astype(float)
    table.columns = [c.removeprefix("score_") for c in columns] + extra
    ax = _axes(ax, (1.5 + 0.9 * table.shape[1], 1 + 0.32 * len(table)))
    sns.heatmap(
        table,
        ax=ax,
        cmap=cmap,
        vmin=0,
        vmax=100,
        annot=len(table) <= 40,
        fmt=".0f",
        annot_kws={"fontsize": 7},
        cbar_kws={"label": _("score")},
        mask=table.isna(),
    )
    ax.set_xlabel("")
    ax.set_ylabel(category(scorecard.index.name or ""))
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    return ax


def plot_team(team: TeamScorecard, *, ax: Axes | None = None) -> Axes | None:
    """:func:`~cpm_analysis.plots.teams.composite_bars` of an available scorecard, else ``None``.

    Examples
    --------
    >>> plot_team(TeamScorecard("agent", None, "no tickets")) is None
    True
    """
    if not team.available or team.table is None:
        return None
    table = team.table
    if len(team.names):  # people by name (report.staff_names), as in the scorecard table
        table = table.set_axis(pd.Index(team.names.series(table.index), name=table.index.name))
    return composite_bars(table, ax=ax)
