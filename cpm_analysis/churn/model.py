"""``ChurnModel``: a calibrated churn classifier that takes an analyst's own customer table.

The estimator follows scikit-learn's conventions (parameters in ``__init__`` only, ``fit``
returns ``self``, fitted attributes end in ``_``), so it works with ``clone``, ``Pipeline``,
``cross_val_score`` and ``GridSearchCV``. What it does in ``fit``:

1. **Read the table.** Every column gets a kind (:mod:`cpm_analysis.churn.table`): numbers,
   numbers stored as text (blanks become missing), datetimes (days), or categories. Bad input
   raises ``ValueError``: no rows, a label with one class, a column that is the label itself,
   columns without any value.
2. **Two candidates.**

   - ``"logistic"``: an L2-regularised logistic regression on an additive design. Each numeric
     column is imputed (median, plus a missing-indicator column when it had gaps), mapped to
     its rank in the training data (robust to skew and outliers) and expanded into the rank
     plus a cubic spline basis of it, so monotone and U-shaped effects are both captured; each
     categorical column is one-hot encoded, with missing as its own level and rare levels
     (fewer than ``min_frequency`` rows, or beyond ``max_categories``) pooled as
     "infrequent". Everything is standardised, and the fit uses the Newton-Cholesky solver
     (a few iterations; fast while the design has hundreds of columns, not thousands).
   - ``"boosting"``: ``HistGradientBoostingClassifier`` with native categorical splits
     (categories ordinal-encoded, rare ones pooled, missing kept as missing), shallow trees
     (8 leaves of at least 80 customers), a learning rate of 0.1 and early stopping on a
     held-out tenth (a fixed 100 trees on tables under 1,000 rows).

3. **Choose and calibrate.** With ``model="auto"`` both candidates are validated on the
   training data (``cv`` stratified folds shuffled with ``random_state``; one stratified 20%
   holdout above 20,000 customers), and so is their *blend* (the average of the two models'
   log-odds). The one with the higher out-of-sample ROC AUC is kept (ties go to the logistic
   regression); the blend replaces it only when it is better by at least 0.001, since it
   costs both models at scoring time. The out-of-sample scores of the kept model then fit the
   calibration map (Platt's sigmoid by default), and the kept model(s) are refitted on all
   the data. Probabilities are therefore calibrated on data the model did not see, as
   ``CalibratedClassifierCV(ensemble=False)`` does, without fitting every fold twice.

Reason codes (:meth:`ChurnModel.explain`) measure each feature against the *training
population*: a feature's contribution is how much the customer's value of that feature moves
the model's log-odds of churn away from its average over the training customers.

- For the logistic regression this is exact and additive: the sum over the feature's design
  columns of ``coefficient x standardised value`` (standardised columns average 0 on the
  training data).
- For the boosted trees it is ``f(x)`` minus the weighted mean of ``f(x)`` with the feature
  replaced by each of a few background values (five percentiles of a numeric column, the five
  most frequent levels of a categorical one, and missing when it occurs, each with its share of
  the training data). It is computed one feature at a time for all customers at once: a fast
  approximation of a Shapley value that does not split interactions between features.
- For the blend, the average of the two.

Contributions are multiplied by the slope of the sigmoid calibration, so they are on the scale
of the calibrated log-odds. The features with the largest positive contributions become the
customer's reasons, phrased by :mod:`cpm_analysis.churn.reasons`.

Examples
--------
>>> from cpm_analysis.churn import ChurnModel
>>> model = ChurnModel(model="logistic", random_state=0).fit(X, y)
>>> model.predict_proba(X)[:3, 1].round(3)
array([0.651, 0.69 , 0.737])
>>> model.explain(X)["reasons"].head(3)
customer_id
C000001    spend 0 in the last 90 days; region = South; n...
C000004    lifetime spend 20; no order for 56 days; spend...
C000006    0.2 purchases expected in the next 90 days; sp...
Name: reasons, dtype: str
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from cpm_analysis.churn.reasons import format_reasons
from cpm_analysis.churn.substitution import tree_substitution
from cpm_analysis.churn.table import (
    NUMERIC_KINDS,
    CategoryCoder,
    TableCoercer,
    TableLike,
    as_frame,
    check_binary_target,
    check_no_empty_columns,
    check_target_not_in_X,
)

MODELS = ("auto", "logistic", "boosting")
BACKGROUND_QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)
EARLY_STOPPING_ROWS = 1000
AUTO_FOLDS = 5
AUTO_FOLDS_ROWS = 20_000
HOLDOUT_SHARE = 0.2
BLEND_MIN_GAIN = 0.001
SUBSTITUTION_ROWS = 500_000
# Below this many training rows ``fit`` runs OpenMP (the boosted trees) on one thread: on small
# tables the threads only wait for each other, and on a busy machine a 3,000-row fit took 39 s
# instead of about 3 s (every parallel region waits for its slowest, descheduled thread).
SINGLE_THREAD_ROWS = 50_000
CALIBRATIONS = ("sigmoid", "isotonic", None)


class Classifier(Protocol):
    """A fitted binary classifier, as the churn functions use one: a :class:`ChurnModel` or another.

    ``predict_proba(X)[:, 1]`` is the probability of the larger label (churn). Every
    scikit-learn classifier is one (scikit-learn has no type information, so mypy takes its
    estimators as they are); a model that also has :meth:`ChurnModel.explain` gives reasons.
    """

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Return one column of probabilities per class, the churn class last."""
        ...


