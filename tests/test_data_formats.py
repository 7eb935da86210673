"""The same data through every source format; the invoice-line layout; Superstore; dates."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpm_analysis import DataValidationError, load
from cpm_analysis.data import data_dir, validate_frames
from cpm_analysis.data.ids import normalise_ids

INVOICE_MAPPING = """\
order_lines:
  InvoiceNo: order_id
  StockCode: product_id
  Description: product_name
  Quantity: quantity
  InvoiceDate: order_date
  UnitPrice: unit_price
  CustomerID: customer_id
  Country: region
"""


def invoice_lines(n_invoices: int = 60, seed: int = 3) -> pd.DataFrame:
    """A small export in the classic invoice-line layout: several lines per invoice,
    cancellations ``C...`` as negative lines, blank CustomerID, float-formatted ids."""
    rng = np.random.default_rng(seed)
    rows = []
    customers = [12346.0 + i for i in range(15)]
    for k in range(n_invoices):
        cancelled = k % 10 == 9
        invoice = f"{'C' if cancelled else ''}{536365 + k}"
        customer = np.nan if k % 4 == 3 else customers[int(rng.integers(len(customers)))]
        day = pd.Timestamp("2010-12-01") + pd.Timedelta(
            days=int(k * 5), minutes=int(rng.integers(600))
        )
        for _ in range(int(rng.integers(2, 9))):
            stock = int(rng.integers(20000, 20100))
            qty = int(rng.integers(1, 12)) * (-1 if cancelled else 1)
            rows.append(
                {
                    "InvoiceNo": invoice,
                    "StockCode": f"{stock}",
                    "Description": f"ITEM {stock}",
                    "Quantity": qty,
                    "InvoiceDate": f"{day.month}/{day.day}/{day.year} {day.hour}:{day.minute:02d}",
                    "UnitPrice": round(float(rng.uniform(0.5, 9.0)), 2),
                    "CustomerID": customer,
                    "Country": "United Kingdom" if k % 3 else "France",
                }
            )
    return pd.DataFrame(rows)


def write_invoice(folder: Path, frame: pd.DataFrame, fmt: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "mapping.yaml").write_text(INVOICE_MAPPING)
    if fmt == "parquet":
        frame.to_parquet(folder / "order_lines.parquet", index=False)
    else:
        frame.to_csv(folder / "order_lines.csv", index=False)
    return folder


def test_invoice_layout_loads_the_same_from_csv_float_csv_and_parquet(tmp_path):
    lines = invoice_lines()
    assert len(lines) > 200
    text = lines.assign(
        CustomerID=lines["CustomerID"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    )
    sources = {
        "csv": write_invoice(tmp_path / "csv", text, "csv"),
        "csv_float": write_invoice(tmp_path / "float", lines, "csv"),  # 12346.0
        "parquet": write_invoice(tmp_path / "pq", lines, "parquet"),  # float64 with NaN
    }
    loaded = {name: load(path) for name, path in sources.items()}
    base = loaded["csv"]
    blank = int(lines["CustomerID"].isna().sum())
    for name, ds in loaded.items():
        pd.testing.assert_frame_equal(ds.orders, base.orders, obj=name)
        pd.testing.assert_frame_equal(ds.customers, base.customers, obj=name)
        missing = ds.rejected.loc[ds.rejected["reason"] == "missing customer_id"]
        assert len(missing) == blank and set(missing["table"]) == {"order_lines"}
        assert len(ds.order_lines) + len(ds.rejected) == len(lines)
    orders = base.orders.set_index("order_id")
    assert orders.index.str.startswith("C").any()
    assert (orders.loc[orders.index.str.startswith("C"), "status"] == "refunded").all()
    assert set(base.customers["customer_id"]) <= {str(12346 + i) for i in range(15)}
    assert base.derived == {"orders": "order_lines", "customers": "order_lines"}
    assert set(base.customers["region"]) <= {"United Kingdom", "France"}


def canonical_frames(ids: list) -> dict[str, pd.DataFrame]:
    return {
        "customers": pd.DataFrame({"customer_id": ids, "signup_date": ["2024-01-01"] * len(ids)}),
        "orders": pd.DataFrame(
            {
                "order_id": [100.0 + i for i in range(len(ids))],
                "customer_id": ids,
                "order_date": ["2024-02-01"] * len(ids),
                "amount": [9.5] * len(ids),
            }
        ),
    }


def test_ids_are_equal_from_csv_float_csv_parquet_xlsx_and_sqlite(tmp_path):
    floats = [17850.0, 13047.0, 12583.0]
    results = {}
    for fmt in ("csv", "csv_float", "parquet", "xlsx", "sqlite"):
        folder = tmp_path / fmt
        folder.mkdir()
        frames = canonical_frames(floats)
        if fmt == "csv":
            for name, frame in frames.items():
                frame = frame.assign(
                    **{c: frame[c].map(lambda v: str(int(v))) for c in frame if c.endswith("_id")}
                )
                frame.to_csv(folder / f"{name}.csv", index=False)
            source = folder
        elif fmt == "csv_float":
            for name, frame in frames.items():
                frame.to_csv(folder / f"{name}.csv", index=False)
            source = folder
        elif fmt == "parquet":
            for name, frame in frames.items():
                frame.to_parquet(folder / f"{name}.parquet", index=False)
            source = folder
        elif fmt == "xlsx":
            with pd.ExcelWriter(folder / "crm.xlsx") as writer:
                for name, frame in frames.items():
                    frame.to_excel(writer, sheet_name=name.title(), index=False)
            (folder / "mapping.yaml").write_text(
                'files:\n  "crm.xlsx": {Customers: customers, Orders: orders}\n'
            )
            source = folder
        else:
            with sqlite3.connect(folder / "crm.db") as conn:
                for name, frame in frames.items():
                    frame.to_sql(name, conn, index=False)
            source = f"sqlite:///{folder / 'crm.db'}"
        results[fmt] = load(source)
    for fmt, ds in results.items():
        assert ds.customers["customer_id"].tolist() == ["17850", "13047", "12583"], fmt
        assert ds.orders["order_id"].tolist() == ["100", "101", "102"], fmt
        assert len(ds.orders) == 3 and len(ds.rejected) == 0, fmt


def test_leading_zeros_are_kept_where_the_source_holds_text():
    ids = normalise_ids(pd.Series(["00123", "00123.0", " 7 ", "12.5", None]))
    assert ids.tolist()[:4] == ["00123", "00123", "7", "12.5"] and pd.isna(ids.iloc[4])
    ds = validate_frames(canonical_frames(["00123", "0456"]))
    assert ds.customers["customer_id"].tolist() == ["00123", "0456"]


def test_csv_header_with_a_byte_order_mark(tmp_path):
    frames = canonical_frames(["1", "2"])
    folder = tmp_path / "bom"
    folder.mkdir()
    for name, frame in frames.items():
        (folder / f"{name}.csv").write_text(frame.to_csv(index=False), encoding="utf-8-sig")
    ds = load(folder)
    assert ds.customers["customer_id"].tolist() == ["1", "2"]


def test_files_section_naming_a_missing_file_is_an_error(tmp_path):
    (tmp_path / "mapping.yaml").write_text('files:\n  "export.csv": order_lines\n')
    with pytest.raises(DataValidationError, match="names 'export.csv'"):
        load(tmp_path)


def test_files_section_naming_a_missing_sheet_lists_the_sheets(tmp_path):
    with pd.ExcelWriter(tmp_path / "crm.xlsx") as writer:
        canonical_frames(["1"])["orders"].to_excel(writer, sheet_name="Orders", index=False)
    (tmp_path / "mapping.yaml").write_text('files:\n  "crm.xlsx": {Sales: orders}\n')
    with pytest.raises(DataValidationError, match=r"no sheet 'Sales' \(sheets: Orders\)"):
        load(tmp_path)


def test_unknown_mapping_entry_names_the_options():
    with pytest.raises(DataValidationError, match="options are files, dayfirst"):
        validate_frames(canonical_frames(["1"]), {"day_first": True})


# --- day-first dates ----------------------------------------------------------------------------


def dated_orders(dates: list[str]) -> dict[str, pd.DataFrame]:
    n = len(dates)
    frames = canonical_frames(["1"] * 1)
    frames["orders"] = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(n)],
            "customer_id": ["1"] * n,
            "order_date": dates,
            "amount": ["1"] * n,
        }
    )
    return frames


def test_dayfirst_reads_day_month_and_two_digit_years():
    ds = validate_frames(dated_orders(["03/01/19", "13/06/2024", "01.06.2024"]), {"dayfirst": True})
    assert ds.orders["order_date"].tolist() == [
        pd.Timestamp("2019-01-03"),
        pd.Timestamp("2024-06-13"),
        pd.Timestamp("2024-06-01"),
    ]


def test_day_first_values_without_the_option_are_refused_naming_the_option():
    with pytest.raises(DataValidationError, match="orders: column 'order_date'.*dayfirst: true"):
        validate_frames(dated_orders(["01/06/2024", "13/06/2024"]))


def test_month_first_values_under_dayfirst_are_refused():
    with pytest.raises(DataValidationError, match="only read month-first.*'06/13/2024'"):
        validate_frames(dated_orders(["01/06/2024", "06/13/2024"]), {"dayfirst": True})


def test_month_first_is_the_default_and_times_are_kept():
    ds = validate_frames(dated_orders(["12/1/2010 8:26", "2024-06-01"]))
    assert ds.orders["order_date"].tolist() == [
        pd.Timestamp("2010-12-01 08:26"),
        pd.Timestamp("2024-06-01"),
    ]


# --- Superstore ----------------------------------------------------------------------------------

SUPERSTORE = data_dir() / "external" / "superstore"


def test_superstore_csv_loads_with_its_mapping_verbatim():
    ds = load(SUPERSTORE)
    assert ds.derived == {"orders": "order_lines", "customers": "order_lines"}
    assert len(ds.order_lines) + len(ds.rejected) == 10_194
    assert len(ds.orders) == 5_109 and len(ds.customers) == 800
    assert ds.orders["order_date"].min() == pd.Timestamp("2019-01-03")
    assert ds.orders["order_date"].max() == pd.Timestamp("2022-12-30")
    assert set(ds.rejected["reason"]) == {"order lines disagree on customer_id"}
    assert {"name", "region", "segment"} <= set(ds.customers.columns)
    assert set(ds.customers["region"]) == {"Central", "East", "South", "West"}


def test_superstore_workbook_gives_owners_and_refunds_and_the_same_orders():
    csv, book = load(SUPERSTORE), load(SUPERSTORE / "workbook")
    pd.testing.assert_series_equal(csv.orders["order_id"], book.orders["order_id"])
    pd.testing.assert_series_equal(csv.orders["order_date"], book.orders["order_date"])
    np.testing.assert_allclose(csv.orders["amount"], book.orders["amount"])
    assert book.customers["owner_id"].notna().all()
    assert sorted(book.staff["staff_id"]) == sorted(book.customers["owner_id"].unique())
    assert (book.orders["status"] == "refunded").sum() == 296
    assert book.derived["staff"] == "owners"


def test_superstore_folders_keep_their_provenance():
    readme = (SUPERSTORE / "README.md").read_text()
    assert "Tableau" in readme and "day-first" in readme
    assert (SUPERSTORE / "mapping.yaml").is_file()
    assert (SUPERSTORE / "workbook" / "mapping.yaml").is_file()


def test_cpm_validate_works_on_both_superstore_folders():
    from click.testing import CliRunner

    from cpm_analysis.cli import main

    for folder in (SUPERSTORE, SUPERSTORE / "workbook"):
        result = CliRunner().invoke(main, ["validate", str(folder)])
        assert result.exit_code == 0, result.output
        assert "customers derived from order_lines" in result.output
        assert "usable: yes" in result.output
    assert "staff derived from owners" in result.output


def test_workbooks_named_after_their_table_are_read_from_their_first_sheet(tmp_path):
    for name, frame in canonical_frames([1.0, 2.0]).items():
        frame.to_excel(tmp_path / f"{name}.xlsx", index=False)
    ds = load(tmp_path)
    assert ds.customers["customer_id"].tolist() == ["1", "2"]
    assert ds.orders["order_date"].tolist() == [pd.Timestamp("2024-02-01")] * 2


def test_dayfirst_must_be_true_or_false():
    with pytest.raises(DataValidationError, match="'dayfirst' must be true or false"):
        validate_frames(canonical_frames(["1"]), {"dayfirst": "yes"})
