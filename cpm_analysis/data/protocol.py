"""The dataset protocol every analysis is written against, whatever engine holds the data.

An analysis never asks which engine it runs on. It takes the point-in-time view with
``as_of``, hands each per-customer step to ``map_customers`` and brings per-customer results
into pandas with ``gather``:

- the pandas :class:`~cpm_analysis.data.Dataset` is one bucket: ``map_customers`` applies the
  step once to the whole dataset and ``gather`` returns the frames as they are;
- the Dask dataset (:class:`cpm_analysis.scale.DaskDataset`) holds every customer's rows of
  every table in one bucket: ``map_customers`` applies the step to each bucket (a pandas
  ``Dataset``) and returns a lazy Dask DataFrame, ``gather`` computes such frames into pandas.

A step is a plain function ``step(bucket: Dataset, **kwargs) -> DataFrame`` whose rows
describe the bucket's customers only, so that the rows of all buckets together are the rows the
step gives on the whole data. ``collect`` returns the whole dataset in pandas (small data).

Examples
--------
>>> import pandas as pd
>>> from cpm_analysis.data import Dataset
>>> ds = Dataset(customers=pd.DataFrame({"customer_id": ["a"]}),
...              orders=pd.DataFrame({"customer_id": ["a", "a"], "amount": [1.0, 2.0]}))
>>> def spend(bucket):
...     return bucket.orders.groupby("customer_id")[["amount"]].sum()
>>> (total,) = ds.gather(ds.map_customers(spend, tables=("orders",)))
>>> total["amount"].tolist()
[3.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pandas as pd

if TYPE_CHECKING:
    from cpm_analysis.data.dataset import Dataset
    from cpm_analysis.periods import Cutoff

Step = Callable[..., pd.DataFrame]


@runtime_checkable
class CustomerData(Protocol):
    """What an analysis needs of a dataset: a point-in-time view, per-customer steps, results.

    Attributes
    ----------
    cutoff : Timestamp or None
        Set by :meth:`as_of`.
    customers : DataFrame
        The customers table (a pandas DataFrame, or a Dask one bucket by bucket): read for
        its columns (which optional fields the data has), never row by row.
    staff, targets, assessments : DataFrame or None
        The plan tables, always pandas.
    """

    cutoff: pd.Timestamp | None
    customers: Any  # pandas or Dask DataFrame (Dask has no type information)
    staff: pd.DataFrame | None
    targets: pd.DataFrame | None
    assessments: pd.DataFrame | None

    def as_of(self, cutoff: Cutoff) -> CustomerData:
        """Return the point-in-time view at ``cutoff``."""
        ...

    def has(self, table: str) -> bool:
        """Whether ``table`` is present."""
        ...

    @property
    def customer_tables(self) -> tuple[str, ...]:
        """The customer-keyed tables present (``customers``, ``orders``, ...)."""
        ...

    def map_customers(
        self, step: Step, *, tables: tuple[str, ...] | None = None, **kwargs: Any
    ) -> Any:
        """``step(bucket, **kwargs)`` on every bucket of customers; see the module docstring."""
        ...

    def gather(self, *results: Any) -> list[pd.DataFrame]:
        """Results of :meth:`map_customers` as pandas DataFrames."""
        ...

    def collect(self) -> Dataset:
        """Return the data in pandas (a :class:`~cpm_analysis.data.Dataset`), at ``cutoff``.

        The pandas dataset returns itself; the Dask dataset reads its store once and shares it
        between its views.
        """
        ...

    def last_date(self) -> pd.Timestamp:
        """Return the latest event date."""
        ...


# ``data`` is Any on purpose: this is the run-time check of whatever a caller passes.
def customer_data(data: Any, name: str = "dataset") -> CustomerData:
    """Return ``data`` itself when it follows the dataset protocol, else raise a ``TypeError``.

    Examples
    --------
    >>> customer_data([1, 2])
    Traceback (most recent call last):
    ...
    TypeError: dataset: expected a Dataset (cpm_analysis.load) or a Dask dataset (load(..., engine='dask')), got list
    """
    if not isinstance(data, CustomerData):
        raise TypeError(
            f"{name}: expected a Dataset (cpm_analysis.load) or a Dask dataset "
            f"(load(..., engine='dask')), got {type(data).__name__}"
        )
    return data
