"""The small synthetic company and the hand-made scorecard shared by the performance-review tests.

Import the fixtures into a test module under their function names (``from review_fixtures
import company_fixture``) and ask for them by their fixture names (``company``, ``no_service``);
``card`` is a plain function.
"""

from __future__ import annotations

import pandas as pd
import pytest

from cpm_analysis.data import validate_frames


@pytest.fixture(scope="module", name="company")
def company_fixture():
    from cpm_analysis.synthetic import generate

    return generate(300, seed=5).to_dataset()


@pytest.fixture(scope="module", name="no_service")
def no_service_fixture(company):
    """The same company without tickets and surveys."""
    return validate_frames({"customers": company.customers, "orders": company.orders})


def card(**columns) -> pd.DataFrame:
    """A KPI scorecard of three KPIs (NPS and revenue missed, orders met); ``columns`` replace."""
    base = {
        "kpi": ["nps", "revenue", "orders"],
        "label_en": ["NPS", "Revenue", "Orders"],
        "actual": [5.0, 90.0, 110.0],
        "target": [30.0, 100.0, 100.0],
        "attainment": [5 / 30, 0.9, 1.1],
        "status": ["missed", "missed", "met"],
        "trend": ["improving", "worsening", "flat"],
        "unit": ["points", "currency", "orders"],
    }
    base.update(columns)
    return pd.DataFrame(base)
