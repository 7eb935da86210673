"""Columns handled once per distinct value give what handling every row gives.

The loader hashes a column once, works on its distinct values and spreads the result back by
code (:mod:`cpm_analysis.data.distinct`). These tests check, on generated columns, that the
codes are those of :func:`pandas.factorize`, that ids, dates, amounts and categories convert
and fault exactly as each cell on its own would, and the date comparisons at the edges.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpm_analysis import DataValidationError
from cpm_analysis.data.dates import OPEN_ENDED, compare_dates, read_dates
from cpm_analysis.data.distinct import Distinct, codes_of, compact
from cpm_analysis.data.ids import factorize_ids, normalise_ids
from cpm_analysis.data.lines import ORDER_FAULTS, order_fault_codes, order_faults
from cpm_analysis.data.validate import convert_table

NOW = pd.Timestamp("2025-01-01")
SETTINGS = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

TEXT = st.sampled_from(["a", "b", "b", "c", " a", "", None])
IDS = st.sampled_from(["17850", "17850.0", " 17850 ", "00123", "00123.0", "-4.00", "x", "", None])
DATES = st.sampled_from(
    ["2024-01-05", " 2024-01-05", "01/02/2024", "2024-03-01 10:00", "9999-12-31", "0001-01-01"]
    + ["2200-01-01", "junk", "", None, "1 June 2024"]
)
AMOUNTS = st.sampled_from(["10", " 10 ", "2.5", "-3", "abc", "inf", "", None, "1e3"])
STATUSES = st.sampled_from(["paid", " PAID", "refunded", "void", "", None])


def runs(values: list) -> list:
    """The values with each repeated a few times in a row (lines of one order together)."""
    return [v for i, v in enumerate(values) for _ in range(1 + i % 3)]


@SETTINGS
@given(st.lists(TEXT, max_size=40), st.booleans(), st.booleans())
def test_codes_are_those_of_pandas_factorize_with_and_without_runs(values, repeat, sort):
    series = pd.Series(runs(values) if repeat else values, dtype="str")
    codes, uniques = codes_of(series, sort=sort)
    expected, expected_uniques = pd.factorize(series, sort=sort)
    assert codes.tolist() == expected.tolist()
    assert list(uniques) == list(expected_uniques)


@SETTINGS
@given(st.lists(st.lists(TEXT, max_size=8), min_size=1, max_size=5))
def test_codes_of_strings_in_several_arrow_chunks_follow_pandas(chunks):
    # a Parquet file read back holds one Arrow chunk per row group; runs may cross chunks
    arrays = [pa.array([v for v in chunk for _ in range(2)], pa.large_string()) for chunk in chunks]
    series = pa.chunked_array(arrays, pa.large_string()).to_pandas(
        types_mapper={pa.large_string(): pd.StringDtype(na_value=np.nan)}.get
    )
    codes, uniques = codes_of(series)
    expected, expected_uniques = pd.factorize(series)
    assert codes.tolist() == expected.tolist()
    assert list(uniques) == list(expected_uniques)


def test_codes_of_numbers_and_dates_follow_pandas_with_missing_values():
    for series in (
        pd.Series([1.0, 1.0, np.nan, np.nan, 2.0, 2.0, 1.0]),
        pd.Series(pd.to_datetime(["2024-01-01"] * 3 + [None] * 3 + ["2024-01-02"])),
        pd.Series(pd.array([1, 1, None, None, 2, 2, 1], dtype="Int64")),
    ):
        codes, uniques = codes_of(series)
        expected, expected_uniques = pd.factorize(series)
        assert codes.tolist() == expected.tolist()
        assert list(uniques) == list(expected_uniques)


@SETTINGS
@given(st.lists(st.integers(-1, 6), max_size=40))
def test_compact_numbers_a_subset_as_codes_of_would(codes):
    codes = np.array(codes, dtype=np.int64)
    new, first = compact(codes)
    expected, _ = pd.factorize(np.where(codes >= 0, codes, np.nan))  # missing: -1
    assert new.tolist() == expected.tolist()
    assert [int(codes[i]) for i in first] == list(dict.fromkeys(int(c) for c in codes if c >= 0))


def test_distinct_spreads_values_and_masks_back_to_the_rows():
    d = Distinct.of(pd.Series(["b", None, "a", "b"], dtype="str", index=[5, 6, 7, 8]))
    assert d.values.tolist() == ["b", "a"]
    upper = d.expand(d.values.str.upper())
    assert upper.index.tolist() == [5, 6, 7, 8] and str(upper.dtype) == "str"
    assert upper.fillna("-").tolist() == ["B", "-", "A", "B"]
    assert d.rows(np.array([False, True])).tolist() == [False, False, True, False]
    assert d.missing.tolist() == [False, True, False, False]


@SETTINGS
@given(st.lists(IDS, min_size=1, max_size=40), st.booleans())
def test_ids_are_normalised_per_value_as_each_cell_alone(values, repeat):
    series = pd.Series(runs(values) if repeat else values, dtype=object)
    ids, codes, uniques = factorize_ids(series)
    alone = [normalise_ids(pd.Series([v], dtype=object)).iloc[0] for v in series]
    assert ids.isna().tolist() == [pd.isna(v) for v in alone]
    assert [v for v in ids if pd.notna(v)] == [v for v in alone if pd.notna(v)]
    expected, expected_uniques = pd.factorize(ids)
    assert codes.tolist() == expected.tolist()
    assert list(uniques) == list(expected_uniques)


def test_float_ids_with_minus_zero_are_one_id():
    ids, codes, uniques = factorize_ids(pd.Series([0.0, -0.0, 17850.0, np.nan]))
    assert ids.tolist()[:3] == ["0", "0", "17850"] and pd.isna(ids.iloc[3])
    assert codes.tolist() == [0, 0, 1, -1] and list(uniques) == ["0", "17850"]


def _each_row_alone(table: str, raw: pd.DataFrame) -> tuple[list, list]:
    """Typed values and fault reasons converting each row as a table of its own."""
    typed, reasons = [], []
    for i in range(len(raw)):
        one, q = convert_table(table, raw.iloc[[i]], now=NOW)
        typed.append(one.iloc[0].tolist())
        reasons.append(q.reason[0])
    return typed, reasons


def _same(a: list, b: list) -> bool:
    return all((pd.isna(x) and pd.isna(y)) or x == y for x, y in zip(a, b, strict=True))


@SETTINGS
@given(
    st.lists(
        st.tuples(IDS, IDS, DATES, AMOUNTS, STATUSES),
        min_size=2,
        max_size=25,
    ),
    st.booleans(),
)
def test_a_table_converts_and_faults_as_each_row_alone(rows, repeat):
    rows = runs(rows) if repeat else rows
    raw = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount", "status"])
    raw = raw.astype(object).where(raw.notna(), None)
    typed, q = convert_table("orders", raw, now=NOW)
    expected_typed, expected_reasons = _each_row_alone("orders", raw)
    assert q.reason.tolist() == expected_reasons
    for i, values in enumerate(expected_typed):
        assert _same(typed.iloc[i].tolist(), values), (i, typed.iloc[i].tolist(), values)


def test_per_value_conversion_keeps_the_mixed_day_first_error():
    raw = pd.DataFrame(
        {
            "customer_id": ["1", "2", "3"],
            "signup_date": ["01/02/2024", "13/02/2024", "01/02/2024"],
        }
    )
    with pytest.raises(DataValidationError, match=r"signup_date.*e\.g\. '13/02/2024'.*dayfirst"):
        convert_table("customers", raw, now=NOW)


def test_date_comparisons_hold_past_the_range_of_nanoseconds():
    values = np.array(["2024-01-01", "NaT", "2262-04-01"], dtype="datetime64[ns]")
    assert compare_dates(values, np.greater_equal, OPEN_ENDED).tolist() == [False] * 3
    assert compare_dates(values, np.less, OPEN_ENDED).tolist() == [True, False, True]
    far = np.array(["9999-12-31", "2024-01-01"], dtype="datetime64[s]")
    assert compare_dates(far, np.greater_equal, OPEN_ENDED).tolist() == [True, False]
    before = pd.Timestamp("1677-09-22")  # within nanoseconds: compared as it is
    assert compare_dates(values, np.less, before).tolist() == [False, False, False]


def test_read_dates_of_datetime_columns_flags_sentinels_in_any_unit():
    series = pd.Series(np.array(["9999-12-31", "0001-01-01", "2024-06-01"], dtype="M8[s]"))
    dates, out_of_range, open_ended = read_dates(series)
    assert out_of_range.tolist() == [False, True, False]
    assert open_ended.tolist() == [True, False, False]
    assert dates.isna().tolist() == [True, True, False]


def test_order_fault_codes_name_the_reasons_of_order_faults():
    lines = pd.DataFrame(
        {
            "order_id": ["1", "1", "2", "2", "3", "3"],
            "customer_id": ["a", "a", "b", "c", "d", "d"],
            "status": ["paid", "paid", "paid", "paid", "paid", "refunded"],
        }
    )
    bad = np.array([True, False, False, False, False, False])
    fault = order_fault_codes(lines, bad)
    assert [ORDER_FAULTS[f] for f in fault] == [
        None,
        "order has rejected lines",
        "order lines disagree on customer_id",
        "order lines disagree on customer_id",
        "order lines disagree on status",
        "order lines disagree on status",
    ]
    mask, reason = order_faults(lines, bad)
    assert mask.tolist() == [f > 0 for f in fault]
    assert reason.tolist() == [ORDER_FAULTS[f] for f in fault]
