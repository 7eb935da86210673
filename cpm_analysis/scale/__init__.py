"""The Dask engine: the transaction-heavy stages on a ``dask.distributed`` cluster.

Large CRM exports outgrow pandas long before they outgrow the models: the per-customer tables
stay small while transactions grow. With ``load(source, engine="dask")`` the data is validated
on a cluster (local or remote) and kept as a customer-partitioned store on disk; then
:func:`~cpm_analysis.clv.rfm_summary`, :func:`~cpm_analysis.segments.rfm_scores`,
:func:`~cpm_analysis.churn.churn_features` and :func:`~cpm_analysis.kpis.compute_kpis` accept
the resulting :class:`DaskDataset` and return the same numbers as with pandas.

Dask is an optional extra: ``pip install "cpm-analysis[scale]"``. This module imports without
it; asking for the engine without it raises an ``ImportError`` saying how to install it.

Examples
--------
>>> from cpm_analysis.scale import is_dask
>>> is_dask([1, 2])
False
"""

from __future__ import annotations

from typing import Any

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


def is_dask(obj: Any) -> bool:
    """Whether ``obj`` is a Dask collection or a :class:`DaskDataset` (without importing Dask).

    Examples
    --------
    >>> import pandas as pd
    >>> is_dask(pd.DataFrame())
    False
    """
    if type(obj).__name__ == "DaskDataset":
        return True
    return type(obj).__module__.split(".")[0] in ("dask", "dask_expr")


def __getattr__(name: str) -> Any:
    if name in ("DaskDataset", "load_dask", "open_store"):
        require_dask()
        from cpm_analysis.scale import store

        return getattr(store, name)
    if name in ("start_client", "local_cluster_options"):
        require_dask()
        from cpm_analysis.scale import cluster

        return getattr(cluster, name)
    raise AttributeError(f"module 'cpm_analysis.scale' has no attribute {name!r}")


__all__ = [
    "INSTALL_HINT",
    "DaskDataset",
    "is_dask",
    "load_dask",
    "local_cluster_options",
    "open_store",
    "require_dask",
    "start_client",
]
