"""The care-campaign export: the period's customer action list for the CRM, CSV and JSON lines.

The list itself (who to contact, by whom, why, by when; the seeded holdout) is built by
:func:`cpm_analysis.action_tracking.customer_action_list`; this module writes it into the period
folder, where the next period's report finds it
(:func:`cpm_analysis.action_tracking.previous_action_list`).

Examples
--------
>>> import tempfile
>>> scored = pd.DataFrame({"customer_id": ["C1"], "expected_loss": [float("nan")]})
>>> publish_care_campaign(tempfile.mkdtemp(), scored, "2025-06")
[]
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cpm_analysis.action_tracking import (
    CARE_STEM,
    customer_action_list,
    parse_share,
    published_list,
)
from cpm_analysis.config import DEFAULT_CONFIG
from cpm_analysis.periods import Period
from cpm_analysis.privacy import PiiScanner, mask_content
from cpm_analysis.report.spreadsheet import write_csv


def write_action_list(
    actions: pd.DataFrame, folder: str | Path, *, identified: bool = False
) -> list[Path]:
    """Write the care-campaign export: ``care_campaign.csv`` and ``care_campaign.jsonl``.

    The CSV is spreadsheet-safe (:func:`cpm_analysis.report.spreadsheet.write_csv`); the JSON
    lines hold one object per customer (numbers as numbers, missing as ``null``). Unless
    ``identified`` only the pseudonym identifies a customer; ``identified=True``
    (``cpm report --export-identified``) adds the real ``customer_id`` so a CRM can import the
    list directly: the files then hold personal identifiers and must be handled as such.

    Returns
    -------
    list of Path
        The two files written.

    Examples
    --------
    >>> import tempfile
    >>> actions = pd.DataFrame({"customer_id": ["C1"], "pseudonym": ["P-X"],
    ...                         "reason": ["=cmd"], "expected_loss": [1.5]})
    >>> csv, lines = write_action_list(actions, tempfile.mkdtemp())
    >>> csv.read_text().splitlines()[1], lines.read_text().strip()
    ("P-X,'=cmd,1.5", '{"pseudonym": "P-X", "reason": "=cmd", "expected_loss": 1.5}')
    """
    table = published_list(actions, identified=identified)
    folder = Path(folder)
    csv = write_csv(table, folder / f"{CARE_STEM}.csv", float_format="%.10g")
    lines = folder / f"{CARE_STEM}.jsonl"
    records = json.loads(table.to_json(orient="records", double_precision=10))
    with lines.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return [csv, lines]


def publish_care_campaign(
    folder: str | Path,
    scored: pd.DataFrame,
    period: Period | str,
    *,
    size: int = 25,
    holdout: float | str | None = 0.0,
    seed: int = 0,
    identified: bool = False,
    scanner: PiiScanner | None = None,
    due_days: int = DEFAULT_CONFIG.windows.action_due_days,
) -> list[Path]:
    """Write the period's action list into the period folder (the report runner's step).

    Builds :func:`customer_action_list` from the scored table and writes it with
    :func:`write_action_list`. With ``scanner`` (``--pii mask``) personal data found by content
    in its text (a reason quoting a free-text attribute) is masked. Nothing is written when the
    scored table has no expected loss (no churn scores this period).

    Returns
    -------
    list of Path
        The files written (none without churn scores).

    Examples
    --------
    >>> import tempfile
    >>> scored = pd.DataFrame({"customer_id": ["C1"], "expected_loss": [float("nan")]})
    >>> publish_care_campaign(tempfile.mkdtemp(), scored, "2025-06")
    []
    """
    actions = care_campaign(
        scored, period, size=size, holdout=holdout, seed=seed, scanner=scanner, due_days=due_days
    )
    if actions is None:
        return []
    return write_action_list(actions, folder, identified=identified)


def care_campaign(
    scored: pd.DataFrame,
    period: Period | str,
    *,
    size: int = 25,
    holdout: float | str | None = 0.0,
    seed: int = 0,
    scanner: PiiScanner | None = None,
    due_days: int = DEFAULT_CONFIG.windows.action_due_days,
) -> pd.DataFrame | None:
    """Return the period's action list as :func:`publish_care_campaign` writes it.

    :func:`customer_action_list` of the scored table, personal data found by content masked
    with ``scanner``; ``None`` when the scored table has no expected loss (no churn scores this
    period). The report runner writes it into the period folder and each owner's rows of it
    into the owner's folder (:func:`write_action_list`), so that both are the same list.

    Examples
    --------
    >>> scored = pd.DataFrame({"customer_id": ["C1", "C2"], "owner_id": ["S1", "S2"],
    ...                        "expected_loss": [1.0, 2.0], "churn_probability": [0.1, 0.2]})
    >>> care_campaign(scored, "2025-06")[["customer_id", "owner_id", "rank"]].values.tolist()
    [['C2', 'S2', 1], ['C1', 'S1', 2]]
    """
    if "expected_loss" not in scored.columns or not scored["expected_loss"].notna().any():
        return None
    actions = customer_action_list(
        scored, period, size=size, holdout=parse_share(holdout), seed=seed, due_days=due_days
    )
    if scanner is not None:
        actions = mask_content(actions, scanner)
    return actions
