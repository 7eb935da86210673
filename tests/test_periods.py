"""Reporting periods."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cpm_analysis.exceptions import PeriodError
from cpm_analysis.periods import (
    latest_period,
    normalize_freq,
    parse_period,
    period_of,
    period_range,
    resolve_period,
    to_cutoff,
)


@pytest.mark.parametrize(
    ("label", "freq", "start", "end_day"),
    [
        ("2024-06", "M", "2024-06-01", "2024-06-30"),
        ("2024-02", "M", "2024-02-01", "2024-02-29"),
        ("2024-Q2", "Q", "2024-04-01", "2024-06-30"),
        ("2024Q4", "Q", "2024-10-01", "2024-12-31"),
        ("2024", "Y", "2024-01-01", "2024-12-31"),
    ],
)
def test_parse_period(label, freq, start, end_day):
    p = parse_period(label)
    assert p.freq == freq
    assert p.start == pd.Timestamp(start)
    assert p.end == pd.Timestamp(end_day) + pd.Timedelta(1, "D") - pd.Timedelta(1, "ns")
    assert parse_period(p.label) == p


@pytest.mark.parametrize("bad", ["2024-13", "2024-00", "June", "2024-Q5", "24-06", "", "2024/06"])
def test_malformed_period_has_clear_error(bad):
    with pytest.raises(PeriodError, match="period"):
        parse_period(bad)


def test_previous_next_and_labels():
    assert parse_period("2024-01").previous().label == "2023-12"
    assert parse_period("2024-Q1").previous().label == "2023-Q4"
    assert parse_period("2024").next().label == "2025"
    assert parse_period("2024-06").shift(-12).label == "2023-06"
    assert parse_period("2024-Q2").days == 91


def test_freq_must_match_when_asked():
    with pytest.raises(PeriodError, match="quarterly"):
        parse_period("2024-06", freq="quarterly")
    with pytest.raises(PeriodError, match="frequency"):
        normalize_freq("weekly")


def test_period_range_for_backfills():
    assert [p.label for p in period_range("2023-11", "2024-02")] == [
        "2023-11",
        "2023-12",
        "2024-01",
        "2024-02",
    ]
    assert len(period_range("2023-Q1", "2024-Q4")) == 8
    with pytest.raises(PeriodError, match="before it starts"):
        period_range("2024-06", "2024-01")
    with pytest.raises(PeriodError, match="different frequencies"):
        period_range("2024-06", "2024-Q4")


def test_latest_complete_period():
    assert latest_period(pd.Timestamp("2024-06-15"), "M").label == "2024-05"
    assert latest_period(pd.Timestamp("2024-06-30 00:00"), "M").label == "2024-06"
    assert latest_period(pd.Timestamp("2024-06-30"), "Q").label == "2024-Q2"
    assert latest_period(pd.Timestamp("2024-06-29"), "Q").label == "2024-Q1"
    assert latest_period(pd.Timestamp("2024-12-31"), "Y").label == "2024"


def test_latest_of_a_dataset(sample_dataset):
    assert resolve_period("latest", sample_dataset, "M").label == "2025-12"
    assert resolve_period("latest", sample_dataset, "quarterly").label == "2025-Q4"
    with pytest.raises(PeriodError, match="needs a dataset"):
        resolve_period("latest")


def test_period_of_and_contains():
    p = period_of("2024-05-17 13:00", "Q")
    assert p.label == "2024-Q2"
    s = pd.Series(
        pd.to_datetime(["2024-03-31 23:59", "2024-04-01", "2024-06-30 23:59:59"], format="ISO8601")
    )
    assert p.contains(s).tolist() == [False, True, True]


def test_to_cutoff_semantics():
    end_of_day = pd.Timestamp("2024-06-30 23:59:59.999999999")
    assert to_cutoff("2024-06") == end_of_day
    assert to_cutoff("2024-06-30") == end_of_day
    assert to_cutoff(dt.date(2024, 6, 30)) == end_of_day
    assert to_cutoff(pd.Timestamp("2024-06-30")) == pd.Timestamp("2024-06-30")
    assert to_cutoff("2024-06-30T12:00:00+02:00") == pd.Timestamp("2024-06-30 10:00")
    with pytest.raises(PeriodError, match="cutoff"):
        to_cutoff("someday")
    with pytest.raises(PeriodError, match="cutoff"):
        to_cutoff("June")
    assert to_cutoff(pd.Timestamp("2024-06-30 12:00").as_unit("us")).unit == "ns"
