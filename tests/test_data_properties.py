"""Property tests: the loader shaken with generated messy exports (hypothesis).

Whatever the export, loading either raises DataValidationError or gives a dataset where every
row read is kept or rejected, ids are normalised, and each order's amount is the sum of its kept
lines.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpm_analysis import DataValidationError
from cpm_analysis.data import validate_frames
from cpm_analysis.data.ids import normalise_ids

NOW = pd.Timestamp("2025-01-01")
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# one customer written in the ways exports write it; good values are drawn more often than
# faults, so that most examples keep some orders
GOOD_IDS = ["17850", "17850.0", " 17850 ", "13047", "13047.0", "00123"]
ID_FORMS = st.sampled_from(GOOD_IDS * 3 + ["", "x9"])
DATES = st.sampled_from(
    ["2024-01-05", "2023-12-31", "2024-03-01 10:00"] * 4
    + ["2024-02-30", "9999-12-31", "0001-01-01", "2200-01-01", ""]
)
AMOUNTS = st.sampled_from(["10", "0", "-5", "2.5", "-0.5", "99.99"] * 3 + ["abc", ""])
ORDER_IDS = st.sampled_from(["A", "B", "C", "C536379", "1.0", "1", "2", "D"] * 2 + [""])

LINE = st.fixed_dictionaries(
    {
        "order_id": ORDER_IDS,
        "customer_id": ID_FORMS,
        "order_date": DATES,
        "line_amount": AMOUNTS,
        "category": st.sampled_from(["x", "y", ""]),
    }
)


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).replace("", None)


def check_lines_dataset(ds, n_lines: int) -> None:
    rejected = ds.rejected
    lines_rejected = int((rejected["table"] == "order_lines").sum())
    assert len(ds.order_lines) + lines_rejected == n_lines
    for table in ("customers", "orders", "order_lines"):
        ids = getattr(ds, table)["customer_id"]
        assert ids.notna().all()
        assert (ids == normalise_ids(ids)).all()
        assert not ids.str.endswith(".0").any()
    sums = ds.order_lines.groupby("order_id")["line_amount"].sum()
    amounts = ds.orders.set_index("order_id")["amount"]
    assert set(sums.index) == set(amounts.index)
    np.testing.assert_allclose(amounts.loc[sums.index].to_numpy(), sums.to_numpy())
    assert set(ds.orders["customer_id"]) <= set(ds.customers["customer_id"])
    negative = ds.orders["amount"] < 0
    assert (ds.orders.loc[negative, "status"] == "refunded").all()
    assert ds.orders["order_date"].max() <= NOW + pd.Timedelta(days=1)
    for values in rejected["values"]:
        json.loads(values)


@SETTINGS
@given(st.lists(LINE, min_size=1, max_size=30))
def test_messy_order_lines_are_kept_or_rejected_never_lost(rows):
    try:
        ds = validate_frames({"order_lines": frame(rows)}, now=NOW)
    except DataValidationError:
        return
    check_lines_dataset(ds, len(rows))


@SETTINGS
@given(
    st.lists(LINE, min_size=1, max_size=30),
    st.lists(ID_FORMS, min_size=1, max_size=6),
)
def test_messy_lines_with_a_customers_table(rows, customer_ids):
    customers = frame([{"customer_id": c, "signup_date": "2023-01-01"} for c in customer_ids])
    try:
        ds = validate_frames({"customers": customers, "order_lines": frame(rows)}, now=NOW)
    except DataValidationError:
        return
    check_lines_dataset(ds, len(rows))
    assert len(ds.customers) + int((ds.rejected["table"] == "customers").sum()) == len(customers)


ORDER = st.fixed_dictionaries(
    {
        "order_id": ORDER_IDS,
        "customer_id": ID_FORMS,
        "order_date": DATES,
        "amount": AMOUNTS,
        "status": st.sampled_from(["paid", "refunded", "cancelled", "", "PAID", "void"]),
    }
)


@SETTINGS
@given(st.lists(ORDER, min_size=1, max_size=30), st.booleans())
def test_messy_orders_with_derived_customers_and_returns(rows, with_returns):
    frames = {"orders": frame(rows)}
    if with_returns:
        frames["returns"] = frame([{"order_id": r["order_id"]} for r in rows[::2]])
    try:
        ds = validate_frames(frames, now=NOW)
    except DataValidationError:
        return
    counts = ds.rejected["table"].value_counts()
    assert len(ds.orders) + int(counts.get("orders", 0)) == len(rows)
    assert ds.orders["order_id"].is_unique
    assert (ds.orders["customer_id"] == normalise_ids(ds.orders["customer_id"])).all()
    assert set(ds.orders["customer_id"]) == set(ds.customers["customer_id"])
    first = ds.orders.groupby("customer_id")["order_date"].min()
    signup = ds.customers.set_index("customer_id")["signup_date"]
    assert (signup.loc[first.index] <= first).all()
