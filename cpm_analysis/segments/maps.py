"""Named RFM segments: segment maps (score ranges evaluated in order) and :func:`rfm_segments`.

A *segment map* is an ordered list of rules. Each rule names a segment and gives a range of
``r_score``, ``f_score`` and ``m_score``; a customer gets the **first** rule whose three ranges
contain their scores. A segment may span several rules (its name repeated). The default map,
``cpm_analysis/segment_map.yaml`` (see :func:`default_segment_map`), covers all 125
combinations of 1-5 scores, so every customer gets exactly one segment. A user map that leaves
combinations uncovered still works: customers there are labelled ``"Other"`` and a
``UserWarning`` names the uncovered combinations.

Each segment also carries a recommended ``action``, a ``group`` (``top``, ``growth``,
``at_risk`` or ``lapsed``; :func:`~cpm_analysis.segments.segment_migration` lists customers who
fell from ``top`` to ``at_risk``/``lapsed``), a ``description`` and labels in other languages
(``label_zh`` in the default map; see :func:`segment_labels`).

A map can be given as

- a :class:`SegmentMap`;
- a dict ``{name: {"r": "4-5", "f": "4-5", "m": "*", "action": ...}}`` (insertion order is
  the evaluation order; a value may also be a list of such rule dicts), or a dict
  ``{"bins": 5, "segments": [rule, ...]}``, or a list of rule dicts with a ``segment`` key;
- a YAML file with either of those shapes (``.yaml``/``.yml``), or a CSV file (``.csv``) with
  one rule per row and columns ``segment``, ``r``, ``f``, ``m`` (or ``r_min``, ``r_max``, ...,
  which survives spreadsheet programs that turn ``4-5`` into a date) and optionally
  ``action``, ``group``, ``description``, ``label_<lang>``.

A range is ``"4-5"``, ``[4, 5]``, a single score (``5`` or ``"5"``), or ``"*"`` / blank /
omitted for any score.

Examples
--------
>>> seg_map = default_segment_map()
>>> seg_map.segment_of(5, 5, 5), seg_map.segment_of(1, 5, 5), seg_map.segment_of(5, 1, 3)
('Champions', "Can't Lose Them", 'New')
>>> my_map = {"活跃": {"r": "3-5"}, "沉睡": {"r": "1-2"}}
>>> load_segment_map(my_map).segments
('活跃', '沉睡')
"""

from __future__ import annotations

import functools
import importlib.resources
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from cpm_analysis.segments.rfm import SCORE_COLUMNS, check_bins

GROUPS: tuple[str, ...] = ("top", "growth", "at_risk", "lapsed")
"""The segment groups: healthy best customers, customers to grow, at risk, lapsed."""
AXES: tuple[str, str, str] = ("r", "f", "m")
OTHER = "Other"
OTHER_ACTION = "No rule of the segment map covers these scores: extend the map."
_RULE_KEYS = {"segment", "r", "f", "m", "action", "group", "description"}
_LABEL_KEY = re.compile(r"^label_([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)$")
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-|\.\.|–)\s*(\d+)\s*$")
_ANY = {"", "*", "any", "all"}


@dataclass(frozen=True)
class SegmentRule:
    """One rule of a segment map: a segment name and inclusive score ranges.

    Attributes
    ----------
    segment : str
        The segment's name (any text, e.g. ``"Champions"`` or ``"重要价值客户"``).
    r, f, m : tuple of int
        Inclusive ``(low, high)`` score ranges.

    Examples
    --------
    >>> SegmentRule("Top", (4, 5), (4, 5), (1, 5)).contains(5, 4, 1)
    True
    """

    segment: str
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int]

    def contains(self, r: int, f: int, m: int) -> bool:
        """Whether the scores ``(r, f, m)`` fall in this rule's ranges."""
        return all(
            lo <= v <= hi for v, (lo, hi) in zip((r, f, m), (self.r, self.f, self.m), strict=True)
        )


