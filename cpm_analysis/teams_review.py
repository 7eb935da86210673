"""The team scorecards of a period, or why there is none.

:func:`team_scorecard` builds the owner or agent scorecard of :mod:`cpm_analysis.teams` for
the period with its rule flags when the data holds what the role's KPIs need
(:func:`cpm_analysis.availability.owners`, :func:`~cpm_analysis.availability.agents`), and
returns a :class:`TeamScorecard` holding the table or the reason. The page text of a
scorecard is in :mod:`cpm_analysis.report.review`.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> ds = generate(300, seed=1).to_dataset()
>>> team_scorecard(ds, "2025-06", "owner").available
True
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cpm_analysis import availability
from cpm_analysis.config import DEFAULT_CONFIG, CPMConfig
from cpm_analysis.data.protocol import CustomerData, customer_data
from cpm_analysis.i18n import M_
from cpm_analysis.periods import Period, parse_period
from cpm_analysis.staff import StaffNames, staff_names


@dataclass
class TeamScorecard:
    """A team scorecard of the period, or why there is none.

    Attributes
    ----------
    role : str
        ``"owner"`` or ``"agent"``.
    table : DataFrame or None
        :func:`cpm_analysis.teams.owner_scorecard` / ``agent_scorecard``.
    note : str
        Why the scorecard is not available (empty when it is).
    names : StaffNames
        How each person is shown (:func:`cpm_analysis.staff.staff_names`); the table stays
        indexed by staff id.
    """

    role: str
    table: pd.DataFrame | None
    note: str = ""
    names: StaffNames = field(default_factory=StaffNames)
    _missing: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def available(self) -> bool:
        """Whether there is a scorecard with at least one person."""
        return self.table is not None and len(self.table) > 0

    def missing(self) -> Any:
        """Return the one sentence shown instead of the scorecard (the same object every call)."""
        from cpm_analysis.availability import Check

        if self._missing is None:
            title = M_("The owner scorecard") if self.role == "owner" else M_("The agent scorecard")
            self._missing = Check(title, False, "", self.note).missing()
        return self._missing


def team_scorecard(
    view: CustomerData,
    period: Period | str,
    role: str = "owner",
    *,
    owner: str | None = None,
    config: CPMConfig | None = None,
) -> TeamScorecard:
    """Build the owner or agent scorecard of the period with its rule flags (last 3 periods).

    Not available (with the reason, never estimated) when the data lacks what the role's KPIs
    need: customers with an ``owner_id`` for owners, tickets with an ``agent_id`` for agents.
    On an owner's pages (``owner`` set) agents are not scored: the book holds only the tickets
    of that owner's customers, and ranking or flagging agents on part of their work would
    contradict the company page, which holds the verdict.

    Parameters
    ----------
    view : Dataset
        The point-in-time data of the report.
    period : Period or str
    role : {"owner", "agent"}
    owner : str, optional
        The owner whose book ``view`` is (``ReportContext.owner``).
    config : CPMConfig, optional
        The business rules (KPIs, weights, assessment blend, ranking rules); default
        :data:`~cpm_analysis.config.DEFAULT_CONFIG`.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(300, seed=1).to_dataset()
    >>> team_scorecard(ds, "2025-06", "owner").available
    True
    >>> team_scorecard(ds, "2025-06", "agent", owner="S001").note[:45]
    'agents are judged on the company report only:'
    """
    view = customer_data(view, "view").collect()  # either engine; its pandas view
    from cpm_analysis import teams

    if role not in ("owner", "agent"):
        raise ValueError(f"role: expected 'owner' or 'agent', got {role!r}")
    check = (
        availability.agents(view, parse_period(period), owner)
        if role == "agent"
        else availability.owners(view)
    )
    rules = config or DEFAULT_CONFIG
    names = staff_names(view.staff if view.has("staff") else None, rules.report.staff_names)
    if not check.available:
        return TeamScorecard(role, None, check.detail, names)
    build = teams.owner_scorecard if role == "owner" else teams.agent_scorecard
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = build(view, period, **teams.scorecard_options(rules, role))
    except ValueError as err:
        return TeamScorecard(role, None, str(err), names)
    if table.empty:
        who = "owner with a book" if role == "owner" else "agent with tickets"
        return TeamScorecard(role, table, f"no {who} in {parse_period(period).label}", names)
    return TeamScorecard(role, table, names=names)
