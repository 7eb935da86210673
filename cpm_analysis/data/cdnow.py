"""The CDNOW transactions (Fader, Hardie & Lee 2005) as canonical ``customers``/``orders``.

The raw files are vendored in ``data/external/cdnow/`` (see the README there for provenance).
``load("data/external/cdnow")`` recognises the folder and reads the full master file (23,570
customers); :func:`load_cdnow` with ``sample=True`` reads the 1/10 sample (2,357 customers) used
by the published model estimates.

Canonical mapping: ``customer_id`` is the CDNOW id without leading zeros, ``signup_date`` the
customer's first purchase date, one order per line of the file (``order_id`` is
``<customer_id>-<line>``), ``amount`` the dollar value and ``quantity`` the number of CDs. The
sample adds ``sample_id``, the id used by ``cdnow_customers_summary.csv``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.paths import cdnow_dir
from cpm_analysis.exceptions import DataValidationError

MASTER_FILE = "CDNOW_master.txt"
SAMPLE_FILE = "CDNOW_sample.txt"


def is_cdnow_folder(folder: Path) -> bool:
    """Return True for a folder holding the CDNOW master file and no canonical customers table."""
    has_canonical = any(folder.glob("customers.*")) or (folder / "customers").is_dir()
    return (folder / MASTER_FILE).is_file() and not has_canonical


def read_cdnow_frames(
    folder: Path | None = None, *, sample: bool = False
) -> dict[str, pd.DataFrame]:
    """Read the raw CDNOW file into raw canonical ``customers`` and ``orders`` frames.

    Examples
    --------
    >>> frames = read_cdnow_frames(sample=True)
    >>> len(frames["customers"])
    2357
    """
    folder = Path(folder) if folder is not None else cdnow_dir()
    path = folder / (SAMPLE_FILE if sample else MASTER_FILE)
    if not path.is_file():
        raise DataValidationError(f"orders: CDNOW file {path} not found", table="orders")
    if sample:
        names = ["customer_id", "sample_id", "date", "cds", "dollars"]
        raw = pd.read_csv(path, sep=r"\s+", header=None, names=names, dtype="str")
    else:
        raw = pd.read_csv(path, sep=r"\s+", dtype="str")
        raw.columns = ["customer_id", "date", "cds", "dollars"]
    customer_id = raw["customer_id"].str.lstrip("0")
    order_date = pd.to_datetime(raw["date"], format="%Y%m%d", errors="coerce")
    orders = pd.DataFrame(
        {
            "order_id": customer_id + "-" + pd.Series(range(1, len(raw) + 1)).astype("str"),
            "customer_id": customer_id,
            "order_date": raw["date"].where(order_date.isna(), order_date.dt.strftime("%Y-%m-%d")),
            "amount": raw["dollars"],
            "quantity": raw["cds"],
        }
    )
    first = (
        pd.DataFrame({"customer_id": customer_id, "signup_date": order_date})
        .groupby("customer_id", sort=False)["signup_date"]
        .min()
    )
    customers = first.dt.strftime("%Y-%m-%d").reset_index()
    if sample:
        ids = raw.assign(customer_id=customer_id).drop_duplicates("customer_id")
        customers["sample_id"] = (
            customers["customer_id"].map(ids.set_index("customer_id")["sample_id"]).str.lstrip("0")
        )
    return {"customers": customers, "orders": orders}


def load_cdnow(folder: Path | str | None = None, *, sample: bool = False) -> Dataset:
    """Load the CDNOW transactions as a validated :class:`Dataset`.

    Parameters
    ----------
    folder : path, optional
        Folder with the CDNOW files; default ``data/external/cdnow``.
    sample : bool
        Read the 1/10 sample (2,357 customers) instead of the master file (23,570).

    Examples
    --------
    >>> ds = load_cdnow(sample=True)
    >>> ds.orders["order_date"].min()
    Timestamp('1997-01-01 00:00:00')
    """
    from cpm_analysis.data.loader import validate_frames

    folder = Path(folder) if folder is not None else cdnow_dir()
    return validate_frames(read_cdnow_frames(folder, sample=sample), source=str(folder))
