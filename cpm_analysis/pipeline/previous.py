"""Last period's scored table, for the forecast check: the published one, or scored anew.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> ds = generate(300, seed=1).to_dataset()
>>> previous_scored(ds, "2025-06")[1]
'rescored at the end of 2025-05'
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cpm_analysis.config import DEFAULT_CONFIG, CPMConfig
from cpm_analysis.data.protocol import CustomerData
from cpm_analysis.periods import Period, parse_period


def previous_scored(
    data: CustomerData,
    period: Period | str,
    *,
    seed: int = 0,
    scored_path: str | Path | None = None,
    owner: str | None = None,
    config: CPMConfig | None = None,
) -> tuple[pd.DataFrame, str]:
    """Last period's scored table: the runner's file when it matches, else scored anew.

    When ``scored_path`` (this period's ``<out>/<period>/[owners/<id>/]customers_scored.parquet``)
    is given and ``<out>/<previous period>/`` holds a scored table whose ``metrics.json`` has the same
    data fingerprint and seed, that table is read (exactly what was published last period).
    Otherwise :func:`cpm_analysis.scoring.score_customers` scores the previous period's
    cutoff on ``data`` (either engine; only data up to that cutoff is used) with last
    period's purchase model: :func:`~cpm_analysis.clv.selection.choose_value_model` applied
    at that cutoff (the same rule, or the model ``clv.model`` pins), as the published report
    of that period did.
    With ``owner``, the table is restricted to that owner's customers.

    Returns
    -------
    scored : DataFrame
    source : str
        ``"published report of <label>"`` or ``"rescored at the end of <label>"``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(300, seed=1).to_dataset()
    >>> previous_scored(ds, "2025-06")[1]
    'rescored at the end of 2025-05'
    """
    from cpm_analysis.scoring import score_customers

    previous = parse_period(period).previous()
    dataset = data.collect()  # the pandas view (the data itself on pandas)
    if scored_path:
        here = Path(scored_path).resolve()
        label = parse_period(period).label
        period_dir = next((p for p in here.parents if p.name == label), here.parent)
        folder = period_dir.parent / previous.label
        candidate = folder / Path(scored_path).name
        metrics_file = folder / "metrics.json"
        if candidate.is_file() and metrics_file.is_file():
            try:
                meta = json.loads(metrics_file.read_text())
            except (OSError, ValueError):
                meta = {}
            same_data = meta.get("data", {}).get("fingerprint") == dataset.fingerprint()
            same_seed = meta.get("parameters", {}).get("seed") == seed
            wanted = (DEFAULT_CONFIG if config is None else config).to_dict()
            same_rules = meta.get("config", DEFAULT_CONFIG.to_dict()) == wanted
            if same_data and same_seed and same_rules:
                table = pd.read_parquet(candidate)
                return _own(table, owner), f"published report of {previous.label}"
    from cpm_analysis.clv.selection import choose_value_model
    from cpm_analysis.scoring import scoring_options

    rules = DEFAULT_CONFIG if config is None else config
    options = scoring_options(rules)
    # last period's purchase model, chosen by the same rule on last period's data (or pinned)
    choice = choose_value_model(
        dataset.as_of(previous.end),
        previous.end,
        model=rules.clv.model,
        contract_period=rules.clv.contract_period,
    )
    result = score_customers(data, previous, seed=seed, model_choice=choice, **options)
    return _own(result.scored, owner), f"rescored at the end of {previous.label}"


def _own(scored: pd.DataFrame, owner: str | None) -> pd.DataFrame:
    if not owner or "owner_id" not in scored.columns:
        return scored
    return scored.loc[(scored["owner_id"] == owner).to_numpy(dtype=bool)].reset_index(drop=True)
