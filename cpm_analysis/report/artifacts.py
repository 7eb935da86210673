"""The per-period artifacts: the scored customer table and the metrics, through a plug-in.

The plug-in contract
--------------------
A module ``cpm_analysis.scoring`` may define::

    def build_period_artifacts(dataset, period, *, seed) -> tuple[DataFrame, dict]

- ``dataset`` is the point-in-time view ``Dataset.as_of(period.end)`` of all customers (never
  restricted to an owner: models are fitted once per period on everyone);
- ``period`` is the :class:`~cpm_analysis.periods.Period`;
- it returns ``scored``, one row per customer with ``customer_id`` and any of ``segment``,
  ``tier``, ``cluster``, ``clv``, ``p_alive``, ``churn_probability``, ``reason_codes`` (a string
  joined by ``"; "``), ``recommended_action``, ``owner_id``; no personal data (names, e-mails,
  phones); and ``metrics``, a JSON-able dict (``{"kpis": {...}, "models": {...}, ...}``) whose
  keys must not be the reserved ones of :data:`cpm_analysis.report.metrics.RESERVED_KEYS`.

Until that module exists, :func:`build_artifacts` returns what the data alone gives (the
customer attributes ``owner_id``, ``region``, ``channel``; nothing is estimated or faked) and
says so in ``models_note``.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.periods import parse_period
>>> ds = generate(200, seed=1).to_dataset().as_of("2024-06")
>>> art = build_artifacts(ds, parse_period("2024-06"), seed=0, key=b"k" * 16)
>>> art.scored.columns[:2].tolist()
['customer_id', 'pseudonym']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.data import Dataset
from cpm_analysis.frames import isin
from cpm_analysis.periods import Period
from cpm_analysis.privacy import PSEUDONYM_COLUMN, pii_columns, pseudonymize

PLUGIN_MODULE = "cpm_analysis.scoring"
PLUGIN_FUNCTION = "build_period_artifacts"
ATTRIBUTE_COLUMNS: tuple[str, ...] = ("owner_id", "region", "channel")

ScoringFunction = Callable[..., tuple[pd.DataFrame, dict[str, Any]]]


@dataclass
class PeriodArtifacts:
    """What :func:`build_artifacts` returns.

    Attributes
    ----------
    scored : DataFrame
        One row per customer, sorted by ``customer_id``: ``customer_id``, ``pseudonym`` (when a
        key was given), then the plug-in's columns (or the customer attributes).
    metrics : dict
        The plug-in's metrics (empty without the plug-in).
    models_available : bool
        Whether the scoring plug-in ran.
    models_note : str
        Why the models are not available, or ``""``.
    """

    scored: pd.DataFrame
    metrics: dict[str, Any] = field(default_factory=dict)
    models_available: bool = False
    models_note: str = ""


def find_scoring_plugin() -> ScoringFunction | None:
    """``cpm_analysis.scoring.build_period_artifacts``, or ``None`` while the module is missing.

    Only the absence of the module itself counts as "not available": an import error inside it
    (a bug, a missing dependency) is raised, never hidden.

    Raises
    ------
    TypeError
        When the module exists without the function.

    Examples
    --------
    >>> fn = find_scoring_plugin()
    >>> fn is None or callable(fn)
    True
    """
    try:
        module = importlib.import_module(PLUGIN_MODULE)
    except ModuleNotFoundError as err:
        if err.name == PLUGIN_MODULE:
            return None
        raise
    function = getattr(module, PLUGIN_FUNCTION, None)
    if not callable(function):
        raise TypeError(
            f"{PLUGIN_MODULE} has no function {PLUGIN_FUNCTION}(dataset, period, *, seed)"
        )
    return function


def basic_scored_table(dataset: Dataset) -> pd.DataFrame:
    """The scored table without models: each customer's id and known attributes.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> basic_scored_table(generate(100, seed=1).to_dataset()).columns.tolist()
    ['customer_id', 'owner_id', 'region', 'channel']
    """
    columns = ["customer_id", *(c for c in ATTRIBUTE_COLUMNS if c in dataset.customers.columns)]
    return dataset.customers[columns].copy()


def finalize_scored(
    scored: pd.DataFrame, dataset: Dataset, *, key: bytes | None = None
) -> pd.DataFrame:
    """Check a scored table against the contract and put it in its stable, published form.

    One row per known customer; no personal columns; ``owner_id`` added from the customers when
    missing; ``pseudonym`` added when ``key`` is given; columns ``customer_id``, ``pseudonym``
    first; rows sorted by ``customer_id``; a fresh index. Equal inputs give equal bytes.

    Raises
    ------
    TypeError
        When ``scored`` is not a DataFrame.
    ValueError
        Naming the problem: no ``customer_id``, duplicate or unknown ids, personal columns.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(50, seed=1).to_dataset()
    >>> finalize_scored(ds.customers[["customer_id"]], ds)["customer_id"].is_monotonic_increasing
    True
    """
    if not isinstance(scored, pd.DataFrame):
        raise TypeError(f"scored table: expected a DataFrame, got {type(scored).__name__}")
    if "customer_id" not in scored.columns:
        raise ValueError("scored table: the column 'customer_id' is missing")
    personal = pii_columns(scored)
    if personal:
        raise ValueError(f"scored table: personal columns are not allowed ({', '.join(personal)})")
    ids = scored["customer_id"].astype("str")
    if ids.isna().any():
        raise ValueError("scored table: customer_id has missing values")
    duplicated = ids.duplicated()
    if duplicated.any():
        raise ValueError(
            f"scored table: {int(duplicated.sum())} duplicate customer_id values "
            f"(e.g. {ids[duplicated].iloc[0]}); expected one row per customer"
        )
    unknown = ~isin(ids, dataset.customers["customer_id"])
    if unknown.any():
        raise ValueError(
            f"scored table: {int(unknown.sum())} customer_id values are not customers "
            f"(e.g. {ids[unknown].iloc[0]})"
        )
    out = scored.drop(columns=[PSEUDONYM_COLUMN], errors="ignore").copy()
    out["customer_id"] = ids
    if "owner_id" not in out.columns and "owner_id" in dataset.customers.columns:
        owners = dataset.customers.set_index("customer_id")["owner_id"]
        out["owner_id"] = out["customer_id"].map(owners)
    out = out.sort_values("customer_id", kind="stable").reset_index(drop=True)
    first = ["customer_id"]
    if key is not None:
        out[PSEUDONYM_COLUMN] = pseudonymize(out["customer_id"], key)
        first.append(PSEUDONYM_COLUMN)
    return out[first + [c for c in out.columns if c not in first]]


def build_artifacts(
    dataset: Dataset,
    period: Period,
    *,
    seed: int = 0,
    key: bytes | None = None,
    plugin: ScoringFunction | None | str = "auto",
    cluster_data: Any = None,
    config: Any = None,
) -> PeriodArtifacts:
    """Build a period's scored table and model metrics, through the plug-in when it exists.

    Parameters
    ----------
    dataset : Dataset
        The point-in-time view of the period (``dataset.as_of(period.end)``) for all customers.
    period : Period
        The reporting period.
    seed : int
        Passed to the plug-in.
    key : bytes, optional
        Pseudonym key: adds the ``pseudonym`` column.
    plugin : callable, None or "auto"
        ``"auto"`` looks up :func:`find_scoring_plugin`; ``None`` forces the no-model table;
        a callable is used as the plug-in (tests).
    cluster_data : DaskDataset, optional
        With ``cpm report --engine dask``: the same data on the cluster, handed to the plug-in
        (``cluster_data=``) so that its transaction-heavy stages run there.
    config : CPMConfig, optional
        A configuration file's business rules (:mod:`cpm_analysis.config`), handed to the
        plug-in (``config=``) when given; without it the plug-in uses the defaults.

    Returns
    -------
    PeriodArtifacts

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.periods import parse_period
    >>> view = generate(100, seed=2).to_dataset().as_of("2024-06")
    >>> build_artifacts(view, parse_period("2024-06"), plugin=None).models_available
    False
    """
    function = find_scoring_plugin() if isinstance(plugin, str) else plugin
    if function is None:
        return PeriodArtifacts(
            scored=finalize_scored(basic_scored_table(dataset), dataset, key=key),
            metrics={},
            models_available=False,
            models_note=(
                f"models not available ({PLUGIN_MODULE} is not installed yet): the scored "
                "table holds customer attributes only"
            ),
        )
    extra: dict[str, Any] = {}
    if cluster_data is not None:
        extra["cluster_data"] = cluster_data
    if config is not None:
        extra["config"] = config
    result = function(dataset, period, seed=seed, **extra)
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
        raise TypeError(f"{PLUGIN_MODULE}.{PLUGIN_FUNCTION} must return (DataFrame, dict)")
    scored, metrics = result
    return PeriodArtifacts(
        scored=finalize_scored(scored, dataset, key=key),
        metrics=metrics,
        models_available=True,
    )


def scored_for_csv(scored: pd.DataFrame) -> pd.DataFrame:
    """Lists in cells (e.g. reason codes) joined by ``"; "`` so a CSV cell stays readable.

    Examples
    --------
    >>> scored_for_csv(pd.DataFrame({"r": [["a", "b"], []]}))["r"].tolist()
    ['a; b', '']
    """
    out = scored.copy()
    for column in out.columns:
        if out[column].dtype == object:
            values = out[column]
            listy = values.map(lambda v: isinstance(v, list | tuple | np.ndarray))
            if listy.any():
                out[column] = values.where(
                    ~listy, values[listy].map(lambda v: "; ".join(map(str, v)))
                )
    return out
