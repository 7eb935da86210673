"""Reading an analyst's own customer table: column kinds, explicit coercion, input checks.

:class:`ChurnModel` accepts any pandas DataFrame. Before it fits anything, every column is given
one *kind*, inferred from the data passed to ``fit`` and then kept fixed:

``numeric``
    a numeric or boolean dtype (booleans become 0/1);
``text_numeric``
    strings whose non-blank values *all* parse as numbers (``pd.to_numeric`` after stripping
    surrounding spaces, e.g. ``"29.85"``, ``" 1e3 "``); blank strings become missing. This is
    how exports such as Telco's ``TotalCharges`` (numbers stored as text, a few ``" "`` blanks)
    are read. A single non-numeric value keeps the whole column categorical; nothing is
    coerced to missing except blanks;
``datetime``
    datetimes (and timedeltas) become days since 1970-01-01 (or days);
``categorical``
    everything else (strings, pandas categoricals, mixed objects): values are stripped of
    surrounding spaces, blanks become missing, and the rest is kept as text.

Examples
--------
>>> X = pd.DataFrame({"contract": ["Month-to-month", "One year"], "total": ["29.85", " "]})
>>> infer_column_kinds(X)
{'contract': 'categorical', 'total': 'text_numeric'}
>>> TableCoercer().fit_transform(X)["total"].tolist()
[29.85, nan]
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import check_is_fitted

KINDS = ("numeric", "text_numeric", "datetime", "categorical")
NUMERIC_KINDS = ("numeric", "text_numeric", "datetime")
_NS_PER_DAY = 86_400 * 10**9

TableLike: TypeAlias = "pd.DataFrame | pd.Series | np.ndarray | Sequence[Sequence[object]]"
"""What an ``X`` may be: a DataFrame (the usual case), a Series (one column) or a 2-D array
(a numpy array or a list of rows), whose columns are named ``x0, x1, ...``
(:func:`as_frame`)."""


def as_frame(X: TableLike, what: str = "X") -> pd.DataFrame:
    """``X`` as a DataFrame with string column names (arrays get ``x0, x1, ...``).

    Examples
    --------
    >>> as_frame(np.zeros((2, 2))).columns.tolist()
    ['x0', 'x1']
    """
    if sparse.issparse(X):
        raise TypeError(
            f"{what}: sparse input is not supported; pass a DataFrame or a dense 2-D array"
        )
    if isinstance(X, pd.DataFrame):
        frame = X
    elif isinstance(X, pd.Series):
        frame = X.to_frame()
    else:
        array = np.asarray(X)
        if np.iscomplexobj(array):
            raise ValueError(f"{what}: Complex data not supported")
        if array.ndim == 1:
            raise ValueError(
                f"{what}: expected a 2-D table (DataFrame or 2-D array), got a 1-D array. "
                "Reshape your data with X.reshape(-1, 1) for a single feature"
            )
        if array.ndim != 2:
            raise ValueError(f"{what}: expected a 2-D table, got an array of shape {array.shape}")
        frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()].unique().tolist()
        raise ValueError(f"{what}: duplicate column name(s) {dup}")
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    return frame


def _blank_to_missing(values: pd.Series) -> pd.Series:
    """Strings stripped of surrounding spaces, blanks as missing (object dtype, NaN)."""
    array = values.astype("str").array
    if hasattr(array, "__arrow_array__"):
        arrow = array.__arrow_array__()
        trimmed = pc.utf8_trim_whitespace(arrow)
        blank = pc.equal(pc.utf8_length(trimmed), 0)
        cleaned = pc.if_else(blank, pa.scalar(None, trimmed.type), trimmed)
        out = cleaned.to_numpy(zero_copy_only=False).astype(object)
    else:  # pragma: no cover - pandas without pyarrow strings
        text = pd.Series(array, index=values.index).str.strip()
        out = text.where(text.ne("")).to_numpy(dtype=object)
    out[pd.isna(out)] = np.nan
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


def _kind_of(values: pd.Series) -> str:
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "datetime"
    text = _blank_to_missing(values)
    present = text.dropna()
    if len(present) == 0:
        return "categorical"
    parsed = pd.to_numeric(present, errors="coerce")
    if parsed.notna().all():
        return "text_numeric"
    return "categorical"


def infer_column_kinds(X: pd.DataFrame) -> dict[str, str]:
    """Return the kind of every column of ``X``: numeric, text_numeric, datetime or categorical.

    Parameters
    ----------
    X : DataFrame
        The table.

    Returns
    -------
    dict
        Column name to kind, in column order. See the module docstring for the rules.

    Examples
    --------
    >>> infer_column_kinds(pd.DataFrame({"a": [1, 2], "b": ["yes", "no"], "c": ["1", ""]}))
    {'a': 'numeric', 'b': 'categorical', 'c': 'text_numeric'}
    """
    return {col: _kind_of(X[col]) for col in X.columns}


def coerce_column(values: pd.Series, kind: str) -> pd.Series:
    """One column converted as its ``kind`` says (float64 for numbers, object text otherwise).

    Raises ``ValueError`` when a ``text_numeric`` column meets a value that is neither blank nor
    a number (new data that does not fit what was learnt in ``fit``).

    Examples
    --------
    >>> coerce_column(pd.Series(["1.5", " ", None]), "text_numeric").tolist()
    [1.5, nan, nan]
    """
    name = values.name
    if kind == "numeric":
        if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
            return pd.Series(
                values.to_numpy(dtype=np.float64, na_value=np.nan), index=values.index, name=name
            )
        kind = "text_numeric"  # new data arrived as text: read it the same careful way
    if kind == "text_numeric":
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            return values.astype(np.float64)
        text = _blank_to_missing(values)
        parsed = pd.to_numeric(text.astype(str).where(text.notna(), None), errors="coerce")
        bad = parsed.isna() & text.notna()
        if bad.any():
            examples = text[bad].unique()[:3].tolist()
            raise ValueError(
                f"X: column '{name}' was numbers stored as text in fit, but {int(bad.sum())} "
                f"value(s) are not numbers, e.g. {examples}"
            )
        return parsed.astype(np.float64)
    if kind == "datetime":
        if pd.api.types.is_timedelta64_dtype(values.dtype):
            ns = values.to_numpy(dtype="timedelta64[ns]").view(np.int64)
            nat = pd.isna(values).to_numpy()
        else:
            parsed = pd.to_datetime(values, errors="raise")
            if getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
            ns = parsed.to_numpy(dtype="datetime64[ns]").view(np.int64)
            nat = parsed.isna().to_numpy()
        days = np.where(nat, np.nan, ns / _NS_PER_DAY)
        return pd.Series(days, index=values.index, name=name)
    if kind == "categorical":
        return _blank_to_missing(values)
    raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")


class TableCoercer(TransformerMixin, BaseEstimator):
    """Learn each column's kind in ``fit``; convert columns consistently in ``transform``.

    Numbers (including numbers stored as text, see :func:`infer_column_kinds`) come out as
    float64 with ``NaN`` for missing; categorical columns as stripped text (object dtype) with
    ``NaN`` for missing. Columns seen in ``fit`` are required in ``transform``; other columns
    are ignored.

    Parameters
    ----------
    kinds : dict, optional
        Column kinds to use instead of inferring them (any column not listed is inferred).

    Attributes
    ----------
    kinds_ : dict
        The kind of each column, in column order.
    feature_names_in_ : ndarray of str
        The columns seen in ``fit``.

    Examples
    --------
    >>> X = pd.DataFrame({"plan": ["a", " b "], "charges": ["1", " "]})
    >>> TableCoercer().fit(X).kinds_
    {'plan': 'categorical', 'charges': 'text_numeric'}
    """

    def __init__(self, kinds: Mapping[str, str] | None = None) -> None:
        self.kinds = kinds

    def fit(self, X: TableLike, y: Any = None) -> TableCoercer:
        """Infer the column kinds from ``X``."""
        frame = as_frame(X)
        given = dict(self.kinds or {})
        unknown = set(given.values()) - set(KINDS)
        if unknown:
            raise ValueError(f"kinds: unknown kind(s) {sorted(unknown)}; use one of {KINDS}")
        self.kinds_ = {c: given.get(c) or _kind_of(frame[c]) for c in frame.columns}
        self.feature_names_in_ = np.asarray(list(frame.columns), dtype=object)
        self.n_features_in_ = len(self.kinds_)
        return self

    def transform(self, X: TableLike) -> pd.DataFrame:
        """Convert ``X`` column by column as learnt in :meth:`fit`."""
        check_is_fitted(self, "kinds_")
        frame = as_frame(X)
        missing = [c for c in self.kinds_ if c not in frame.columns]
        if missing:
            raise ValueError(
                f"X: missing column(s) {missing} that the model was fitted with "
                f"({len(self.kinds_)} columns)"
            )
        return pd.DataFrame(
            {c: coerce_column(frame[c], kind) for c, kind in self.kinds_.items()},
            index=frame.index,
        )

    def get_feature_names_out(self, input_features: npt.ArrayLike | None = None) -> np.ndarray:
        """Return the output columns (the input columns seen in fit)."""
        check_is_fitted(self, "kinds_")
        return np.asarray(list(self.kinds_), dtype=object)


# ``y`` stays Any: this validates whatever was passed as the label (None, a Series, a one-column
# DataFrame, a list, a 1-D or column-vector array, ...) and raises a ValueError naming the problem.
def check_binary_target(y: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate a churn label: two classes, no missing values, one per row of ``X``.

    Returns the sorted classes and the 0/1 encoding (1 for the larger class, as scikit-learn
    orders ``classes_``).

    Examples
    --------
    >>> check_binary_target(pd.Series(["No", "Yes", "No"]), 3)[1]
    array([0, 1, 0])
    """
    if y is None:
        raise ValueError("y: requires y to be passed, but the target y is None")
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(f"y: expected one label column, got {y.shape[1]}")
        y = y.iloc[:, 0]
    if not isinstance(y, pd.Series):
        array = np.asarray(y)
        if array.ndim == 2 and array.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; using y.ravel()",
                DataConversionWarning,
                stacklevel=3,
            )
            array = array.ravel()
        if array.ndim != 1:
            raise ValueError(f"y: expected a 1-D label, got an array of shape {array.shape}")
        y = pd.Series(array)
    values = y
    if len(values) != n_rows:
        raise ValueError(f"y: has {len(values)} labels but X has {n_rows} rows")
    if values.isna().any():
        raise ValueError(f"y: {int(values.isna().sum())} label(s) are missing")
    if values.dtype == object:
        kinds = {type(v) for v in values}
        if len(kinds) > 1:
            values = values.astype(str)
    if pd.api.types.is_float_dtype(values.dtype):
        target = values.to_numpy(dtype=np.float64)
        if not np.isfinite(target).all() or (target != np.round(target)).any():
            raise ValueError(
                "y: Unknown label type: continuous; a churn label is binary (0/1, 'No'/'Yes')"
            )
    classes, encoded = np.unique(values.to_numpy(), return_inverse=True)
    if len(classes) < 2:
        only = classes[0] if len(classes) else "nothing"
        raise ValueError(
            f"y: only one class ({only!r}) in the label; a churn model needs customers who "
            "churned and customers who stayed"
        )
    if len(classes) > 2:
        raise ValueError(
            "y: Only binary classification is supported. A churn label has two classes, got "
            f"{len(classes)} "
            f"({', '.join(map(repr, classes[:5]))}{', ...' if len(classes) > 5 else ''})"
        )
    return classes, encoded.astype(np.int64)


