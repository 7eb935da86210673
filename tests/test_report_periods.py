"""An explicitly named period whose data ends a day or two early (Superstore ends 2022-12-30)."""

from __future__ import annotations

import pytest

from cpm_analysis.exceptions import PeriodError
from cpm_analysis.report.params import resolve_period
from cpm_analysis.synthetic import generate


@pytest.fixture(scope="module")
def ends_early():
    return generate(150, seed=3, end="2024-06-29").to_dataset()


def test_a_named_period_is_complete_when_the_data_ends_within_the_grace(ends_early):
    last = ends_early.last_date().normalize()
    assert "2024-06-27" <= f"{last:%Y-%m-%d}" < "2024-06-30"
    assert resolve_period(ends_early, "2024-06").label == "2024-06"


def test_latest_still_needs_the_last_day(ends_early):
    assert resolve_period(ends_early, "latest").label == "2024-05"


def test_a_period_the_data_ends_well_before_is_refused():
    ds = generate(150, seed=3, end="2024-06-20").to_dataset()
    with pytest.raises(PeriodError, match="not complete in the data"):
        resolve_period(ds, "2024-06")
