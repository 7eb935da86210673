"""Loading a dataset onto a Dask cluster: validated, partitioned by customer, kept on disk.

:func:`load_dask` (``load(source, engine="dask")``) reads a folder of Parquet files (one file
or a folder of parts per table; CSV works too) lazily and applies the same validation rules as
the pandas loader, partition by partition on the workers:

1. the row-level checks of :func:`~cpm_analysis.data.validate.convert_table` (types, required
   values, bounds, refund signs, ticket times) run per partition;
2. duplicate keys are found from 64-bit hashes of the key column (a hash counted twice makes its
   rows candidates; the candidates, few, are then compared exactly, first row wins as in pandas);
3. rows of unknown customers are found against the hashes of the valid customer ids;
4. rejected rows are written by the workers to ``<work_dir>/rejected/`` (never collected into
   the client's memory); the valid rows are shuffled by ``customer_id`` into ``npartitions``
   buckets and written to ``<work_dir>/<table>/part-NNNNN.parquet``.

Every customer's rows of every table end up in the same bucket, so per-customer work (the RFM
summary, churn features, point-in-time views) runs bucket by bucket with the pandas code itself,
which is what makes the Dask results equal to the pandas ones. The small plan tables (staff,
targets, assessments) are validated first, with pandas, and kept in memory; the staff ids they
hold are checked in activities and opportunities as the pandas loader does.

A later ``load`` with the same ``work_dir`` and unchanged source files reuses the store
(``manifest.json`` records the files' sizes and modification times).

The one difference from the pandas loader: membership in the customers table is decided on
64-bit hashes of the ids, so an order of an unknown customer whose id hashes like a known one
would be kept; with 10 million customers the chance for one unknown id is about 5e-13.

Examples
--------
The examples run on Dask's synchronous scheduler; with a cluster (``cpm report --engine dask``)
the same calls run on its workers.

>>> from cpm_analysis import load
>>> ds = load("data/sample", engine="dask", work_dir=tmp / "store")
>>> ds.counts["orders"]
{'read': 15765, 'kept': 15735, 'rejected': 30}
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.data import reasons
from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.loader import normalise_columns
from cpm_analysis.data.schema import (
    ALL_TABLES,
    EVENT_DATE,
    REQUIRED_TABLES,
    STAFF_REFERENCES,
    TABLES,
)
from cpm_analysis.data.storefile import (
    _ROW,
    CUSTOMER_TABLES,
    MANIFEST,
    PLAN_TABLES,
    STORE_VERSION,
    _bucket_files,
    _read_bucket,
    plain_strings,
    read_store,
)
from cpm_analysis.data.validate import (
    REJECTED_COLUMNS,
    convert_table,
    empty_rejected,
    raw_json,
    require_columns,
    require_rows,
    validate_table,
)
from cpm_analysis.exceptions import DataValidationError
from cpm_analysis.periods import Cutoff
from cpm_analysis.scale.cluster import broadcast

PIECE_ROWS = 1_000_000
"""Rows per partition when reading Parquet (whole row groups are kept together)."""
BUCKET_ORDERS = 2_000_000
"""Orders per customer bucket when ``npartitions`` is not given."""


# --- reading ----------------------------------------------------------------------------------
def _hash_ids(values: pd.Series) -> np.ndarray:
    """64-bit hashes of ids read as strings (equal ids, equal hashes, in every table)."""
    text = values.astype("str")
    return pd.util.hash_pandas_object(text, index=False, categorize=False).to_numpy()


def _read_piece(piece: tuple[str, list[int], int], rename: Mapping[str, str]) -> pd.DataFrame:
    """Row groups of one Parquet file as a frame with the global 1-based ``_row``."""
    import pyarrow.parquet as pq

    path, groups, offset = piece
    parquet = pq.ParquetFile(path)
    table = parquet.read_row_groups(groups) if groups else parquet.schema_arrow.empty_table()
    frame = table.to_pandas()
    frame = frame.rename(columns=dict(rename))
    frame.columns = [str(c).strip() for c in frame.columns]
    frame[_ROW] = np.arange(offset + 1, offset + 1 + len(frame), dtype=np.int64)
    return frame


def _parquet_pieces(path: Path) -> tuple[list[tuple[str, list[int], int]], int]:
    """Return partitions of whole row groups of about :data:`PIECE_ROWS` rows.

    They come in the order pandas reads the files (``pyarrow.dataset``), each with its first
    row's offset.
    """
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    files = pads.dataset(str(path), format="parquet").files if path.is_dir() else [str(path)]
    pieces: list[tuple[str, list[int], int]] = []
    offset = 0
    for name in files:
        meta = pq.ParquetFile(name).metadata
        groups: list[int] = []
        count = 0
        for i in range(meta.num_row_groups):
            rows = meta.row_group(i).num_rows
            if groups and count + rows > PIECE_ROWS:
                pieces.append((name, groups, offset))
                offset += count
                groups, count = [], 0
            groups.append(i)
            count += rows
        if groups:
            pieces.append((name, groups, offset))
            offset += count
    if not pieces and files:
        pieces.append((files[0], [], 0))
    return pieces, offset


def _with_rows(frame: Any) -> tuple[Any, int]:
    """Return a Dask frame with the global 1-based ``_row`` added (partition lengths computed once)."""
    lengths = np.asarray(frame.map_partitions(len).compute(), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)

    def add_rows(part: pd.DataFrame, partition_info: dict | None = None) -> pd.DataFrame:
        start = int(offsets[partition_info["number"]]) if partition_info else 0
        part = part.copy()
        part[_ROW] = np.arange(start + 1, start + 1 + len(part), dtype=np.int64)
        return part

    meta = frame._meta.assign(**{_ROW: np.zeros(0, dtype=np.int64)})
    return frame.map_partitions(add_rows, meta=meta), int(lengths.sum())


@dataclass
class _Raw:
    frame: Any  # dask DataFrame with canonical column names and _row
    rows: int


def _open_raw(table: str, path: Path, rename: Mapping[str, str]) -> _Raw:
    import dask.dataframe as dd

    try:
        if path.is_dir() or path.suffix == ".parquet":
            pieces, rows = _parquet_pieces(path)
            meta = _read_piece((pieces[0][0], [], 0), rename)
            normalise_columns(meta.drop(columns=[_ROW]), table, {})
            frame = dd.from_map(_read_piece, pieces, rename=dict(rename), meta=meta)
            return _Raw(frame, rows)
        frame = dd.read_csv(
            str(path), dtype="str", keep_default_na=False, na_values=[""], blocksize="64MB"
        )
    except DataValidationError:
        raise
    except Exception as err:
        raise DataValidationError(
            f"{table}: cannot read {path} ({type(err).__name__}: {str(err)[:200]}). "
            "Check that it is a valid Parquet file (or folder of parts) or CSV.",
            table=table,
        ) from err
    framed, rows = _with_rows(normalise_columns(frame, table, rename))
    return _Raw(framed, rows)


def _from_memory(table: str, frame: Any, rename: Mapping[str, str]) -> _Raw:
    import dask.dataframe as dd

    if not isinstance(frame, dd.DataFrame):
        if not isinstance(frame, pd.DataFrame):
            raise DataValidationError(
                f"{table}: expected a pandas or Dask DataFrame, got {type(frame).__name__}",
                table=table,
            )
        frame = dd.from_pandas(frame, npartitions=max(1, math.ceil(len(frame) / PIECE_ROWS)))
    framed, rows = _with_rows(normalise_columns(frame, table, rename))
    return _Raw(framed, rows)


def _check_columns(table: str, raw: _Raw) -> None:
    require_columns(table, [c for c in raw.frame.columns if c != _ROW])
    require_rows(table, raw.rows)


# --- per-partition validation -----------------------------------------------------------------
def _row_checks(
    part: pd.DataFrame,
    table: str,
    candidates: np.ndarray,
    valid: np.ndarray | None,
    staff: pd.Index | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, Any, np.ndarray, np.ndarray]:
    """Typed rows, raw rows, row-level faults, unknown-customer mask, candidate mask.

    ``staff``: the valid staff ids, which a staff column of the table must name (a row that
    does not is a row-level fault, as in the pandas loader).
    """
    rows = part[_ROW].to_numpy()
    raw = part.drop(columns=[_ROW]).reset_index(drop=True)
    typed, q = convert_table(table, raw)
    column = STAFF_REFERENCES.get(table)
    if staff is not None and column is not None and column in typed:
        from cpm_analysis.frames import isin

        named = typed[column].notna().to_numpy()
        q.add(~isin(typed[column], staff) & named, column, reasons.unknown_staff(column))
    spec = TABLES[table]
    candidate = np.zeros(len(typed), dtype=bool)
    if spec.key is not None and len(candidates):
        keys = typed[spec.key]
        candidate = np.isin(_hash_ids(keys), candidates) & keys.notna().to_numpy()
    unknown = np.zeros(len(typed), dtype=bool)
    if spec.references_customers and valid is not None:
        ids = typed["customer_id"]
        hashes = _hash_ids(ids)
        found = np.zeros(len(ids), dtype=bool)
        if len(valid):  # valid is sorted: a binary search per id
            position = np.minimum(np.searchsorted(valid, hashes), len(valid) - 1)
            found = valid[position] == hashes
        unknown = ~found & ids.notna().to_numpy()
    typed.index = pd.Index(rows, name=_ROW)
    raw.index = typed.index
    return typed, raw, q, unknown, candidate


def _rejected_frame(
    table: str, rows: np.ndarray, column: Any, reason: Any, raw: pd.DataFrame
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "table": pd.array([table] * len(rows), dtype="str"),
            "row": np.asarray(rows, dtype=np.int64),
            "column": pd.array(np.asarray(column, dtype=object), dtype="str"),
            "reason": pd.array(np.asarray(reason, dtype=object), dtype="str"),
            "values": pd.array(raw_json(raw), dtype="str"),
        }
    )


def _special_rows(
    part: pd.DataFrame,
    table: str,
    candidates: np.ndarray,
    valid: np.ndarray | None,
    staff: pd.Index | None = None,
) -> pd.DataFrame:
    """Rows whose fate is decided here (rejected) or later (duplicate-key candidates).

    ``final`` rows are rejected for good: row-level faults, and unknown customers whose key is
    not a duplicate candidate. Candidates that passed the row checks come back with their key
    and whether their customer is unknown, to be settled across partitions.
    """
    typed, raw, q, unknown, candidate = _row_checks(part, table, candidates, valid, staff)
    rows = typed.index.to_numpy()
    bad = q.bad
    final_unknown = unknown & ~bad & ~candidate
    settle = candidate & ~bad
    keep = bad | final_unknown | settle
    nothing = np.full(len(bad), None, dtype=object)
    column = np.where(bad, q.column, np.where(final_unknown, "customer_id", nothing))
    reason = np.where(bad, q.reason, np.where(final_unknown, reasons.UNKNOWN_CUSTOMER, nothing))
    out = _rejected_frame(table, rows[keep], column[keep], reason[keep], raw.loc[keep])
    key = TABLES[table].key
    out["key"] = pd.array(
        typed[key].to_numpy(dtype=object)[keep] if key else [None] * int(keep.sum()), dtype="str"
    )
    out["unknown"] = unknown[keep]
    out["final"] = (bad | final_unknown)[keep]
    return out


def _clean_rows(
    part: pd.DataFrame,
    table: str,
    candidates: np.ndarray,
    valid: np.ndarray | None,
    dropped: np.ndarray,
    staff: pd.Index | None = None,
) -> pd.DataFrame:
    """Return the rows that pass every check, typed, with the source row number ``_row`` last.

    ``_row`` is kept in the store so that :func:`read_store` gives the rows in the source's order).
    """
    typed, _, q, unknown, _ = _row_checks(part, table, candidates, valid, staff)
    keep = ~q.bad & ~unknown & ~np.isin(typed.index.to_numpy(), dropped)
    clean = typed.loc[keep]
    rows = clean.index.to_numpy(dtype=np.int64)
    clean = clean.reset_index(drop=True)
    clean[_ROW] = rows
    return clean


def gather(*frames: Any) -> list[pd.DataFrame]:
    """Dask DataFrames into pandas, the partitions concatenated in the client.

    ``frame.compute()`` concatenates on one worker first, which needs room for the whole
    result there; per-customer results of tens of millions of rows fit the client but not a
    worker's memory limit. Computed together, shared inputs are read once.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> (frame,) = gather(dd.from_pandas(pd.DataFrame({"a": [1, 2, 3]}), npartitions=2))
    >>> frame["a"].tolist()
    [1, 2, 3]
    """
    import dask

    parts = [frame.to_delayed() for frame in frames]
    values = dask.compute(*[d for group in parts for d in group])
    out, start = [], 0
    for frame, group in zip(frames, parts, strict=True):
        chunk = values[start : start + len(group)]
        start += len(group)
        out.append(pd.concat(chunk) if chunk else frame._meta)
    return out


# --- the dataset --------------------------------------------------------------------------------
def _open_buckets(folder: Path, npartitions: int) -> Any:
    import dask.dataframe as dd
    import pyarrow.parquet as pq

    files = _bucket_files(folder)
    if len(files) != npartitions:
        raise DataValidationError(
            f"store: {folder} holds {len(files)} partitions, the manifest says {npartitions}; "
            "load the source again (the store is incomplete)"
        )
    meta = plain_strings(pq.read_schema(files[0]).empty_table().to_pandas())
    meta = meta.drop(columns=[_ROW]) if _ROW in meta.columns else meta
    return dd.from_map(_read_bucket, files, meta=meta, label=f"read-{folder.name}")


def _bucket_dataset(
    names: tuple[str, ...], parts: tuple[pd.DataFrame, ...], cutoff: pd.Timestamp | None
) -> Dataset:
    tables = dict(zip(names, parts, strict=True))
    if "orders" not in tables:  # a function that reads no orders: an empty table stands in
        tables["orders"] = pd.DataFrame(
            {
                "order_id": pd.Series(dtype="str"),
                "customer_id": pd.Series(dtype="str"),
                "order_date": pd.Series(dtype="datetime64[ns]"),
                "amount": pd.Series(dtype="float64"),
            }
        )
    ds = Dataset(**tables)
    return ds.as_of(cutoff) if cutoff is not None else ds


def _apply_bucket(
    *parts: pd.DataFrame,
    _names: tuple[str, ...],
    _bucket_func: Callable[..., pd.DataFrame],
    _view_cutoff: pd.Timestamp | None,
    **kwargs: Any,
) -> pd.DataFrame:
    out = _bucket_func(_bucket_dataset(_names, parts, _view_cutoff), **kwargs)
    out.attrs = {}  # attrs describe the whole result, not a bucket (and would not concatenate)
    return out


# keyword values that are small enough to embed in every task; anything else (a fitted model,
# an array) travels once as a shared ``dask.delayed`` value
_INLINE = (str, bytes, int, float, bool, type(None), pd.Timestamp, pd.Timedelta)


def _inline(value: Any) -> bool:
    if isinstance(value, tuple | list | frozenset):
        return all(_inline(v) for v in value)
    return isinstance(value, _INLINE)


@dataclass
class DaskDataset:
    """A validated dataset held by a Dask cluster, partitioned by customer.

    The Dask counterpart of :class:`~cpm_analysis.data.Dataset`, returned by
    ``load(source, engine="dask")``. ``customers``, ``orders``, ``tickets``, ``surveys``,
    ``activities`` and ``opportunities`` are Dask DataFrames whose partition *i* holds the
    same customers in every table; the plan
    tables ``staff``, ``targets`` and ``assessments`` are pandas DataFrames.

    Attributes
    ----------
    work_dir : Path
        The store: validated buckets per table, ``rejected/`` and ``manifest.json``.
    npartitions : int
        Customer buckets.
    counts : dict
        Per table: rows ``read``, ``kept`` and ``rejected`` (read = kept + rejected).
    source : str
        Where the data came from.
    cutoff : Timestamp or None
        Set by :meth:`as_of`; applied lazily to every bucket.

    Examples
    --------
    ``dask_ds`` is the bundled sample loaded by the Dask engine:

    >>> dask_ds.as_of("2025-06").collect().orders["order_date"].max() <= pd.Timestamp("2025-07")
    True
    """

    customers: Any
    orders: Any
    tickets: Any = None
    surveys: Any = None
    activities: Any = None
    opportunities: Any = None
    staff: pd.DataFrame | None = None
    targets: pd.DataFrame | None = None
    assessments: pd.DataFrame | None = None
    order_lines: None = None  # order lines are aggregated by the pandas engine only
    work_dir: Path = field(default_factory=Path)
    npartitions: int = 1
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    source: str = "<memory>"
    cutoff: pd.Timestamp | None = None
    derived: dict[str, str] = field(default_factory=dict)
    # the store read into pandas once, shared by every point-in-time view of this dataset
    _whole: dict[str, Dataset] = field(default_factory=dict, repr=False, compare=False)

    @property
    def customer_tables(self) -> tuple[str, ...]:
        """The customer-keyed tables present, in contract order."""
        return tuple(t for t in CUSTOMER_TABLES if getattr(self, t) is not None)

    def has(self, table: str) -> bool:
        """Whether ``table`` is present."""
        return getattr(self, table, None) is not None

    @property
    def rejected(self) -> Any:
        """The quarantined rows as a lazy Dask DataFrame (columns as ``Dataset.rejected``)."""
        import dask.dataframe as dd

        files = sorted(str(p) for p in (self.work_dir / "rejected").rglob("*.parquet"))
        if not files:
            return dd.from_pandas(empty_rejected(), npartitions=1)
        return dd.from_map(_read_bucket, files, meta=empty_rejected(), label="read-rejected")

    def as_of(self, cutoff: Cutoff) -> DaskDataset:
        """Return the point-in-time view at ``cutoff`` (lazy; see :meth:`Dataset.as_of`).

        Examples
        --------
        >>> dask_ds.as_of("2024-06").cutoff
        Timestamp('2024-06-30 23:59:59.999999999')
        """
        from cpm_analysis.periods import to_cutoff

        ts = to_cutoff(cutoff)
        if self.cutoff is not None and ts > self.cutoff:
            ts = self.cutoff
        assessments = self.assessments
        if assessments is not None:
            view = Dataset(
                customers=self.customers._meta, orders=self.orders._meta, assessments=assessments
            ).as_of(ts)
            assessments = view.assessments
        return replace(self, cutoff=ts, assessments=assessments)

    def map_customers(
        self,
        func: Callable[..., pd.DataFrame],
        *,
        meta: pd.DataFrame | None = None,
        tables: tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run ``func(bucket_dataset, **kwargs)`` on every customer bucket.

        ``bucket_dataset`` is a pandas :class:`~cpm_analysis.data.Dataset` of the bucket's
        customers with all their rows (at :attr:`cutoff` when set), so any per-customer pandas
        function gives the rows it would give on the whole data (the dataset protocol,
        :mod:`cpm_analysis.data.protocol`).

        Parameters
        ----------
        func : callable
            Returns a DataFrame per bucket.
        meta : DataFrame, optional
            An empty frame with the output's columns and dtypes; by default ``func`` is run
            on an empty bucket to find them.
        tables : tuple of str, optional
            The customer tables ``func`` needs besides ``customers`` (default all present).
        **kwargs
            Passed to ``func``; values other than scalars (a fitted model) are sent to the
            workers once.

        Returns
        -------
        dask.dataframe.DataFrame

        Examples
        --------
        >>> lazy = dask_ds.map_customers(
        ...     lambda b: b.orders.groupby("customer_id").size().to_frame("n"),
        ...     meta=pd.DataFrame({"n": pd.Series(dtype="int64")}),
        ... )
        >>> list(lazy.columns), int(lazy["n"].sum().compute()) == dask_ds.counts["orders"]["kept"]
        (['n'], True)
        """
        import dask
        import dask.dataframe as dd

        wanted = self.customer_tables if tables is None else ("customers", *tables)
        names = tuple(t for t in CUSTOMER_TABLES if t in wanted and self.has(t))
        frames = [getattr(self, t) for t in names]
        if meta is None:
            empty = tuple(frame._meta for frame in frames)
            meta = _apply_bucket(
                *empty, _names=names, _bucket_func=func, _view_cutoff=self.cutoff, **kwargs
            )
        shared = {k: v if _inline(v) else dask.delayed(v, pure=True) for k, v in kwargs.items()}
        return dd.map_partitions(
            _apply_bucket,
            *frames,
            _names=names,
            _bucket_func=func,
            _view_cutoff=self.cutoff,
            **shared,
            meta=meta,
            align_dataframes=False,
            enforce_metadata=False,
        )

    def gather(self, *results: Any) -> list[pd.DataFrame]:
        """Results of :meth:`map_customers` as pandas DataFrames (see :func:`gather`).

        Examples
        --------
        >>> def count_orders(bucket):
        ...     return bucket.orders.groupby("customer_id").size().to_frame("n")
        >>> meta = pd.DataFrame({"n": pd.Series(dtype="int64")})
        >>> (sizes,) = dask_ds.gather(dask_ds.map_customers(count_orders, meta=meta))
        >>> int(sizes["n"].sum()) == dask_ds.counts["orders"]["kept"]
        True
        """
        return gather(*results)

    def collect(self) -> Dataset:
        """Return the whole dataset in pandas (for data that fits in memory, e.g. tests).

        The rows come in the source's order (:func:`read_store`), at :attr:`cutoff` when set,
        so the result equals what the pandas loader gives. The store is read once: every view
        of the dataset (:meth:`as_of`) shares the whole pandas dataset and filters it.

        Examples
        --------
        >>> small = dask_ds.collect()
        >>> type(small).__name__, len(small.orders) == dask_ds.counts["orders"]["kept"]
        ('Dataset', True)
        """
        if "data" not in self._whole:
            self._whole["data"] = read_store(self.work_dir)
        ds = self._whole["data"]
        return ds.as_of(self.cutoff) if self.cutoff is not None else ds

    def last_date(self) -> pd.Timestamp:
        """Return the latest event date (orders, tickets opened, survey answers), computed.

        Examples
        --------
        >>> dask_ds.last_date() == dask_ds.collect().last_date()
        True
        """
        import dask

        if self.cutoff is None:
            dated = [t for t in ("orders", "tickets", "surveys") if self.has(t)]
            maxima = [getattr(self, t)[EVENT_DATE[t]].max() for t in dated]
        else:
            meta = pd.DataFrame({"last": pd.Series(dtype="datetime64[ns]")})
            maxima = [self.map_customers(_bucket_last_date, meta=meta)["last"].max()]
        values = [v for v in dask.compute(*maxima) if pd.notna(v)]
        return max(values)

    def summary(self) -> pd.DataFrame:
        """Rows kept, rows rejected and date range per table (like :meth:`Dataset.summary`).

        Examples
        --------
        >>> int(dask_ds.summary().loc["orders", "rows"]) == dask_ds.counts["orders"]["kept"]
        True
        """
        import dask

        dated = [t for t in self.customer_tables if t in EVENT_DATE]
        ranges = dask.compute(
            *[
                (getattr(self, t)[EVENT_DATE[t]].min(), getattr(self, t)[EVENT_DATE[t]].max())
                for t in dated
            ]
        )
        span = dict(zip(dated, ranges, strict=True))
        records = []
        for name in ALL_TABLES:
            frame = getattr(self, name)
            first, last = span.get(name, (pd.NaT, pd.NaT))
            counts = self.counts.get(name, {})
            records.append(
                {
                    "table": name,
                    "present": frame is not None,
                    "rows": int(counts.get("kept", 0)),
                    "rejected": int(counts.get("rejected", 0)),
                    "first": first,
                    "last": last,
                }
            )
        return pd.DataFrame.from_records(records).set_index("table")

    def __repr__(self) -> str:
        """Show the kept rows of each table."""
        parts = [
            f"{t}={self.counts.get(t, {}).get('kept', 0):,}" for t in ALL_TABLES if self.has(t)
        ]
        cut = "" if self.cutoff is None else f", cutoff={self.cutoff}"
        return (
            f"DaskDataset({', '.join(parts)}, npartitions={self.npartitions}, "
            f"work_dir={self.work_dir}{cut})"
        )


