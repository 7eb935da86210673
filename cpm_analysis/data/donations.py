"""The vendored donations data set (BG/BB benchmark; see data/external/donations/README.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cpm_analysis.data.paths import data_dir

__all__ = ["donations_dir", "load_donations"]

_COLUMNS = {"frequency": "frequency", "recency": "recency", "periods": "T", "weights": "customers"}


def donations_dir() -> Path:
    """Return the folder of the vendored donations table.

    Examples
    --------
    >>> donations_dir().name
    'donations'
    """
    return data_dir() / "external" / "donations"


def load_donations(path: Path | str | None = None) -> pd.DataFrame:
    """Return the 1995 donor cohort of Fader, Hardie & Shang (2010): one row per distinct history.

    Parameters
    ----------
    path : path, optional
        A CSV with the columns ``frequency, recency, periods, weights``; default the vendored
        ``data/external/donations/donations.csv``.

    Returns
    -------
    DataFrame
        ``frequency`` (repeat donations in the 6 yearly opportunities 1996-2001), ``recency``
        (the opportunity of the last one, 0 without any), ``T`` (opportunities, 6) and
        ``customers`` (donors with that history; pass it as ``sample_weight``), all int64.

    Examples
    --------
    >>> donations = load_donations()
    >>> len(donations), int(donations["customers"].sum())
    (22, 11104)
    >>> donations.columns.tolist()
    ['frequency', 'recency', 'T', 'customers']
    """
    file = Path(path) if path is not None else donations_dir() / "donations.csv"
    if not file.is_file():
        raise FileNotFoundError(
            f"donations: {file} not found; the table ships in data/external/donations "
            "(see its README for where it comes from)"
        )
    frame = pd.read_csv(file)
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"donations: {file.name} lacks column(s) {', '.join(missing)}; expected "
            f"{', '.join(_COLUMNS)}"
        )
    return frame[list(_COLUMNS)].rename(columns=_COLUMNS).astype("int64")