@dataclass(frozen=True, eq=False)
class SegmentMap:
    """An ordered, validated segment map on scores 1..``bins``.

    Build one with :func:`load_segment_map` or :func:`default_segment_map`.

    Attributes
    ----------
    rules : tuple of SegmentRule
        In evaluation order (first match wins).
    bins : int
        The score scale the ranges refer to.
    actions, groups, descriptions : mapping
        Per segment name (``""`` / ``None`` when not given); read-only.
    labels : mapping
        ``{lang: {segment: label}}`` for the languages the map provides; read-only.

    Examples
    --------
    >>> m = load_segment_map({"Active": {"r": "3-5"}, "Dormant": {"r": "1-2"}})
    >>> m.segments, m.is_total
    (('Active', 'Dormant'), True)
    """

    rules: tuple[SegmentRule, ...]
    bins: int = 5
    actions: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, str | None] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Make the mappings read-only."""
        # read-only views: the default map is shared, so nobody may edit it in place
        for name in ("actions", "groups", "descriptions"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        frozen = {lang: MappingProxyType(dict(v)) for lang, v in self.labels.items()}
        object.__setattr__(self, "labels", MappingProxyType(frozen))

    @property
    def segments(self) -> tuple[str, ...]:
        """Segment names, in order of their first rule."""
        return tuple(dict.fromkeys(rule.segment for rule in self.rules))

    @functools.cached_property
    def grid(self) -> np.ndarray:
        """``grid[r-1, f-1, m-1]``: the position in :attr:`segments` of each score combination.

        ``-1`` marks combinations that no rule covers.
        """
        names = {name: i for i, name in enumerate(self.segments)}
        grid = np.full((self.bins,) * 3, -1, dtype=np.int64)
        for rule in reversed(self.rules):  # earlier rules overwrite later ones: first match wins
            (r0, r1), (f0, f1), (m0, m1) = rule.r, rule.f, rule.m
            grid[r0 - 1 : r1, f0 - 1 : f1, m0 - 1 : m1] = names[rule.segment]
        grid.setflags(write=False)
        return grid

    def gaps(self) -> pd.DataFrame:
        """Return the score combinations no rule covers, as a DataFrame with columns r, f, m."""
        r, f, m = np.nonzero(self.grid < 0)
        return pd.DataFrame({"r": r + 1, "f": f + 1, "m": m + 1})

    @property
    def is_total(self) -> bool:
        """Whether every score combination lands in a segment."""
        return bool((self.grid >= 0).all())

    def segment_of(self, r: int, f: int, m: int) -> str | None:
        """Return the segment of one score combination (``None`` in a gap).

        Examples
        --------
        >>> default_segment_map().segment_of(2, 5, 1)
        'At Risk'
        """
        for score, name in zip((r, f, m), SCORE_COLUMNS, strict=True):
            if not 1 <= score <= self.bins:
                raise ValueError(f"{name}: {score} is outside the scores 1-{self.bins}")
        code = self.grid[r - 1, f - 1, m - 1]
        return None if code < 0 else self.segments[code]

    def assign(self, r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Vectorised segment codes (positions in :attr:`segments`, -1 in a gap)."""
        return self.grid[np.asarray(r) - 1, np.asarray(f) - 1, np.asarray(m) - 1]

    def with_actions(self, actions: Mapping[str, str]) -> SegmentMap:
        """Return a copy with some actions replaced; unknown segment names raise ``ValueError``.

        Examples
        --------
        >>> m = default_segment_map().with_actions({"Lost": "Do nothing."})
        >>> m.actions["Lost"]
        'Do nothing.'
        """
        _check_known(actions, self.segments, "actions")
        merged = {**self.actions, **{str(k): str(v) for k, v in actions.items()}}
        return SegmentMap(
            self.rules, self.bins, merged, self.groups, self.descriptions, self.labels
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the rules as a table (one row per rule, in order), for documentation and reports.

        Examples
        --------
        >>> default_segment_map().to_frame().loc[0, ["segment", "r", "f", "m"]].tolist()
        ['Champions', '4-5', '4-5', '4-5']
        """
        records = []
        for i, rule in enumerate(self.rules, start=1):
            row: dict[str, Any] = {"order": i, "segment": rule.segment}
            for axis in AXES:
                lo, hi = getattr(rule, axis)
                row[axis] = "any" if (lo, hi) == (1, self.bins) else _range_text(lo, hi)
            row["group"] = self.groups.get(rule.segment)
            for lang, labels in self.labels.items():
                row[f"label_{lang}"] = labels.get(rule.segment, "")
            row["description"] = self.descriptions.get(rule.segment, "")
            row["action"] = self.actions.get(rule.segment, "")
            records.append(row)
        return pd.DataFrame.from_records(records)

    def __repr__(self) -> str:
        """Show the number of segments and rules, and the bins."""
        return (
            f"SegmentMap({len(self.segments)} segments, {len(self.rules)} rules, bins={self.bins})"
        )


SegmentMapSource: TypeAlias = (
    "SegmentMap | Mapping[str, object] | list[Mapping[str, object]] | str | os.PathLike[str]"
)
"""What :func:`load_segment_map` reads: a :class:`SegmentMap`, a dict (``{segment: ranges}``,
optionally under ``segments`` with ``bins``), a list of rules, or the path of a YAML or CSV
file. The rules' contents are checked when the map is read."""


def _range_text(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _check_known(mapping: Mapping[str, Any], known: Iterable[str], what: str) -> None:
    known = list(known)
    unknown = [str(k) for k in mapping if str(k) not in known]
    if unknown:
        raise ValueError(
            f"{what}: unknown segment label(s) {', '.join(map(repr, unknown))}; the segment map "
            f"has {', '.join(map(repr, known))}"
        )


def _parse_range(value: Any, axis: str, bins: int, where: str) -> tuple[int, int]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return 1, bins
    if isinstance(value, bool):
        raise ValueError(f"segment_map: {where}: {axis} range {value!r} is not a score range")
    if isinstance(value, (int, np.integer)):
        lo = hi = int(value)
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        value = (1 if value[0] is None else value[0], bins if value[1] is None else value[1])
        try:
            lo, hi = (int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(
                f"segment_map: {where}: {axis} range {value!r} is not two scores"
            ) from None
        if any(isinstance(v, bool) or float(v) != int(v) for v in value):
            raise ValueError(f"segment_map: {where}: {axis} range {value!r} is not two scores")
    elif isinstance(value, str):
        text = value.strip()
        if text.lower() in _ANY:
            return 1, bins
        if m := _RANGE.match(text):
            lo, hi = int(m.group(1)), int(m.group(2))
        elif text.isdigit():
            lo = hi = int(text)
        else:
            raise ValueError(
                f"segment_map: {where}: cannot read {axis} range {value!r}; use '4-5', '5' or '*'"
            )
    else:
        raise ValueError(
            f"segment_map: {where}: cannot read {axis} range {value!r}; use '4-5', '5' or '*'"
        )
    if lo > hi:
        raise ValueError(f"segment_map: {where}: {axis} range {lo}-{hi} runs backwards")
    if lo < 1 or hi > bins:
        raise ValueError(
            f"segment_map: {where}: {axis} range {_range_text(lo, hi)} is outside the scores "
            f"1-{bins}"
        )
    return lo, hi


def _records_from(source: Any) -> tuple[list[dict[str, Any]], int | None]:
    """Normalise the accepted shapes to a list of rule dicts (with ``segment``) and bins."""
    bins = None
    if isinstance(source, Mapping) and "segments" in source:
        extra = set(source) - {"segments", "bins"}
        if extra:
            raise ValueError(
                f"segment_map: unknown top-level key(s) {', '.join(map(repr, sorted(extra)))}; "
                "expected 'bins' and 'segments'"
            )
        bins = source.get("bins")
        source = source["segments"]
    if isinstance(source, Mapping):
        records = []
        for name, spec in source.items():
            specs = spec if isinstance(spec, list) else [spec]
            for one in specs:
                if one is None:
                    one = {}
                if not isinstance(one, Mapping):
                    raise ValueError(
                        f"segment_map: segment {name!r}: expected a mapping of ranges such as "
                        f"{{'r': '4-5'}}, got {one!r}"
                    )
                if "segment" in one and str(one["segment"]) != str(name):
                    raise ValueError(
                        f"segment_map: segment {name!r} has a different 'segment' key "
                        f"{one['segment']!r}"
                    )
                records.append({**one, "segment": name})
        return records, bins
    if isinstance(source, list):
        for i, one in enumerate(source, start=1):
            if not isinstance(one, Mapping):
                raise ValueError(f"segment_map: rule {i}: expected a mapping, got {one!r}")
        return [dict(one) for one in source], bins
    raise ValueError(
        f"segment_map: expected a dict, a list of rules, a YAML/CSV path or a SegmentMap, got "
        f"{type(source).__name__}"
    )


def _read_file(path: Path) -> Any:
    if not path.is_file():
        raise ValueError(f"segment_map: file {path} not found")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            with path.open(encoding="utf-8") as fh:
                content = yaml.safe_load(fh)
        except yaml.YAMLError as err:
            raise ValueError(f"segment_map: {path} is not valid YAML: {err}") from None
        if content is None:
            raise ValueError(f"segment_map: {path} is empty")
        return content
    if suffix == ".csv":
        frame = pd.read_csv(path, dtype="str", keep_default_na=False, encoding="utf-8-sig")
        frame.columns = [str(c).strip() for c in frame.columns]
        if "segment" not in frame.columns:
            raise ValueError(f"segment_map: {path} has no 'segment' column")
        records = []
        for row in frame.to_dict(orient="records"):
            record: dict[str, Any] = {}
            for key, value in row.items():
                value = value.strip()
                bound = re.match(r"^([rfm])_(min|max)$", key)
                if bound:
                    if value:
                        record.setdefault(bound.group(1), {})[bound.group(2)] = value
                elif value or key == "segment":
                    record[key] = value
            for axis in AXES:
                if isinstance(record.get(axis), dict):
                    if axis in row and str(row[axis]).strip():
                        raise ValueError(
                            f"segment_map: {path}: give either '{axis}' or '{axis}_min'/"
                            f"'{axis}_max', not both"
                        )
                    record[axis] = (record[axis].get("min"), record[axis].get("max"))
            records.append(record)
        return records
    raise ValueError(f"segment_map: {path}: expected a .yaml, .yml or .csv file")


def load_segment_map(
    source: SegmentMapSource | None = None, *, bins: int | None = None
) -> SegmentMap:
    """Read and validate a segment map.

    Parameters
    ----------
    source : SegmentMap, dict, list, str or path, optional
        The map (see the module docstring for the accepted shapes); ``None`` for the default.
    bins : int, optional
        The score scale the map is for. Defaults to the map's own ``bins`` key, else 5. A map
        that declares a different ``bins`` raises.

    Returns
    -------
    SegmentMap

    Raises
    ------
    ValueError
        For an unreadable file, a rule without a segment name, an unknown key, a range that is
        malformed, backwards or outside 1..bins, an unknown group, or conflicting actions,
        groups or labels for one segment.

    Examples
    --------
    >>> load_segment_map([{"segment": "Best", "r": "5"}, {"segment": "Rest"}]).segments
    ('Best', 'Rest')
    """
    if source is None:
        source = default_segment_map()
    if isinstance(source, SegmentMap):
        if bins is not None and check_bins(bins) != source.bins:
            raise ValueError(
                f"segment_map: the map is for scores 1-{source.bins}, not 1-{bins}; build it "
                f"with load_segment_map(..., bins={bins})"
            )
        return source
    if isinstance(source, (str, os.PathLike)):
        source = _read_file(Path(source))
    records, declared = _records_from(source)
    if declared is not None:
        declared = check_bins(declared)
        if bins is not None and check_bins(bins) != declared:
            raise ValueError(
                f"segment_map: the map declares bins={declared} but the scores use bins={bins}"
            )
    bins = check_bins(bins if bins is not None else (declared or 5))
    if not records:
        raise ValueError("segment_map: the map has no rules")

    rules: list[SegmentRule] = []
    attrs: dict[str, dict[str, Any]] = {
        "action": {},
        "group": {},
        "description": {},
    }
    labels: dict[str, dict[str, str]] = {}
    for i, record in enumerate(records, start=1):
        name = record.get("segment")
        if name is None or not str(name).strip():
            raise ValueError(f"segment_map: rule {i} has no segment name")
        name = str(name).strip()
        where = f"rule {i} ({name!r})"
        for key in record:
            if str(key) not in _RULE_KEYS and not _LABEL_KEY.match(str(key)):
                raise ValueError(
                    f"segment_map: {where}: unknown key {key!r}; expected r, f, m, action, "
                    "group, description or label_<lang>"
                )
        ranges = [_parse_range(record.get(axis), axis, bins, where) for axis in AXES]
        rules.append(SegmentRule(name, *ranges))
        group = record.get("group")
        if group is not None and str(group).strip():
            group = str(group).strip()
            if group not in GROUPS:
                raise ValueError(
                    f"segment_map: {where}: unknown group {group!r}; use one of {', '.join(GROUPS)}"
                )
        else:
            group = None
        values = {
            "action": record.get("action"),
            "group": group,
            "description": record.get("description"),
        }
        for key, value in values.items():
            if value is None or str(value).strip() == "":
                continue
            value = str(value).strip()
            previous = attrs[key].setdefault(name, value)
            if previous != value:
                raise ValueError(
                    f"segment_map: {where}: {key} {value!r} conflicts with {previous!r} given "
                    "earlier for the same segment"
                )
        for key, value in record.items():
            if m := _LABEL_KEY.match(str(key)):
                if value is None or str(value).strip() == "":
                    continue
                lang = m.group(1).lower()
                previous = labels.setdefault(lang, {}).setdefault(name, str(value).strip())
                if previous != str(value).strip():
                    raise ValueError(
                        f"segment_map: {where}: label_{lang} {value!r} conflicts with "
                        f"{previous!r} given earlier for the same segment"
                    )
    names = tuple(dict.fromkeys(rule.segment for rule in rules))
    return SegmentMap(
        tuple(rules),
        bins,
        actions={n: attrs["action"].get(n, "") for n in names},
        groups={n: attrs["group"].get(n) for n in names},
        descriptions={n: attrs["description"].get(n, "") for n in names},
        labels=labels,
    )


@functools.cache
def _default_content() -> Any:
    import yaml

    text = importlib.resources.files("cpm_analysis").joinpath("segment_map.yaml").read_text("utf-8")
    return yaml.safe_load(text)


@functools.cache
def default_segment_map() -> SegmentMap:
    """Return the default map (``cpm_analysis/segment_map.yaml``): 11 segments on 1-5 scores.

    In evaluation order (R, F, M score ranges; ``*`` = any):

    ============  ====================  ===  ===  ===  ========
    order         segment               R    F    M    group
    ============  ====================  ===  ===  ===  ========
    1             Champions             4-5  4-5  4-5  top
    2             Loyal                 3-5  4-5  *    top
    3             Potential Loyalists   4-5  2-3  *    growth
    4             New                   5    1    *    growth
    5             Promising             4    1    *    growth
    6             Need Attention        3    3    *    at_risk
    7             About to Sleep        3    1-2  *    at_risk
    8             Can't Lose Them       1-2  4-5  4-5  at_risk
    9             At Risk               1-2  3-5  *    at_risk
    10            Hibernating           2    1-2  *    lapsed
    11            Lost                  1    1-2  *    lapsed
    ============  ====================  ===  ===  ===  ========

    Every one of the 125 combinations lands in exactly one segment. The actions, descriptions
    and Chinese labels are in the YAML file and in ``default_segment_map().to_frame()``.

    Examples
    --------
    >>> default_segment_map().is_total
    True
    """
    return load_segment_map(_default_content())


def segment_labels(lang: str = "zh", segment_map: SegmentMapSource | None = None) -> dict[str, str]:
    """Display labels of a map's segments in a language, by segment name.

    ``lang="en"`` returns the names themselves (the default map's names are English).

    Parameters
    ----------
    lang : str, default "zh"
        A language code for which the map has ``label_<lang>`` entries.
    segment_map : optional
        A map as accepted by :func:`load_segment_map`; default: the default map.

    Raises
    ------
    ValueError
        When the map has no labels in ``lang`` or lacks one for some segment.

    Examples
    --------
    >>> segment_labels("zh")["Champions"]
    '重要价值客户'
    """
    seg_map = load_segment_map(segment_map)
    code = str(lang).strip().lower().replace("-", "_")
    if code == "en":
        return {name: name for name in seg_map.segments}
    labels = seg_map.labels.get(code)
    if labels is None:
        have = ", ".join(["en", *seg_map.labels]) or "en"
        raise ValueError(f"lang: the segment map has no '{lang}' labels (it has {have})")
    missing = [name for name in seg_map.segments if name not in labels]
    if missing:
        raise ValueError(
            f"lang: the segment map has no label_{code} for {', '.join(map(repr, missing))}"
        )
    return {name: labels[name] for name in seg_map.segments}


def segment_actions(segment_map: SegmentMapSource | None = None) -> dict[str, str]:
    """Return the recommended action of every segment of a map (the default map by default).

    Examples
    --------
    >>> segment_actions()["At Risk"].startswith("Win-back offer from the account owner")
    True
    """
    return dict(load_segment_map(segment_map).actions)


def _score_bins(scores: pd.DataFrame, bins: int | None) -> int:
    if bins is not None:
        return check_bins(bins)
    declared = scores.attrs.get("bins") if isinstance(scores.attrs, dict) else None
    return check_bins(declared) if declared is not None else 5


def check_scores(scores: pd.DataFrame, bins: int) -> tuple[np.ndarray, ...]:
    """Return the three score columns as int arrays, validated to lie in 1..``bins``."""
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"scores: expected the DataFrame rfm_scores returns, got {type(scores)}")
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ValueError(
            f"scores: missing column(s) {', '.join(map(repr, missing))}; compute them with "
            "rfm_scores()"
        )
    arrays = []
    for col in SCORE_COLUMNS:
        values = scores[col]
        if values.isna().any():
            raise ValueError(f"scores: {col} has {int(values.isna().sum())} missing value(s)")
        if not pd.api.types.is_integer_dtype(values):
            numeric = (
                values.to_numpy(dtype=np.float64) if pd.api.types.is_numeric_dtype(values) else None
            )
            if numeric is None or not np.all(numeric == np.round(numeric)):
                raise ValueError(f"scores: {col} must hold whole scores 1-{bins}")
        array = values.to_numpy(dtype=np.int64)
        if len(array) and (array.min() < 1 or array.max() > bins):
            raise ValueError(
                f"scores: {col} ranges {array.min()}-{array.max()}, outside the scores 1-{bins} "
                "(pass bins= to rfm_segments if the scores use another scale)"
            )
        arrays.append(array)
    return tuple(arrays)


def rfm_segments(
    scores: pd.DataFrame,
    segment_map: SegmentMapSource | None = None,
    *,
    actions: Mapping[str, str] | None = None,
    lang: str | None = None,
    bins: int | None = None,
    other: str = OTHER,
) -> pd.DataFrame:
    """Name each customer's segment from their R, F and M scores.

    Parameters
    ----------
    scores : DataFrame
        The output of :func:`~cpm_analysis.segments.rfm_scores` (any table with integer
        ``r_score``, ``f_score``, ``m_score`` columns).
    segment_map : SegmentMap, dict, list, str or path, optional
        The rules (see :func:`load_segment_map`); default: :func:`default_segment_map`, which
        is for ``bins=5``.
    actions : dict, optional
        Replace the recommended action of some segments, ``{segment: text}``.
    lang : str, optional
        Add a ``label`` column with the segment's label in this language (``"zh"``: the
        default map's Chinese labels; see :func:`segment_labels`).
    bins : int, optional
        The score scale; default ``scores.attrs["bins"]`` (set by ``rfm_scores``), else 5.
    other : str, default "Other"
        The segment of customers whose scores no rule covers (only with a map that has gaps).

    Returns
    -------
    DataFrame
        A copy of ``scores`` with ``segment`` and ``action`` (categoricals, categories in map
        order) and, with ``lang``, ``label``.

    Warns
    -----
    UserWarning
        When the map does not cover every score combination; customers in the gap get
        ``other``.

    Raises
    ------
    ValueError
        For a malformed map, scores outside 1..bins, the default map with ``bins`` other than
        5, or unknown segment labels in ``actions``.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"r_score": [5, 1], "f_score": [5, 5], "m_score": [5, 5]},
    ...                       index=pd.Index(["a", "b"], name="customer_id"))
    >>> rfm_segments(scores)["segment"].tolist()
    ['Champions', "Can't Lose Them"]
    >>> rfm_segments(scores, lang="zh")["label"].tolist()
    ['重要价值客户', '重要保持客户']
    """
    bins = _score_bins(scores, bins)
    if segment_map is None and bins != 5:
        raise ValueError(
            f"segment_map: the default map is defined on 1-5 scores and these scores use "
            f"bins={bins}; pass your own segment_map (see load_segment_map)"
        )
    seg_map = load_segment_map(segment_map, bins=bins)
    if actions:
        seg_map = seg_map.with_actions(actions)
    r, f, m = check_scores(scores, bins)
    names = list(seg_map.segments)
    action_of = dict(seg_map.actions)
    codes = seg_map.assign(r, f, m)
    if not seg_map.is_total:
        gaps = seg_map.gaps()
        if other in names:
            raise ValueError(
                f"other: {other!r} is also a segment of the map; choose another label for "
                "uncovered scores"
            )
        examples = ", ".join(str(tuple(map(int, row))) for row in gaps.head(5).to_numpy())
        hit = int((codes < 0).sum())
        warnings.warn(
            f"segment_map: {len(gaps)} of {bins**3} score combinations (r, f, m) match no "
            f"rule, e.g. {examples}; {hit} customer(s) there are labelled {other!r}",
            UserWarning,
            stacklevel=2,
        )
        codes = np.where(codes < 0, len(names), codes)
        names.append(other)
        action_of[other] = OTHER_ACTION
    out = scores.copy()
    out["segment"] = pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype="str"))
    out["action"] = _categorical_of(codes, [action_of.get(n, "") for n in names])
    if lang is not None:
        labels = segment_labels(lang, seg_map)
        labels[other] = other
        out["label"] = _categorical_of(codes, [labels[n] for n in names])
    return out


