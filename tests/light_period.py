"""A period result without models, for the runner tests that are about files, not models.

``monkeypatch.setattr(runner, "build_period", light_build_period)`` makes a report run skip the
models (seconds per run on a busy machine) while the runner, the saved result, the kernels'
``validate_parameters(result=...)`` and the owners' :meth:`PeriodResult.for_owner` run as in a
real report.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cpm_analysis.availability import Unavailable
from cpm_analysis.data import Dataset
from cpm_analysis.periods import parse_period
from cpm_analysis.pipeline import PeriodResult
from cpm_analysis.pipeline.scored import finalize_scored
from cpm_analysis.teams_review import TeamScorecard

LAZY = (
    "kpis",
    "scorecard",
    "trends",
    "cohorts",
    "forecast",
    "risks",
    "actions",
    "value_intervals",
    "team_noise",
    "by_owner",
)


def light_build_period(
    dataset: Dataset, period: Any, config: Any = None, *, seed: int = 0, **_: Any
) -> PeriodResult:
    """:func:`cpm_analysis.pipeline.build_period`'s result with the customer attributes only."""
    period = parse_period(period)
    view = dataset.as_of(period.end)
    columns = ["customer_id"]
    columns += [c for c in ("owner_id", "region", "channel") if c in view.customers.columns]
    scored = finalize_scored(view.customers[columns], view)
    none = Unavailable("Not computed in this test.")
    result = PeriodResult(
        period=period,
        seed=seed,
        dataset=dataset,
        view=view,
        scored=scored,
        metrics={},
        models={},
        notes=[],
        value_models=none,
        value_summary=none,
        calibration=none,
        backtest=none,
        segments=pd.DataFrame(index=pd.Index([], name="customer_id", dtype="str")),
        previous_segments=None,
        clusters=none,
        migration=none,
        owners=TeamScorecard("owner", None, "not computed in this test"),
        agents=TeamScorecard("agent", None, "not computed in this test"),
        previous=scored.iloc[:0],
        previous_source="",
        config=config,
    )
    for name in LAZY:
        result.__dict__[name] = none
    result.__dict__["checks"] = []
    return result
