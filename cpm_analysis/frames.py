"""Small, fast DataFrame helpers shared by the analyses.

pandas 3 stores strings in Arrow arrays; some pandas operations on them (``Series.isin``
against another string collection) fall back to Python loops. These helpers go straight to
Arrow compute and stay vectorised at millions of rows.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def isin(series: pd.Series, values: pd.Series | pd.Index | np.ndarray | Iterable) -> np.ndarray:
    """Vectorised ``series.isin(values)`` for string columns, as a boolean numpy array.

    Missing values are never members.

    Examples
    --------
    >>> isin(pd.Series(["a", "b", None], dtype="str"), pd.Index(["b", "c"], dtype="str"))
    array([False,  True, False])
    """
    if not (pd.api.types.is_string_dtype(series.dtype) or series.dtype == object):
        return series.isin(values).to_numpy(dtype=bool)
    if not isinstance(values, pd.Series | pd.Index):
        values = pd.Series(np.asarray(list(values) if not hasattr(values, "__len__") else values))
    left = pa.array(series.astype("str"))
    right = pa.array(pd.Series(values).astype("str"))
    result = pc.is_in(left, value_set=right, skip_nulls=True)
    return result.to_numpy(zero_copy_only=False).astype(bool) & series.notna().to_numpy()
