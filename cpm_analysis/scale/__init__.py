"""The Dask engine: the data on a ``dask.distributed`` cluster, bucket by bucket of customers.

Large CRM exports outgrow pandas long before they outgrow the models: the per-customer tables
stay small while transactions grow. With ``load(source, engine="dask")`` the data is validated
on a cluster (local or remote) and kept as a customer-partitioned store on disk. The resulting
:class:`DaskDataset` follows the dataset protocol (:mod:`cpm_analysis.data.protocol`): its
``map_customers`` runs an analysis' per-customer step on every bucket, so every analysis
(:func:`~cpm_analysis.clv.rfm_summary`, :func:`~cpm_analysis.segments.rfm_scores`,
:func:`~cpm_analysis.churn.churn_features`, :func:`~cpm_analysis.kpis.compute_kpis`,
:func:`~cpm_analysis.kpis.kpi_history`, the scored table) runs on it unchanged and returns
the numbers the pandas engine gives. The engine depends on the analyses and the data layer;
nothing below it imports it.

Dask is an optional extra: ``pip install "cpm-analysis[scale]"``. This module imports without
it (it only registers ``engine="dask"`` with :func:`cpm_analysis.data.load`); asking for the
engine without it raises an ``ImportError`` saying how to install it.

Examples
--------
>>> from cpm_analysis.data.loader import _ENGINES
>>> "dask" in _ENGINES
True
"""

from __future__ import annotations

from typing import Any

from cpm_analysis.data.loader import register_engine

INSTALL_HINT = (
    'the Dask engine needs the "scale" extra: pip install "cpm-analysis[scale]" '
    "(or conda env update -f environment.yml), which installs dask[dataframe] and distributed"
)


def require_dask() -> None:
    """Raise an ``ImportError`` with the install command when Dask is missing.

    Also turns off Dask's conversion of text columns to ``string[pyarrow]`` (with ``pd.NA``):
    pandas 3 already stores text in Arrow, and the engine must hand the pandas code the same
    ``str`` columns the pandas loader gives it, or results could differ.

    Examples
    --------
    >>> require_dask()
    """
    try:
        import dask
        import dask.dataframe
        import distributed  # noqa: F401
    except ImportError as err:
        raise ImportError(f"engine='dask': {INSTALL_HINT} ({err})") from err
    dask.config.set({"dataframe.convert-string": False})


def _load_dask(source: Any, mapping: Any = None, **options: Any) -> Any:
    """``load(source, engine="dask", ...)``: checks for Dask, then validates onto the cluster."""
    require_dask()
    from cpm_analysis.scale.store import load_dask

    return load_dask(source, mapping, **options)


register_engine("dask", _load_dask)


def __getattr__(name: str) -> Any:
    if name in ("DaskDataset", "load_dask", "open_store"):
        require_dask()
        from cpm_analysis.scale import store

        return getattr(store, name)
    if name == "orders_dataset":
        require_dask()
        from cpm_analysis.scale import clv

        return clv.orders_dataset
    if name in ("start_client", "local_cluster_options"):
        require_dask()
        from cpm_analysis.scale import cluster

        return getattr(cluster, name)
    raise AttributeError(f"module 'cpm_analysis.scale' has no attribute {name!r}")


__all__ = [
    "INSTALL_HINT",
    "DaskDataset",
    "load_dask",
    "local_cluster_options",
    "open_store",
    "orders_dataset",
    "require_dask",
    "start_client",
]
