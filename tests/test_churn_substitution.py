"""Tests of cpm_analysis.churn.substitution: the tree-by-tree substitution contributions.

The reference is the naive evaluation of the whole ensemble on every substituted row
(``_ensemble_substitution``, what the boosted model's reasons were computed with before); the
tree-by-tree numbers must equal it up to the order of floating-point summation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from churn_fixtures import one_thread  # noqa: F401 (autouse fixture)
from churn_table import telco_xy
from sklearn.ensemble import HistGradientBoostingClassifier

import cpm_analysis.churn.model as churn_model
from cpm_analysis.churn import ChurnModel
from cpm_analysis.churn.model import _ensemble_substitution
from cpm_analysis.churn.substitution import tree_substitution


@pytest.fixture(scope="module")
def telco():
    X, y = telco_xy(1200, seed=5)
    X = X.copy()
    X.loc[X.index[::7], "MonthlyCharges"] = np.nan  # missing values reach the background
    return X, y


@pytest.fixture(scope="module", params=["boosting", "auto"])
def fitted(request, telco):
    X, y = telco
    return ChurnModel(request.param, random_state=0).fit(X, y)


def test_contributions_equal_the_whole_ensemble_evaluation(fitted, telco, monkeypatch):
    X = telco[0].iloc[:400]
    fast = fitted.contributions(X)
    monkeypatch.setattr(churn_model, "tree_substitution", lambda *args: None)
    naive = fitted.contributions(X)
    np.testing.assert_allclose(fast.to_numpy(), naive.to_numpy(), rtol=1e-9, atol=1e-12)
    pd.testing.assert_index_equal(fast.columns, naive.columns)


def test_reasons_are_the_same_as_the_whole_ensemble_evaluation(fitted, telco, monkeypatch):
    X = telco[0].iloc[:400]
    fast = fitted.explain(X)
    monkeypatch.setattr(churn_model, "tree_substitution", lambda *args: None)
    naive = fitted.explain(X)
    text = [c for c in fast.columns if not c.startswith("impact_")]
    pd.testing.assert_frame_equal(fast[text], naive[text])
    impacts = [c for c in fast.columns if c.startswith("impact_")]
    np.testing.assert_allclose(fast[impacts], naive[impacts], rtol=1e-9, atol=1e-12)


def _numeric_case(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [rng.normal(size=600), rng.integers(0, 3, size=600).astype(float), rng.normal(size=600)]
    )
    X[::11, 2] = np.nan
    y = (X[:, 0] + X[:, 1] - 1 + rng.normal(size=600) > 0).astype(int)
    clf = HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=4, random_state=0)
    return clf.fit(X, y), X


def test_repeated_and_missing_background_values_are_weighted_not_dropped():
    clf, X = _numeric_case()
    base = clf.decision_function(X)
    substitutes = [
        (0, np.array([-1.0, -1.0, 0.5, 2.0]), np.array([0.1, 0.2, 0.3, 0.4])),
        (1, np.array([0.0, 0.0, 0.0, 1.0, 2.0]), np.full(5, 0.2)),
        (2, np.array([0.1, np.nan]), np.array([0.25, 0.75])),
    ]
    fast = tree_substitution(clf, X, base, substitutes)
    naive = _ensemble_substitution(clf, X, base, substitutes)
    np.testing.assert_allclose(fast, naive, rtol=1e-9, atol=1e-12)


def test_a_feature_no_tree_splits_on_contributes_nothing():
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=400), np.zeros(400)])  # the second never splits
    y = (X[:, 0] > 0).astype(int)
    clf = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y)
    base = clf.decision_function(X)
    fast = tree_substitution(clf, X, base, [(1, np.array([0.0, 5.0]), np.array([0.5, 0.5]))])
    np.testing.assert_allclose(fast[:, 0], 0.0, atol=1e-12)


def test_rows_are_processed_in_blocks_with_the_same_result(monkeypatch):
    import cpm_analysis.churn.substitution as substitution

    clf, X = _numeric_case(2)
    base = clf.decision_function(X)
    substitutes = [(c, np.array([-0.5, 0.0, 1.5]), np.full(3, 1 / 3)) for c in range(3)]
    whole = tree_substitution(clf, X, base, substitutes)
    monkeypatch.setattr(substitution, "BLOCK_PREDICTIONS", 70)  # blocks of 2 rows
    np.testing.assert_array_equal(tree_substitution(clf, X, base, substitutes), whole)


def test_an_unreadable_classifier_is_left_to_the_caller():
    class Forest:
        pass

    assert tree_substitution(Forest(), np.zeros((2, 1)), np.zeros(2), []) is None
    clf, X = _numeric_case()
    del clf._predictors  # what another scikit-learn's internals could look like
    assert tree_substitution(clf, X, np.zeros(len(X)), [(0, np.zeros(1), np.ones(1))]) is None
