r"""``metrics.json``: every number of a period's report, written deterministically.

The file holds the parameters, the package version, the data fingerprints, row counts and
rejected rows, whether the models ran, and every KPI value and model metric the period pipeline
(:func:`cpm_analysis.pipeline.build_period`) computed. The same data and parameters give the same bytes: keys sorted, two-space indent, floats
rounded to 12 significant digits (so last-bit noise from threaded linear algebra cannot leak in),
no timestamps of the run, no absolute paths.

Layout (schema 1)::

    {
      "schema_version": 1,
      "package": {"name": "cpm-analysis", "version": "0.1.0"},
      "parameters": {"data": "sample", "period": "2024-06", "freq": "monthly", "pii": "mask",
                     "seed": 0, "notebooks": [...], "per_owner": false,
                     "config": "cpm.yaml"},  # or "defaults"
      "period": {"label": "2024-06", "freq": "monthly", "start": "2024-06-01",
                 "end": "2024-06-30", "days": 30},
      "data": {"fingerprint": "...", "view_fingerprint": "...", "first_date": ..., "last_date": ...,
               "rows": {table: rows as of the period end}, "rows_in_period": {...},
               "tables_absent": [...], "rejected_rows": n, "rejected_by_reason": {...}},
      "models": {"available": false, "note": "..."},
      "config": {...},         # the effective business rules (cpm_analysis.config), every key
      "kpis": {...}            # from the plug-in, with any further keys it returns
    }

Examples
--------
>>> dumps({"b": 1.0 / 3.0, "a": [float("nan")]})
'{\n  "a": [\n    null\n  ],\n  "b": 0.333333333333\n}\n'
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.data import Dataset
from cpm_analysis.data.schema import ALL_TABLES, EVENT_DATE
from cpm_analysis.periods import Period

SCHEMA_VERSION = 1
METRICS_FILE = "metrics.json"
RESERVED_KEYS: frozenset[str] = frozenset(
    {"schema_version", "package", "parameters", "period", "data", "config"}
)
SIGNIFICANT_DIGITS = 12


def _round(value: float) -> float | None:
    if not math.isfinite(value):
        return None
    if value == 0:
        return 0.0
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def to_jsonable(value: Any) -> Any:
    """Convert numpy/pandas values, periods and paths to plain JSON types.

    NaN and infinities become ``null``; floats are rounded to 12 significant digits; timestamps
    become ISO strings (date only at midnight); dict keys become strings.

    Raises
    ------
    TypeError
        For a value with no JSON form (an object, a DataFrame), naming its type.

    Examples
    --------
    >>> to_jsonable({"n": np.int64(3), "when": pd.Timestamp("2024-06-30"), "x": np.nan})
    {'n': 3, 'when': '2024-06-30', 'x': None}
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _round(float(value))
    if value is pd.NaT or (isinstance(value, type(pd.NA)) and value is pd.NA):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime | np.datetime64):
        ts = pd.Timestamp(value)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Period):
        return value.label
    if isinstance(value, os.PathLike):
        return Path(value).name
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, pd.Series):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_jsonable(v) for v in value]
    raise TypeError(f"metrics: cannot write a {type(value).__name__} to JSON")


def dumps(metrics: Mapping[str, Any]) -> str:
    """Return the canonical text of a metrics dict (sorted keys, 2-space indent, final newline).

    Examples
    --------
    >>> dumps({"b": 2, "a": 1}).splitlines()[1]
    '  "a": 1,'
    """
    return (
        json.dumps(
            to_jsonable(metrics), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False
        )
        + "\n"
    )


def write_metrics(path: str | os.PathLike, metrics: Mapping[str, Any]) -> Path:
    """Write :func:`dumps` of ``metrics`` to ``path`` (a folder gets ``metrics.json``).

    Examples
    --------
    >>> import tempfile
    >>> write_metrics(tempfile.mkdtemp(), {"a": 1}).name
    'metrics.json'
    """
    target = Path(path)
    if target.is_dir():
        target = target / METRICS_FILE
    target.write_text(dumps(metrics), encoding="utf-8")
    return target


