"""Whether a validated dataset can be used at all, and if not, why.

Row faults are quarantined, but some patterns of faults mean the whole source is wrong, and a
report built on what is left would mislead. :func:`usability_problems` finds them; the loader
raises :class:`~cpm_analysis.exceptions.DataValidationError` with the first one (carrying the
dataset, so ``cpm validate`` can still show the counts) and ``cpm validate`` prints
``usable: no`` with the reasons:

- a required table (customers, orders) keeps no rows;
- most orders (or order lines) are rejected because their customer is unknown: the message shows
  an id from each side, since ids formatted differently are the usual cause;
- most orders repeat an order id: the table holds order lines, to be given as ``order_lines``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cpm_analysis.data import reasons

if TYPE_CHECKING:
    from cpm_analysis.data.dataset import Dataset

MOST = 0.5
"""More than this share of a table's rows is "most"."""


@dataclass(frozen=True)
class Problem:
    """Why a dataset is not usable: the table concerned and a one-line message."""

    table: str
    message: str


def _example(rejected: Any, column: str) -> str:
    try:
        return str(json.loads(rejected["values"].iloc[0]).get(column))
    except (ValueError, IndexError, AttributeError):
        return "?"


def usability_problems(ds: Dataset, read: Mapping[str, int]) -> list[Problem]:
    """Return the reasons ``ds`` is not usable (empty when it is).

    Parameters
    ----------
    ds : Dataset
        The validated dataset.
    read : mapping
        Rows read per source table.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(50, seed=1).to_dataset()
    >>> usability_problems(ds, {"orders": len(ds.orders)})
    []
    """
    problems: list[Problem] = []
    rejected = ds.rejected
    source_orders = "order_lines" if "order_lines" in read else "orders"
    for table, frame in (("customers", ds.customers), ("orders", ds.orders)):
        if len(frame) == 0:
            origin = source_orders if table == "orders" else table
            n = read.get(origin)
            how = f" of {n:,} rows read from {origin}" if n else ""
            derived = ds.derived.get(table)
            via = f" (derived from {derived})" if derived and table == "customers" else ""
            problems.append(
                Problem(
                    table,
                    f"{table}: no row was kept{how}{via}; every row was rejected "
                    "(see the reasons).",
                )
            )
    n_read = read.get(source_orders, 0)
    if n_read:
        own = rejected.loc[rejected["table"] == source_orders]
        unknown = own.loc[own["reason"] == reasons.UNKNOWN_CUSTOMER]
        if len(unknown) > MOST * n_read:
            theirs = _example(unknown, "customer_id")
            ours = str(ds.customers["customer_id"].iloc[0]) if len(ds.customers) else "none"
            problems.append(
                Problem(
                    source_orders,
                    f"{source_orders}: {len(unknown):,} of {n_read:,} rows "
                    f"({len(unknown) / n_read:.0%}) reference a customer_id that is not in "
                    f"customers, e.g. '{theirs}' in {source_orders} but ids such as '{ours}' in "
                    "customers: are the ids formatted differently in the two tables?",
                )
            )
        duplicate = own.loc[own["reason"] == reasons.duplicate("order_id")]
        if source_orders == "orders" and len(duplicate) > MOST * n_read:
            problems.append(
                Problem(
                    "orders",
                    f"orders: {len(duplicate):,} of {n_read:,} rows ({len(duplicate) / n_read:.0%})"
                    " repeat an order_id: this looks like order lines. Give the table as "
                    "order_lines (name the file order_lines.csv, or map it in the mapping's "
                    "files section) so that the lines are summed into orders.",
                )
            )
    return problems
