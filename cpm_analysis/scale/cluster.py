"""Connecting to a ``dask.distributed`` cluster, or starting a local one sized to the machine.

Examples
--------
Not run by the doctests (it starts worker processes; ``tests/test_scale.py`` does):

>>> from cpm_analysis.scale.cluster import start_client
>>> client = start_client(n_workers=2, memory_limit="2GB")  # doctest: +SKIP
>>> client.close()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from typing import Any


def _total_memory_bytes() -> int:
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def local_cluster_options(
    n_workers: int | None = None, memory_limit: str | int | None = None
) -> dict[str, Any]:
    """Return the :class:`~distributed.LocalCluster` options for this machine.

    One single-threaded worker process per core (pandas and NumPy release the GIL rarely
    enough that processes beat threads), each allowed an equal share of 80 % of the memory.

    Parameters
    ----------
    n_workers : int, optional
        Worker processes (default: the number of cores).
    memory_limit : str or int, optional
        Memory per worker (``"6GB"`` or bytes); default 80 % of the machine split evenly.

    Examples
    --------
    >>> local_cluster_options(2, "6GB")["memory_limit"]
    '6GB'
    """
    cores = os.cpu_count() or 1
    workers = int(n_workers) if n_workers is not None else cores
    if workers < 1:
        raise ValueError(f"n_workers: expected at least 1, got {n_workers!r}")
    if memory_limit is None:
        memory_limit = int(_total_memory_bytes() * 0.8 / workers)
    return {
        "n_workers": workers,
        "threads_per_worker": 1,
        "processes": True,
        "memory_limit": memory_limit,
        "dashboard_address": ":0",  # a free port: two clusters never collide
    }


def start_client(
    scheduler: str | None = None,
    *,
    n_workers: int | None = None,
    memory_limit: str | int | None = None,
    local_directory: str | os.PathLike | None = None,
) -> Any:
    """Return a :class:`distributed.Client`: to ``scheduler`` if given, else to a new local cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://10.0.0.5:8786``) or a scheduler file path
        (``scheduler.json``). The workers must have cpm-analysis installed and reach the data
        and the output folders at the same paths (a shared file system or object store).
    n_workers, memory_limit
        For a local cluster only (see :func:`local_cluster_options`).
    local_directory : path, optional
        Where local workers spill to disk.

    Returns
    -------
    distributed.Client
        Close it (``client.close()``, which also stops a local cluster it started) when done.

    Examples
    --------
    Not run by the doctests (it needs a running scheduler at that address):

    >>> client = start_client("tcp://scheduler:8786")  # doctest: +SKIP
    """
    from distributed import Client, LocalCluster

    for name in ("distributed.shuffle._scheduler_plugin", "distributed.shuffle"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler:
        text = os.fspath(scheduler)
        if text.endswith(".json") and os.path.isfile(text):
            return Client(scheduler_file=text)
        return Client(text)
    options = local_cluster_options(n_workers, memory_limit)
    if local_directory is not None:
        options["local_directory"] = os.fspath(local_directory)
    cluster = LocalCluster(**options)
    client = Client(cluster)
    client._cpm_owns_cluster = True  # type: ignore[attr-defined]  # close_client() stops it too
    return client


def close_client(client: Any) -> None:
    """Close ``client`` and, when :func:`start_client` started it, its local cluster.

    Examples
    --------
    Not run by the doctests (it needs the client of :func:`start_client`):

    >>> close_client(client)  # doctest: +SKIP
    """
    cluster = getattr(client, "cluster", None)
    client.close()
    if getattr(client, "_cpm_owns_cluster", False) and cluster is not None:
        cluster.close()


def broadcast(value: Any) -> Any:
    """``value`` sent once to every worker (a Future), to pass to ``map_partitions``.

    Large arrays embedded in a task graph travel with every graph submitted; scattered, they
    travel once. Without a distributed client a ``dask.delayed`` wrapper is returned.

    Examples
    --------
    Without a distributed client (here), a delayed value:

    >>> import numpy as np
    >>> hashes = broadcast(np.arange(10))
    >>> import dask
    >>> dask.is_dask_collection(hashes), int(hashes.compute().sum())
    (True, 45)
    """
    import dask
    from distributed import get_client

    try:
        client = get_client()
    except ValueError:  # no distributed client: the local schedulers share memory
        return dask.delayed(value, pure=True)
    return client.scatter(value, broadcast=True, hash=False)
