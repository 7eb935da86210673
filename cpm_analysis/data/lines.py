"""Order lines into orders, and customers derived from orders or lines.

Order lines (table ``order_lines``) are aggregated into the canonical orders, vectorised:

- ``amount`` is the sum of ``line_amount`` (or of ``quantity * unit_price`` when the lines have
  no ``line_amount``); ``order_date`` the earliest line; ``quantity`` the sum; ``category`` the
  one with the largest share of the order's absolute amount (ties: the first name in sort order);
- ``status`` is the lines' status when they give one; an order whose total is negative is a
  return (``refunded``) unless a status says otherwise; otherwise ``paid``.

An order is never half kept: when one of its lines is rejected (unparseable date, missing
customer id, ...), or its lines disagree on the customer or the status, every other line of the
order is rejected too, with the reason ``order has rejected lines`` (or the disagreement), and
the order does not exist. Rejected lines keep their row number in the source (table
``order_lines``).

When the source has no ``customers`` table, :func:`derive_customers` makes one: a row per
customer id, ``signup_date`` the first order (any status), and each customer attribute the
lines (or orders) carry as the customer's most frequent value (ties: the first in sort order).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.data.schema import TABLES
from cpm_analysis.exceptions import DataValidationError
from cpm_analysis.frames import isin

# customer columns an order line or order may carry (the contract's customer attributes)
CUSTOMER_ATTRIBUTES: tuple[str, ...] = ("name", "email", "phone", "owner_id", "region")


def require_line_amounts(columns: Iterable[str]) -> None:
    """Raise unless the lines have ``line_amount`` or both ``quantity`` and ``unit_price``.

    Examples
    --------
    >>> require_line_amounts(["order_id", "quantity", "unit_price"])
    """
    columns = set(columns)
    if "line_amount" in columns or {"quantity", "unit_price"} <= columns:
        return
    missing = "unit_price" if "quantity" in columns else "line_amount"
    raise DataValidationError(
        f"order_lines: required column '{missing}' is missing: lines need line_amount, or "
        "quantity and unit_price. Map your columns onto them, e.g. mapping={'order_lines': "
        "{'Sales': 'line_amount'}}.",
        table="order_lines",
        column=missing,
    )


def line_amounts(lines: pd.DataFrame) -> pd.Series:
    """Each line's value: ``line_amount``, else ``quantity * unit_price``.

    Examples
    --------
    >>> line_amounts(pd.DataFrame({"quantity": [2.0], "unit_price": [1.5]})).tolist()
    [3.0]
    """
    if "line_amount" in lines:
        return lines["line_amount"]
    return (lines["quantity"] * lines["unit_price"]).rename("line_amount")


def order_faults(lines: pd.DataFrame, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lines to reject because of their order, and the reason for each (vectorised).

    ``bad`` marks the lines already rejected for their own faults. Returns the mask of the
    other lines of orders that have a rejected line or whose lines disagree on customer_id
    or status, and the reasons.

    Examples
    --------
    >>> lines = pd.DataFrame({"order_id": ["1", "1", "2"], "customer_id": ["a", "a", "b"]})
    >>> mask, reason = order_faults(lines, np.array([True, False, False]))
    >>> mask.tolist(), reason[1]
    ([False, True, False], 'order has rejected lines')
    """
    order = lines["order_id"]
    known = order.notna().to_numpy()
    codes, _ = pd.factorize(order)
    n = max(int(codes.max()) + 1 if len(codes) else 0, 1)
    reason = np.empty(len(lines), dtype=object)
    mask = np.zeros(len(lines), dtype=bool)
    # orders with a rejected line
    has_bad = np.zeros(n, dtype=bool)
    has_bad[codes[bad & known]] = True
    hit = known & ~bad & has_bad[np.where(known, codes, 0)]
    mask |= hit
    reason[hit] = "order has rejected lines"
    for column in ("customer_id", "status"):
        if column not in lines:
            continue
        good = known & ~bad & ~mask
        values = lines[column].where(pd.Series(good, index=lines.index))
        frame = pd.DataFrame({"o": codes[good], "v": values[good].fillna("\x00").to_numpy()})
        distinct = frame.drop_duplicates().groupby("o").size()
        several = np.zeros(n, dtype=bool)
        several[distinct.index[distinct.to_numpy() > 1]] = True
        hit = good & several[np.where(known, codes, 0)]
        mask |= hit
        reason[hit] = f"order lines disagree on {column}"
    return mask, reason


