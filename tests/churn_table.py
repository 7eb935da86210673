"""A seeded generator of a Telco-style subscription-churn table, for the ChurnModel tests.

It mimics the public IBM "Telco customer churn" export an analyst would fit directly: about
7,000 customers, 20 mixed columns (yes/no strings, contract types, "No phone service" and "No
internet service" levels, ``SeniorCitizen`` as 0/1, ``TotalCharges`` stored as text with a few
blank values for brand-new customers) and a ``Churn`` column of "Yes"/"No".

Churn is drawn from a realistic logit with non-linear and interaction terms (a steep early-tenure
hazard for month-to-month contracts, fiber with month-to-month, electronic cheque with paperless
billing, a price effect that only bites without add-on services), so a well-built model must go
beyond a linear fit on one-hot columns to match the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ADDONS = (
    "OnlineSecurity",
    "OnlineBackup",
    "DeviceProtection",
    "TechSupport",
    "StreamingTV",
    "StreamingMovies",
)


def _pick(rng: np.random.Generator, labels: list[str], p: np.ndarray) -> np.ndarray:
    """One label per row from per-row probabilities ``p`` (rows sum to 1)."""
    cum = np.cumsum(p, axis=1)
    u = rng.random(len(p))[:, None]
    return np.asarray(labels, dtype=object)[(u > cum).sum(axis=1).clip(0, len(labels) - 1)]


def make_telco(n: int = 7043, seed: int = 0) -> pd.DataFrame:
    """A Telco-style churn table: ``customerID``, 19 features and ``Churn`` ("Yes"/"No").

    Examples
    --------
    >>> df = make_telco(500, seed=1)
    >>> df.shape
    (500, 21)
    """
    rng = np.random.default_rng(seed)
    senior = (rng.random(n) < 0.16).astype(np.int64)
    partner = rng.random(n) < 0.48
    dependents = rng.random(n) < np.where(partner, 0.5, 0.1)
    contract = _pick(
        rng,
        ["Month-to-month", "One year", "Two year"],
        np.column_stack(
            [
                np.full(n, 0.55) - 0.15 * partner,
                np.full(n, 0.21),
                np.full(n, 0.24) + 0.15 * partner,
            ]
        ),
    )
    mtm = contract == "Month-to-month"
    two_year = contract == "Two year"
    one_year = contract == "One year"
    # tenure: short for month-to-month, long for two-year contracts (months, 0-72)
    scale = np.where(mtm, 14.0, np.where(one_year, 38.0, 55.0))
    tenure = np.clip(np.round(rng.gamma(1.6, scale / 1.6)), 0, 72).astype(np.int64)
    tenure[rng.random(n) < 0.0016] = 0  # a few brand-new customers, as in the real export
    phone = rng.random(n) < 0.9
    multiple = np.where(~phone, "No phone service", np.where(rng.random(n) < 0.47, "Yes", "No"))
    internet = _pick(
        rng,
        ["DSL", "Fiber optic", "No"],
        np.column_stack([np.full(n, 0.34), np.full(n, 0.44), np.full(n, 0.22)]),
    )
    has_net = internet != "No"
    fiber = internet == "Fiber optic"
    addons = {}
    addon_rate = {
        "OnlineSecurity": 0.37,
        "OnlineBackup": 0.44,
        "DeviceProtection": 0.44,
        "TechSupport": 0.37,
        "StreamingTV": 0.49,
        "StreamingMovies": 0.5,
    }
    for name in ADDONS:
        rate = addon_rate[name] + 0.002 * (tenure - 30)
        yes = rng.random(n) < np.clip(rate, 0.05, 0.95)
        addons[name] = np.where(~has_net, "No internet service", np.where(yes, "Yes", "No"))
    paperless = rng.random(n) < np.where(has_net, 0.67, 0.3)
    payment = _pick(
        rng,
        [
            "Electronic check",
            "Mailed check",
            "Bank transfer (automatic)",
            "Credit card (automatic)",
        ],
        np.column_stack(
            [
                0.2 + 0.2 * mtm,
                0.25 - 0.05 * mtm,
                0.275 - 0.075 * mtm,
                0.275 - 0.075 * mtm,
            ]
        ),
    )
    n_addons = sum((addons[a] == "Yes").astype(np.int64) for a in ADDONS)
    monthly = (
        20.0
        + 5.0 * phone
        + 5.0 * (multiple == "Yes")
        + np.where(fiber, 50.0, np.where(internet == "DSL", 25.0, 0.0))
        + 5.0 * n_addons
        + rng.normal(0, 3.0, n)
    )
    monthly = np.round(np.clip(monthly, 18.25, 118.75), 2)
    total = np.round(monthly * tenure * rng.uniform(0.95, 1.05, n), 2)
    total_text = np.where(tenure == 0, " ", total.astype(str))

    no_support = (addons["OnlineSecurity"] != "Yes") & (addons["TechSupport"] != "Yes")
    logit = (
        -1.6
        + 1.0 * mtm
        - 1.1 * two_year
        + 1.3 * mtm * np.exp(-tenure / 5.0)  # the first months of a monthly plan
        - 0.55 * np.log1p(tenure / 12.0)
        + 0.45 * fiber
        + 0.45 * fiber * mtm
        + 0.55 * (payment == "Electronic check") * paperless
        + 0.15 * paperless
        + 0.3 * senior
        - 0.15 * partner
        - 0.2 * dependents
        - 0.35 * (addons["OnlineSecurity"] == "Yes")
        - 0.35 * (addons["TechSupport"] == "Yes")
        + 0.12 * (addons["StreamingTV"] == "Yes")
        + 0.022 * np.maximum(monthly - 70.0, 0.0) * no_support
        - 0.6 * ~has_net
    )
    churn = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    yes_no = np.array(["No", "Yes"], dtype=object)
    return pd.DataFrame(
        {
            "customerID": np.char.add(
                np.char.zfill(np.arange(n).astype(str), 4),
                np.char.add("-TLC", rng.integers(0, 9, n).astype(str)),
            ),
            "gender": np.where(rng.random(n) < 0.5, "Male", "Female"),
            "SeniorCitizen": senior,
            "Partner": yes_no[partner.astype(int)],
            "Dependents": yes_no[dependents.astype(int)],
            "tenure": tenure,
            "PhoneService": yes_no[phone.astype(int)],
            "MultipleLines": multiple,
            "InternetService": internet,
            **addons,
            "Contract": contract,
            "PaperlessBilling": yes_no[paperless.astype(int)],
            "PaymentMethod": payment,
            "MonthlyCharges": monthly,
            "TotalCharges": total_text,
            "Churn": yes_no[churn.astype(int)],
        }
    )


def telco_xy(n: int = 7043, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Features (indexed by ``customerID``) and the ``Churn`` label of :func:`make_telco`.

    Examples
    --------
    >>> X, y = telco_xy(300, seed=2)
    >>> X.shape[1], sorted(y.unique())
    (19, ['No', 'Yes'])
    """
    df = make_telco(n, seed).set_index("customerID")
    return df.drop(columns="Churn"), df["Churn"]
