"""Order lines into orders, derived customers, owners and returns, validation that tells the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpm_analysis import DataValidationError, load
from cpm_analysis.data import validate_frames
from cpm_analysis.data.lines import aggregate_lines, most_frequent

NOW = pd.Timestamp("2025-01-01")


def lines_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": ["A", "A", "A", "B", "C", "C", "D"],
            "customer_id": ["1", "1", "1", "2", "1", "1", "3"],
            "order_date": [
                "2024-01-03",
                "2024-01-02",
                "2024-01-02",
                "2024-02-01",
                "2024-03-01",
                "2024-03-01",
                "2024-04-01",
            ],
            "quantity": ["1", "2", "1", "1", "1", "1", "1"],
            "unit_price": ["10", "5", "1", "-4", "3", "3", "7"],
            "category": ["x", "y", "y", "x", "y", "x", "x"],
            "region": ["West", "East", "East", "North", "East", "East", None],
        }
    )


def test_lines_aggregate_into_orders_by_the_documented_rules():
    ds = validate_frames({"order_lines": lines_frame()}, now=NOW)
    orders = ds.orders.set_index("order_id")
    assert orders.loc["A", "amount"] == 21.0  # 1*10 + 2*5 + 1*1
    assert orders.loc["A", "order_date"] == pd.Timestamp("2024-01-02")  # earliest line
    assert orders.loc["A", "quantity"] == 4
    assert orders.loc["A", "category"] == "y"  # y holds 11 of 21
    assert orders.loc["C", "category"] == "x"  # a tie: the first name in sort order
    assert orders.loc["B", "status"] == "refunded"  # a negative total is a return
    assert orders.loc["A", "status"] == "paid"
    assert ds.derived == {"orders": "order_lines", "customers": "order_lines"}
    assert len(ds.order_lines) == 7 and "line_amount" in ds.order_lines


def test_customers_derived_from_lines_first_order_and_most_frequent_attribute():
    ds = validate_frames({"order_lines": lines_frame()}, now=NOW)
    customers = ds.customers.set_index("customer_id")
    assert customers.loc["1", "signup_date"] == pd.Timestamp("2024-01-02")
    assert customers.loc["1", "region"] == "East"  # 4 of 5 lines
    assert pd.isna(customers.loc["3", "region"])
    assert customers.loc["2", "signup_date"] == pd.Timestamp("2024-02-01")  # a refund counts


def test_most_frequent_breaks_ties_by_sort_order():
    out = most_frequent(pd.Series(["k", "k", "k", "k"]), pd.Series(["b", "a", "b", "a"]))
    assert out.to_dict() == {"k": "a"}


def test_an_order_with_a_bad_line_is_rejected_whole_with_row_numbers():
    lines = lines_frame()
    lines.loc[1, "order_date"] = "not a date"
    ds = validate_frames({"order_lines": lines}, now=NOW)
    assert "A" not in set(ds.orders["order_id"])
    rejected = ds.rejected.set_index("row")
    assert rejected.loc[2, "reason"] == "unparseable date"
    assert rejected.loc[1, "reason"] == "order has rejected lines"
    assert rejected.loc[3, "reason"] == "order has rejected lines"
    assert set(ds.rejected["table"]) == {"order_lines"}
    assert len(ds.order_lines) + len(ds.rejected) == len(lines)


def test_lines_of_one_order_with_two_customers_are_rejected():
    lines = lines_frame()
    lines.loc[3, "order_id"] = "A"  # customer 2 on order A
    ds = validate_frames({"order_lines": lines}, now=NOW)
    reasons = ds.rejected["reason"].value_counts().to_dict()
    assert reasons == {"order lines disagree on customer_id": 4}


def test_lines_need_an_amount():
    lines = lines_frame().drop(columns="unit_price")
    with pytest.raises(DataValidationError, match="order_lines: required column 'unit_price'"):
        validate_frames({"order_lines": lines}, now=NOW)


def test_orders_and_order_lines_together_is_an_error():
    frames = {"order_lines": lines_frame(), "orders": lines_frame()}
    with pytest.raises(DataValidationError, match="both orders and order_lines"):
        validate_frames(frames, now=NOW)


def test_aggregate_keeps_a_given_status():
    lines = pd.DataFrame(
        {
            "order_id": ["A"],
            "customer_id": ["1"],
            "order_date": pd.to_datetime(["2024-01-01"]),
            "line_amount": [-5.0],
            "status": pd.Series(["cancelled"], dtype="str"),
        }
    )
    assert aggregate_lines(lines)["status"].tolist() == ["cancelled"]


def test_order_lines_of_unknown_customers_are_rejected_with_their_order_reason():
    customers = pd.DataFrame({"customer_id": ["1", "2", "3"], "signup_date": ["2023-01-01"] * 3})
    lines = lines_frame()
    lines.loc[6, "customer_id"] = "9"
    ds = validate_frames({"customers": customers, "order_lines": lines}, now=NOW)
    row = ds.rejected.set_index("row").loc[7]
    assert row["reason"] == "customer_id not found in customers" and row["table"] == "order_lines"
    assert "D" not in set(ds.orders["order_id"]) and "D" not in set(ds.order_lines["order_id"])


def test_as_of_keeps_the_lines_of_the_kept_orders():
    ds = validate_frames({"order_lines": lines_frame()}, now=NOW)
    view = ds.as_of("2024-02")
    assert set(view.order_lines["order_id"]) == {"A", "B"}
    assert set(view.orders["order_id"]) == {"A", "B"}


def test_owners_assign_by_region_and_returns_become_refunds():
    frames = {
        "order_lines": lines_frame(),
        "owners": pd.DataFrame(
            {"owner_id": ["ann", "bob", "cy"], "region": ["East", "North", "East"]}
        ),
        "returns": pd.DataFrame({"order_id": ["A", "A", "ZZ"]}),
    }
    ds = validate_frames(frames, now=NOW)
    owners = ds.customers.set_index("customer_id")["owner_id"]
    assert owners["1"] == "ann" and owners["2"] == "bob" and pd.isna(owners["3"])
    assert ds.staff["role"].tolist() == ["sales", "sales"] and ds.derived["staff"] == "owners"
    assert ds.orders.set_index("order_id").loc["A", "status"] == "refunded"
    reasons = ds.rejected.groupby("table")["reason"].first().to_dict()
    assert reasons == {
        "owners": "more than one owner for this region",
        "returns": "order_id not found in orders",
    }


def test_owners_need_a_customer_column():
    frames = {
        "order_lines": lines_frame(),
        "owners": pd.DataFrame({"owner_id": ["ann"], "country": ["FR"]}),
    }
    with pytest.raises(DataValidationError, match="customers have no column 'country'"):
        validate_frames(frames, now=NOW)


# --- validation that tells the truth -----------------------------------------------------------


def orders_frame(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [str(i) for i in range(n)],
            "customer_id": ["1", "2"] * (n // 2),
            "order_date": ["2024-01-01"] * n,
            "amount": ["5"] * n,
        }
    )


def customers_frame() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["1", "2"], "signup_date": ["2023-01-01", "2023-01-01"]})


def test_no_order_kept_is_unusable_with_the_dataset_attached():
    orders = orders_frame().assign(order_date="junk")
    with pytest.raises(DataValidationError, match="orders: no row was kept") as info:
        validate_frames({"customers": customers_frame(), "orders": orders}, now=NOW)
    assert len(info.value.dataset.rejected) == 6


def test_most_orders_of_unknown_customers_is_unusable_and_shows_both_ids():
    orders = orders_frame().assign(customer_id=["C-1", "C-2", "C-1", "C-2", "1", "2"])
    with pytest.raises(DataValidationError, match="formatted differently") as info:
        validate_frames({"customers": customers_frame(), "orders": orders}, now=NOW)
    assert "'C-1'" in str(info.value) and "'1'" in str(info.value)


def test_most_rows_repeating_an_order_id_says_order_lines():
    orders = orders_frame().assign(order_id=["1", "1", "1", "1", "1", "2"])
    orders["customer_id"] = "1"
    with pytest.raises(DataValidationError, match="looks like order lines"):
        validate_frames({"customers": customers_frame(), "orders": orders}, now=NOW)


def test_sentinel_and_future_dates_never_crash():
    customers = customers_frame().assign(churned_at=["9999-12-31", ""])
    orders = orders_frame().assign(
        order_date=[
            "2024-01-01",
            "0001-01-01",
            "9999-12-31",
            "2200-01-01",
            "2024-02-30",
            "2024-01-02",
        ]
    )
    ds = validate_frames({"customers": customers, "orders": orders}, now=NOW)
    assert ds.customers["churned_at"].isna().all()  # open-ended reads as active
    reasons = ds.rejected.set_index("row")["reason"].to_dict()
    assert reasons == {
        2: "date out of range (before 1900 or after 2262)",
        3: "open-ended date (such as 9999-12-31) for an event",
        4: "date after the load time",
        5: "unparseable date",
    }
    assert ds.last_date() == pd.Timestamp("2024-01-02")


def test_cli_validate_prints_usable_no_with_the_reason(tmp_path):
    from click.testing import CliRunner

    from cpm_analysis.cli import main

    src = tmp_path / "src"
    src.mkdir()
    customers_frame().to_csv(src / "customers.csv", index=False)
    orders_frame().assign(customer_id="00" + orders_frame()["customer_id"]).to_csv(
        src / "orders.csv", index=False
    )
    result = CliRunner().invoke(main, ["validate", str(src)])
    assert result.exit_code == 2
    assert "usable: no" in result.output and "'001'" in result.output


def test_cli_validate_says_what_was_derived(tmp_path):
    from click.testing import CliRunner

    from cpm_analysis.cli import main

    src = tmp_path / "src"
    src.mkdir()
    lines_frame().to_csv(src / "order_lines.csv", index=False)
    result = CliRunner().invoke(main, ["validate", str(src)])
    assert result.exit_code == 0, result.output
    assert "customers derived from order_lines" in result.output
    assert "usable: yes" in result.output


def test_dask_engine_refuses_order_lines_naming_the_option(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    lines_frame().to_csv(src / "order_lines.csv", index=False)
    with pytest.raises(DataValidationError, match="engine='pandas'"):
        load(src, engine="dask")


def test_aggregate_lines_with_codes_out_of_order_and_microsecond_dates():
    lines = pd.DataFrame(
        {
            "order_id": ["B", "A", "A", "C"],
            "customer_id": ["2", "1", "1", "3"],
            "order_date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-01", "2024-01-05"]),
            "line_amount": [2.0, 1.0, 3.0, 4.0],
        }
    )
    out = aggregate_lines(lines, np.array([1, 0, 0, 2]))
    assert out["order_id"].tolist() == ["B", "A", "C"]
    assert out["amount"].tolist() == [2.0, 4.0, 4.0]
    assert (
        out["order_date"].tolist()
        == pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-05"]).tolist()
    )


def test_lines_that_all_fail_say_no_row_was_kept_for_both_tables():
    lines = lines_frame().assign(order_date="soon")
    with pytest.raises(DataValidationError, match="customers: no row was kept") as info:
        validate_frames({"order_lines": lines}, now=NOW)
    assert any("orders: no row was kept" in p for p in info.value.problems)
    assert len(info.value.dataset.rejected) == len(lines)
