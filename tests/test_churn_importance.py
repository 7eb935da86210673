"""Tests of cpm_analysis.churn.importance: scikit-learn's permutation importance, exactly."""

from __future__ import annotations

import numpy as np
import pytest
from churn_fixtures import one_thread  # noqa: F401 (autouse fixture)
from churn_table import telco_xy
from sklearn.inspection import permutation_importance as sklearn_permutation_importance
from sklearn.linear_model import LogisticRegression

from cpm_analysis.churn import ChurnModel
from cpm_analysis.churn.importance import permutation_importance


@pytest.fixture(scope="module")
def telco():
    X, y = telco_xy(1000, seed=11)
    X = X.copy()
    X.loc[X.index[::9], "tenure"] = np.nan
    return X, y


@pytest.mark.parametrize("kind", ["boosting", "auto", "logistic"])
@pytest.mark.parametrize("max_samples", [1.0, 0.6])
def test_the_same_numbers_as_scikit_learn(telco, kind, max_samples):
    X, y = telco
    model = ChurnModel(kind, random_state=0).fit(X.iloc[:600], y.iloc[:600])
    X_test, y_test = X.iloc[600:], y.iloc[600:].to_numpy()
    ours = permutation_importance(
        model, X_test, y_test, n_repeats=2, random_state=3, max_samples=max_samples
    )
    theirs = sklearn_permutation_importance(
        model,
        X_test,
        y_test,
        scoring="roc_auc",
        n_repeats=2,
        random_state=3,
        max_samples=max_samples,
    )
    np.testing.assert_array_equal(ours.importances, theirs.importances)
    np.testing.assert_array_equal(ours.importances_mean, theirs.importances_mean)
    np.testing.assert_array_equal(ours.importances_std, theirs.importances_std)


def test_other_estimators_go_to_scikit_learn():
    import pandas as pd

    X = pd.DataFrame({"x": np.linspace(0, 1, 40)})
    y = (X["x"] > 0.5).astype(int).to_numpy()
    clf = LogisticRegression().fit(X, y)
    ours = permutation_importance(clf, X, y, n_repeats=3, random_state=0)
    theirs = sklearn_permutation_importance(
        clf, X, y, scoring="roc_auc", n_repeats=3, random_state=0
    )
    np.testing.assert_array_equal(ours.importances, theirs.importances)
