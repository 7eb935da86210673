"""Shared benchmark helpers: cached synthetic data, a stage timer, peak memory."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

CACHE = Path(os.environ.get("CPM_BENCH_CACHE", Path(__file__).resolve().parent / ".cache"))


def dataset_dir(n_customers: int, seed: int = 0) -> Path:
    """A synthetic company of ``n_customers`` as Parquet, generated once and cached on disk."""
    from cpm_analysis.synthetic import generate

    path = CACHE / f"synthetic-{n_customers}-{seed}"
    if not (path / "orders.parquet").is_file():
        generate(n_customers, seed=seed).write(path, format="parquet")
    return path


def dataset_dir_in_child(n_customers: int, seed: int = 0) -> Path:
    """:func:`dataset_dir`, generating a missing company in a child process, so the
    generator's memory never counts in the calling benchmark's peak."""
    path = CACHE / f"synthetic-{n_customers}-{seed}"
    if not (path / "orders.parquet").is_file():
        here = Path(__file__).resolve().parent
        code = (
            f"import sys; sys.path.insert(0, {str(here)!r}); from common import dataset_dir; "
            f"dataset_dir({int(n_customers)}, {int(seed)})"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
    if not (path / "orders.parquet").is_file():  # CACHE moved by the environment
        path = dataset_dir(n_customers, seed)
    return path


def peak_memory_gb() -> float:
    """Peak resident memory of this process so far, in GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


@contextmanager
def stage(rows: list[dict], name: str, target_s: float | None = None, note: str = ""):
    """Time a block and append ``{"stage", "seconds", "target_s", "note"}`` to ``rows``."""
    start = time.perf_counter()
    yield
    rows.append(
        {
            "stage": name,
            "seconds": time.perf_counter() - start,
            "target_s": target_s,
            "note": note,
        }
    )


def machine() -> str:
    """One line describing the machine the figures were measured on."""
    cores = os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {cores} cores, {mem:.0f} GiB, Python {platform.python_version()}"