def check_target_not_in_X(X: pd.DataFrame, y01: np.ndarray, y_name: Hashable | None = None) -> None:
    """Raise ``ValueError`` when a column of ``X`` is the label itself.

    A column is taken for the label when it is named like ``y`` (``y.name``) or when it has
    exactly two distinct values, no missing ones, and reproduces ``y`` value for value (one
    value for every churner, the other for every stayer). No real predictor does that.

    Examples
    --------
    >>> X = pd.DataFrame({"Churn": ["Yes", "No"], "tenure": [1, 2]})
    >>> check_target_not_in_X(X, np.array([1, 0]))
    Traceback (most recent call last):
    ...
    ValueError: X: column 'Churn' is the target itself (it reproduces y exactly); drop it from X before fitting
    """
    if y_name is not None and y_name in X.columns:
        raise ValueError(
            f"X: column {y_name!r} has the name of the target y; drop it from X before fitting"
        )
    for col in X.columns:
        values = X[col]
        if values.isna().any():
            continue
        codes, uniques = pd.factorize(values, sort=False)
        if len(uniques) != 2:
            continue
        cells = np.bincount(codes * 2 + y01, minlength=4).reshape(2, 2)
        diagonal = cells[0, 0] == 0 and cells[1, 1] == 0
        off_diagonal = cells[0, 1] == 0 and cells[1, 0] == 0
        if diagonal or off_diagonal:
            raise ValueError(
                f"X: column {col!r} is the target itself (it reproduces y exactly); drop it "
                "from X before fitting"
            )


