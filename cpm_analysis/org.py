"""The organisation: reporting lines along ``staff.manager_id`` and KPIs rolled up to managers.

A manager's **team** is the manager and everyone below them, at every level (their reports,
their reports' reports, ...). :func:`manager_rollup` computes each KPI once over the whole team
of every manager (the KPI itself on the team's rows, never an average of the members' values),
and once over the team of each direct report, so that every level sees the level below it.

Whose rows are a team's depends on the ``view``:

- ``"book"``: the customers whose ``owner_id`` is a team member, with all their orders,
  tickets, survey answers, activities and opportunities (the sales view, as
  :func:`cpm_analysis.kpis.compute_kpis` with ``by="owner_id"``);
- ``"work"``: the tickets handled by the team's members (``agent_id``), their activities
  (``staff_id``) and opportunities (``owner_id``) (as ``by="staff_id"``); order and customer
  KPIs are not available in it.

A cycle in ``manager_id`` (someone managing themselves, directly or through others) and a
``manager_id`` that is not a staff member are errors naming the staff ids.

Examples
--------
>>> import pandas as pd
>>> staff = pd.DataFrame({"staff_id": ["ceo", "m1", "a", "b"],
...                       "manager_id": [None, "ceo", "m1", "m1"]})
>>> reporting_lines(staff)["depth"].tolist()
[0, 1, 2, 2]
>>> sorted(team_members(staff, "m1"))
['a', 'b', 'm1']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cpm_analysis.data.dataset import Dataset
from cpm_analysis.kpis.compute import compute_kpis
from cpm_analysis.kpis.context import MISSING_GROUP
from cpm_analysis.periods import Period

if TYPE_CHECKING:
    from cpm_analysis.config import WindowsConfig

View = Literal["book", "work"]
TEAM = "(team)"
"""The ``member`` label of a manager's whole-team row in :func:`manager_rollup`."""


def reporting_lines(staff: pd.DataFrame) -> pd.DataFrame:
    """Each staff member's manager, depth (0 at the top) and chain of managers up to the top.

    Parameters
    ----------
    staff : DataFrame
        The staff table: ``staff_id`` and ``manager_id`` (blank at the top).

    Returns
    -------
    DataFrame
        Indexed by ``staff_id``, in the table's order: ``manager_id``, ``depth`` and ``chain``
        (a tuple of the managers above, nearest first).

    Raises
    ------
    ValueError
        Without a ``manager_id`` column, for a ``manager_id`` that is no ``staff_id``, a
        ``staff_id`` given twice, or a cycle (the message lists the staff ids in it).

    Examples
    --------
    >>> staff = pd.DataFrame({"staff_id": ["a", "b", "c"], "manager_id": ["c", "a", "b"]})
    >>> reporting_lines(staff)
    Traceback (most recent call last):
    ...
    ValueError: staff: manager_id has a cycle: a -> c -> b -> a; a manager cannot be below themselves
    """
    if "manager_id" not in staff.columns:
        raise ValueError("staff: no manager_id column, so there are no reporting lines")
    ids = staff["staff_id"].astype("str")
    if ids.duplicated().any():
        raise ValueError(f"staff: staff_id '{ids[ids.duplicated()].iloc[0]}' appears twice")
    managers = [None if pd.isna(m) else str(m) for m in staff["manager_id"]]
    boss = dict(zip(ids, managers, strict=True))
    unknown = sorted({str(m) for m in boss.values() if m is not None and m not in boss})
    if unknown:
        raise ValueError(
            f"staff: manager_id '{unknown[0]}' is not a staff_id; add that manager to staff "
            "or blank the manager_id"
        )
    chains: dict[str, tuple[str, ...]] = {}
    for person in boss:  # one walk up per person: org charts have tens to thousands of rows
        chain: list[str] = []
        seen = {person}
        current = boss[person]
        while current is not None:
            if current in seen:
                path = [person, *chain]
                names = " -> ".join([*path[path.index(current) :], current])
                raise ValueError(
                    f"staff: manager_id has a cycle: {names}; a manager cannot be below themselves"
                )
            if current in chains:  # the rest of the way up is known
                chain.extend([current, *chains[current]])
                break
            chain.append(current)
            seen.add(current)
            current = boss[current]
        chains[person] = tuple(chain)
    return pd.DataFrame(
        {
            "manager_id": [boss[p] for p in boss],
            "depth": [len(chains[p]) for p in boss],
            "chain": [chains[p] for p in boss],
        },
        index=pd.Index(list(boss), name="staff_id"),
    )


def team_members(staff: pd.DataFrame, manager: str) -> list[str]:
    """Return the manager and everyone below them, at every level, in the staff table's order.

    Examples
    --------
    >>> staff = pd.DataFrame({"staff_id": ["m", "a", "x"], "manager_id": [None, "m", None]})
    >>> team_members(staff, "m")
    ['m', 'a']
    """
    lines = reporting_lines(staff)
    if manager not in lines.index:
        raise ValueError(f"manager: '{manager}' is not a staff_id")
    return [p for p, chain in lines["chain"].items() if p == manager or manager in chain]


def _ancestor_at(lines: pd.DataFrame, depth: int) -> pd.Series:
    """Each staff member's manager at ``depth`` (themselves at it; missing above it)."""
    out = {}
    for person, chain in lines["chain"].items():
        own = len(chain)
        if own >= depth:
            path = (person, *chain)  # path[k] is k levels up
            out[person] = path[own - depth]
    return pd.Series(out, dtype="object")