def read_metrics(path: str | os.PathLike) -> dict[str, Any]:
    """Read a ``metrics.json`` (or the one in a period folder).

    Examples
    --------
    >>> import tempfile
    >>> read_metrics(write_metrics(tempfile.mkdtemp(), {"a": 1}))
    {'a': 1}
    """
    target = Path(path)
    if target.is_dir():
        target = target / METRICS_FILE
    return json.loads(target.read_text(encoding="utf-8"))


def rows_in_period(view: Dataset, period: Period) -> dict[str, int]:
    """Rows dated within the period: new customers, orders, tickets opened, survey answers.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.periods import parse_period
    >>> ds = generate(200, seed=1).to_dataset()
    >>> sorted(rows_in_period(ds, parse_period("2024-06")))
    ['new_customers', 'orders', 'survey_answers', 'tickets_opened']
    """
    names = {
        "customers": "new_customers",
        "orders": "orders",
        "tickets": "tickets_opened",
        "surveys": "survey_answers",
    }
    out = {}
    for table, label in names.items():
        frame = getattr(view, table)
        if frame is not None:
            out[label] = int(period.contains(frame[EVENT_DATE[table]]).sum())
    return out


def base_metrics(
    dataset: Dataset,
    view: Dataset,
    period: Period,
    *,
    parameters: Mapping[str, Any],
    models_available: bool,
    models_note: str = "",
) -> dict[str, Any]:
    """Return the metrics every report has, with or without models.

    Parameters
    ----------
    dataset : Dataset
        The full data as loaded (fingerprint, rejected rows).
    view : Dataset
        ``dataset.as_of(period.end)`` (row counts).
    period : Period
        The period.
    parameters : dict
        The run's parameters (no absolute paths).
    models_available : bool
        Whether the models ran (the period pipeline always runs them; kept for the schema).
    models_note : str
        Why not, when it did not.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.periods import parse_period
    >>> ds = generate(200, seed=1).to_dataset()
    >>> m = base_metrics(ds, ds.as_of("2024-06"), parse_period("2024-06"),
    ...                  parameters={"seed": 0}, models_available=False)
    >>> m["period"]["days"], len(m["data"]["fingerprint"])
    (30, 64)
    """
    from cpm_analysis import __version__

    rejected = dataset.rejected
    by_reason: dict[str, int] = {}
    if len(rejected):
        counts = rejected.groupby(["table", "reason"]).size()
        by_reason = {f"{table}: {reason}": int(n) for (table, reason), n in counts.items()}
    freq = {"M": "monthly", "Q": "quarterly", "Y": "yearly"}[period.freq]
    return {
        "schema_version": SCHEMA_VERSION,
        "package": {"name": "cpm-analysis", "version": __version__},
        "parameters": dict(parameters),
        "period": {
            "label": period.label,
            "freq": freq,
            "start": period.start,
            "end": period.last_day,
            "days": period.days,
        },
        "data": {
            "fingerprint": dataset.fingerprint(),
            "view_fingerprint": view.fingerprint(),
            "first_date": dataset.orders["order_date"].min(),
            "last_date": dataset.last_date(),
            "rows": {name: len(frame) for name, frame in view.tables.items()},
            "rows_in_period": rows_in_period(view, period),
            "tables_absent": [name for name in ALL_TABLES if not view.has(name)],
            "rejected_rows": len(rejected),
            "rejected_by_reason": by_reason,
        },
        "models": {"available": models_available, "note": models_note},
    }


def merge_plugin_metrics(base: dict[str, Any], plugin: Mapping[str, Any]) -> dict[str, Any]:
    """Add the plug-in's metrics to the base ones; reserved keys may not be overwritten.

    ``models`` from the plug-in is merged into the base ``models`` entry.

    Raises
    ------
    ValueError
        When the plug-in returns a reserved key.

    Examples
    --------
    >>> merge_plugin_metrics({"models": {"available": True}}, {"kpis": {"revenue": 1.0}})
    {'models': {'available': True}, 'kpis': {'revenue': 1.0}}
    """
    clash = sorted(RESERVED_KEYS.intersection(plugin))
    if clash:
        raise ValueError(f"scoring metrics: reserved key(s) {', '.join(clash)} may not be set")
    out = dict(base)
    for key, value in plugin.items():
        if key == "models" and isinstance(value, Mapping):
            out["models"] = {**out.get("models", {}), **value}
        else:
            out[key] = value
    return out