def aggregate_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """The orders of typed, coherent order lines (see the module rules).

    Parameters
    ----------
    lines : DataFrame
        Typed lines that passed every check, with ``line_amount`` (see :func:`line_amounts`).

    Returns
    -------
    DataFrame
        One row per order: ``order_id``, ``customer_id``, ``order_date``, ``amount``,
        ``status`` and, when the lines have them, ``quantity`` and ``category``; in the order
        of each order's first line.

    Examples
    --------
    >>> lines = pd.DataFrame({
    ...     "order_id": ["A", "A", "B"], "customer_id": ["1", "1", "2"],
    ...     "order_date": pd.to_datetime(["2024-01-02", "2024-01-01", "2024-02-01"]),
    ...     "line_amount": [5.0, 3.0, -2.0], "category": ["x", "y", "x"]})
    >>> aggregate_lines(lines)[["order_id", "amount", "status", "category"]].values.tolist()
    [['A', 8.0, 'paid', 'x'], ['B', -2.0, 'refunded', 'x']]
    """
    codes, uniques = pd.factorize(lines["order_id"])
    groups = pd.Series(codes, index=lines.index)
    first = np.unique(codes, return_index=True)[1]
    out = pd.DataFrame(
        {
            "order_id": pd.Series(uniques, dtype="str"),
            "customer_id": lines["customer_id"].to_numpy()[first],
        }
    )
    out["customer_id"] = out["customer_id"].astype("str")
    out["order_date"] = lines["order_date"].groupby(groups).min().to_numpy()
    amount = lines["line_amount"].groupby(groups).sum()
    out["amount"] = amount.to_numpy(dtype="float64")
    if "quantity" in lines:
        out["quantity"] = lines["quantity"].groupby(groups).sum(min_count=1).to_numpy()
    if "category" in lines:
        share = pd.DataFrame(
            {"o": codes, "c": lines["category"].to_numpy(), "a": lines["line_amount"].to_numpy()}
        )
        share = share.loc[share["c"].notna()]
        sums = share.groupby(["o", "c"], sort=False)["a"].sum().abs().reset_index()
        sums = sums.sort_values(["o", "a", "c"], ascending=[True, False, True], kind="stable")
        best = sums.drop_duplicates("o").set_index("o")["c"]
        out["category"] = pd.Series(best.reindex(range(len(out))).to_numpy(), dtype="str")
    status = None
    if "status" in lines:
        status = pd.Series(lines["status"].to_numpy()[first], dtype="str")
    negative = out["amount"] < 0
    default = pd.Series(np.where(negative, "refunded", "paid"), dtype="str")
    out["status"] = default if status is None else status.where(status.notna(), default)
    return out


def most_frequent(keys: pd.Series, values: pd.Series) -> pd.Series:
    """Each key's most frequent non-missing value (ties: the first in sort order).

    Examples
    --------
    >>> most_frequent(pd.Series(["a", "a", "a", "b"]), pd.Series(["x", "y", "y", None]))
    a      y
    b    NaN
    dtype: str
    """
    frame = pd.DataFrame({"k": keys.to_numpy(), "v": values.to_numpy()})
    counts = frame.dropna(subset=["v"]).groupby(["k", "v"], sort=False).size()
    counts = counts.rename("n").reset_index()
    counts = counts.sort_values(["k", "n", "v"], ascending=[True, False, True], kind="stable")
    best = counts.drop_duplicates("k").set_index("k")["v"]
    index = pd.Index(pd.unique(keys.dropna()))
    out = best.reindex(index)
    out.index.name = None
    out.name = None
    return out.astype(values.dtype) if pd.api.types.is_string_dtype(values.dtype) else out


def customer_attributes(frame: pd.DataFrame, table: str, mapped: Iterable[str] = ()) -> list[str]:
    """The columns of ``table`` that describe the customer rather than the order.

    The contract's customer attributes (:data:`CUSTOMER_ATTRIBUTES`) and the columns that the
    mapping named for ``table`` with a name that is not one of the table's own columns
    (``Segment: segment``). Unmapped extra columns stay on the orders or lines only.

    Examples
    --------
    >>> customer_attributes(pd.DataFrame(columns=["order_id", "region", "segment", "Row ID"]),
    ...                     "order_lines", mapped=["segment"])
    ['region', 'segment']
    """
    spec = TABLES[table]
    own = {c.name for c in spec.columns} - set(CUSTOMER_ATTRIBUTES)
    mapped = set(mapped)
    return [
        c
        for c in frame.columns
        if c not in own and c != "customer_id" and (c in CUSTOMER_ATTRIBUTES or c in mapped)
    ]


