"""Permutation importance of a fitted :class:`~cpm_analysis.churn.ChurnModel`, without refitting.

:func:`permutation_importance` returns exactly what
``sklearn.inspection.permutation_importance(model, X, y, scoring="roc_auc", ...)`` returns
(the same seeded row sample and shuffles, the same scores to the last bit), faster for a
``ChurnModel``: the table is coerced and encoded once, the logistic model's per-feature terms
and each tree's predictions are computed once, and a shuffled feature recomputes only its own
term and the trees that split on it (every other tree gives the same leaf for every row). Other
estimators are handed to scikit-learn's function.

Shuffling a column commutes with the model's coercion and encoding, which convert each value
on its own; the scores are the model's ``decision_function`` (scikit-learn's ``roc_auc``
scorer prefers it to ``predict_proba``), summed tree by tree in scikit-learn's order.

Examples
--------
>>> import pandas as pd
>>> from cpm_analysis.churn import ChurnModel
>>> X = pd.DataFrame({"plan": ["a", "b"] * 150, "tenure": [float(i % 40) for i in range(300)]})
>>> y = ((X["plan"] == "a") & (X["tenure"] < 25)).astype(int)
>>> model = ChurnModel("boosting", calibration=None, random_state=0).fit(X, y)
>>> result = permutation_importance(model, X, y, n_repeats=2, random_state=0)
>>> bool(result.importances_mean[0] > 0)
True
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.inspection import permutation_importance as sklearn_permutation_importance
from sklearn.metrics import roc_auc_score
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.random import sample_without_replacement

from cpm_analysis.churn.substitution import _Trees

if TYPE_CHECKING:
    from cpm_analysis.churn.model import ChurnModel


def permutation_importance(
    estimator: BaseEstimator,
    X: pd.DataFrame,
    y: npt.ArrayLike,
    *,
    n_repeats: int = 5,
    random_state: int | np.random.RandomState | None = None,
    max_samples: float | int = 1.0,
) -> Bunch:
    """Drop in ROC AUC when each feature of ``X`` is shuffled (scikit-learn's definition).

    Parameters
    ----------
    estimator : ChurnModel or classifier
        A fitted scikit-learn estimator (a ``ChurnModel`` is one); anything but a
        ``ChurnModel`` goes to scikit-learn's function.
    X : DataFrame
        The held-out customers.
    y : array-like
        Their 0/1 outcomes.
    n_repeats, random_state, max_samples
        As in :func:`sklearn.inspection.permutation_importance`.

    Returns
    -------
    Bunch
        ``importances_mean``, ``importances_std`` and ``importances`` (features x repeats).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> frame = pd.DataFrame({"x": [0.0, 1.0, 0.2, 0.9]})
    >>> clf = LogisticRegression().fit(frame, [0, 1, 0, 1])
    >>> permutation_importance(clf, frame, [0, 1, 0, 1], n_repeats=2, random_state=0).importances.shape
    (1, 2)
    """
    scores = _CachedScores.read(estimator, X)
    if scores is None:
        return sklearn_permutation_importance(
            estimator,
            X,
            y,
            scoring="roc_auc",
            n_repeats=n_repeats,
            random_state=random_state,
            max_samples=max_samples,
        )
    y = np.asarray(y)
    rng = check_random_state(random_state)
    random_seed = rng.randint(np.iinfo(np.int32).max + 1)
    n = X.shape[0]
    if not isinstance(max_samples, numbers.Integral):
        max_samples = int(max_samples * n)
    elif max_samples > n:
        raise ValueError("max_samples must be <= n_samples")
    baseline = float(roc_auc_score(y, estimator.decision_function(X)))
    permuted = np.empty((X.shape[1], n_repeats))
    cache: dict[bool, Any] = {}
    for col in range(X.shape[1]):
        state = check_random_state(random_seed)
        sampled = max_samples < n
        if sampled:
            rows = sample_without_replacement(n, max_samples, random_state=state)
        else:
            rows = np.arange(n)
        if sampled not in cache or not np.array_equal(cache[sampled][0], rows):
            cache[sampled] = (rows, scores.on_rows(rows))
        part = cache[sampled][1]
        shuffling = np.arange(len(rows))
        order = np.arange(len(rows))
        for repeat in range(n_repeats):
            state.shuffle(shuffling)
            order = order[shuffling]
            permuted[col, repeat] = roc_auc_score(y[rows], part.decision(col, order))
    importances = baseline - permuted
    return Bunch(
        importances_mean=np.mean(importances, axis=1),
        importances_std=np.std(importances, axis=1),
        importances=importances,
    )


class _CachedScores:
    """A fitted ``ChurnModel`` and a table, coerced once, ready to score shuffled columns."""

    def __init__(self, model: ChurnModel, X: pd.DataFrame, trees: dict[str, _Trees]) -> None:
        self.model = model
        self.X = X
        self.trees = trees

    @classmethod
    def read(cls, model: object, X: object) -> _CachedScores | None:
        """Return the cache, or ``None`` when it cannot be built.

        That is when ``model`` is not a fitted ``ChurnModel`` whose trees this module can read,
        or ``X`` is not a DataFrame of its columns.
        """
        from cpm_analysis.churn.model import ChurnModel

        if not isinstance(model, ChurnModel) or not isinstance(X, pd.DataFrame):
            return None
        estimators = getattr(model, "estimators_", None)
        if not estimators or list(X.columns) != list(getattr(model, "kinds_", {})):
            return None
        trees: dict[str, _Trees] = {}
        for name, estimator in estimators.items():
            if name == "logistic":
                continue
            read = _Trees.read(estimator.named_steps["clf"])
            if read is None:
                return None
            trees[name] = read
        return cls(model, X, trees)

    def on_rows(self, rows: np.ndarray) -> _RowScores:
        """Return the scores of the rows ``rows`` of the table, ready to shuffle a column."""
        return _RowScores(self, self.model._coerce(self.X.iloc[rows]))


class _RowScores:
    """Each part of the model's decision on a fixed set of rows, computed once."""

    def __init__(self, cached: _CachedScores, Xc: pd.DataFrame) -> None:
        model = cached.model
        self.model = model
        self.columns = list(model.kinds_)
        numeric = [c for c in self.columns if model.kinds_[c] in _numeric_kinds()]
        categorical = [c for c in self.columns if c not in numeric]
        position = {c: i for i, c in enumerate(numeric + categorical)}
        self.parts: list[tuple[str, Any]] = []
        for name, estimator in model.estimators_.items():
            if name == "logistic":
                intercept, terms = model._linear_terms(estimator, Xc)
                self.parts.append(("logistic", (intercept, terms)))
                continue
            trees = cached.trees[name]
            steps = estimator.named_steps
            design = steps["design"].transform(steps["codes"].transform(Xc))
            rows = np.ascontiguousarray(trees.preprocess(design), dtype=np.float64)
            every = np.empty((len(trees.predictors), len(rows)))
            for t in range(len(trees.predictors)):
                every[t] = trees.predict(t, rows)
            tree_columns = {c: int(trees.columns[position[c]]) for c in self.columns}
            feature = trees.all_splits["feature_idx"]
            users = {
                c: set(np.unique(trees.split_tree[feature == tree_columns[c]]).tolist())
                for c in self.columns
            }
            self.parts.append(("trees", (trees, rows, every, tree_columns, users)))

    def decision(self, col: int, order: np.ndarray) -> np.ndarray:
        """Return the model's decision with column ``col``'s values taken in ``order``."""
        name = self.columns[col]
        scores = []
        for kind, part in self.parts:
            if kind == "logistic":
                intercept, terms = part
                shuffled = terms.copy()
                shuffled[:, col] = terms[order, col]
                scores.append(intercept + shuffled.sum(axis=1))
                continue
            trees, rows, every, tree_columns, users = part
            q = tree_columns[name]
            moved = rows.copy()
            moved[:, q] = rows[order, q]
            clf = trees.clf
            raw = np.zeros((len(rows), 1), dtype=clf._baseline_prediction.dtype, order="F")
            raw += clf._baseline_prediction
            for t in range(len(trees.predictors)):  # scikit-learn's order of summation
                raw[:, 0] += trees.predict(t, moved) if t in users[name] else every[t]
            scores.append(raw.ravel())
        return scores[0] if len(scores) == 1 else np.mean(scores, axis=0)


def _numeric_kinds() -> tuple[str, ...]:
    from cpm_analysis.churn.table import NUMERIC_KINDS

    return tuple(NUMERIC_KINDS)
