"""Reading a dataset from a folder, a database or in-memory frames."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.schema import ALL_TABLES, REQUIRED_TABLES
from cpm_analysis.data.validate import empty_rejected, validate_table
from cpm_analysis.exceptions import DataValidationError

ColumnMapping = Mapping[str, Mapping[str, str]]
MAPPING_FILE = "mapping.yaml"


def _read_mapping(mapping: ColumnMapping | str | os.PathLike | None) -> dict[str, dict[str, str]]:
    if mapping is None:
        return {}
    if isinstance(mapping, str | os.PathLike):
        path = Path(mapping)
        if not path.is_file():
            raise DataValidationError(f"mapping: file {path} does not exist")
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            mapping = json.loads(text)
        else:
            import yaml

            mapping = yaml.safe_load(text) or {}
    if not isinstance(mapping, Mapping):
        raise DataValidationError("mapping: expected {table: {your_column: canonical_column}}")
    out: dict[str, dict[str, str]] = {}
    for table, columns in mapping.items():
        if table not in ALL_TABLES:
            raise DataValidationError(
                f"mapping: unknown table '{table}' (tables are {', '.join(ALL_TABLES)})",
                table=str(table),
            )
        if not isinstance(columns, Mapping):
            raise DataValidationError(
                f"mapping: '{table}' must map your column names to canonical ones", table=table
            )
        out[table] = {str(k): str(v) for k, v in columns.items()}
    return out


def _read_file(table: str, path: Path) -> pd.DataFrame:
    try:
        if path.is_dir() or path.suffix == ".parquet":
            return pd.read_parquet(path)
        # every column as text: typing happens in validation so faults can be quarantined
        return pd.read_csv(path, dtype="str", keep_default_na=False, na_values=[""])
    except Exception as err:
        raise DataValidationError(
            f"{table}: cannot read {path} ({type(err).__name__}: {str(err)[:200]}). "
            "Check that it is a valid CSV (UTF-8, header row) or Parquet file.",
            table=table,
        ) from err


def _find_table_file(folder: Path, table: str) -> Path | None:
    candidates = [
        p
        for p in (folder / f"{table}.csv", folder / f"{table}.parquet", folder / table)
        if p.exists() and (p.is_file() or any(p.glob("*.parquet")))
    ]
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise DataValidationError(
            f"{table}: more than one file for the table in {folder} ({names}); keep one.",
            table=table,
        )
    return candidates[0] if candidates else None


def _read_folder(folder: Path) -> dict[str, pd.DataFrame]:
    frames = {}
    for table in ALL_TABLES:
        path = _find_table_file(folder, table)
        if path is not None:
            frames[table] = _read_file(table, path)
    return frames


def _read_database(url: str) -> tuple[dict[str, pd.DataFrame], str]:
    """The contract's tables of a database, and the URL as it may be shown (password and secret
    query values redacted: :func:`cpm_analysis.credentials.redact_url`). No message raised here
    holds the password, whatever the driver put in its own."""
    import sqlalchemy as sa

    from cpm_analysis.credentials import redact_text, redact_url, remember_url, url_secrets

    remember_url(url)
    shown = redact_url(url)
    secrets = url_secrets(url) | {url}

    def why(err: Exception) -> str:
        return redact_text(f"{type(err).__name__}: {str(err)[:200]}", secrets)

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
                table: pd.read_sql_table(table, conn) for table in ALL_TABLES if table in names
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
    mapping: ColumnMapping | None = None,
    source: str = "<memory>",
) -> Dataset:
    """Validate raw tables into a :class:`Dataset` (the in-memory half of :func:`load`).

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
    unknown = [name for name in frames if name not in ALL_TABLES]
    if unknown:
        raise DataValidationError(
            f"{unknown[0]}: not a table of the data contract ({', '.join(ALL_TABLES)})",
            table=unknown[0],
        )
    for table in REQUIRED_TABLES:
        if table not in frames or frames[table] is None:
            raise DataValidationError(
                f"{table}: required table is missing from {source}. "
                f"Provide {table}.csv or {table}.parquet (or a database table named {table}).",
                table=table,
            )
    mapping = _read_mapping(mapping)
    renamed = {}
    for table, frame in frames.items():
        if frame is None:
            continue
        if not isinstance(frame, pd.DataFrame):
            raise DataValidationError(f"{table}: expected a pandas DataFrame", table=table)
        renamed[table] = normalise_columns(frame, table, mapping.get(table, {}))

    customers, rejected_customers = validate_table("customers", renamed["customers"])
    tables: dict[str, Any] = {"customers": customers}
    rejected = [rejected_customers]
    ids = pd.Index(customers["customer_id"])
    for table in ALL_TABLES[1:]:
        if table in renamed:
            clean, bad = validate_table(table, renamed[table], customer_ids=ids)
            tables[table] = clean
            rejected.append(bad)
    rejected_all = (
        pd.concat([r for r in rejected if len(r)], ignore_index=True)
        if any(len(r) for r in rejected)
        else empty_rejected()
    )
    return Dataset(**tables, rejected=rejected_all, source=source)


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
        ``orders.parquet``, or a folder ``orders/`` of Parquet parts); a SQLAlchemy database URL
        (``sqlite:///crm.db``, ``postgresql://...``) with tables of those names; a folder holding
        the CDNOW files (``CDNOW_master.txt``); a store written by ``engine="dask"`` (read
        as it is, already validated); or a dict of DataFrames by table name.
    mapping : dict or path, optional
        Your column names onto the canonical ones, per table:
        ``{"orders": {"OrderDate": "order_date"}}``, or a YAML/JSON file holding that. A
        ``mapping.yaml`` inside a source folder is used when no mapping is given.
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
        an empty table, a database that cannot be reached. The message names table and column.

    Examples
    --------
    >>> from cpm_analysis import load
    >>> ds = load("data/sample")  # doctest: +SKIP
    >>> ds.rejected.groupby("reason").size()  # doctest: +SKIP
    """
    if engine == "dask":
        from cpm_analysis.scale import require_dask

        require_dask()
        from cpm_analysis.scale.store import load_dask

        return load_dask(source, mapping, **dask_options)
    if engine != "pandas":
        raise ValueError(f"engine: expected 'pandas' or 'dask', got {engine!r}")
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
    from cpm_analysis.scale.store import is_store, read_store

    if is_store(folder):  # validated by load(engine="dask") already
        return read_store(folder)
    if mapping is None and (folder / MAPPING_FILE).is_file():
        mapping = folder / MAPPING_FILE
    return validate_frames(_read_folder(folder), mapping, source=str(folder))