def check_no_empty_columns(X: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the columns with no value at all (after blanks -> missing).

    Examples
    --------
    >>> check_no_empty_columns(pd.DataFrame({"a": [1.0, 2.0], "b": [np.nan, np.nan]}))
    Traceback (most recent call last):
    ...
    ValueError: X: column(s) ['b'] have no values (all missing or blank); drop them
    """
    empty = [c for c in X.columns if X[c].isna().all()]
    if empty:
        raise ValueError(f"X: column(s) {empty} have no values (all missing or blank); drop them")


class CategoryCoder(TransformerMixin, BaseEstimator):
    """Replace each categorical column's text by a numeric level code (fast to encode).

    Levels seen in ``fit`` get codes ``0, 1, ...`` (most frequent first); a level never seen
    gets the code ``n_levels`` (so the downstream encoders treat it as unknown); missing stays
    ``NaN``. Numeric columns pass through. Scikit-learn's encoders are much faster on these
    float codes than on Python strings.

    Parameters
    ----------
    kinds : dict
        Column kinds (as :attr:`TableCoercer.kinds_`); columns of kind ``categorical`` are coded.

    Attributes
    ----------
    levels_ : dict
        The levels of each categorical column, by code.

    Examples
    --------
    >>> X = pd.DataFrame({"plan": ["b", "a", "b", None]})
    >>> CategoryCoder({"plan": "categorical"}).fit_transform(X)["plan"].tolist()
    [0.0, 1.0, 0.0, nan]
    """

    def __init__(self, kinds: Mapping[str, str] | None = None) -> None:
        self.kinds = kinds

    def fit(self, X: pd.DataFrame, y: Any = None) -> CategoryCoder:
        """Learn the levels of the categorical columns."""
        kinds = dict(self.kinds or {})
        self.levels_ = {}
        for col, kind in kinds.items():
            if kind == "categorical":
                counts = X[col].value_counts(dropna=True, sort=False)
                order = np.lexsort((counts.index.astype(str), -counts.to_numpy()))
                self.levels_[col] = pd.Index(counts.index[order].astype(object), dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Categorical columns as float level codes; other columns unchanged."""
        check_is_fitted(self, "levels_")
        out = X.copy(deep=False)
        for col, levels in self.levels_.items():
            values = X[col]
            codes = levels.get_indexer(values.astype(object)).astype(np.float64)
            codes[codes < 0] = len(levels)
            codes[values.isna().to_numpy()] = np.nan
            out[col] = codes
        return out