def _relabel(dataset: Dataset, team: pd.Series, view: View) -> tuple[Dataset, str]:
    """Return the dataset with staff ids replaced by their team (others blank), and the by."""

    def mapped(frame: pd.DataFrame | None, column: str) -> pd.DataFrame | None:
        if frame is None or column not in frame.columns:
            return frame
        out = frame.copy()
        out[column] = frame[column].map(team).astype("str")
        return out

    if view == "book":
        return replace(dataset, customers=mapped(dataset.customers, "owner_id")), "owner_id"
    return (
        replace(
            dataset,
            tickets=mapped(dataset.tickets, "agent_id"),
            activities=mapped(dataset.activities, "staff_id"),
            opportunities=mapped(dataset.opportunities, "owner_id"),
        ),
        "staff_id",
    )


def manager_rollup(
    dataset: Dataset,
    period: str | Period,
    *,
    kpis: Iterable[str] | None = None,
    view: View = "book",
    sla_hours: float | None = None,
    windows: WindowsConfig | None = None,
) -> pd.DataFrame:
    """KPIs of every manager's whole team and of the team of each of their direct reports.

    Parameters
    ----------
    dataset : Dataset
        A pandas dataset with a ``staff`` table that has ``manager_id``.
    period : str or Period
        The period (``"2024-06"``, ``"2024-Q2"``, ``"2024"``, ``"latest"``).
    kpis : list of str, optional
        KPI ids (default: every registered KPI).
    view : {"book", "work"}
        Whose rows are a team's: the team's customers (``book``) or the team's own tickets,
        activities and opportunities (``work``); see the module docstring.
    sla_hours : float, optional
        The first-response SLA (default that of :func:`~cpm_analysis.kpis.compute_kpis`).
    windows : WindowsConfig, optional
        The day windows of the activity KPIs (the configuration's ``windows``).

    Returns
    -------
    DataFrame
        Indexed by ``manager``, ``member`` and ``kpi``: ``member`` is :data:`TEAM` for the whole
        team (the manager and every level below) or a direct report's ``staff_id`` for that
        report's own team. Columns ``value``, ``label_en``, ``label_zh``, ``unit``,
        ``direction``, ``available`` and ``note``, as :func:`compute_kpis`. A manager is
        anyone with a report; a direct report with no rows of their own in the view shows
        ``value`` NaN with the note ``no rows in this view``.

    Raises
    ------
    ValueError
        Without a staff table or ``manager_id``, for a cycle or an unknown manager (see
        :func:`reporting_lines`), or an unknown ``view``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(300, seed=2).to_dataset()
    >>> roll = manager_rollup(ds, "2025-06", kpis=["revenue", "orders"])
    >>> roll.index.names
    FrozenList(['manager', 'member', 'kpi'])
    """
    if view not in ("book", "work"):
        raise ValueError(f"view: expected 'book' or 'work', got {view!r}")
    if dataset.staff is None:
        raise ValueError("dataset: no staff table, so there are no managers to roll up to")
    lines = reporting_lines(dataset.staff)
    managers = [m for m in lines.index if (lines["manager_id"] == m).any()]
    options: dict[str, Any] = {} if sla_hours is None else {"sla_hours": sla_hours}
    options["windows"] = windows
    kpi_list = None if kpis is None else list(kpis)
    frames = []
    for depth in sorted(set(lines["depth"])):  # one computation per level of the org chart
        team = _ancestor_at(lines, depth)
        data, by = _relabel(dataset, team, view)
        if by == "owner_id" and "owner_id" not in data.customers.columns:
            raise ValueError("dataset: customers have no owner_id column, needed by the book view")
        values = compute_kpis(data, period, by=by, kpis=kpi_list, **options)
        values = values.loc[values.index.get_level_values(by) != MISSING_GROUP]
        values = values.drop(columns=["period", "previous", "change"])
        at_depth = [p for p in lines.index if lines.at[p, "depth"] == depth]
        for root in at_depth:
            rows = _rows_of(values, by, root)
            if root in managers:  # the manager's whole team
                frames.append(rows.assign(manager=root, member=TEAM))
            boss = lines.at[root, "manager_id"]
            if not pd.isna(boss):  # the report's team as its manager sees it
                frames.append(rows.assign(manager=boss, member=root))
    if not frames:
        raise ValueError("staff: nobody has a report (manager_id is blank everywhere)")
    out = pd.concat(frames)
    order = {m: i for i, m in enumerate(lines.index)}
    out["_m"] = out["manager"].map(order)
    out["_r"] = np.where(out["member"] == TEAM, -1, out["member"].map(order).fillna(0))
    out = out.sort_values(["_m", "_r"], kind="stable").drop(columns=["_m", "_r"])
    return out.set_index(["manager", "member", out.index]).rename_axis(["manager", "member", "kpi"])


def _rows_of(values: pd.DataFrame, by: str, root: str) -> pd.DataFrame:
    """Return the KPI rows of one team (NaN rows saying so when it has none in the view)."""
    groups = values.index.get_level_values(by)
    if (groups == root).any():
        return values.xs(root, level=by)
    any_group = groups[0] if len(groups) else None
    if any_group is None:
        raise ValueError("dataset: no team has rows in this view")
    empty = values.xs(any_group, level=by).copy()
    empty["value"] = np.nan
    empty["note"] = "no rows in this view"
    return empty