def cubic_bspline_basis(u: np.ndarray, n_knots: int) -> np.ndarray:
    """Uniform cubic B-spline basis on [0, 1] with ``n_knots`` knots, in closed form.

    Returns ``n_knots + 2`` columns that sum to one (values outside [0, 1] are clipped, i.e.
    the basis is constant beyond the ends). Vectorised: each row has four non-zero values.

    Examples
    --------
    >>> cubic_bspline_basis(np.array([0.0, 0.5, 1.0]), 3).round(3)
    array([[0.167, 0.667, 0.167, 0.   , 0.   ],
           [0.   , 0.167, 0.667, 0.167, 0.   ],
           [0.   , 0.   , 0.167, 0.667, 0.167]])
    """
    segments = n_knots - 1
    position = np.clip(u, 0.0, 1.0) * segments
    first = np.minimum(np.floor(position).astype(np.int64), segments - 1)
    t = position - first
    t2, t3 = t * t, t * t * t
    values = (
        (1.0 - t) ** 3 / 6.0,
        (3.0 * t3 - 6.0 * t2 + 4.0) / 6.0,
        (-3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0) / 6.0,
        t3 / 6.0,
    )
    out = np.zeros((len(u), n_knots + 2))
    rows = np.arange(len(u))
    for k, value in enumerate(values):
        out[rows, first + k] = value
    return out