def _bucket_last_date(ds: Dataset) -> pd.DataFrame:
    dates = [
        getattr(ds, t)[EVENT_DATE[t]].max()
        for t in ("orders", "tickets", "surveys")
        if getattr(ds, t) is not None and len(getattr(ds, t))
    ]
    dates = [d for d in dates if pd.notna(d)]
    return pd.DataFrame({"last": pd.Series([max(dates)] if dates else [], dtype="datetime64[ns]")})


# --- loading ------------------------------------------------------------------------------------
def _signature(paths: dict[str, Path], mapping: Any) -> dict[str, Any]:
    files = {}
    for table, path in paths.items():
        members = sorted(path.rglob("*")) if path.is_dir() else [path]
        files[table] = [
            [str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in members if p.is_file()
        ]
    return {"files": files, "mapping": json.loads(json.dumps(mapping or {}, default=str))}


def open_store(work_dir: str | os.PathLike) -> DaskDataset:
    """Open a store written by :func:`load_dask` without validating again.

    Examples
    --------
    >>> open_store(dask_ds.work_dir).counts == dask_ds.counts
    True
    """
    from cpm_analysis.scale import require_dask

    require_dask()
    work = Path(work_dir)
    manifest_path = work / MANIFEST
    if not manifest_path.is_file():
        raise DataValidationError(f"store: {work} has no {MANIFEST}; load the source first")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("version") != STORE_VERSION:
        raise DataValidationError(f"store: {work} was written by another version; load again")
    n = int(manifest["npartitions"])
    tables: dict[str, Any] = {}
    for table in CUSTOMER_TABLES:
        if table in manifest["tables"]:
            tables[table] = _open_buckets(work / table, n)
    for table in PLAN_TABLES:
        path = work / "plan" / f"{table}.parquet"
        if path.is_file():
            tables[table] = pd.read_parquet(path)
    return DaskDataset(
        **tables,
        work_dir=work,
        npartitions=n,
        counts=manifest["counts"],
        source=manifest["source"],
    )


def _find_sources(folder: Path) -> dict[str, Path]:
    from cpm_analysis.data.loader import _find_table_file

    return {t: p for t in ALL_TABLES if (p := _find_table_file(folder, t)) is not None}


def _clear_store(work: Path) -> None:
    for name in (*CUSTOMER_TABLES, "rejected", "plan"):
        shutil.rmtree(work / name, ignore_errors=True)
    (work / MANIFEST).unlink(missing_ok=True)


def _write_rejected(frame: pd.DataFrame, path: Path) -> None:
    frame[list(REJECTED_COLUMNS)].to_parquet(path, index=False)


def _write_parts(frame: Any, folder: Path) -> Any:
    """Return a lazy write of ``frame`` as ``folder/part-NNNNN.parquet``, one file per partition."""
    return frame.to_parquet(
        str(folder),
        write_index=False,
        compute=False,
        name_function=lambda i: f"part-{i:05d}.parquet",
        write_metadata_file=False,
    )


def _validate_customer_table(
    table: str,
    raw: _Raw,
    work: Path,
    npartitions: int,
    valid: np.ndarray | None,
    staff: pd.Index | None = None,
) -> tuple[dict[str, int], np.ndarray | None]:
    """Validate one customer-keyed table on the cluster and write its buckets and rejects."""
    import dask

    spec = TABLES[table]
    frame = raw.frame
    split = max(1, frame.npartitions // 4)
    if spec.key is not None:
        from cpm_analysis.data.validate import _to_id

        def key_hashes(values: pd.Series) -> pd.Series:
            ids = _to_id(values)
            return pd.Series(_hash_ids(ids[ids.notna()]))

        hashes = frame[spec.key].map_partitions(key_hashes, meta=pd.Series(dtype="uint64"))
        counted = hashes.value_counts(split_out=split)
        candidates = np.sort(counted[counted > 1].index.compute().to_numpy().astype(np.uint64))
    else:
        candidates = np.zeros(0, dtype=np.uint64)
    valid_arg = broadcast(valid) if valid is not None else None
    cand_arg = dask.delayed(candidates, pure=True)

    staff_arg = staff if staff is None else dask.delayed(staff, pure=True)
    special_meta = _special_rows(frame._meta, table, candidates[:0], valid)
    special = frame.map_partitions(
        _special_rows,
        table,
        cand_arg,
        valid_arg,
        staff_arg,
        meta=special_meta,
        enforce_metadata=False,
    )
    rejected_dir = work / "rejected"
    rejected_dir.mkdir(parents=True, exist_ok=True)
    final = special[special["final"]][list(REJECTED_COLUMNS)]
    write_final = _write_parts(final, rejected_dir / table)
    settle = special[~special["final"]]
    _, settled, n_final = dask.compute(write_final, settle, final.map_partitions(len).sum())

    # duplicates among the candidates that passed the row checks: the first row wins
    settled = settled.sort_values("row", kind="stable").reset_index(drop=True)
    dup = settled["key"].duplicated(keep="first").to_numpy()
    unknown = settled["unknown"].to_numpy(dtype=bool) & ~dup
    rejected_late = settled.loc[dup | unknown].copy()
    rejected_late["column"] = np.where(dup, str(spec.key), "customer_id")[dup | unknown]
    rejected_late["reason"] = np.where(
        dup, reasons.duplicate(str(spec.key)), reasons.UNKNOWN_CUSTOMER
    )[dup | unknown]
    if len(rejected_late):
        _write_rejected(rejected_late, rejected_dir / f"{table}-settled.parquet")
    dropped = np.sort(rejected_late["row"].to_numpy(dtype=np.int64))

    clean_meta = _clean_rows(frame._meta, table, candidates[:0], valid, dropped[:0])
    clean = frame.map_partitions(
        _clean_rows,
        table,
        cand_arg,
        valid_arg,
        dask.delayed(dropped, pure=True),
        staff_arg,
        meta=clean_meta,
        enforce_metadata=False,
    )
    shuffled = clean.shuffle("customer_id", npartitions=npartitions)
    write_clean = _write_parts(shuffled, work / table)
    if table == "customers":
        ids = clean["customer_id"].map_partitions(
            lambda s: pd.Series(_hash_ids(s)), meta=pd.Series(dtype="uint64")
        )
        _, id_hashes = dask.compute(write_clean, ids)
        valid_out: np.ndarray | None = np.unique(id_hashes.to_numpy().astype(np.uint64))
    else:
        dask.compute(write_clean)
        valid_out = None
    files = _bucket_files(work / table)
    if len(files) != npartitions:  # pragma: no cover - dask writes every partition
        raise RuntimeError(f"{table}: wrote {len(files)} buckets, expected {npartitions}")
    n_rejected = int(n_final) + len(rejected_late)
    return {"read": raw.rows, "kept": raw.rows - n_rejected, "rejected": n_rejected}, valid_out


def load_dask(
    source: str | os.PathLike | Mapping[str, Any],
    mapping: Any = None,
    *,
    work_dir: str | os.PathLike | None = None,
    npartitions: int | None = None,
    reuse: bool = True,
) -> DaskDataset:
    """Validate a dataset on the current Dask cluster into a customer-partitioned store.

    Usually called as ``load(source, engine="dask", ...)``. Runs on the active
    :class:`distributed.Client` (start one with :func:`cpm_analysis.scale.start_client`),
    or on Dask's default scheduler when there is none.

    Parameters
    ----------
    source : path or dict
        A folder with one Parquet file or folder of Parquet parts per table (CSV files work
        too), named after the tables; or a dict of pandas or Dask DataFrames by table.
    mapping : dict or path, optional
        Column mapping as for :func:`cpm_analysis.data.load`.
    work_dir : path, optional
        Where the store is written (default: a new temporary folder). Workers must see it at
        the same path (shared disk) on a multi-machine cluster.
    npartitions : int, optional
        Customer buckets (default: one per 2 million orders, at least 2).
    reuse : bool
        Reuse the store in ``work_dir`` when it was written from the same, unchanged files.

    Returns
    -------
    DaskDataset

    Raises
    ------
    DataValidationError
        As the pandas loader: a required table or column missing, an unreadable file, an
        empty table.

    Examples
    --------
    >>> ds = load_dask("data/sample", work_dir=tmp / "store")
    >>> ds.counts["customers"]["kept"] == dask_ds.counts["customers"]["kept"]
    True
    """
    from cpm_analysis.data.loader import MAPPING_FILE, _read_file, _read_mapping
    from cpm_analysis.scale import require_dask

    require_dask()
    if isinstance(source, Mapping):
        paths: dict[str, Path] = {}
        items = dict(source)
        label = "<memory>"
        unknown = [t for t in items if t not in ALL_TABLES]
        if unknown:
            raise DataValidationError(
                f"{unknown[0]}: not a table of the data contract ({', '.join(ALL_TABLES)})",
                table=unknown[0],
            )
    else:
        folder = Path(os.fspath(source))
        if "://" in str(source) or not folder.is_dir():
            raise DataValidationError(
                f"source: engine='dask' reads a folder of Parquet (or CSV) files per table; "
                f"{source} is not one. Export database tables to Parquet first, or use the "
                "pandas engine."
            )
        from cpm_analysis.data.cdnow import is_cdnow_folder

        if is_cdnow_folder(folder):
            raise DataValidationError(
                "source: the CDNOW text files load with the pandas engine (they are small)"
            )
        if mapping is None and (folder / MAPPING_FILE).is_file():
            mapping = folder / MAPPING_FILE
        paths = _find_sources(folder)
        items = {}
        label = str(folder)
    columns = _read_mapping(mapping)
    present = set(paths) | set(items)
    for table in REQUIRED_TABLES:
        if table not in present or (table in items and items[table] is None):
            raise DataValidationError(
                f"{table}: required table is missing from {label}. "
                f"Provide {table}.parquet (or a folder {table}/ of Parquet parts).",
                table=table,
            )

    work = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="cpm-dask-"))
    signature = _signature(paths, columns) if paths else None
    if signature is not None:  # a store with other buckets is not the one asked for
        signature["npartitions"] = npartitions
    manifest_path = work / MANIFEST
    if reuse and signature is not None and manifest_path.is_file():
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if old.get("version") == STORE_VERSION and old.get("signature") == signature:
            return open_store(work)
    work.mkdir(parents=True, exist_ok=True)
    _clear_store(work)

    raws: dict[str, _Raw] = {}
    for table in CUSTOMER_TABLES:
        rename = columns.get(table, {})
        if table in paths:
            raws[table] = _open_raw(table, paths[table], rename)
        elif items.get(table) is not None:
            raws[table] = _from_memory(table, items[table], rename)
        if table in raws:
            _check_columns(table, raws[table])
    n = int(npartitions) if npartitions is not None else None
    if n is not None and n < 1:
        raise ValueError(f"npartitions: expected at least 1, got {npartitions!r}")
    if n is None:
        n = max(2, math.ceil(raws["orders"].rows / BUCKET_ORDERS))

    counts: dict[str, dict[str, int]] = {}
    # the plan tables first (small, pandas): the staff ids are checked in other tables
    plan_dir = work / "plan"
    plan_dir.mkdir(exist_ok=True)
    (work / "rejected").mkdir(exist_ok=True)
    staff_ids = None
    for table in PLAN_TABLES:
        if table in paths:
            frame = _read_file(table, paths[table])
        elif items.get(table) is not None:
            frame = items[table]
            frame = frame.compute() if hasattr(frame, "compute") else frame
        else:
            continue
        frame = normalise_columns(frame, table, columns.get(table, {}))
        clean, rejected = validate_table(table, frame)
        clean.to_parquet(plan_dir / f"{table}.parquet", index=False)
        if len(rejected):
            _write_rejected(rejected, work / "rejected" / f"{table}.parquet")
        counts[table] = {"read": len(frame), "kept": len(clean), "rejected": len(rejected)}
        if table == "staff":
            staff_ids = pd.Index(clean["staff_id"])
    valid = None
    for table in CUSTOMER_TABLES:
        if table in raws:
            counts[table], found = _validate_customer_table(
                table, raws[table], work, n, valid, staff_ids
            )
            if table == "customers":
                valid = found

    manifest = {
        "version": STORE_VERSION,
        "source": label,
        "signature": signature,
        "npartitions": n,
        "counts": counts,
        "tables": sorted(counts),
    }
    manifest_path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return open_store(work)