def _categorical_of(codes: np.ndarray, values: list[str]) -> pd.Categorical:
    """Return a categorical of ``values[codes]`` (``values``, one per segment code, may repeat)."""
    order = list(dict.fromkeys(values))
    position = {v: i for i, v in enumerate(order)}
    remap = np.array([position[v] for v in values], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index(order, dtype="str"))


def segment_summary(segments: pd.DataFrame, value: str = "monetary") -> pd.DataFrame:
    """Size, revenue and mean R/F/M of each segment (every segment of the map, in map order).

    Parameters
    ----------
    segments : DataFrame
        The output of :func:`rfm_segments`.
    value : str, default "monetary"
        The column summed as ``revenue``.

    Returns
    -------
    DataFrame
        Indexed by ``segment``: ``customers``, ``customer_share``, ``revenue``,
        ``revenue_share``, the means of ``recency_days``, ``frequency`` and ``monetary``
        (those present), and ``action``.

    Examples
    --------
    >>> from cpm_analysis.segments import rfm_scores
    >>> table = segment_summary(rfm_segments(rfm_scores(ds, "2024-06")))
    >>> float(round(table["customer_share"].sum(), 6))
    1.0
    """
    if "segment" not in segments.columns:
        raise ValueError("segments: no 'segment' column; compute it with rfm_segments()")
    if value not in segments.columns:
        raise ValueError(f"value: column {value!r} not in the segments table")
    seg = segments["segment"]
    if not isinstance(seg.dtype, pd.CategoricalDtype):
        seg = seg.astype("category")
    groups = segments.groupby(seg, observed=False, sort=True)
    out = pd.DataFrame({"customers": groups.size().astype(np.int64)})
    total = max(len(segments), 1)
    out["customer_share"] = out["customers"] / total
    out["revenue"] = groups[value].sum()
    revenue_total = segments[value].sum()
    out["revenue_share"] = out["revenue"] / revenue_total if revenue_total else np.nan
    for col in ("recency_days", "frequency", "monetary"):
        if col in segments.columns:
            out[f"mean_{col}"] = groups[col].mean()
    if "action" in segments.columns:
        first = segments.drop_duplicates("segment").set_index("segment")["action"]
        action = {str(k): str(v) for k, v in first.items()}
        out["action"] = pd.array([action.get(str(k), "") for k in out.index], dtype="str")
    out.index.name = "segment"
    return out