def derive_customers(
    orders: pd.DataFrame, carriers: pd.DataFrame | None = None, attributes: Iterable[str] = ()
) -> pd.DataFrame:
    """A customers table from typed orders: first order date and most frequent attributes.

    Parameters
    ----------
    orders : DataFrame
        Typed orders (any status) with ``customer_id`` and ``order_date``.
    carriers : DataFrame, optional
        The rows that carry the attributes (the lines, or the orders); default ``orders``.
    attributes : iterable of str
        Columns of ``carriers`` to take each customer's most frequent value of.

    Returns
    -------
    DataFrame
        ``customer_id``, ``signup_date`` and the attributes, in order of first appearance.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["b", "a", "b"], "region": ["W", "E", "W"],
    ...     "order_date": pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01"])})
    >>> derive_customers(orders, attributes=["region"]).values.tolist()
    [['b', Timestamp('2024-02-01 00:00:00'), 'W'], ['a', Timestamp('2024-01-01 00:00:00'), 'E']]
    """
    first = orders.groupby("customer_id", sort=False)["order_date"].min()
    out = pd.DataFrame(
        {"customer_id": pd.Series(first.index, dtype="str"), "signup_date": first.to_numpy()}
    )
    carriers = orders if carriers is None else carriers
    for column in attributes:
        values = most_frequent(carriers["customer_id"], carriers[column])
        out[column] = values.reindex(out["customer_id"]).to_numpy()
        if pd.api.types.is_string_dtype(carriers[column].dtype):
            out[column] = out[column].astype("str")
    return out


class CheckedLines:
    """Typed order lines with their quarantine (line faults, then order faults).

    Made by :func:`read_lines`; :meth:`good` gives the lines that make orders, :meth:`finish`
    rejects the lines of orders rejected later (unknown customer, ...) and gives the kept lines.
    """

    def __init__(self, typed: pd.DataFrame, quarantine: Any):
        self.typed = typed
        self.q = quarantine
        self._good: pd.DataFrame | None = None

    def good(self) -> pd.DataFrame:
        """The lines without a fault, in source order."""
        if self._good is None:
            self._good = self.typed.loc[~self.q.bad]
        return self._good

    def finish(self, orders: pd.DataFrame, orders_q: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Reject the lines of the rejected ``orders`` (with the order's reason); kept lines
        (fresh index) and every rejected line."""
        if orders_q.bad.any():
            reasons = pd.Series(
                orders_q.reason[orders_q.bad], index=orders["order_id"][orders_q.bad]
            )
            columns = pd.Series(orders_q.column[orders_q.bad], index=reasons.index)
            order_id = self.typed["order_id"]
            hit = isin(order_id, reasons.index) & ~self.q.bad
            if hit.any():
                self.q.add(hit, "customer_id", order_id.map(reasons))
                self.q.column[hit] = order_id[hit].map(columns).to_numpy(dtype=object)
        kept = self.typed.loc[~self.q.bad].reset_index(drop=True)
        return kept, self.q.frame()


def read_lines(
    raw: pd.DataFrame, *, dayfirst: bool = False, now: pd.Timestamp | None = None
) -> CheckedLines:
    """Type order lines and quarantine their faults, an order's lines together.

    Examples
    --------
    >>> raw = pd.DataFrame({"order_id": ["1", "1", "2"], "customer_id": ["a", None, "b"],
    ...                     "order_date": ["2024-01-01"] * 3, "line_amount": ["1", "2", "3"]})
    >>> checked = read_lines(raw)
    >>> checked.good()["order_id"].tolist(), checked.q.reason.tolist()
    (['2'], ['order has rejected lines', 'missing customer_id', None])
    """
    from cpm_analysis.data.validate import check_columns, convert_table

    check_columns("order_lines", raw)
    require_line_amounts(raw.columns)
    typed, q = convert_table("order_lines", raw, dayfirst=dayfirst, now=now)
    if "line_amount" in typed:
        q.add(typed["line_amount"].isna().to_numpy(), "line_amount", "missing line_amount")
    else:
        for column in ("quantity", "unit_price"):
            q.add(typed[column].isna().to_numpy(), column, f"missing {column}")
        typed["line_amount"] = line_amounts(typed)
    mask, reason = order_faults(typed, q.bad.copy())
    q.add(mask, "order_id", pd.Series(reason, index=typed.index))
    return CheckedLines(typed, q)
