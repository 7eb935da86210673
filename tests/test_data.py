"""The data contract: loading from every kind of source, quarantine, errors, as_of."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpm_analysis import DataValidationError, load
from cpm_analysis.data import Dataset, cdnow_dir, load_cdnow, paid_orders, validate_frames
from cpm_analysis.data.schema import TABLES


def write_csvs(folder: Path, frames: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


# --- sources -----------------------------------------------------------------------------------


def test_load_csv_folder_types_every_column(tmp_path, tiny_frames):
    ds = load(write_csvs(tmp_path / "src", tiny_frames))
    assert isinstance(ds, Dataset)
    assert ds.tickets is None and ds.surveys is None
    assert ds.orders["amount"].dtype == "float64"
    assert ds.orders["order_date"].dtype == "datetime64[ns]"
    assert pd.api.types.is_string_dtype(ds.orders["customer_id"].dtype)
    assert ds.orders["amount"].tolist() == [10.5, 20.0, 7.25, -7.25]
    assert len(ds.rejected) == 0
    assert list(ds.rejected.columns) == ["table", "row", "column", "reason", "values"]


def test_load_parquet_folder_matches_csv(tmp_path, small_synthetic):
    small_synthetic.write(tmp_path / "csv", format="csv")
    small_synthetic.write(tmp_path / "pq", format="parquet")
    from_csv, from_pq = load(tmp_path / "csv"), load(tmp_path / "pq")
    for name in ("customers", "orders", "tickets", "surveys"):
        a, b = getattr(from_csv, name), getattr(from_pq, name)
        assert a.shape == b.shape
        pd.testing.assert_series_equal(a.iloc[:, 0], b.iloc[:, 0])
    pd.testing.assert_series_equal(from_csv.orders["amount"], from_pq.orders["amount"])
    pd.testing.assert_series_equal(from_csv.orders["order_date"], from_pq.orders["order_date"])


def test_load_partitioned_parquet_folder(tmp_path, tiny_frames):
    src = write_csvs(tmp_path / "src", {"customers": tiny_frames["customers"]})
    (src / "orders").mkdir()
    orders = tiny_frames["orders"]
    orders.iloc[:2].to_parquet(src / "orders" / "part-0.parquet")
    orders.iloc[2:].to_parquet(src / "orders" / "part-1.parquet")
    ds = load(src)
    assert sorted(ds.orders["order_id"]) == ["1", "2", "3", "4"]


def test_load_sqlite_database(tmp_path, tiny_frames):
    import sqlalchemy as sa

    db = tmp_path / "crm.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    for name, frame in tiny_frames.items():
        frame.to_sql(name, engine, index=False)
    engine.dispose()
    ds = load(f"sqlite:///{db}")
    assert ds.source == f"sqlite:///{db}"
    assert ds.orders["amount"].sum() == pytest.approx(30.5)
    assert len(ds.customers) == 2


def test_load_dict_of_frames_and_mapping(tiny_frames):
    orders = tiny_frames["orders"].rename(columns={"amount": "Total", "order_date": "Date"})
    ds = load(
        {"customers": tiny_frames["customers"], "orders": orders},
        mapping={"orders": {"Total": "amount", "Date": "order_date"}},
    )
    assert ds.orders["amount"].tolist()[0] == 10.5


def test_mapping_file_in_folder_is_used(tmp_path, tiny_frames):
    src = tmp_path / "src"
    frames = dict(tiny_frames)
    frames["orders"] = frames["orders"].rename(columns={"amount": "value"})
    write_csvs(src, frames)
    (src / "mapping.yaml").write_text("orders:\n  value: amount\n")
    assert load(src).orders["amount"].iloc[0] == 10.5


def test_cdnow_folder_loads_as_canonical_tables():
    ds = load(cdnow_dir())
    assert len(ds.customers) == 23_570
    assert len(ds.orders) == 69_659
    assert len(ds.rejected) == 0
    first = ds.orders.groupby("customer_id")["order_date"].min()
    signup = ds.customers.set_index("customer_id")["signup_date"]
    assert (first.sort_index() == signup.sort_index()).all()
    sample = load_cdnow(sample=True)
    assert len(sample.customers) == 2_357
    assert sample.customers["sample_id"].nunique() == 2_357


def test_sample_dataset_is_usable(sample_dataset):
    assert len(sample_dataset.customers) == 3000
    for name in ("tickets", "surveys", "staff", "targets", "assessments"):
        assert sample_dataset.has(name)
    # the sample carries a few deliberate faults so the data-quality report has content
    assert 0 < len(sample_dataset.rejected) < 100


# --- unusable data raises DataValidationError ----------------------------------------------------


def test_missing_required_column_names_table_and_column(tiny_frames):
    tiny_frames["orders"] = tiny_frames["orders"].drop(columns="amount")
    with pytest.raises(DataValidationError, match=r"orders: required column 'amount'") as info:
        load(tiny_frames)
    assert info.value.table == "orders" and info.value.column == "amount"


def test_missing_required_table(tmp_path, tiny_frames):
    src = write_csvs(tmp_path / "src", {"customers": tiny_frames["customers"]})
    with pytest.raises(DataValidationError, match="orders: required table is missing"):
        load(src)


def test_empty_table(tmp_path, tiny_frames):
    tiny_frames["orders"] = tiny_frames["orders"].iloc[0:0]
    with pytest.raises(DataValidationError, match="orders: the table has no rows"):
        load(write_csvs(tmp_path / "src", tiny_frames))


def test_empty_optional_table_is_an_error_too(tmp_path, tiny_frames):
    tiny_frames["surveys"] = pd.DataFrame(columns=["customer_id", "responded_at", "score"])
    with pytest.raises(DataValidationError, match="surveys: the table has no rows"):
        load(write_csvs(tmp_path / "src", tiny_frames))


def test_unreadable_file(tmp_path, tiny_frames):
    src = write_csvs(tmp_path / "src", {"customers": tiny_frames["customers"]})
    (src / "orders.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(DataValidationError, match=r"orders: cannot read .*orders.parquet"):
        load(src)


def test_two_files_for_one_table(tmp_path, tiny_frames):
    src = write_csvs(tmp_path / "src", tiny_frames)
    tiny_frames["orders"].to_parquet(src / "orders.parquet")
    with pytest.raises(DataValidationError, match="orders: more than one file"):
        load(src)


def test_database_that_does_not_connect(tmp_path):
    with pytest.raises(DataValidationError, match="database: SQLite file .* not found"):
        load("sqlite:////nonexistent/folder/crm.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"definitely not a sqlite file" * 100)
    with pytest.raises(DataValidationError, match="database: cannot read from"):
        load(f"sqlite:///{junk}")
    with pytest.raises(DataValidationError, match="database: ") as info:
        load("postgresql://user:secret@127.0.0.1:1/crm")
    assert "secret" not in str(info.value)


def test_missing_folder():
    with pytest.raises(DataValidationError, match="does not exist"):
        load("/no/such/folder")


def test_unknown_table_in_mapping(tiny_frames):
    with pytest.raises(DataValidationError, match="mapping: unknown table 'sales'"):
        load(tiny_frames, mapping={"sales": {"x": "y"}})


# --- row-level faults are quarantined with a reason, never dropped ------------------------------


ROW_FAULTS = [
    ("orders", "order_date", "2024-02-30", "unparseable date"),
    ("orders", "amount", "ten", "non-numeric amount"),
    ("orders", "amount", "-5", "negative amount on an order that is not refunded"),
    ("orders", "customer_id", "zzz", "customer_id not found in customers"),
    ("orders", "order_id", "1", "duplicate order_id"),
    ("orders", "status", "lost", "unknown status (expected paid, refunded, cancelled)"),
    ("orders", "customer_id", "", "missing customer_id"),
]


@pytest.mark.parametrize(("table", "column", "value", "reason"), ROW_FAULTS)
def test_order_faults_are_quarantined(tiny_frames, table, column, value, reason):
    raw = tiny_frames[table].copy()
    raw.loc[1, column] = value
    tiny_frames[table] = raw
    ds = load(tiny_frames)
    rejected = ds.rejected
    assert len(rejected) == 1
    entry = rejected.iloc[0]
    assert (entry["table"], entry["column"], entry["reason"]) == (table, column, reason)
    assert entry["row"] == 2  # 1-based data row, header not counted
    assert json.loads(entry["values"])[column] == value  # the raw value, as read
    assert len(ds.orders) + len(rejected) == len(raw)  # nothing lost


def test_duplicate_customer_keeps_first_and_quarantines_rest(tiny_frames):
    dup = tiny_frames["customers"].iloc[[0]].assign(name="Ann Again")
    tiny_frames["customers"] = pd.concat([tiny_frames["customers"], dup], ignore_index=True)
    ds = load(tiny_frames)
    assert ds.customers["name"].tolist() == ["Ann Lee", "Bo Chen"]
    assert ds.rejected[["table", "row", "reason"]].values.tolist() == [
        ["customers", 3, "duplicate customer_id"]
    ]


def test_orders_of_a_rejected_customer_are_quarantined_too(tiny_frames):
    tiny_frames["customers"].loc[1, "signup_date"] = "not a date"
    ds = load(tiny_frames)
    assert set(ds.orders["customer_id"]) == {"a"}
    reasons = ds.rejected.groupby("table")["reason"].apply(set).to_dict()
    assert reasons == {
        "customers": {"unparseable date"},
        "orders": {"customer_id not found in customers"},
    }


def _tickets(**overrides) -> pd.DataFrame:
    base = {
        "ticket_id": ["t1", "t2"],
        "customer_id": ["a", "b"],
        "opened_at": ["2024-03-05 10:00", "2024-03-06 09:00"],
        "first_response_at": ["2024-03-05 12:00", "2024-03-06 10:00"],
        "resolved_at": ["2024-03-06 12:00", "2024-03-07 10:00"],
        "is_complaint": ["yes", "no"],
        "satisfaction": ["4", "5"],
    }
    base.update(overrides)
    return pd.DataFrame(base)


@pytest.mark.parametrize(
    ("overrides", "column", "reason"),
    [
        ({"satisfaction": ["4", "9"]}, "satisfaction", "satisfaction outside 1-5"),
        ({"satisfaction": ["4", "0"]}, "satisfaction", "satisfaction outside 1-5"),
        (
            {"first_response_at": ["2024-03-05 12:00", "2024-03-06 08:00"]},
            "first_response_at",
            "first response before opening",
        ),
        (
            {"resolved_at": ["2024-03-06 12:00", "2024-03-01 10:00"]},
            "resolved_at",
            "resolution before opening",
        ),
        ({"is_complaint": ["yes", "maybe"]}, "is_complaint", "is_complaint is not a yes/no value"),
        ({"customer_id": ["a", "ghost"]}, "customer_id", "customer_id not found in customers"),
    ],
)
def test_ticket_faults_are_quarantined(tiny_frames, overrides, column, reason):
    tiny_frames["tickets"] = _tickets(**overrides)
    ds = load(tiny_frames)
    assert ds.rejected[["table", "row", "column", "reason"]].values.tolist() == [
        ["tickets", 2, column, reason]
    ]
    assert len(ds.tickets) == 1


def test_ticket_columns_are_typed(tiny_frames):
    tiny_frames["tickets"] = _tickets()
    ds = load(tiny_frames)
    assert ds.tickets["is_complaint"].tolist() == [True, False]
    assert ds.tickets["satisfaction"].tolist() == [4.0, 5.0]
    assert ds.tickets["opened_at"].iloc[0] == pd.Timestamp("2024-03-05 10:00")


def test_survey_score_outside_0_10(tiny_frames):
    tiny_frames["surveys"] = pd.DataFrame(
        {"customer_id": ["a", "b"], "responded_at": ["2024-03-01", "2024-03-02"], "score": [9, 11]}
    )
    ds = load(tiny_frames)
    assert ds.rejected["reason"].tolist() == ["score outside 0-10"]


def test_unparseable_target_period(tiny_frames):
    tiny_frames["targets"] = pd.DataFrame(
        {"kpi": ["revenue", "revenue"], "period": ["2024-06", "June"], "target": [100, 100]}
    )
    ds = load(tiny_frames)
    assert ds.targets["period"].tolist() == ["2024-06"]
    assert ds.rejected["reason"].tolist() == ["unparseable period"]


def test_time_zones_are_converted_to_naive_utc(tiny_frames):
    tiny_frames["orders"].loc[0, "order_date"] = "2024-01-01T10:00:00+02:00"
    ds = load(tiny_frames)
    assert ds.orders["order_date"].iloc[0] == pd.Timestamp("2024-01-01 08:00:00")
    assert ds.orders["order_date"].dt.tz is None


def test_nothing_lost_on_the_faulty_sample(small_synthetic):
    from cpm_analysis.synthetic import _inject_faults

    tables, injected = _inject_faults(np.random.default_rng(0), small_synthetic.tables, 0.01)
    ds = validate_frames(tables)
    for name, raw in tables.items():
        kept = len(getattr(ds, name))
        rejected = int((ds.rejected["table"] == name).sum())
        assert kept + rejected == len(raw), name
    assert len(ds.rejected) >= sum(injected.values())


# --- point-in-time view -----------------------------------------------------------------------


def test_as_of_leaves_nothing_after_the_cutoff(sample_dataset):
    cut = sample_dataset.as_of("2024-06")
    end = pd.Timestamp("2024-06-30 23:59:59.999999999")
    assert cut.cutoff == end
    assert cut.orders["order_date"].max() <= end
    assert cut.customers["signup_date"].max() <= end
    assert cut.tickets["opened_at"].max() <= end
    assert cut.surveys["responded_at"].max() <= end
    for col in ("first_response_at", "resolved_at"):
        assert cut.tickets[col].dropna().max() <= end
    assert set(cut.orders["customer_id"]) <= set(cut.customers["customer_id"])
    assert cut.tickets.loc[cut.tickets["resolved_at"].isna(), "satisfaction"].isna().all()
    # the full data was left untouched
    assert sample_dataset.orders["order_date"].max() > end


def test_as_of_pending_ticket_reads_as_unanswered(tiny_frames):
    tiny_frames["tickets"] = _tickets()
    ds = load(tiny_frames).as_of(pd.Timestamp("2024-03-05 11:00"))
    ticket = ds.tickets.set_index("ticket_id").loc["t1"]
    assert pd.isna(ticket["first_response_at"]) and pd.isna(ticket["resolved_at"])
    assert pd.isna(ticket["satisfaction"])
    assert "t2" not in set(ds.tickets["ticket_id"])


def test_as_of_contract_end_after_cutoff_reads_as_active(tiny_frames):
    tiny_frames["customers"]["churned_at"] = ["2024-05-01", ""]
    ds = load(tiny_frames)
    assert ds.as_of("2024-04-30").customers["churned_at"].isna().all()
    assert ds.as_of("2024-05-31").customers["churned_at"].notna().sum() == 1


def test_as_of_a_date_includes_that_whole_day(tiny_frames):
    ds = load(tiny_frames)
    assert len(ds.as_of("2024-02-10").orders) == 2
    assert len(ds.as_of(pd.Timestamp("2024-02-09")).orders) == 1


def test_as_of_drops_assessments_of_later_periods(sample_dataset):
    cut = sample_dataset.as_of("2024-06")
    assert cut.assessments["period"].max() == "2024-Q2"


def test_summary_and_fingerprint(sample_dataset):
    summary = sample_dataset.summary()
    assert summary.loc["orders", "rows"] == len(sample_dataset.orders)
    assert summary.loc["orders", "rejected"] == (sample_dataset.rejected["table"] == "orders").sum()
    assert sample_dataset.fingerprint() == sample_dataset.fingerprint()
    assert sample_dataset.fingerprint() != sample_dataset.as_of("2024-06").fingerprint()


def test_paid_orders_filters_status(tiny_frames):
    ds = load(tiny_frames)
    assert paid_orders(ds.orders)["order_id"].tolist() == ["1", "2", "3"]
    assert len(paid_orders(ds.orders.drop(columns="status"))) == 4


def test_contract_lists_every_design_column():
    assert TABLES["orders"].required_columns == ("order_id", "customer_id", "order_date", "amount")
    assert TABLES["customers"].pii_columns == ("name", "email", "phone")
    assert TABLES["staff"].pii_columns == ("name",)
