"""ChurnModel passes scikit-learn's own estimator checks (clone, pickling, input validation...)."""

from __future__ import annotations

from churn_fixtures import one_thread  # noqa: F401 (autouse fixture)
from sklearn.utils.estimator_checks import parametrize_with_checks

from cpm_analysis.churn import ChurnModel


@parametrize_with_checks([ChurnModel(cv=3, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
