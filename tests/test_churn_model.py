"""Tests of cpm_analysis.churn.model.ChurnModel: conventions, input handling, reasons."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from churn_fixtures import one_thread  # noqa: F401 (autouse fixture)
from churn_table import telco_xy
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from cpm_analysis.churn import ChurnModel, TableCoercer, infer_column_kinds


@pytest.fixture(scope="module")
def telco():
    return telco_xy(1500, seed=3)


@pytest.fixture(scope="module")
def logistic(telco):
    X, y = telco
    return ChurnModel("logistic", random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def boosting(telco):
    X, y = telco
    return ChurnModel("boosting", random_state=0).fit(X, y)


# --- scikit-learn conventions -----------------------------------------------------------------


def test_parameters_live_in_init_and_fit_returns_self(telco):
    X, y = telco
    model = ChurnModel(model="logistic", cv=3, random_state=1)
    assert model.get_params()["cv"] == 3 and model.get_params()["model"] == "logistic"
    assert not [k for k in vars(model) if k.endswith("_")]
    assert model.fit(X, y) is model
    fitted = {k for k in vars(model) if k.endswith("_") and not k.startswith("_")}
    assert {"classes_", "kinds_", "estimator_", "calibrator_", "cv_scores_"} <= fitted
    assert model.feature_names_in_.tolist() == list(X.columns) and model.n_features_in_ == 19


def test_clone_pipeline_cross_val_score_and_grid_search(telco):
    X, y = telco[0].iloc[:800], telco[1].iloc[:800]
    model = ChurnModel("logistic", calibration=None, random_state=0)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy is not model
    pipe = Pipeline([("same", FunctionTransformer(lambda frame: frame)), ("churn", model)])
    pipe.fit(X, y)
    assert pipe.predict_proba(X).shape == (len(X), 2)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(model, X, y, cv=folds, scoring="roc_auc")
    assert scores.shape == (3,) and (scores > 0.7).all()
    grid = GridSearchCV(model, {"C": [0.1, 1.0]}, cv=folds, scoring="roc_auc").fit(X, y)
    assert grid.best_params_["C"] in (0.1, 1.0)
    assert grid.best_estimator_.predict(X).shape == (len(X),)


def test_not_fitted_raises():
    with pytest.raises(NotFittedError):
        ChurnModel().predict_proba(pd.DataFrame({"a": [1.0]}))


def test_bad_parameters_name_themselves(telco):
    X, y = telco
    for params, name in (
        ({"model": "forest"}, "model"),
        ({"calibration": "platt"}, "calibration"),
        ({"cv": 1}, "cv"),
        ({"C": -1.0}, "C"),
        ({"threshold": 1.5}, "threshold"),
        ({"max_categories": 1}, "max_categories"),
    ):
        with pytest.raises(ValueError, match=name):
            ChurnModel(**params).fit(X, y)


# --- determinism and calibration --------------------------------------------------------------


def test_same_random_state_gives_the_same_probabilities(telco):
    # auto cross-validates both candidates: the folds and the trees' early stopping are seeded
    X, y = telco[0].iloc[:1200], telco[1].iloc[:1200]
    first = ChurnModel(cv=3, random_state=7).fit(X, y)
    second = ChurnModel(cv=3, random_state=7).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert first.cv_scores_ == second.cv_scores_
    other = ChurnModel(cv=3, random_state=8).fit(X, y)
    assert other.cv_scores_ != first.cv_scores_


def test_auto_picks_by_cross_validated_auc(telco):
    X, y = telco
    model = ChurnModel(random_state=0).fit(X, y)
    scores = model.cv_scores_
    assert set(scores) == {"logistic", "boosting", "blend"}
    single = max(("logistic", "boosting"), key=lambda n: (scores[n], n == "logistic"))
    # the blend costs both models at scoring time: it must win by 0.001 to be kept
    expected = "blend" if scores["blend"] >= scores[single] + 0.001 else single
    assert model.selected_model_ == expected
    members = {"blend": {"logistic", "boosting"}}.get(
        model.selected_model_, {model.selected_model_}
    )
    assert set(model.estimators_) == members


def test_probabilities_are_calibrated_on_new_customers():
    X, y = telco_xy(6000, seed=11)
    train, test = slice(0, 4000), slice(4000, None)
    for calibration in ("sigmoid", "isotonic"):
        model = ChurnModel("logistic", calibration=calibration, random_state=0)
        p = model.fit(X.iloc[train], y.iloc[train]).predict_proba(X.iloc[test])[:, 1]
        observed = (y.iloc[test] == "Yes").to_numpy()
        assert abs(p.mean() - observed.mean()) < 0.02
        # within each fifth of the scores the mean probability matches the churn rate
        bins = np.argsort(np.argsort(p)) * 5 // len(p)
        for b in range(5):
            assert abs(p[bins == b].mean() - observed[bins == b].mean()) < 0.06


def test_uncalibrated_model_needs_no_cross_validation(telco):
    X, y = telco
    model = ChurnModel("logistic", calibration=None, random_state=0).fit(X, y)
    assert model.cv_scores_ == {} and model.calibrator_ is None
    p = model.predict_proba(X)[:, 1]
    np.testing.assert_allclose(p, model.estimator_.predict_proba(model.coercer_.transform(X))[:, 1])


def test_predict_uses_the_threshold_and_the_labels(logistic, telco):
    X, _ = telco
    p = logistic.predict_proba(X)[:, 1]
    assert set(logistic.classes_) == {"No", "Yes"}
    np.testing.assert_array_equal(logistic.predict(X) == "Yes", p >= 0.5)
    strict = clone(logistic).set_params(threshold=0.8)
    strict.fit(*telco)
    assert (strict.predict(X) == "Yes").sum() < (logistic.predict(X) == "Yes").sum()


# --- reading an analyst's table ---------------------------------------------------------------


def test_numbers_stored_as_text_with_blanks_are_numbers(telco):
    X, _ = telco
    kinds = infer_column_kinds(X)
    assert kinds["TotalCharges"] == "text_numeric"
    assert kinds["Contract"] == "categorical" and kinds["tenure"] == "numeric"
    coerced = TableCoercer().fit_transform(X)
    blanks = X["TotalCharges"].str.strip().eq("")
    assert blanks.any() and coerced.loc[blanks.to_numpy(), "TotalCharges"].isna().all()
    assert coerced.loc[~blanks.to_numpy(), "TotalCharges"].notna().all()
    assert coerced["TotalCharges"].dtype == np.float64


def test_a_single_word_keeps_a_column_categorical():
    X = pd.DataFrame({"amount": ["1.5", "2", " ", "unknown"]})
    assert infer_column_kinds(X) == {"amount": "categorical"}
    # and new data that does not fit a text-numeric column is an error, not a silent NaN
    coercer = TableCoercer().fit(pd.DataFrame({"amount": ["1.5", "2", " "]}))
    with pytest.raises(ValueError, match="'amount'.*not numbers"):
        coercer.transform(pd.DataFrame({"amount": ["3", "n/a"]}))


def test_mixed_types_missing_values_and_unseen_levels():
    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame(
        {
            "plan": rng.choice(["basic", "pro", None], n),
            "seats": np.where(rng.random(n) < 0.1, np.nan, rng.integers(1, 50, n)),
            "active": rng.random(n) < 0.5,
            "joined": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
            "spend": pd.Series(rng.gamma(2, 50, n).round(2))
            .astype(str)
            .where(rng.random(n) > 0.05, " "),
        }
    )
    y = (X["plan"].eq("basic") & (X["seats"].fillna(0) < 20)) | (rng.random(n) < 0.1)
    model = ChurnModel(random_state=0).fit(X, y)
    assert model.kinds_ == {
        "plan": "categorical",
        "seats": "numeric",
        "active": "numeric",
        "joined": "datetime",
        "spend": "text_numeric",
    }
    new = X.head(5).copy()
    new["plan"] = ["enterprise", None, "basic", "pro", "  pro "]  # unseen level, missing, spaces
    p = model.predict_proba(new[X.columns[::-1]])[:, 1]  # column order does not matter
    assert np.isfinite(p).all() and ((p > 0) & (p < 1)).all()
    assert model.predict_proba(new.assign(extra=1))[:, 1].tolist() == p.tolist()  # extra ignored
    with pytest.raises(ValueError, match="missing column"):
        model.predict_proba(new.drop(columns="seats"))


def test_numpy_arrays_are_accepted():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    model = ChurnModel("logistic", random_state=0).fit(X, y)
    assert model.feature_names_in_.tolist() == ["x0", "x1", "x2"]
    assert model.predict(X).dtype.kind == "i"
    with pytest.raises(ValueError, match="expecting 3 features"):
        model.predict(X[:, :2])


# --- bad input ----------------------------------------------------------------------------------


def test_one_class_is_a_clear_error(telco):
    X, _ = telco
    with pytest.raises(ValueError, match="only one class"):
        ChurnModel().fit(X, np.zeros(len(X)))


def test_no_rows_is_a_clear_error(telco):
    X, y = telco
    with pytest.raises(ValueError, match="no rows"):
        ChurnModel().fit(X.iloc[:0], y.iloc[:0])
    model = ChurnModel("logistic", random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="no rows"):
        model.predict_proba(X.iloc[:0])


def test_target_left_in_X_is_a_clear_error(telco):
    X, y = telco
    with pytest.raises(ValueError, match="'Churn' is the target itself"):
        ChurnModel().fit(X.assign(Churn=y.to_numpy()), y.to_numpy())
    # a renamed copy of the label, coded differently, is still the label
    with pytest.raises(ValueError, match="'left' is the target itself"):
        ChurnModel().fit(X.assign(left=(y == "Yes").astype(int).to_numpy()), y)
    with pytest.raises(ValueError, match="name of the target"):
        ChurnModel().fit(X.assign(Churn=1), y.rename("Churn"))


def test_all_missing_columns_are_a_clear_error(telco):
    X, y = telco
    with pytest.raises(ValueError, match=r"\['notes', 'score'\].*no values"):
        ChurnModel().fit(X.assign(notes=" ", score=np.nan), y)


def test_bad_labels_are_clear_errors(telco):
    X, y = telco
    with pytest.raises(ValueError, match="Only binary classification"):
        ChurnModel().fit(X, np.arange(len(X)) % 3)
    with pytest.raises(ValueError, match="missing"):
        ChurnModel().fit(X, y.where(y.index != y.index[0]))
    with pytest.raises(ValueError, match="labels but X has"):
        ChurnModel().fit(X, y.iloc[:-1])
    with pytest.raises(ValueError, match="continuous"):
        ChurnModel().fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="need at least 2 of each class"):
        ChurnModel().fit(X, np.r_[1, np.zeros(len(X) - 1)])


def test_few_churners_lower_the_folds_with_a_warning(telco):
    X = telco[0].iloc[:300]
    y = np.zeros(len(X), dtype=int)
    y[:3] = 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ChurnModel("logistic", random_state=0).fit(X, y)
    assert any("3-fold" in str(w.message) for w in caught)


# --- reasons ------------------------------------------------------------------------------------


def test_explain_gives_readable_reasons(logistic, telco):
    X, _ = telco
    reasons = logistic.explain(X, n_reasons=3)
    assert reasons.index.equals(X.index)
    assert {"reasons", "reason_1", "feature_1", "impact_1", "reason_3"} <= set(reasons.columns)
    riskiest = logistic.predict_proba(X)[:, 1].argmax()
    row = reasons.iloc[riskiest]
    assert row["reason_1"] and row["impact_1"] > 0
    assert row["reasons"].startswith(row["reason_1"])
    text = " | ".join(reasons["reasons"])
    assert "Contract = Month-to-month" in text
    assert "tenure = " in text and "(low)" in text
    # impacts decrease with the rank and are positive where there is a reason
    impacts = reasons[["impact_1", "impact_2", "impact_3"]].to_numpy()
    filled = ~np.isnan(impacts)
    assert (impacts[filled] > 0).all()
    both = filled[:, 0] & filled[:, 1]
    assert (impacts[both, 0] >= impacts[both, 1]).all()


def test_linear_contributions_add_up_to_the_log_odds(logistic, telco):
    X, _ = telco
    contrib = logistic.contributions(X)
    p = logistic.predict_proba(X)[:, 1]
    logit = np.log(p / (1 - p))
    offset = logit - contrib.sum(axis=1).to_numpy()
    np.testing.assert_allclose(offset, offset[0], atol=1e-8)


def test_boosted_contributions_point_at_the_drivers(boosting, telco):
    X = telco[0].iloc[:500]
    contrib = boosting.contributions(X)
    assert contrib.shape == X.shape
    month = (X["Contract"] == "Month-to-month").to_numpy()
    # a monthly contract raises the risk, a two-year one lowers it
    assert contrib.loc[month, "Contract"].mean() > 0 > contrib.loc[~month, "Contract"].mean()
    # gender does not drive churn in this table: small contributions
    assert contrib["gender"].abs().mean() < 0.2 * contrib["Contract"].abs().mean()
    assert boosting.explain(X.head(20))["reasons"].str.len().gt(0).any()


# --- the logistic design ------------------------------------------------------------------------


def test_closed_form_spline_basis_matches_scikit_learn():
    from sklearn.preprocessing import SplineTransformer

    from cpm_analysis.churn.model import cubic_bspline_basis

    u = np.r_[0.0, 1.0, 0.5, np.random.default_rng(0).random(500)]
    for n_knots in (3, 4, 6):
        reference = SplineTransformer(
            n_knots=n_knots, degree=3, knots="uniform", extrapolation="constant"
        ).fit(np.array([[0.0], [1.0]]))
        np.testing.assert_allclose(
            cubic_bspline_basis(u, n_knots), reference.transform(u[:, None]), atol=1e-12
        )


def test_numeric_basis_rank_spline_and_missing_indicator():
    from cpm_analysis.churn.model import NumericBasis

    x = np.r_[np.arange(100.0), np.nan].reshape(-1, 1)
    basis = NumericBasis(n_knots=4).fit(x)
    out = basis.transform(np.array([[0.0], [99.0], [np.nan], [1e6]]))
    assert out.shape == (4, 1 + 5 + 1)
    assert out[0, 0] == 0.0 and out[1, 0] == 1.0 and out[3, 0] == 1.0  # rank, clipped
    assert out[2, -1] == 1.0 and out[2, 0] == pytest.approx(0.5, abs=0.01)  # median, flagged
    w = np.random.default_rng(1).normal(size=out.shape[1])
    np.testing.assert_allclose(basis.evaluate(x, w), basis.transform(x) @ w)
    binary = NumericBasis().fit(np.array([[0.0], [1.0], [1.0]]))
    assert binary.transform(np.array([[1.0]])).shape == (1, 1)  # rank only


def test_small_tables_fit_on_one_openmp_thread(telco, monkeypatch):
    """Below SINGLE_THREAD_ROWS the fit limits OpenMP to one thread (issue 16: a 3,000-row fit
    took 39 s on a busy machine because the boosted trees' threads waited for each other)."""
    from cpm_analysis.churn import model as churn_model

    calls = []
    real = churn_model.threadpool_limits

    def recording(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(churn_model, "threadpool_limits", recording)
    X, y = telco
    ChurnModel("logistic", random_state=0).fit(X, y)
    assert calls == [{"limits": 1, "user_api": "openmp"}]
    monkeypatch.setattr(churn_model, "SINGLE_THREAD_ROWS", 100)
    calls.clear()
    ChurnModel("logistic", random_state=0).fit(X, y)
    assert calls == []
