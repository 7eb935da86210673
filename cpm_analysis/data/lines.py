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

import numpy as np
import pandas as pd

from cpm_analysis.data import reasons
from cpm_analysis.data.distinct import codes_of, compact, take
from cpm_analysis.data.schema import TABLES
from cpm_analysis.data.validate import _Quarantine, check_columns, convert_table
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


DENSE_CELLS = 20_000_000
"""Above this many (group, value) cells the best value per group is found by sorting."""


def best_per_group(
    groups: np.ndarray,
    n_groups: int,
    values: np.ndarray,
    n_values: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Return, per group, the value code with the largest total ``weights``.

    Each row weighs 1 when ``weights`` is ``None``. Ties go to the lowest code; a group without
    values gets ``-1``. Rows with a negative group or value code are ignored.

    Examples
    --------
    >>> best_per_group(np.array([0, 0, 0, 1]), 3, np.array([1, 0, 1, 0]), 2).tolist()
    [1, 0, -1]
    """
    ok = (groups >= 0) & (values >= 0)
    if ok.all():
        g, v, w = groups, values, weights
    else:
        g, v, w = groups[ok], values[ok], None if weights is None else weights[ok]
    best = np.full(n_groups, -1, dtype=np.int64)
    if not len(g):
        return best
    pair = g * n_values + v
    if n_groups * n_values <= DENSE_CELLS:
        cells = n_groups * n_values
        counts = np.bincount(pair, minlength=cells).reshape(n_groups, n_values)
        present = counts.any(axis=1)
        if w is None:  # a value seen scores its count, one not seen 0: argmax picks a seen one
            chosen = counts.argmax(axis=1)  # argmax: the first (lowest) code of ties
        else:
            score = np.abs(np.bincount(pair, weights=w, minlength=cells))
            score = score.reshape(n_groups, n_values)
            score[counts == 0] = -1.0
            chosen = score.argmax(axis=1)
        best[present] = chosen[present]
        return best
    unique, inverse = np.unique(pair, return_inverse=True)
    score = np.abs(np.bincount(inverse, weights=w))
    g_u, v_u = unique // n_values, unique % n_values
    order = np.lexsort((v_u, -score, g_u))
    g_sorted = g_u[order]
    first = np.r_[True, g_sorted[1:] != g_sorted[:-1]]
    best[g_sorted[first]] = v_u[order][first]
    return best


ORDER_FAULTS = reasons.ORDER_FAULTS
"""The reasons :func:`order_faults` gives, by fault code (0: no fault)."""


def order_fault_codes(
    lines: pd.DataFrame,
    bad: np.ndarray,
    order_codes: np.ndarray | None = None,
    customer_codes: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`order_faults` as a small code per line: its position in :data:`ORDER_FAULTS`.

    Examples
    --------
    >>> lines = pd.DataFrame({"order_id": ["1", "1", "2"], "customer_id": ["a", "b", "c"]})
    >>> order_fault_codes(lines, np.zeros(3, dtype=bool)).tolist()
    [2, 2, 0]
    """
    codes = order_codes if order_codes is not None else codes_of(lines["order_id"])[0]
    known = codes >= 0
    n = max(int(codes.max()) + 1 if len(codes) else 0, 1)
    safe = codes if known.all() else np.where(known, codes, 0)
    fault = np.zeros(len(lines), dtype=np.int8)
    has_bad = np.zeros(n, dtype=bool)
    has_bad[codes[bad & known]] = True
    mask = known & ~bad & has_bad[safe] if has_bad.any() else np.zeros(len(lines), dtype=bool)
    fault[mask] = 1
    for code, column in ((2, "customer_id"), (3, "status")):
        if column not in lines:
            continue
        good = known & ~bad & ~mask
        given = customer_codes if column == "customer_id" else None
        values = given if given is not None else codes_of(lines[column])[0]
        # any line's value stands for its order: the order is incoherent when a line differs
        if good.all():
            order_of, value = codes, values
        else:
            rows = np.flatnonzero(good)
            order_of, value = codes[rows], values[rows]
        reference = np.full(n, -2, dtype=np.int64)
        reference[order_of] = value
        several = np.zeros(n, dtype=bool)
        several[order_of[value != reference[order_of]]] = True
        if several.any():
            hit = good & several[safe]
            mask |= hit
            fault[hit] = code
    return fault


def order_faults(
    lines: pd.DataFrame,
    bad: np.ndarray,
    order_codes: np.ndarray | None = None,
    customer_codes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
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
    fault = order_fault_codes(lines, bad, order_codes, customer_codes)
    return fault > 0, np.array(ORDER_FAULTS, dtype=object)[fault]


def aggregate_lines(lines: pd.DataFrame, order_codes: np.ndarray | None = None) -> pd.DataFrame:
    """Return the orders of typed, coherent order lines (see the module rules).

    Parameters
    ----------
    lines : DataFrame
        Typed lines that passed every check, with ``line_amount`` (see :func:`line_amounts`).
    order_codes : array, optional
        ``codes_of(lines["order_id"])[0]`` when already computed.

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
    if order_codes is None:
        codes = codes_of(lines["order_id"])[0]
    else:
        codes = order_codes
    codes, first = compact(codes)  # a subset of lines: its orders numbered 0..n-1
    n = len(first)
    out = pd.DataFrame({"order_id": _at(lines["order_id"], first)})
    out["customer_id"] = _at(lines["customer_id"], first)
    dates = lines["order_date"].to_numpy().astype("datetime64[ns]").view("int64")
    earliest = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(earliest, codes, dates)
    out["order_date"] = earliest.view("datetime64[ns]")
    amount = lines["line_amount"].to_numpy(dtype="float64", na_value=np.nan)
    out["amount"] = np.bincount(codes, weights=amount, minlength=n)
    if "quantity" in lines:
        quantity = lines["quantity"].to_numpy(dtype="float64", na_value=np.nan)
        given = ~np.isnan(quantity)
        total = np.bincount(codes, weights=np.where(given, quantity, 0.0), minlength=n)
        counted = np.bincount(codes, weights=given.astype("float64"), minlength=n)
        out["quantity"] = np.where(counted > 0, total, np.nan)
    if "category" in lines:
        category, names = codes_of(lines["category"], sort=True)
        best = best_per_group(codes, n, category, max(len(names), 1), amount)
        out["category"] = take(pd.Series(names, dtype="str"), best)
    negative = out["amount"].to_numpy() < 0
    default = take(pd.Series(["paid", "refunded"], dtype="str"), negative.astype(np.int64))
    if "status" in lines:
        status = _at(lines["status"], first)
        out["status"] = status.where(status.notna(), default)
    else:
        out["status"] = default
    return out


def _at(column: pd.Series, rows: np.ndarray) -> pd.Series:
    """``column`` at the positions ``rows`` as text, with a fresh ``RangeIndex``."""
    return column.iloc[rows].reset_index(drop=True).astype("str")


def most_frequent(
    keys: pd.Series, values: pd.Series, key_codes: tuple[np.ndarray, pd.Index] | None = None
) -> pd.Series:
    """Each key's most frequent non-missing value (ties: the first in sort order).

    Examples
    --------
    >>> most_frequent(pd.Series(["a", "a", "a", "b"]), pd.Series(["x", "y", "y", None]))
    a      y
    b    NaN
    dtype: str
    """
    k, key_names = key_codes if key_codes is not None else codes_of(keys)
    v, names = codes_of(values, sort=True)
    best = best_per_group(k, len(key_names), v, max(len(names), 1))
    if pd.api.types.is_string_dtype(values.dtype):
        return take(pd.Series(names, dtype="str"), best, pd.Index(key_names))
    labels = np.asarray(names, dtype=object)
    chosen = np.where(best >= 0, labels[np.maximum(best, 0)] if len(labels) else None, None)
    dtype = "str" if pd.api.types.is_string_dtype(values.dtype) else None
    if dtype is None:
        out = pd.Series(chosen, index=pd.Index(key_names))
        return out.infer_objects()
    return pd.Series(chosen, index=pd.Index(key_names), dtype=dtype)


def customer_attributes(frame: pd.DataFrame, table: str, mapped: Iterable[str] = ()) -> list[str]:
    """Return the columns of ``table`` that describe the customer rather than the order.

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
    orders: pd.DataFrame,
    carriers: pd.DataFrame | None = None,
    attributes: Iterable[str] = (),
    carrier_codes: tuple[np.ndarray, pd.Index] | None = None,
    customer_codes: tuple[np.ndarray, pd.Index] | None = None,
) -> pd.DataFrame:
    """Return a customers table from typed orders: first order date and most frequent attributes.

    Parameters
    ----------
    orders : DataFrame
        Typed orders (any status) with ``customer_id`` and ``order_date``.
    carriers : DataFrame, optional
        The rows that carry the attributes (the lines, or the orders); default ``orders``.
    attributes : iterable of str
        Columns of ``carriers`` to take each customer's most frequent value of.
    carrier_codes : (codes, ids), optional
        ``codes_of(carriers["customer_id"])`` when already computed.
    customer_codes : (codes, ids), optional
        Codes of ``orders["customer_id"]`` into ``ids``, in any numbering (the lines' codes
        at each order's first line), when already known.

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
    if customer_codes is None:
        codes, ids = codes_of(orders["customer_id"])
    else:
        codes, first = compact(customer_codes[0])  # as codes_of(orders["customer_id"])
        ids = pd.Index(customer_codes[1].take(customer_codes[0][first]))
    known = codes >= 0
    dates = orders["order_date"].to_numpy().astype("datetime64[ns]").view("int64")
    signup = np.full(len(ids), np.iinfo(np.int64).max, dtype=np.int64)  # every id has an order
    np.minimum.at(signup, codes[known], dates[known])
    out = pd.DataFrame(
        {"customer_id": pd.Series(ids, dtype="str"), "signup_date": signup.view("datetime64[ns]")}
    )
    carriers = orders if carriers is None else carriers
    attributes = list(attributes)
    if attributes:
        key_codes = (
            carrier_codes if carrier_codes is not None else codes_of(carriers["customer_id"])
        )
        position = key_codes[1].get_indexer(out["customer_id"])
        for column in attributes:
            values = most_frequent(carriers["customer_id"], carriers[column], key_codes)
            if pd.api.types.is_string_dtype(carriers[column].dtype):
                out[column] = take(values, position)
                continue
            chosen = values.to_numpy(dtype=object)
            picked = np.where(position >= 0, chosen[np.maximum(position, 0)], None)
            out[column] = pd.Series(picked)
    return out


class CheckedLines:
    """Typed order lines with their quarantine (line faults, then order faults).

    Made by :func:`read_lines`; :meth:`good` gives the lines that make orders, :meth:`finish`
    rejects the lines of orders rejected later (unknown customer, ...) and gives the kept lines.
    """

    def __init__(
        self,
        typed: pd.DataFrame,
        quarantine: _Quarantine,
        order_codes: np.ndarray,
        customer_codes: tuple[np.ndarray, pd.Index],
    ):
        self.typed = typed
        self.q = quarantine
        self.order_codes = order_codes
        self.customer_codes = customer_codes
        self._good: pd.DataFrame | None = None
        self._orders: tuple[np.ndarray, np.ndarray] | None = None

    def good(self) -> pd.DataFrame:
        """Return the lines without a fault, in source order."""
        if self._good is None:
            self._good = self.typed.loc[~self.q.bad] if self.q.bad.any() else self.typed
        return self._good

    def good_customer_codes(self) -> tuple[np.ndarray, pd.Index]:
        """``codes_of`` the good lines' customer ids (the codes of every line, subset)."""
        codes, ids = self.customer_codes
        return (codes[~self.q.bad] if self.q.bad.any() else codes), ids

    def _order_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the good lines' order codes numbered 0..n-1 and each order's first line.

        See :func:`~cpm_analysis.data.distinct.compact`.
        """
        if self._orders is None:
            good = ~self.q.bad
            self._orders = compact(self.order_codes if good.all() else self.order_codes[good])
        return self._orders

    def orders(self) -> pd.DataFrame:
        """Return the orders of the good lines (:func:`aggregate_lines`)."""
        return aggregate_lines(self.good(), self._order_codes()[0])

    def order_customer_codes(self) -> tuple[np.ndarray, pd.Index]:
        """Return the codes of the customer ids of :meth:`orders`, for :func:`derive_customers`.

        They are the lines' codes at each order's first line.
        """
        customers, ids = self.good_customer_codes()
        return customers[self._order_codes()[1]], ids

    def finish(
        self, orders: pd.DataFrame, orders_q: _Quarantine
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Reject the lines of the rejected ``orders``, with the order's reason.

        Returns the kept lines (fresh index) and every rejected line.
        """
        if orders_q.bad.any():
            why = pd.Series(orders_q.reason[orders_q.bad], index=orders["order_id"][orders_q.bad])
            columns = pd.Series(orders_q.column[orders_q.bad], index=why.index)
            order_id = self.typed["order_id"]
            hit = isin(order_id, why.index) & ~self.q.bad
            if hit.any():
                self.q.add(hit, "customer_id", order_id.map(why))
                self.q.column[hit] = order_id[hit].map(columns).to_numpy(dtype=object)
        kept = (
            self.typed.loc[~self.q.bad].reset_index(drop=True) if self.q.bad.any() else self.typed
        )
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
    check_columns("order_lines", raw)
    require_line_amounts(raw.columns)
    id_codes: dict[str, tuple[np.ndarray, pd.Index]] = {}
    typed, q = convert_table("order_lines", raw, dayfirst=dayfirst, now=now, codes=id_codes)
    if "line_amount" in typed:
        q.add(typed["line_amount"].isna().to_numpy(), "line_amount", reasons.missing("line_amount"))
    else:
        for column in ("quantity", "unit_price"):
            q.add(typed[column].isna().to_numpy(), column, reasons.missing(column))
        typed["line_amount"] = line_amounts(typed)
    order_codes = id_codes["order_id"][0]  # codes_of(typed["order_id"]), computed on the way
    customer_codes = id_codes["customer_id"]
    fault = order_fault_codes(typed, q.bad.copy(), order_codes, customer_codes[0])
    if fault.any():
        q.add(fault > 0, "order_id", np.array(ORDER_FAULTS, dtype=object)[fault])
    return CheckedLines(typed, q, order_codes, customer_codes)
