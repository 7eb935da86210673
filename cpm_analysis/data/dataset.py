"""The validated :class:`Dataset` and its point-in-time view."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from cpm_analysis.data.schema import ALL_TABLES, CUSTOMER_TABLES, EVENT_DATE
from cpm_analysis.data.validate import empty_rejected
from cpm_analysis.frames import isin

if TYPE_CHECKING:
    from cpm_analysis.periods import Cutoff


@dataclass
class Dataset:
    """A validated set of customer tables.

    Each table of the data contract is an attribute holding a typed DataFrame, or ``None`` when
    the source has no such table. Ids are strings, datetimes are tz-naive UTC, amounts floats.
    Build one with :func:`cpm_analysis.data.load`, which validates; the constructor does not.

    Attributes
    ----------
    customers, orders : DataFrame
        Required tables.
    tickets, surveys, staff, targets, assessments : DataFrame or None
        Optional tables.
    activities, opportunities : DataFrame or None
        Optional tables: contacts of customers by staff, and sales opportunities.
    order_lines : DataFrame or None
        The kept order lines when the source gave ``order_lines`` (``orders`` is their
        aggregate): ``order_id``, ``customer_id``, ``order_date``, ``line_amount`` and the
        line columns of the source (product, category, ...).
    rejected : DataFrame
        Quarantined rows: ``table``, ``row`` (1-based data row in the source, header not
        counted), ``column``, ``reason``, ``values`` (the raw row as JSON).
    source : str
        Where the data came from (a folder, a database URL with the password hidden, ...).
    cutoff : Timestamp or None
        The point in time of an :meth:`as_of` view; ``None`` for the full data.
    derived : dict
        The tables the loader built from others, and from what: ``{"customers":
        "order_lines"}`` when the source had no customers table, ``{"orders": "order_lines"}``
        for aggregated lines, ``{"staff": "owners"}`` for staff made from an owners sheet.

    Examples
    --------
    >>> from cpm_analysis.data import load
    >>> ds = load("data/sample")
    >>> june = ds.as_of("2024-06")
    >>> june.orders["order_date"].max() <= june.cutoff
    True
    """

    customers: pd.DataFrame
    orders: pd.DataFrame
    tickets: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    staff: pd.DataFrame | None = None
    targets: pd.DataFrame | None = None
    assessments: pd.DataFrame | None = None
    order_lines: pd.DataFrame | None = None
    activities: pd.DataFrame | None = None
    opportunities: pd.DataFrame | None = None
    rejected: pd.DataFrame = field(default_factory=empty_rejected)
    source: str = "<memory>"
    cutoff: pd.Timestamp | None = None
    derived: dict[str, str] = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables present, by name, in contract order."""
        return {name: getattr(self, name) for name in ALL_TABLES if getattr(self, name) is not None}

    def has(self, table: str) -> bool:
        """Whether ``table`` is present (and so the analyses that need it are available)."""
        return getattr(self, table, None) is not None

    @property
    def customer_tables(self) -> tuple[str, ...]:
        """The customer-keyed tables present, in contract order."""
        return tuple(t for t in CUSTOMER_TABLES if getattr(self, t) is not None)

    # --- the dataset protocol (cpm_analysis.data.protocol): the whole data is one bucket ---
    def map_customers(
        self,
        step: Callable[..., pd.DataFrame],
        *,
        tables: tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> pd.DataFrame:
        """``step(self, **kwargs)``: the pandas dataset is one bucket holding every customer.

        ``tables`` (the tables ``step`` reads) matters to the Dask engine only.

        Examples
        --------
        >>> ds = Dataset(customers=pd.DataFrame({"customer_id": ["a"]}),
        ...              orders=pd.DataFrame({"customer_id": ["a"], "amount": [2.0]}))
        >>> ds.map_customers(lambda b: b.orders[["amount"]])["amount"].tolist()
        [2.0]
        """
        return step(self, **kwargs)

    def gather(self, *results: pd.DataFrame) -> list[pd.DataFrame]:
        """Return the results of :meth:`map_customers`, already pandas, as a list.

        Examples
        --------
        >>> Dataset(customers=pd.DataFrame(), orders=pd.DataFrame()).gather(pd.DataFrame())[0].shape
        (0, 0)
        """
        return list(results)

    def collect(self) -> Dataset:
        """Return the whole dataset in pandas: the dataset itself.

        Examples
        --------
        >>> ds = Dataset(customers=pd.DataFrame(), orders=pd.DataFrame())
        >>> ds.collect() is ds
        True
        """
        return self

    def as_of(self, cutoff: Cutoff) -> Dataset:
        """Return a point-in-time copy: nothing dated after ``cutoff`` exists in it.

        Orders, tickets and surveys after the cutoff are gone; customers who signed up later are
        gone (with their rows in every table); a ticket's first response or resolution after the
        cutoff reads as not yet happened (``NaT``, and its satisfaction as not yet given); order
        lines go with their order (an order's date is its earliest line); a
        contract end (``churned_at``) after the cutoff reads as still active; assessments of
        periods ending after the cutoff are gone; activities after the cutoff are gone, and so
        are opportunities created after it, while one closed after it reads as open at the
        cutoff (``closed_at`` and ``won`` missing, and its ``stage`` missing too: the stage of
        an opportunity still open at the cutoff is not known as of the cutoff). Staff and
        targets are plans and stay.

        Parameters
        ----------
        cutoff : str, date or Timestamp
            A period label (``"2024-06"`` means its last instant), a date (``"2024-06-30"``
            means the end of that day) or an exact Timestamp. See
            :func:`cpm_analysis.periods.to_cutoff`.

        Returns
        -------
        Dataset
            A new dataset whose ``cutoff`` attribute is set.

        Examples
        --------
        >>> ds.as_of("2024-Q2").cutoff
        Timestamp('2024-06-30 23:59:59.999999999')
        """
        from cpm_analysis.periods import parse_period, to_cutoff

        ts = to_cutoff(cutoff)
        if self.cutoff is not None and ts > self.cutoff:
            ts = self.cutoff
        customers = self.customers.loc[self.customers["signup_date"] <= ts].copy()
        if "churned_at" in customers:
            customers["churned_at"] = customers["churned_at"].where(customers["churned_at"] <= ts)
        known = customers["customer_id"]
        out: dict[str, Any] = {"customers": customers.reset_index(drop=True)}
        for name in ("orders", "tickets", "surveys", "activities", "opportunities"):
            frame = getattr(self, name)
            if frame is None:
                out[name] = None
                continue
            keep = (frame[EVENT_DATE[name]] <= ts).to_numpy() & isin(frame["customer_id"], known)
            frame = frame.loc[keep].copy()
            if name == "opportunities":
                frame = _open_at(frame, ts)
            if name == "tickets":
                for col in ("first_response_at", "resolved_at"):
                    if col in frame:
                        frame[col] = frame[col].where(frame[col] <= ts)
                if "satisfaction" in frame and "resolved_at" in frame:
                    frame["satisfaction"] = frame["satisfaction"].where(
                        frame["resolved_at"].notna()
                    )
            out[name] = frame.reset_index(drop=True)
        if self.order_lines is not None:
            lines = self.order_lines
            keep = isin(lines["order_id"], out["orders"]["order_id"])
            out["order_lines"] = lines.loc[keep].reset_index(drop=True)
        if self.assessments is not None:
            ends = {label: parse_period(label).end for label in self.assessments["period"].unique()}
            keep = self.assessments["period"].map(ends) <= ts
            out["assessments"] = self.assessments.loc[keep].reset_index(drop=True)
        return replace(self, **out, cutoff=ts)

    def last_date(self) -> pd.Timestamp:
        """Return the latest event date in the data (orders, tickets opened, survey answers).

        Examples
        --------
        >>> ds.last_date()
        Timestamp('2025-12-31 23:59:59')
        """
        dates = [self.orders["order_date"].max()]
        for name in ("tickets", "surveys"):
            frame = getattr(self, name)
            if frame is not None and len(frame):
                dates.append(frame[EVENT_DATE[name]].max())
        return max(d for d in dates if pd.notna(d))

    def summary(self) -> pd.DataFrame:
        """Rows, date range and rejected rows per table, for ``cpm validate`` and the report.

        Examples
        --------
        >>> int(ds.summary().loc["orders", "rows"])
        15735
        """
        records = []
        rejected_counts = self.rejected.groupby("table").size() if len(self.rejected) else {}
        for name in ALL_TABLES:
            frame = getattr(self, name)
            date_col = EVENT_DATE.get(name)
            first = last = pd.NaT
            if frame is not None and date_col in frame and len(frame):
                first, last = frame[date_col].min(), frame[date_col].max()
            records.append(
                {
                    "table": name,
                    "present": frame is not None,
                    "rows": 0 if frame is None else len(frame),
                    "rejected": int(rejected_counts.get(name, 0)) if len(rejected_counts) else 0,
                    "first": first,
                    "last": last,
                }
            )
        return pd.DataFrame.from_records(records).set_index("table")

    def fingerprint(self) -> str:
        """Return a SHA-256 of every table's content: equal data give equal fingerprints.

        Examples
        --------
        >>> len(ds.fingerprint())
        64
        """
        digest = hashlib.sha256()
        for name, frame in self.tables.items():
            digest.update(name.encode())
            digest.update(",".join(map(str, frame.columns)).encode())
            hashed = pd.util.hash_pandas_object(frame, index=False)
            digest.update(hashed.to_numpy().tobytes())
        return digest.hexdigest()

    def __repr__(self) -> str:
        """Show the row count of each table, the rejected rows and the cutoff."""
        parts = [f"{name}={len(frame):,}" for name, frame in self.tables.items()]
        cut = "" if self.cutoff is None else f", cutoff={self.cutoff}"
        return f"Dataset({', '.join(parts)}, rejected={len(self.rejected):,}{cut})"


def _open_at(opportunities: pd.DataFrame, ts: pd.Timestamp) -> pd.DataFrame:
    """Opportunities as at ``ts``: closed later reads as open, an open one's stage as unknown."""
    if "closed_at" in opportunities:
        closed = opportunities["closed_at"] <= ts
        opportunities["closed_at"] = opportunities["closed_at"].where(closed)
    else:
        closed = pd.Series(False, index=opportunities.index)
    if "won" in opportunities:
        opportunities["won"] = opportunities["won"].where(closed.to_numpy(), pd.NA)
    opportunities["stage"] = opportunities["stage"].where(closed.to_numpy())
    return opportunities


DATASET_FIELDS = tuple(f.name for f in fields(Dataset))
