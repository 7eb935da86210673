"""write_partitioned: a large synthetic company written chunk by chunk as Parquet parts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from cpm_analysis import synthetic
from cpm_analysis.data import load
from cpm_analysis.synthetic import generate, write_partitioned

N, CHUNK, SEED = 2500, 1000, 3  # three chunks: 834, 833, 833 customers
ALL = ("customers", "orders", "tickets", "surveys", "staff", "targets", "assessments")
PARTS = ("customers", "orders", "tickets", "surveys")


def parts(out: Path, table: str) -> list[pd.DataFrame]:
    return [pd.read_parquet(f) for f in sorted((out / table).glob("part-*.parquet"))]


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("company")
    return write_partitioned(out, N, seed=SEED, chunk_customers=CHUNK, tables=ALL)


def test_one_part_per_chunk_of_at_most_chunk_customers(company):
    for table in PARTS:
        names = sorted(p.name for p in (company / table).iterdir())
        assert names == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    sizes = [len(p) for p in parts(company, "customers")]
    assert sizes == [834, 833, 833]
    for table in ("staff", "targets", "assessments"):
        assert (company / f"{table}.parquet").is_file()


def test_ids_unique_across_parts_and_of_one_width(company):
    for table, column in (
        ("customers", "customer_id"),
        ("orders", "order_id"),
        ("tickets", "ticket_id"),
    ):
        ids = pd.concat([p[column] for p in parts(company, table)], ignore_index=True)
        assert ids.is_unique, table
        assert ids.str.len().nunique() == 1, table
    customers = pd.read_parquet(company / "customers")
    assert customers["customer_id"].iloc[0] == "C000001"
    assert customers["customer_id"].iloc[-1] == f"C{N:06d}"


def test_id_widths_come_from_the_whole_company():
    # 10 million customers in chunks of 1 million: every chunk numbers C00000001..C10000000
    widths = synthetic._partitioned_id_widths(10_000_000)
    assert widths == {"customers": 8, "orders": 10, "tickets": 9}
    assert synthetic._partitioned_id_widths(2500) == {"customers": 6, "orders": 8, "tickets": 7}


def test_orders_tickets_surveys_belong_to_their_chunks_customers(company):
    customer_parts = parts(company, "customers")
    for table in ("orders", "tickets", "surveys"):
        for k, frame in enumerate(parts(company, table)):
            assert frame["customer_id"].isin(customer_parts[k]["customer_id"]).all(), (table, k)


def test_staff_is_shared_by_every_chunk(company):
    staff = pd.read_parquet(company / "staff.parquet").set_index("staff_id")
    # sized for the whole company (2500 customers: 16 owners, 8 agents), not for one chunk
    assert (staff["role"] == "sales").sum() == 16 + 1
    customers = pd.read_parquet(company / "customers")
    tickets = pd.read_parquet(company / "tickets")
    assert (customers["owner_id"].map(staff["role"]) == "sales").all()
    assert (tickets["agent_id"].map(staff["role"]) == "service").all()


def test_targets_are_set_from_the_whole_company(company):
    orders = pd.read_parquet(company / "orders")
    paid = orders.loc[orders["status"] == "paid"]
    actual = paid.groupby(paid["order_date"].dt.to_period("M").astype("str"))["amount"].sum()
    targets = pd.read_parquet(company / "targets.parquet")
    company_revenue = targets.loc[
        targets["owner_id"].isna()
        & (targets["kpi"] == "revenue")
        & ~targets["period"].str.contains("Q")
    ].set_index("period")["target"]
    ratio = company_revenue / actual.reindex(company_revenue.index)
    assert ratio.between(0.94, 1.13).all()


def test_marker_records_arguments_and_rows(company):
    marker = json.loads((company / "_SUCCESS").read_text())
    assert marker["n_customers"] == N
    assert marker["seed"] == SEED
    assert marker["chunk_customers"] == CHUNK
    assert marker["chunks"] == 3
    for table in PARTS:
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in (company / table).glob("*.parquet"))
        assert marker["rows"][table] == rows, table
    for table in ("staff", "targets", "assessments"):
        assert marker["rows"][table] == len(pd.read_parquet(company / f"{table}.parquet"))


def test_dtypes_are_those_generate_makes(company):
    made = generate(300, seed=1).tables
    for table in PARTS:
        schemas = [pq.read_schema(f) for f in sorted((company / table).glob("*.parquet"))]
        assert all(s.remove_metadata().equals(schemas[0].remove_metadata()) for s in schemas)
        read = pd.read_parquet(company / table)
        assert read.dtypes.to_dict() == made[table].dtypes.to_dict(), table


def test_loader_reads_it_and_rejects_nothing(company):
    ds = load(company)
    marker = json.loads((company / "_SUCCESS").read_text())
    assert len(ds.rejected) == 0
    assert len(ds.customers) == N
    assert len(ds.orders) == marker["rows"]["orders"]
    assert len(ds.tickets) == marker["rows"]["tickets"]


def test_same_seed_same_files_other_seed_other_data(tmp_path):
    a = write_partitioned(tmp_path / "a", 300, seed=5, chunk_customers=100)
    b = write_partitioned(tmp_path / "b", 300, seed=5, chunk_customers=100)
    c = write_partitioned(tmp_path / "c", 300, seed=6, chunk_customers=100)
    for table in ("customers", "orders"):
        for x, y in zip(parts(a, table), parts(b, table), strict=True):
            pd.testing.assert_frame_equal(x, y)
    assert not parts(a, "orders")[0].equals(parts(c, "orders")[0])
    # chunks get different seeds, not copies of one another
    first, second = parts(a, "customers")[:2]
    assert not np.array_equal(first["signup_date"], second["signup_date"])


def test_marker_short_circuits_a_second_call(tmp_path, monkeypatch):
    out = write_partitioned(tmp_path, 300, seed=1, chunk_customers=100)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")}

    def fail(*args, **kwargs):
        raise AssertionError("generate must not run again")

    monkeypatch.setattr(synthetic, "generate", fail)
    assert write_partitioned(tmp_path, 300, seed=1, chunk_customers=100) == out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")} == before
    with pytest.raises(AssertionError, match="must not run"):  # other arguments: regenerate
        write_partitioned(tmp_path, 300, seed=2, chunk_customers=100)


def test_interrupted_or_incomplete_write_is_redone(tmp_path, monkeypatch):
    out = write_partitioned(tmp_path, 300, seed=1, chunk_customers=100)
    calls = []
    real = synthetic.generate

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(synthetic, "generate", counting)
    (out / "orders" / "part-00001.parquet").unlink()  # a part lost after the marker
    write_partitioned(tmp_path, 300, seed=1, chunk_customers=100)
    assert len(calls) == 3
    (out / "_SUCCESS").unlink()  # an interrupted write: no marker
    write_partitioned(tmp_path, 300, seed=1, chunk_customers=100)
    assert len(calls) == 6
    assert (out / "orders" / "part-00001.parquet").is_file()


def test_rewrite_removes_stale_parts_and_tables(tmp_path):
    write_partitioned(tmp_path, 300, seed=1, chunk_customers=100, tables=("orders", "customers"))
    (tmp_path / "tickets.csv").write_text("stale")
    write_partitioned(tmp_path, 300, seed=1, chunk_customers=150)
    assert len(list((tmp_path / "orders").glob("*.parquet"))) == 2
    assert not (tmp_path / "tickets.csv").exists()
    assert len(load(tmp_path).customers) == 300


def test_company_without_tickets(tmp_path):
    assert len(generate(100, seed=1, tickets_per_order=0.0).tables["tickets"]) == 0
    out = write_partitioned(
        tmp_path, 200, chunk_customers=100, tables=("customers", "tickets"), tickets_per_order=0.0
    )
    assert [len(p) for p in parts(out, "tickets")] == [0, 0]


def test_generate_id_offsets_and_widths():
    sd = generate(
        50,
        seed=2,
        id_offsets={"customers": 9_999_950, "orders": 7, "tickets": 3},
        id_widths={"customers": 8, "orders": 10, "tickets": 9},
    )
    ids = sd.tables["customers"]["customer_id"]
    assert ids.iloc[0] == "C09999951" and ids.iloc[-1] == "C10000000"
    assert sd.tables["orders"]["order_id"].iloc[0] == "O0000000008"
    assert sd.tables["tickets"]["ticket_id"].iloc[0] == "T000000004"
    plain = generate(50, seed=2)
    assert plain.tables["customers"]["customer_id"].iloc[0] == "C000001"
    pd.testing.assert_series_equal(plain.tables["orders"]["amount"], sd.tables["orders"]["amount"])
    with pytest.raises(ValueError, match="id_offsets"):
        generate(50, id_offsets={"surveys": 1})
    with pytest.raises(ValueError, match="id_widths"):
        generate(50, id_widths={"orders": 0})
    with pytest.raises(ValueError, match="staff_for_customers"):
        generate(50, staff_for_customers=3)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_customers": 5}, "n_customers"),
        ({"n_customers": 100.0}, "n_customers"),
        ({"chunk_customers": 5}, "chunk_customers"),
        ({"n_customers": 15, "chunk_customers": 10}, "chunk_customers"),
        ({"seed": -1}, "seed"),
        ({"tables": ("orders", "bogus")}, "tables"),
        ({"tables": "orders"}, "tables"),
        ({"tables": ()}, "tables"),
        ({"faults": 0.01}, "faults"),
        ({"id_offsets": {"customers": 5}}, "id_offsets"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, name):
    args = {"n_customers": 100, "chunk_customers": 50, **kwargs}
    with pytest.raises(ValueError, match=name):
        write_partitioned(tmp_path, **args)
    assert not any(tmp_path.iterdir())  # nothing written
