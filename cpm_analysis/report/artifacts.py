"""Cells of the scored customer table made readable in ``customers_scored.csv``.

The table itself is put in its published form by
:func:`cpm_analysis.pipeline.scored.finalize_scored`; :func:`scored_for_csv` joins list cells
for the CSV.

Examples
--------
>>> scored_for_csv(pd.DataFrame({"r": [["a", "b"], []]}))["r"].tolist()
['a; b', '']
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def scored_for_csv(scored: pd.DataFrame) -> pd.DataFrame:
    """Join lists in cells (e.g. reason codes) by ``"; "`` so a CSV cell stays readable.

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
