"""Incomplete variants of the bundled sample, for the degrade tests and the report gallery.

Each builder writes a folder of CSV files derived from ``data/sample`` with one kind of input
missing: a table, the account owners, history, or repeat buyers.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
PERIOD = "2025-12"


def _copy(folder: Path, drop: tuple[str, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in SAMPLE.glob("*.csv"):
        if path.stem not in drop:
            shutil.copy(path, folder / path.name)
    return folder


def no_tickets(folder: Path) -> Path:
    return _copy(folder, drop=("tickets",))


def no_targets(folder: Path) -> Path:
    return _copy(folder, drop=("targets",))


def no_staff_or_owners(folder: Path) -> Path:
    _copy(folder, drop=("staff", "assessments"))
    customers = pd.read_csv(folder / "customers.csv", dtype=str)
    customers.drop(columns="owner_id").to_csv(folder / "customers.csv", index=False)
    targets = pd.read_csv(folder / "targets.csv", dtype=str)
    targets.loc[targets["owner_id"].isna()].drop(columns="owner_id").to_csv(
        folder / "targets.csv", index=False
    )
    return folder


def one_year(folder: Path) -> Path:
    """Orders, tickets and surveys of the last twelve months before the end of :data:`PERIOD`."""
    _copy(folder)
    start = "2025-01-01"
    for name, column in (
        ("orders", "order_date"),
        ("tickets", "opened_at"),
        ("surveys", "responded_at"),
    ):
        frame = pd.read_csv(folder / f"{name}.csv", dtype=str)
        frame.loc[frame[column] >= start].to_csv(folder / f"{name}.csv", index=False)
    customers = pd.read_csv(folder / "customers.csv", dtype=str)
    buyers = set(pd.read_csv(folder / "orders.csv", dtype=str)["customer_id"])
    customers.loc[customers["customer_id"].isin(buyers)].to_csv(
        folder / "customers.csv", index=False
    )
    for name in ("tickets", "surveys"):
        frame = pd.read_csv(folder / f"{name}.csv", dtype=str)
        frame.loc[frame["customer_id"].isin(buyers)].to_csv(folder / f"{name}.csv", index=False)
    return folder


def few_repeat_buyers(folder: Path, keep: int = 10) -> Path:
    """Every customer's first order only, except for ``keep`` customers who keep them all."""
    _copy(folder)
    orders = pd.read_csv(folder / "orders.csv", dtype=str).sort_values("order_date", kind="stable")
    repeaters = sorted(orders["customer_id"].unique())[:keep]
    first = ~orders.duplicated("customer_id") | orders["customer_id"].isin(repeaters)
    orders.loc[first].sort_index().to_csv(folder / "orders.csv", index=False)
    return folder


def no_orders_in_period(folder: Path) -> Path:
    """No order dated in :data:`PERIOD` (the shop was closed); tickets and surveys go on."""
    _copy(folder)
    orders = pd.read_csv(folder / "orders.csv", dtype=str)
    orders.loc[orders["order_date"] < "2025-12-01"].to_csv(folder / "orders.csv", index=False)
    return folder


def no_surveys(folder: Path) -> Path:
    return _copy(folder, drop=("surveys",))


VARIANTS: dict[str, Callable[[Path], Path]] = {
    "no_tickets": no_tickets,
    "no_targets": no_targets,
    "no_staff_or_owners": no_staff_or_owners,
    "one_year": one_year,
    "few_repeat_buyers": few_repeat_buyers,
    "no_orders_in_period": no_orders_in_period,
    "no_surveys": no_surveys,
}
