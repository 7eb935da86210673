"""Reading a dataset from a folder, a database or in-memory frames."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cpm_analysis.data import reasons
from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.excel import EXCEL_SUFFIXES, is_workbook, read_sheet
from cpm_analysis.data.lines import (
    customer_attributes,
    derive_customers,
    read_lines,
)
from cpm_analysis.data.mapping import MAPPING_FILE, SourceMapping, read_mapping
from cpm_analysis.data.schema import ALL_TABLES, SOURCE_TABLES
from cpm_analysis.data.supplementary import apply_owners, apply_returns
from cpm_analysis.data.usability import usability_problems
from cpm_analysis.data.validate import (
    _Quarantine,
    check_columns,
    convert_table,
    cross_checks,
    empty_rejected,
    load_time,
    validate_table,
)
from cpm_analysis.exceptions import DataValidationError

if TYPE_CHECKING:
    from cpm_analysis.data.protocol import CustomerData

ColumnMapping = Mapping[str, Any]

# Loaders of the engines beside pandas, by name. The data layer never imports an engine: the
# Dask engine (``cpm_analysis.scale``, imported by the package itself) registers ``"dask"``.
_ENGINES: dict[str, Callable[..., Any]] = {}


def register_engine(name: str, loader: Callable[..., CustomerData]) -> None:
    """Make ``load(source, engine=name, **options)`` call ``loader(source, mapping, **options)``.

    Examples
    --------
    >>> sorted(_ENGINES)
    ['dask']
    """
    _ENGINES[str(name)] = loader


def _read_mapping(mapping: ColumnMapping | str | os.PathLike | None) -> dict[str, dict[str, str]]:
    """Return the column renames of a mapping (the Dask engine's view of it)."""
    return read_mapping(mapping).columns


def _read_file(table: str, path: Path, sheet: str | None = None) -> pd.DataFrame:
    if is_workbook(path):
        return read_sheet(path, sheet, table)
    try:
        if path.is_dir() or path.suffix == ".parquet":
            return pd.read_parquet(path)
        # every column as text: typing happens in validation so faults can be quarantined;
        # utf-8-sig drops the byte-order mark that spreadsheet programs write
        return pd.read_csv(
            path, dtype="str", keep_default_na=False, na_values=[""], encoding="utf-8-sig"
        )
    except Exception as err:
        raise DataValidationError(
            f"{table}: cannot read {path} ({type(err).__name__}: {str(err)[:200]}). "
            "Check that it is a valid CSV (UTF-8, header row), Parquet or Excel file.",
            table=table,
        ) from err


def _find_table_file(folder: Path, table: str) -> Path | None:
    names = [f"{table}.csv", f"{table}.parquet", table] + [f"{table}{s}" for s in EXCEL_SUFFIXES]
    candidates = [
        p
        for p in (folder / name for name in names)
        if p.exists() and (p.is_file() or any(p.glob("*.parquet")))
    ]
    if len(candidates) > 1:
        found = ", ".join(p.name for p in candidates)
        raise DataValidationError(
            f"{table}: more than one file for the table in {folder} ({found}); keep one.",
            table=table,
        )
    return candidates[0] if candidates else None


def _read_folder(folder: Path, mapping: SourceMapping | None = None) -> dict[str, pd.DataFrame]:
    mapping = mapping or SourceMapping()
    assigned = mapping.table_files()
    frames = {}
    for table, (name, sheet) in assigned.items():
        path = folder / name
        if not path.exists():
            raise DataValidationError(
                f"{table}: the mapping's files section names '{name}', which is not in {folder}",
                table=table,
            )
        frames[table] = _read_file(table, path, sheet)
    for table in SOURCE_TABLES:
        if table in assigned:
            continue
        found = _find_table_file(folder, table)
        if found is not None:
            frames[table] = _read_file(table, found)
    return frames


def _read_database(url: str) -> tuple[dict[str, pd.DataFrame], str]:
    """Return the contract's tables of a database, and the URL as it may be shown.

    The password and secret query values are redacted
    (:func:`cpm_analysis.credentials.redact_url`). No message raised here
    holds the password, whatever the driver put in its own.
    """
    import sqlalchemy as sa

    from cpm_analysis.credentials import redact_text, redact_url, remember_url, url_secrets

    remember_url(url)
    shown = redact_url(url)
    secrets = url_secrets(url) | {url}

    def why(err: Exception) -> str:
        # one line: SQLAlchemy appends "(Background on this error at: ...)" after a blank line
        # (redacted before it is cut, so that no half of a secret survives the cut)
        text = " ".join(str(err).split("(Background on this error")[0].split())
        return f"{type(err).__name__}: {redact_text(text, secrets)[:200]}"

    try:
        engine = sa.create_engine(url)
    except Exception as err:
        raise DataValidationError(
            f"database: cannot use the URL {shown} ({why(err)}). "
            "Expected a SQLAlchemy URL such as sqlite:///path/to/file.db or "
            "postgresql://user@host/db."
        ) from None
    if engine.url.get_backend_name() == "sqlite" and engine.url.database not in (None, ""):
        if engine.url.database != ":memory:" and not Path(engine.url.database).is_file():
            raise DataValidationError(f"database: SQLite file {engine.url.database} not found")
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            frames = {
                table: pd.read_sql_table(table, conn) for table in SOURCE_TABLES if table in names
            }
    except DataValidationError:
        raise
    except Exception as err:
        raise DataValidationError(
            f"database: cannot read from {shown} ({why(err)}). "
            "Check the URL, the server and the credentials."
        ) from None
    finally:
        engine.dispose()
    return frames, shown


# ``frame`` is a pandas or a Dask DataFrame (Dask has no type information; data may not import it).
def normalise_columns(frame: Any, table: str, rename: Mapping[str, str]) -> Any:
    """``frame`` with the mapping applied and names stripped; a name twice is an error.

    Works on pandas and Dask DataFrames alike.

    Examples
    --------
    >>> normalise_columns(pd.DataFrame({" Id ": [1]}), "customers", {}).columns.tolist()
    ['Id']
    """
    frame = frame.rename(columns=dict(rename))
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = [c for i, c in enumerate(frame.columns) if c in list(frame.columns)[:i]]
    if duplicated:
        raise DataValidationError(
            f"{table}: column '{duplicated[0]}' appears twice (after mapping)",
            table=table,
            column=duplicated[0],
        )
    return frame


def validate_frames(
    frames: Mapping[str, pd.DataFrame],
    mapping: ColumnMapping | SourceMapping | str | os.PathLike | None = None,
    source: str = "<memory>",
    *,
    now: pd.Timestamp | None = None,
) -> Dataset:
    """Validate raw tables into a :class:`Dataset` (the in-memory half of :func:`load`).

    Order lines are aggregated into orders and customers derived when absent (see
    :mod:`cpm_analysis.data.lines`); ``owners`` and ``returns`` are applied (see
    :func:`load`). ``now`` is the load time (default: now): event dates more than a day after
    it are quarantined.

    Raises
    ------
    DataValidationError
        When the data is unusable (see :func:`load`); for the faults found after validation
        (no rows kept, most orders of unknown customers, most order ids repeated) the error
        carries the validated dataset as ``err.dataset``.

    Examples
    --------
    >>> import pandas as pd
    >>> ds = validate_frames({
    ...     "customers": pd.DataFrame({"customer_id": ["a"], "signup_date": ["2024-01-01"]}),
    ...     "orders": pd.DataFrame({"order_id": ["1"], "customer_id": ["a"],
    ...                             "order_date": ["2024-01-02"], "amount": ["9.5"]}),
    ... })
    >>> ds.orders["amount"].tolist()
    [9.5]
    """
    unknown = [name for name in frames if name not in SOURCE_TABLES]
    if unknown:
        raise DataValidationError(
            f"{unknown[0]}: not a table of the data contract ({', '.join(SOURCE_TABLES)})",
            table=unknown[0],
        )
    present = {name: frame for name, frame in frames.items() if frame is not None}
    if "orders" in present and "order_lines" in present:
        raise DataValidationError(
            "orders: the source has both orders and order_lines; give one of them "
            "(order_lines are aggregated into orders).",
            table="orders",
        )
    if "orders" not in present and "order_lines" not in present:
        raise DataValidationError(
            f"orders: required table is missing from {source}. Provide orders.csv or "
            "orders.parquet (or a database table named orders), or order lines as "
            "order_lines (or name your file in the mapping's files section).",
            table="orders",
        )
    spec = read_mapping(mapping)
    now = now if now is not None else load_time()
    dayfirst = spec.dayfirst
    renamed = {}
    for table, frame in present.items():
        if not isinstance(frame, pd.DataFrame):
            raise DataValidationError(f"{table}: expected a pandas DataFrame", table=table)
        renamed[table] = normalise_columns(frame, table, spec.columns.get(table, {}))
    mapped = {t: set(spec.columns.get(t, {}).values()) for t in renamed}

    rejected: list[pd.DataFrame] = []
    derived: dict[str, str] = {}
    read: dict[str, int] = {t: len(f) for t, f in renamed.items()}
    lines = None
    if "order_lines" in renamed:
        lines = read_lines(renamed["order_lines"], dayfirst=dayfirst, now=now)
        orders_typed = lines.orders()
        if "returns" in renamed:
            returned, bad = apply_returns(renamed["returns"], orders_typed["order_id"])
            orders_typed.loc[returned, "status"] = "refunded"
            rejected.append(bad)
        orders_q = _Quarantine("orders", orders_typed)  # order faults go back to the lines
        negative = (orders_typed["amount"] < 0).to_numpy()
        refunded = orders_typed["status"].eq("refunded").to_numpy(dtype=bool)
        orders_q.add(negative & ~refunded, "amount", reasons.NOT_REFUNDED)
        derived["orders"] = "order_lines"
    else:
        raw_orders = renamed["orders"]
        check_columns("orders", raw_orders)
        if "returns" in renamed:
            returned, bad = apply_returns(renamed["returns"], raw_orders["order_id"])
            raw_orders = raw_orders.copy()
            status = raw_orders["status"] if "status" in raw_orders else None
            raw_orders["status"] = (
                pd.Series(None, index=raw_orders.index, dtype="str") if status is None else status
            ).where(~returned, "refunded")
            rejected.append(bad)
        orders_typed, orders_q = convert_table("orders", raw_orders, dayfirst=dayfirst, now=now)

    unique = lines is not None  # orders aggregated from lines have unique ids by construction
    if not unique:  # duplicates first: no customer is derived from a rejected duplicate
        cross_checks("orders", orders_typed, orders_q)
    if "customers" in renamed:
        customers, bad = validate_table(
            "customers", renamed["customers"], dayfirst=dayfirst, now=now
        )
        rejected.append(bad)
    else:
        carriers_name = "order_lines" if lines is not None else "orders"
        good_orders = orders_typed.loc[~orders_q.bad] if orders_q.bad.any() else orders_typed
        carriers = lines.good() if lines is not None else good_orders
        attributes = customer_attributes(carriers, carriers_name, mapped[carriers_name])
        codes = lines.good_customer_codes() if lines is not None else None
        order_codes = None
        if lines is not None:  # the orders' customer ids are coded already: no second pass
            per_order, ids = lines.order_customer_codes()
            order_codes = (per_order[~orders_q.bad] if orders_q.bad.any() else per_order, ids)
        raw = derive_customers(good_orders, carriers, attributes, codes, order_codes)
        if len(raw):
            customers, bad = validate_table("customers", raw, dayfirst=dayfirst, now=now)
            rejected.append(bad)
        else:  # no order kept: the usability check below says so, with the reasons
            customers = raw
        derived["customers"] = carriers_name
    if "owners" in renamed:
        customers, staff_raw, bad = apply_owners(renamed["owners"], customers)
        rejected.append(bad)
        if staff_raw is not None and "staff" not in renamed:
            renamed["staff"] = staff_raw
            derived["staff"] = "owners"

    ids = pd.Index(customers["customer_id"])
    cross_checks("orders", orders_typed, orders_q, customer_ids=ids, keys=not unique)
    orders = orders_typed.loc[~orders_q.bad].reset_index(drop=True)
    tables: dict[str, Any] = {"customers": customers, "orders": orders}
    if lines is not None:
        tables["order_lines"], bad = lines.finish(orders_typed, orders_q)
        rejected.append(bad)
    else:
        rejected.append(orders_q.frame())
    for table in ALL_TABLES:
        if table in tables or table not in renamed:
            continue
        staff = tables.get("staff")
        clean, bad = validate_table(
            table,
            renamed[table],
            customer_ids=ids,
            dayfirst=dayfirst,
            now=now,
            staff_ids=None if staff is None else pd.Index(staff["staff_id"]),
        )
        tables[table] = clean
        rejected.append(bad)
    rejected_all = (
        pd.concat([r for r in rejected if len(r)], ignore_index=True)
        if any(len(r) for r in rejected)
        else empty_rejected()
    )
    ds = Dataset(**tables, rejected=rejected_all, source=source, derived=derived)
    problems = usability_problems(ds, read)
    if problems:
        err = DataValidationError(problems[0].message, table=problems[0].table)
        err.dataset = ds  # type: ignore[attr-defined]
        err.problems = [p.message for p in problems]  # type: ignore[attr-defined]
        raise err
    return ds


def _refuse_on_dask(source: Any, mapping: Any) -> None:
    """Refuse what the Dask engine does not validate (only canonical customers and orders)."""
    folder = None if isinstance(source, Mapping) else Path(os.fspath(source))
    if folder is not None and (not folder.is_dir() or "://" in str(source)):
        return  # the Dask engine says itself what it reads
    from cpm_analysis.data.cdnow import is_cdnow_folder
    from cpm_analysis.data.storefile import is_store

    if folder is not None and (is_cdnow_folder(folder) or is_store(folder)):
        return
    if mapping is None and folder is not None and (folder / MAPPING_FILE).is_file():
        mapping = folder / MAPPING_FILE
    spec = read_mapping(mapping)
    tables = set(source) if isinstance(source, Mapping) else set()
    if folder is not None and folder.is_dir():
        tables |= {t for t in SOURCE_TABLES if _find_table_file(folder, t) is not None}
        if any(is_workbook(p) for p in folder.iterdir()):
            tables.add("workbook")
    tables |= set(spec.table_files())
    what = None
    if "order_lines" in tables:
        what = "order lines (order_lines)"
    elif {"owners", "returns"} & tables:
        what = "the owners and returns tables"
    elif "workbook" in tables or spec.files:
        what = "Excel workbooks and the mapping's files section"
    elif spec.dayfirst:
        what = "the mapping's dayfirst option"
    elif "customers" not in tables and (folder is not None or isinstance(source, Mapping)):
        what = "derived customers (a source without a customers table)"
    if what is not None:
        raise DataValidationError(
            f"engine: the Dask engine does not support {what}; load with engine='pandas' "
            "(--engine pandas), or give canonical customers and orders Parquet files."
        )


def load(
    source: str | os.PathLike | Mapping[str, pd.DataFrame],
    mapping: ColumnMapping | str | os.PathLike | None = None,
    *,
    engine: str = "pandas",
    **dask_options: Any,
) -> Any:
    """Load and validate a dataset.

    Parameters
    ----------
    source : path, URL or dict
        A folder with one file per table named after it (``customers.csv``,
        ``orders.parquet``, ``orders.xlsx``, or a folder ``orders/`` of Parquet parts), or
        with files named in the mapping's ``files`` section; ``order_lines`` may stand in for
        ``orders`` and ``customers`` may be absent (derived); a SQLAlchemy database URL
        (``sqlite:///crm.db``, ``postgresql://...``) with tables of those names; a folder holding
        the CDNOW files (``CDNOW_master.txt``); a store written by ``engine="dask"`` (read
        as it is, already validated); or a dict of DataFrames by table name.
    mapping : dict or path, optional
        Your column names onto the canonical ones, per table:
        ``{"orders": {"OrderDate": "order_date"}}``, or a YAML/JSON file holding that. A
        ``mapping.yaml`` inside a source folder is used when no mapping is given. It may also
        name the file (or workbook sheet) of each table (``files:``) and say that dates are
        day-first (``dayfirst: true``); see :mod:`cpm_analysis.data.mapping` and
        ``docs/data.md``.
    engine : {"pandas", "dask"}
        ``"dask"`` validates a folder of Parquet files (or a dict of DataFrames) on the active
        Dask cluster into a customer-partitioned store and returns a
        :class:`~cpm_analysis.scale.DaskDataset` (needs ``pip install "cpm-analysis[scale]"``).
    **dask_options
        With ``engine="dask"``: ``work_dir``, ``npartitions``, ``reuse`` (see
        :func:`cpm_analysis.scale.store.load_dask`).

    Returns
    -------
    Dataset or DaskDataset
        Typed tables and the rejected rows (see :class:`Dataset`).

    Raises
    ------
    DataValidationError
        When the data cannot be used: a required table or column missing, an unreadable file,
        an empty table, a database that cannot be reached, a date column that mixes day-first
        and month-first values; or, after validation, a required table that keeps no rows,
        most orders of unknown customers, most order ids repeated (see
        :mod:`cpm_analysis.data.usability`; the error's ``dataset`` holds what was validated).
        The message names table and column.

    Examples
    --------
    >>> from cpm_analysis import load
    >>> ds = load("data/sample")
    >>> ds.rejected.groupby("reason").size()
    reason
    closed_at before created_at                                  1
    customer_id not found in customers                           6
    duplicate customer_id                                        1
    duplicate order_id                                           6
    first response before opening                                1
    negative amount on an order that is not refunded             6
    non-numeric amount                                           6
    satisfaction outside 1-5                                     1
    staff_id not found in staff                                  3
    unknown type (expected call, visit, email, meeting, care)    3
    unparseable date                                             6
    won or lost without closed_at                                1
    dtype: int64
    """
    if engine != "pandas":
        if engine not in _ENGINES:
            names = ", ".join(repr(e) for e in ("pandas", *sorted(_ENGINES)))
            raise ValueError(f"engine: expected {names}, got {engine!r}")
        if engine == "dask":
            _refuse_on_dask(source, mapping)
        return _ENGINES[engine](source, mapping, **dask_options)
    if dask_options:
        name = next(iter(dask_options))
        raise TypeError(f"{name}: only used with engine='dask'")
    if isinstance(source, Mapping):
        return validate_frames(source, mapping)
    text = os.fspath(source)
    if "://" in text:
        frames, shown = _read_database(text)
        return validate_frames(frames, mapping, source=shown)
    folder = Path(text)
    if not folder.exists():
        raise DataValidationError(
            f"source: {folder} does not exist. Give a folder of CSV/Parquet files or a "
            "database URL (e.g. sqlite:///crm.db)."
        )
    if not folder.is_dir():
        raise DataValidationError(f"source: {folder} is not a folder of table files")
    from cpm_analysis.data.cdnow import is_cdnow_folder, read_cdnow_frames

    if is_cdnow_folder(folder):
        return validate_frames(read_cdnow_frames(folder), mapping, source=str(folder))
    from cpm_analysis.data.storefile import is_store, read_store

    if is_store(folder):  # validated by load(engine="dask") already
        return read_store(folder)
    if mapping is None and (folder / MAPPING_FILE).is_file():
        mapping = folder / MAPPING_FILE
    spec = read_mapping(mapping)
    return validate_frames(_read_folder(folder, spec), spec, source=str(folder))