class NumericBasis(TransformerMixin, BaseEstimator):
    """One numeric column as rank, cubic spline of the rank and a missing indicator.

    The rank maps a value onto [0, 1] by interpolating the training percentiles, so a skewed
    column (spend) and a bounded one (a score) get the same well-spread input; a cubic
    B-spline basis of the rank (``n_knots`` uniform knots, constant beyond the ends) lets a
    linear model bend it. Missing values take the training median and set the indicator (only
    present when the training column had missing values). Columns with three or fewer distinct
    values get the rank only.

    Parameters
    ----------
    n_knots : int
        Knots of the spline (``n_knots + 1`` basis columns besides the rank: the B-splines
        but the last, which the others and the intercept determine).

    Examples
    --------
    >>> x = np.array([[1.0], [2.0], [np.nan], [10.0], [4.0], [7.0]])
    >>> NumericBasis(n_knots=3).fit_transform(x).shape  # rank, 4 spline columns, missing flag
    (6, 6)
    """

    def __init__(self, n_knots: int = 4) -> None:
        self.n_knots = n_knots

    def fit(self, X: np.ndarray, y: Any = None) -> NumericBasis:
        """Learn the percentiles, the median and whether values were missing."""
        x = np.asarray(X, dtype=np.float64).reshape(len(X), -1)[:, 0]
        present = x[~np.isnan(x)]
        if len(present) == 0:
            raise ValueError("NumericBasis: the column has no values")
        if int(self.n_knots) < 2:
            raise ValueError(f"n_knots: expected at least 2, got {self.n_knots!r}")
        self.median_ = float(np.median(present))
        self.has_missing_ = bool(np.isnan(x).any())
        self.percentiles_ = np.unique(np.quantile(present, np.linspace(0.0, 1.0, 101)))
        self.spline_ = bool(pd.unique(present).size > 3)
        return self

    def _rank(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(X, dtype=np.float64).reshape(len(X), -1)[:, 0]
        missing = np.isnan(x)
        filled = np.where(missing, self.median_, x)
        q = self.percentiles_
        rank = np.interp(filled, q, np.linspace(0.0, 1.0, len(q))) if len(q) > 1 else filled * 0
        return rank, missing

    def evaluate(self, X: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``transform(X) @ weights`` without building the basis (four terms per row).

        Examples
        --------
        >>> basis = NumericBasis(n_knots=3).fit(np.arange(10.0).reshape(-1, 1))
        >>> w = np.arange(5.0)
        >>> X = np.array([[2.5], [7.0]])
        >>> np.allclose(basis.evaluate(X, w), basis.transform(X) @ w)
        True
        """
        check_is_fitted(self, "percentiles_")
        rank, missing = self._rank(X)
        out = weights[0] * rank
        if self.spline_:
            n_knots = int(self.n_knots)
            coef = np.zeros(n_knots + 2)
            coef[: n_knots + 1] = weights[1 : n_knots + 2]  # the last B-spline is dropped
            segments = n_knots - 1
            position = rank * segments
            first = np.minimum(np.floor(position).astype(np.int64), segments - 1)
            t = position - first
            t2 = t * t
            t3 = t2 * t
            out += coef[first] * ((1.0 - t) ** 3 / 6.0)
            out += coef[first + 1] * ((3.0 * t3 - 6.0 * t2 + 4.0) / 6.0)
            out += coef[first + 2] * ((-3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0) / 6.0)
            out += coef[first + 3] * (t3 / 6.0)
        if self.has_missing_:
            out += weights[-1] * missing
        return out

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return the basis columns for ``X``."""
        rank, missing = self._rank(X)
        width = 1 + (int(self.n_knots) + 1 if self.spline_ else 0) + int(self.has_missing_)
        out = np.empty((len(rank), width))
        out[:, 0] = rank
        if self.spline_:
            out[:, 1 : int(self.n_knots) + 2] = cubic_bspline_basis(rank, int(self.n_knots))[:, :-1]
        if self.has_missing_:
            out[:, -1] = missing
        return out


class AdditiveDesign(TransformerMixin, BaseEstimator):
    """The logistic regression's design: one block of columns per input feature.

    Numeric features get a :class:`NumericBasis` block, categorical features (as level codes
    from :class:`~cpm_analysis.churn.table.CategoryCoder`) a one-hot block from
    ``OneHotEncoder(handle_unknown="infrequent_if_exist")``, missing as its own level and rare
    levels pooled. Working on one numpy array avoids a DataFrame column lookup per feature, and
    ``slices_`` maps every design column back onto its feature (for the reason codes).

    Parameters
    ----------
    kinds : dict
        Column kinds, in column order.
    max_categories, min_frequency : int
        Passed to the one-hot encoders.

    Attributes
    ----------
    slices_ : dict
        The design columns of each feature.

    Examples
    --------
    >>> X = pd.DataFrame({"plan": [0.0, 1.0, 0.0, np.nan], "seats": [1.0, 5.0, 2.0, 3.0]})
    >>> kinds = {"plan": "categorical", "seats": "numeric"}
    >>> AdditiveDesign(kinds, min_frequency=1).fit(X).slices_["plan"]
    slice(0, 3, None)
    """

    def __init__(
        self, kinds: dict | None = None, max_categories: int = 32, min_frequency: int = 10
    ) -> None:
        self.kinds = kinds
        self.max_categories = max_categories
        self.min_frequency = min_frequency

    def _kinds(self) -> dict[str, str]:
        if self.kinds is None:
            raise ValueError("kinds: expected a mapping of column to kind, got None")
        return dict(self.kinds)

    def fit(self, X: pd.DataFrame, y: Any = None) -> AdditiveDesign:
        """Fit one encoder per feature."""
        kinds = self._kinds()
        values = X[list(kinds)].to_numpy(dtype=np.float64)
        self.encoders_: list[Any] = []
        self.slices_: dict[str, slice] = {}
        start = 0
        for j, (col, kind) in enumerate(kinds.items()):
            if kind in NUMERIC_KINDS:
                encoder = NumericBasis()
            else:
                encoder = OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=self.min_frequency,
                    max_categories=self.max_categories,
                    sparse_output=False,
                )
            width = encoder.fit(values[:, [j]]).transform(values[:1, [j]]).shape[1]
            self.encoders_.append(encoder)
            self.slices_[col] = slice(start, start + width)
            start += width
        self.n_output_ = start
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Return the design matrix (dense float64)."""
        check_is_fitted(self, "encoders_")
        values = X[list(self._kinds())].to_numpy(dtype=np.float64)
        out = np.empty((len(values), self.n_output_))
        for j, (encoder, block) in enumerate(
            zip(self.encoders_, self.slices_.values(), strict=True)
        ):
            out[:, block] = encoder.transform(values[:, [j]])
        return out


def _boosting_design(
    numeric: list[str], categorical: list[str], max_categories: int, min_frequency: int
) -> ColumnTransformer:
    steps: list[tuple[str, Any, list[str]]] = []
    if numeric:
        steps.append(("num", "passthrough", numeric))
    if categorical:
        steps.append(
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                    min_frequency=min_frequency,
                    max_categories=max_categories,
                ),
                categorical,
            )
        )
    return ColumnTransformer(steps, remainder="drop", sparse_threshold=0.0)


class ChurnModel(ClassifierMixin, BaseEstimator):
    """Calibrated churn classifier for any customer table of mixed columns.

    Parameters
    ----------
    model : {"auto", "logistic", "boosting"}
        ``"auto"`` cross-validates a regularised logistic regression, gradient-boosted trees
        and their blend on the training data and keeps the one with the highest ROC AUC (see
        the module docstring).
    cv : "auto" or int
        The internal validation that chooses the model and produces the out-of-sample scores
        the calibration is fitted on. An int is that many stratified folds (at least 2);
        ``"auto"`` is 5 folds up to 20,000 customers and, above that, one stratified holdout of
        20% (plenty of customers to choose and calibrate on, at a fraction of the cost).
    calibration : {"sigmoid", "isotonic"} or None
        How scores become probabilities: Platt's sigmoid (default, robust on small data),
        isotonic regression (flexible, needs thousands of rows), or None for the model's own
        probabilities (no internal cross-validation when ``model`` is not ``"auto"``).
    C : float
        Inverse L2 regularisation strength of the logistic regression (on standardised
        design columns).
    max_categories : int
        Most levels kept per categorical column; rarer levels are pooled as "infrequent".
    min_frequency : int
        Levels seen in fewer training rows are pooled as "infrequent" (so identifier-like
        columns cannot be memorised).
    threshold : float
        Churn probability from which :meth:`predict` says churn.
    random_state : int, RandomState or None
        Seeds the cross-validation folds and the boosted model's early-stopping split: the
        same seed gives the same probabilities.

    Attributes
    ----------
    classes_ : ndarray
        The two labels, sorted; the churn class is ``classes_[1]`` (1, True or "Yes").
    feature_names_in_ : ndarray of str
        The columns seen in ``fit``.
    kinds_ : dict
        Each column's kind (numeric, text_numeric, datetime, categorical).
    selected_model_ : str
        ``"logistic"``, ``"boosting"`` or ``"blend"`` (the average of both log-odds).
    cv_scores_ : dict
        Out-of-fold (or holdout) ROC AUC of each candidate (empty when no validation ran).
    validation_ : str
        What the validation was: ``"5-fold"``, ``"holdout of 40000 rows"`` or ``"none"``.
    estimators_ : dict of Pipeline
        The kept model(s), refitted on all the data (two for the blend).
    estimator_ : Pipeline
        The first of ``estimators_`` (the only one unless the blend was kept).
    calibrator_ : object or None
        The fitted calibration map.
    background_ : dict
        Per column, a few values and their weights standing for the training data (the
        boosted model's reasons are measured against them).
    quartiles_ : dict
        25th and 75th percentile of each numeric column, for "(low)" / "(high)" in reasons.

    Examples
    --------
    >>> from cpm_analysis.churn import ChurnModel
    >>> X = pd.DataFrame({"contract": ["Month-to-month", "Two year"] * 50,
    ...                   "tenure": np.arange(100) % 30})
    >>> y = (X["contract"] == "Month-to-month") & (X["tenure"] < 20)
    >>> model = ChurnModel(random_state=0).fit(X, y)
    >>> model.predict_proba(X).shape
    (100, 2)
    """

    def __init__(
        self,
        model: str = "auto",
        *,
        cv: int | str = "auto",
        calibration: str | None = "sigmoid",
        C: float = 0.3,
        max_categories: int = 32,
        min_frequency: int = 10,
        threshold: float = 0.5,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.model = model
        self.cv = cv
        self.calibration = calibration
        self.C = C
        self.max_categories = max_categories
        self.min_frequency = min_frequency
        self.threshold = threshold
        self.random_state = random_state

    # ------------------------------------------------------------------ scikit-learn plumbing
    def __sklearn_tags__(self):
        """Declare that ``X`` may hold missing values and text columns."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.classifier_tags.multi_class = False
        return tags

    def _check_params(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model: expected one of {MODELS}, got {self.model!r}")
        if self.calibration not in CALIBRATIONS:
            raise ValueError(
                f"calibration: expected 'sigmoid', 'isotonic' or None, got {self.calibration!r}"
            )
        if not (self.cv == "auto" or (isinstance(self.cv, int | np.integer) and self.cv >= 2)):
            raise ValueError(f"cv: expected 'auto' or an integer of at least 2, got {self.cv!r}")
        if not (
            isinstance(self.C, int | float | np.integer | np.floating)
            and not isinstance(self.C, bool)
            and float(self.C) > 0
        ):
            raise ValueError(f"C: expected a positive number, got {self.C!r}")
        if not (isinstance(self.max_categories, int | np.integer) and self.max_categories >= 2):
            raise ValueError(
                f"max_categories: expected an integer of at least 2, got {self.max_categories!r}"
            )
        if not (isinstance(self.min_frequency, int | np.integer) and self.min_frequency >= 1):
            raise ValueError(
                f"min_frequency: expected a positive integer, got {self.min_frequency!r}"
            )
        if not 0.0 < float(self.threshold) < 1.0:
            raise ValueError(f"threshold: expected a probability in (0, 1), got {self.threshold}")

    def _candidate(self, name: str, seed: int, n_rows: int) -> Pipeline:
        """Return a fresh candidate; its settings depend on the size of the whole training set."""
        numeric = [c for c, k in self.kinds_.items() if k in NUMERIC_KINDS]
        categorical = [c for c, k in self.kinds_.items() if k not in NUMERIC_KINDS]
        codes = CategoryCoder(self.kinds_)
        if name == "logistic":
            design = AdditiveDesign(self.kinds_, int(self.max_categories), int(self.min_frequency))
            clf = LogisticRegression(C=float(self.C), solver="newton-cholesky", max_iter=100)
            return Pipeline(
                [("codes", codes), ("design", design), ("scale", StandardScaler()), ("clf", clf)]
            )
        design = _boosting_design(
            numeric, categorical, min(int(self.max_categories), 250), int(self.min_frequency)
        )
        mask = np.array([False] * len(numeric) + [True] * len(categorical))
        # early stopping needs a validation split worth the name; small tables get a fixed,
        # short run of small leaves instead
        large = n_rows >= EARLY_STOPPING_ROWS
        clf = HistGradientBoostingClassifier(
            learning_rate=0.1,
            max_iter=1000 if large else 100,
            max_leaf_nodes=8,
            min_samples_leaf=80 if large else max(1, min(20, n_rows // 20)),
            l2_regularization=1.0,
            categorical_features=mask if mask.any() else None,
            early_stopping=large,
            validation_fraction=0.1,
            n_iter_no_change=30,
            random_state=seed,
        )
        return Pipeline([("codes", codes), ("design", design), ("clf", clf)])

    def _splits(
        self, y01: np.ndarray, counts: np.ndarray, classes: np.ndarray, seed: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Stratified folds (or, for ``cv="auto"`` on large data, one stratified holdout)."""
        rare = classes[counts.argmin()]
        if self.cv == "auto" and len(y01) > AUTO_FOLDS_ROWS:
            split = StratifiedShuffleSplit(1, test_size=HOLDOUT_SHARE, random_state=seed)
            return list(split.split(np.zeros(len(y01)), y01))
        wanted = AUTO_FOLDS if self.cv == "auto" else int(self.cv)
        n_splits = int(min(wanted, counts.min()))
        if n_splits < 2:
            raise ValueError(
                f"y: only {counts.min()} customer(s) of class {rare!r}; need at least 2 of each "
                "class to cross-validate and calibrate (or use model='logistic' or 'boosting' "
                "with calibration=None)"
            )
        if n_splits < wanted:
            warnings.warn(
                f"y: only {counts.min()} customer(s) of class {rare!r}; using {n_splits}-fold "
                f"instead of {wanted}-fold cross-validation",
                UserWarning,
                stacklevel=3,
            )
        folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
        return list(folds.split(np.zeros(len(y01)), y01))

    # ------------------------------------------------------------------------------- fitting
    def fit(self, X: TableLike, y: npt.ArrayLike) -> ChurnModel:
        """Infer column kinds, choose the model by cross-validation, calibrate and refit.

        Parameters
        ----------
        X : DataFrame of shape (n_customers, n_columns)
            Any mix of numeric, boolean, datetime and text columns, with missing values;
            numbers stored as text with blanks are read as numbers (see
            :func:`~cpm_analysis.churn.table.infer_column_kinds`). Must not contain the label.
        y : array-like of shape (n_customers,)
            Binary label (0/1, False/True, "No"/"Yes", ...); the larger label means churn.

        Returns
        -------
        ChurnModel
            ``self``, fitted.

        Raises
        ------
        ValueError
            No rows, a label with one class (or more than two, or missing labels), the label
            left in ``X``, columns without any value, or too few customers of a class for
            ``cv`` folds.

        Notes
        -----
        Below ``SINGLE_THREAD_ROWS`` (50,000) rows OpenMP runs on one thread during the fit
        (see the constant); larger tables use every core.
        """
        rows = len(X) if hasattr(X, "__len__") else SINGLE_THREAD_ROWS
        small = rows < SINGLE_THREAD_ROWS
        with threadpool_limits(limits=1, user_api="openmp") if small else nullcontext():
            return self._fit(X, y)

    def _fit(self, X: TableLike, y: npt.ArrayLike) -> ChurnModel:
        self._check_params()
        frame = as_frame(X)
        if y is None:
            raise ValueError(
                "y: ChurnModel requires y to be passed, but the target y is None (pass the churn "
                "label, e.g. churn_labels(...))"
            )
        if frame.shape[1] == 0:
            raise ValueError(
                f"X: 0 feature(s) (shape={frame.shape}) while a minimum of 1 is required; no "
                "columns to fit on"
            )
        if len(frame) == 0:
            raise ValueError(
                f"X: 0 sample(s) (shape={frame.shape}) while a minimum of 1 is required; no rows "
                "to fit on"
            )
        classes, y01 = check_binary_target(y, len(frame))
        coercer = TableCoercer().fit(frame)
        Xc = coercer.transform(frame)
        check_no_empty_columns(Xc)
        check_target_not_in_X(Xc, y01, getattr(y, "name", None))
        counts = np.bincount(y01, minlength=2)
        rng = check_random_state(self.random_state)
        seed_cv, seed_model = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))

        self.classes_ = classes
        self.coercer_ = coercer
        self.kinds_ = dict(coercer.kinds_)
        self.feature_names_in_ = np.asarray(list(frame.columns), dtype=object)
        self.n_features_in_ = frame.shape[1]
        names = ["logistic", "boosting"] if self.model == "auto" else [self.model]
        need_cv = len(names) > 1 or self.calibration is not None
        self.cv_scores_: dict[str, float] = {}
        oof: dict[str, np.ndarray] = {}
        scored = np.ones(len(y01), dtype=bool)
        if need_cv:
            splits = self._splits(y01, counts, classes, seed_cv)
            if len(splits) == 1:  # a holdout: only its customers are scored
                scored = np.zeros(len(y01), dtype=bool)
                scored[splits[0][1]] = True
            self.validation_ = (
                f"{len(splits)}-fold" if len(splits) > 1 else f"holdout of {scored.sum()} rows"
            )
            for name in names:
                scores = np.full(len(y01), np.nan)
                for train, test in splits:
                    fitted = self._candidate(name, seed_model, len(y01))
                    fitted.fit(Xc.iloc[train], y01[train])
                    scores[test] = fitted.decision_function(Xc.iloc[test])
                oof[name] = scores[scored]
                self.cv_scores_[name] = float(roc_auc_score(y01[scored], oof[name]))
        else:
            self.validation_ = "none"
        preference = {"logistic": 2, "boosting": 1, "blend": 0}  # ties: the simpler model
        best = max(names, key=lambda n: (self.cv_scores_.get(n, 0.0), preference[n]))
        if self.model == "auto":
            # the average of the two log-odds often beats both; as it costs both models at
            # scoring time, it is kept only when it is better by at least BLEND_MIN_GAIN
            oof["blend"] = (oof["logistic"] + oof["boosting"]) / 2.0
            self.cv_scores_["blend"] = float(roc_auc_score(y01[scored], oof["blend"]))
            if self.cv_scores_["blend"] >= self.cv_scores_[best] + BLEND_MIN_GAIN:
                best = "blend"
        self.selected_model_ = best
        members = ["logistic", "boosting"] if best == "blend" else [best]
        self.estimators_ = {
            name: self._candidate(name, seed_model, len(y01)).fit(Xc, y01) for name in members
        }
        self.estimator_ = self.estimators_[members[0]]
        self.calibrator_ = None
        if self.calibration == "sigmoid":
            self.calibrator_ = LogisticRegression(C=1e4, max_iter=1000).fit(
                oof[best].reshape(-1, 1), y01[scored]
            )
        elif self.calibration == "isotonic":
            self.calibrator_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
                oof[best], y01[scored]
            )
        self._fit_background(Xc)
        return self

    def _fit_background(self, Xc: pd.DataFrame) -> None:
        """Return a few weighted values per column standing for the training distribution."""
        self.background_: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.quartiles_: dict[str, tuple[float, float]] = {}
        n = len(Xc)
        for col, kind in self.kinds_.items():
            values = Xc[col]
            missing = float(values.isna().mean())
            if kind in NUMERIC_KINDS:
                present = values.dropna()
                points = present.quantile(BACKGROUND_QUANTILES).to_numpy(dtype=np.float64)
                weights = np.full(len(points), (1.0 - missing) / len(points))
                q25, q75 = present.quantile([0.25, 0.75]).to_numpy()
                self.quartiles_[col] = (float(q25), float(q75))
            else:
                counts = values.value_counts(dropna=True)
                top = counts.iloc[: len(BACKGROUND_QUANTILES)]
                points = top.index.to_numpy(dtype=object)
                weights = top.to_numpy(dtype=np.float64) / n
            if missing > 0:
                points = np.append(points.astype(object), np.nan)
                weights = np.append(weights, missing)
            self.background_[col] = (points, weights / weights.sum())

    # ----------------------------------------------------------------------------- prediction
    def _coerce(self, X: TableLike) -> pd.DataFrame:
        check_is_fitted(self, "estimator_")
        frame = as_frame(X)
        if not isinstance(X, pd.DataFrame | pd.Series) and frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {frame.shape[1]} features, but ChurnModel is expecting "
                f"{self.n_features_in_} features as input"
            )
        if len(frame) == 0:
            raise ValueError("X: no rows to score")
        return self.coercer_.transform(frame)

    def _calibrate(self, score: np.ndarray) -> np.ndarray:
        calibrator: Any = self.calibrator_
        if self.calibration == "sigmoid":
            coef = float(calibrator.coef_[0, 0])
            intercept = float(calibrator.intercept_[0])
            z = np.clip(coef * score + intercept, -500, 500)
            return 1.0 / (1.0 + np.exp(-z))
        if self.calibration == "isotonic":
            return calibrator.predict(score)
        return 1.0 / (1.0 + np.exp(-np.clip(score, -500, 500)))

    def decision_function(self, X: TableLike) -> np.ndarray:
        """Return the kept model's raw log-odds of churn (before calibration).

        Examples
        --------
        >>> model.decision_function(X)[:3].round(3)
        array([0.666, 0.905, 1.222])
        """
        return self._decision(self._coerce(X))

    def _decision(self, Xc: pd.DataFrame) -> np.ndarray:
        scores = []
        for name, estimator in self.estimators_.items():
            if name == "logistic":
                intercept, terms = self._linear_terms(estimator, Xc)
                scores.append(intercept + terms.sum(axis=1))
            else:
                scores.append(estimator.decision_function(Xc))
        return scores[0] if len(scores) == 1 else np.mean(scores, axis=0)

    def predict_proba(self, X: TableLike) -> np.ndarray:
        """Calibrated probabilities, one column per class in ``classes_`` (churn last).

        Examples
        --------
        >>> model.predict_proba(X)[:3, 1].round(3)
        array([0.651, 0.69 , 0.737])
        """
        p = self._calibrate(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: TableLike) -> np.ndarray:
        """Return the churn label when the churn probability is at least ``threshold``.

        Examples
        --------
        >>> model.predict(X)[:3]
        array([1, 1, 1], dtype=int8)
        """
        churn = self.predict_proba(X)[:, 1] >= self.threshold
        return self.classes_[churn.astype(np.int64)]

    # -------------------------------------------------------------------------- explanations
    def _slope(self) -> float:
        if self.calibration == "sigmoid":
            calibrator: Any = self.calibrator_
            return float(calibrator.coef_[0, 0])
        return 1.0

    def contributions(self, X: TableLike) -> pd.DataFrame:
        """Each feature's contribution to each customer's log-odds of churn.

        The contribution of a feature is how far the customer's value of it moves the
        (calibrated) log-odds of churn away from the average over the training customers;
        positive values push towards churn. Exact and additive for the logistic model, a
        one-feature-at-a-time approximation for the boosted model (see the module docstring).

        Returns
        -------
        DataFrame
            Same index as ``X``, one column per feature.

        Examples
        --------
        >>> model.contributions(X).iloc[0].sort_values().tail(3).round(3)
        expected_purchases_90d    0.126
        region                    0.166
        spend_90d                 0.317
        Name: C000001, dtype: float64
        """
        Xc = self._coerce(X)
        columns = list(self.kinds_)
        parts = []
        for name, estimator in self.estimators_.items():
            if name == "logistic":
                parts.append(self._linear_terms(estimator, Xc)[1])
            else:
                parts.append(self._substitution_contributions(estimator, Xc))
        out = parts[0] if len(parts) == 1 else np.mean(parts, axis=0)
        return pd.DataFrame(out * self._slope(), index=Xc.index, columns=columns)

    def _linear_terms(self, estimator: Pipeline, Xc: pd.DataFrame) -> tuple[float, np.ndarray]:
        """Return the logistic model's log-odds as intercept + one term per feature.

        Each feature's term is ``sum(coefficient x standardised design value)`` over its design
        columns; the scaling is folded into the coefficients, so no full design matrix is
        built (fast and light on a million customers). Standardised columns average zero on
        the training data, so the terms are the contributions of :meth:`contributions`.
        """
        steps = estimator.named_steps
        design, scale, clf = steps["design"], steps["scale"], steps["clf"]
        weights = clf.coef_[0] / scale.scale_
        values = steps["codes"].transform(Xc)[list(design.kinds)].to_numpy(dtype=np.float64)
        terms = np.empty((len(Xc), len(design.encoders_)))
        for j, (encoder, block) in enumerate(
            zip(design.encoders_, design.slices_.values(), strict=True)
        ):
            w = weights[block]
            column = values[:, j]
            if isinstance(encoder, NumericBasis):
                term = encoder.evaluate(column, w)
            else:  # one-hot: one value per level, looked up
                levels, inverse = np.unique(column, return_inverse=True)
                term = (encoder.transform(levels.reshape(-1, 1)) @ w)[inverse.ravel()]
            terms[:, j] = term - scale.mean_[block] @ w
        return float(clf.intercept_[0]), terms

    def _substitution_contributions(self, estimator: Pipeline, Xc: pd.DataFrame) -> np.ndarray:
        """f(x) minus the mean of f(x with one feature set to each background value).

        Works on the encoded design matrix, tree by tree
        (:func:`~cpm_analysis.churn.substitution.tree_substitution`: only the trees that split
        on a feature are evaluated for it, once per distinct background value); a classifier
        whose trees cannot be read is evaluated whole (:func:`_ensemble_substitution`).
        """
        steps = estimator.named_steps
        encode = Pipeline([("codes", steps["codes"]), ("design", steps["design"])])
        clf = steps["clf"]
        design = encode.transform(Xc)
        numeric = [c for c, k in self.kinds_.items() if k in NUMERIC_KINDS]
        categorical = [c for c, k in self.kinds_.items() if k not in NUMERIC_KINDS]
        position = {c: i for i, c in enumerate(numeric + categorical)}
        base = clf.decision_function(design)
        substitutes = []
        for col in self.kinds_:
            points, weights = self.background_[col]
            # the background values as the design matrix encodes them
            probe = pd.DataFrame({c: Xc[c].iloc[[0] * len(points)].to_numpy() for c in Xc})
            probe[col] = points.astype(np.float64 if col in numeric else object)
            substitutes.append((position[col], encode.transform(probe)[:, position[col]], weights))
        fast = tree_substitution(clf, design, base, substitutes)
        if fast is not None:  # the same numbers, from the trees that split on each feature
            return fast
        return _ensemble_substitution(clf, design, base, substitutes)

    def explain(self, X: TableLike, n_reasons: int = 3, *, attributes: bool = True) -> pd.DataFrame:
        """Return the top drivers of churn risk per customer, as reasons an account owner can read.

        Parameters
        ----------
        X : DataFrame
            Customers to explain (the columns the model was fitted on).
        n_reasons : int
            Most reasons per customer. Only features that *raise* the risk (a positive
            contribution) are reasons, so a low-risk customer may have fewer (or none).
        attributes : bool
            Whether an attribute (a column that is not a behavioural churn feature, such as
            ``channel``) may be a reason; the churn call list passes False (see
            :func:`~cpm_analysis.churn.reasons.format_reasons`).

        Returns
        -------
        DataFrame
            Same index as ``X``: ``reasons`` (the reasons joined by ``"; "``), and for each
            rank ``i`` in ``1..n_reasons``: ``reason_i`` (a phrase such as "no order in 120
            days", "2 complaints in the last 90 days", "Contract = Month-to-month",
            "tenure = 2 (low)"), ``feature_i`` and ``impact_i`` (its contribution to the
            log-odds of churn).

        Examples
        --------
        >>> model.explain(X, n_reasons=2).iloc[0]["reasons"]
        'spend 0 in the last 90 days; region = South'
        """
        if not (isinstance(n_reasons, int | np.integer) and n_reasons >= 1):
            raise ValueError(f"n_reasons: expected a positive integer, got {n_reasons!r}")
        frame = as_frame(X)
        contrib = self.contributions(frame)
        values = self.coercer_.transform(frame)
        return format_reasons(
            contrib,
            values,
            kinds=self.kinds_,
            quartiles=self.quartiles_,
            n_reasons=n_reasons,
            attributes=attributes,
        )


def _ensemble_substitution(
    clf: Any, design: np.ndarray, base: np.ndarray, substitutes: list[tuple[int, Any, Any]]
) -> np.ndarray:
    """Return :func:`~cpm_analysis.churn.substitution.tree_substitution`'s numbers, naively.

    The whole ensemble is evaluated on ``n_rows x n_values`` rows per feature (in blocks).
    """
    out = np.empty((len(design), len(substitutes)))
    block = max(1, SUBSTITUTION_ROWS // max(len(v) for _, v, _ in substitutes))
    for j, (column, encoded, weights) in enumerate(substitutes):
        for start in range(0, len(design), block):
            part = design[start : start + block]
            stacked = np.repeat(part[None, :, :], len(encoded), axis=0)
            stacked[:, :, column] = encoded[:, None]
            moved = clf.decision_function(stacked.reshape(-1, part.shape[1]))
            expected = weights @ moved.reshape(len(encoded), len(part))
            out[start : start + block, j] = base[start : start + block] - expected
    return out
