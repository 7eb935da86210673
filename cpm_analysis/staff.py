"""How a staff member (account owner, service agent, manager) is shown on a page.

A staff member's name is internal information, not a customer's personal data: reports meant
for the company show staff by name and id, ``Yuki Mensah (S001)``, so a manager needs no
lookup to know who is meant. The configuration's ``report.staff_names`` chooses:

- ``name`` (the default): ``<name> (<staff_id>)`` from the ``staff`` table's ``name``; the id
  alone for someone without a name, or whose id is their name (an export that keys its owners
  by name, as Superstore's People sheet does);
- ``pseudonym``: the staff id alone, never the name, for reports shared outside the company
  (the personal-data scan then also looks for the staff's names in every file written).

:func:`staff_names` is the one place this rule lives: the scorecards, their charts, the
improvement actions, the tables of every page and the customer page all show a staff id
through it. A customer's name is never shown (:mod:`cpm_analysis.privacy`). Names are data:
they are escaped where they reach a page, like every other value.

Examples
--------
>>> staff = pd.DataFrame({"staff_id": ["S001", "S002"], "name": ["Yuki Mensah", None]})
>>> names = staff_names(staff)
>>> names("S001"), names("S002"), names("S999")
('Yuki Mensah (S001)', 'S002', 'S999')
>>> staff_names(staff, "pseudonym")("S001")
'S001'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

import pandas as pd

StaffNameMode = Literal["name", "pseudonym"]
"""``report.staff_names``: staff shown by name (inside the company) or by id only."""

STAFF_NAME_MODES: tuple[str, ...] = get_args(StaffNameMode)

STAFF_COLUMNS: frozenset[str] = frozenset(
    {"owner_id", "agent_id", "staff_id", "manager_id", "owner", "agent", "manager"}
)
"""Columns (and index names) of a table that hold staff ids."""


class StaffNames(Mapping[str, str]):
    """Staff id -> how it is shown; calling it shows any value (unknown ids as themselves).

    Parameters
    ----------
    labels : mapping of str to str
        The shown form of each staff id that has one other than the id itself.
    mode : {"name", "pseudonym"}

    Examples
    --------
    >>> names = StaffNames({"S1": "Ann Lee (S1)"})
    >>> names("S1"), names("S2"), names(None), len(names)
    ('Ann Lee (S1)', 'S2', None, 1)
    >>> names.series(pd.Series(["S1", "S2"])).tolist()
    ['Ann Lee (S1)', 'S2']
    """

    def __init__(self, labels: Mapping[str, str] | None = None, mode: str = "name") -> None:
        self._labels = dict(labels or {})
        self.mode = mode

    def __getitem__(self, key: str) -> str:
        """Return the shown form of a staff id that has one."""
        return self._labels[key]

    def __iter__(self) -> Any:
        """Iterate over the staff ids with a shown form of their own."""
        return iter(self._labels)

    def __len__(self) -> int:
        """Count the staff ids with a shown form of their own."""
        return len(self._labels)

    def __call__(self, value: Any) -> Any:
        """Return how ``value`` is shown: its label, else ``value`` unchanged (missing stays missing)."""
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return value
        return self._labels.get(str(value), value)

    def series(self, values: pd.Series | pd.Index) -> Any:
        """Return ``values`` (a column or an index of staff ids) as shown, vectorised."""
        if not self._labels:
            return values
        shown = values.astype(object).map(lambda v: self._labels.get(str(v), v))
        return shown.rename(values.name) if isinstance(values, pd.Series) else shown

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return ``frame`` with every staff column (:data:`STAFF_COLUMNS`) and index shown."""
        if not self._labels:
            return frame
        out = frame
        columns = [c for c in frame.columns if str(c) in STAFF_COLUMNS]
        if columns:
            out = frame.copy()
            for column in columns:
                if not pd.api.types.is_numeric_dtype(out[column].dtype):
                    out[column] = self.series(out[column]).to_numpy()
        if str(out.index.name) in STAFF_COLUMNS:
            out = out.copy() if out is frame else out
            out.index = pd.Index(self.series(out.index), name=out.index.name)
        return out


def staff_names(staff: pd.DataFrame | None, mode: str = "name") -> StaffNames:
    """Return how each staff member is shown: the one rule of the package.

    Parameters
    ----------
    staff : DataFrame or None
        The ``staff`` table (``staff_id``, optionally ``name``); ``None`` or no ``name`` column:
        every id is shown as itself.
    mode : {"name", "pseudonym"}
        ``report.staff_names`` of the configuration.

    Returns
    -------
    StaffNames

    Raises
    ------
    ValueError
        For a ``mode`` that is not one of :data:`STAFF_NAME_MODES`.

    Examples
    --------
    >>> staff = pd.DataFrame({"staff_id": ["S1", "Ann Lee"], "name": [" Bo Yu ", "Ann Lee"]})
    >>> dict(staff_names(staff))
    {'S1': 'Bo Yu (S1)'}
    >>> staff_names(staff, "full")
    Traceback (most recent call last):
    ...
    ValueError: report.staff_names: expected 'name' or 'pseudonym', got 'full'
    """
    if mode not in STAFF_NAME_MODES:
        raise ValueError(f"report.staff_names: expected 'name' or 'pseudonym', got {mode!r}")
    if mode == "pseudonym" or staff is None or "name" not in staff.columns:
        return StaffNames({}, mode)
    if "staff_id" not in staff.columns:
        raise ValueError("staff: no staff_id column, so staff cannot be named")
    rows = staff.loc[staff["staff_id"].notna() & staff["name"].notna(), ["staff_id", "name"]]
    ids = rows["staff_id"].astype("str").str.strip()
    names = rows["name"].astype("str").str.strip()
    keep = (names != "") & (names != ids)
    labels = {i: f"{n} ({i})" for i, n in zip(ids[keep], names[keep], strict=True) if i != ""}
    return StaffNames(labels, mode)
