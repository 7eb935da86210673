"""Personal data in reports: masking, stable pseudonyms, owner books and a leak scanner.

Reports are read by people who must not see customers' personal data. In ``mask`` mode (the
default of ``cpm report`` and of every notebook):

- columns holding personal data (see :func:`is_pii_column`: ``name``, ``email``, ``phone`` and
  the like) are dropped from every table shown or written, and masked inside the raw rows of
  ``rejected_rows.csv``;
- customer ids are shown as *pseudonyms*: ``P-`` followed by 12 base32 characters of
  HMAC-SHA256(key, customer_id). The same id and key always give the same pseudonym, so a
  customer can be followed across periods and looked up in ``customers_scored.csv`` (which holds
  both the real id and the pseudonym), while the pseudonym alone reveals nothing without the key.

The key (see :func:`load_key`) comes from the environment variable ``CPM_PSEUDONYM_KEY`` (at
least 16 characters) or, when it is not set, from a file ``.pseudonym_key`` created once with
32 random bytes (mode 0600) in the report folder. Keep the key with the data, not with the
reports: whoever holds it and the customer list can recompute the pseudonyms.

``show`` mode is an explicit opt-in for internal use: tables keep real ids and personal data.

Examples
--------
>>> import pandas as pd
>>> key = b"0123456789abcdef-example"
>>> frame = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Ann Lee", "Bo Yu"], "x": [1, 2]})
>>> mask_frame(frame, "mask", key=key).columns.tolist()
['pseudonym', 'x']
>>> pseudonymize(pd.Series(["C1"]), key).iloc[0] == pseudonymize(pd.Series(["C1"]), key).iloc[0]
True
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from cpm_analysis.data import PII_COLUMNS, Dataset
from cpm_analysis.frames import isin

PII_MODES: tuple[str, ...] = ("mask", "show")
KEY_ENV = "CPM_PSEUDONYM_KEY"
KEY_FILE = ".pseudonym_key"
PSEUDONYM_COLUMN = "pseudonym"
PSEUDONYM_PREFIX = "P-"
PSEUDONYM_LENGTH = 12
MASKED = "[masked]"
MIN_KEY_LENGTH = 16

# Column names holding personal data: the data contract's (name, email, phone) plus the usual
# variants of extra columns a source may carry.
PII_FIELDS: frozenset[str] = frozenset(c for cols in PII_COLUMNS.values() for c in cols)
_PII_NAME = re.compile(
    r"^(?:(?:first|last|full|given|family|middle|sur|nick|display|contact|customer|client|"
    r"owner|staff|agent|manager|person|user)_?name|surname)$"
)
_PII_ANYWHERE = re.compile(r"e_?mail|phone|mobile|telephone|street|address|birth|passport|iban")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)


def check_mode(mode: str) -> str:
    """Validate a personal-data mode: ``"mask"`` or ``"show"``.

    Raises
    ------
    ValueError
        For any other value.

    Examples
    --------
    >>> check_mode("mask")
    'mask'
    """
    if mode not in PII_MODES:
        raise ValueError(f"pii: expected 'mask' or 'show', got {mode!r}")
    return mode


def is_pii_column(name: str) -> bool:
    """Whether a column name denotes personal data.

    The contract's personal columns (``name``, ``email``, ``phone``), names of people
    (``first_name``, ``customer_name``, ``owner_name``, ``surname``, ...) and any column whose
    name mentions an e-mail, phone, mobile, address, birth date, passport or IBAN. Product or
    team names (``category_name``, ``team``) are not personal.

    Examples
    --------
    >>> [is_pii_column(c) for c in ("email", "owner_name", "phone_number", "team", "region")]
    [True, True, True, False, False]
    """
    key = str(name).strip().lower()
    return key in PII_FIELDS or bool(_PII_NAME.match(key)) or bool(_PII_ANYWHERE.search(key))


def pii_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that :func:`is_pii_column` flags, in frame order.

    Examples
    --------
    >>> pii_columns(pd.DataFrame(columns=["customer_id", "name", "email", "region"]))
    ['name', 'email']
    """
    return [c for c in frame.columns if is_pii_column(c)]


def _coerce_key(raw: str | bytes, origin: str) -> bytes:
    key = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    key = key.strip()
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(
            f"{origin}: the pseudonym key must be at least {MIN_KEY_LENGTH} characters "
            f"(got {len(key)}); e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return key


def key_path(folder: str | os.PathLike) -> Path:
    """Where the key file of a report folder lives (``<folder>/.pseudonym_key``).

    Examples
    --------
    >>> key_path("reports").name
    '.pseudonym_key'
    """
    return Path(folder) / KEY_FILE


def load_key(folder: str | os.PathLike | None = None, *, create: bool = True) -> bytes:
    """The pseudonym key: ``$CPM_PSEUDONYM_KEY``, else the key file of ``folder``.

    Parameters
    ----------
    folder : path, optional
        The report folder holding ``.pseudonym_key``; required when the environment variable is
        not set.
    create : bool
        Create the key file (32 random bytes, hex, mode 0600) when it does not exist yet. The
        file is created exclusively, so two processes never write different keys.

    Returns
    -------
    bytes
        The key.

    Raises
    ------
    ValueError
        When the key is shorter than 16 characters, or there is neither an environment variable
        nor a folder (or the file is missing and ``create`` is false).

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> load_key(folder) == load_key(folder)
    True
    """
    env = os.environ.get(KEY_ENV)
    if env:
        return _coerce_key(env, KEY_ENV)
    if folder is None:
        raise ValueError(f"pseudonym key: set {KEY_ENV} or give the report folder holding it")
    path = key_path(folder)
    if not path.exists():
        if not create:
            raise ValueError(f"pseudonym key: {path} does not exist and {KEY_ENV} is not set")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    return _coerce_key(path.read_text(encoding="utf-8"), str(path))


_B32 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)


def _hmac_sha256(key: bytes) -> Callable[[bytes], bytes]:
    """HMAC-SHA256 (RFC 2104) with the key's inner and outer states computed once.

    Twice as fast per message as ``hmac.digest``, whose one-shot call sets up the key again for
    every id; the result is identical (a test checks it against ``hmac.digest``).
    """
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def digest(message: bytes) -> bytes:
        h = inner.copy()
        h.update(message)
        o = outer.copy()
        o.update(h.digest())
        return o.digest()

    return digest


def _pseudonyms_of(key: bytes, values: Sequence[str]) -> np.ndarray:
    """``P-`` + the first 12 base32 characters of HMAC-SHA256(key, value), for each value."""
    if not len(values):
        return np.empty(0, dtype=object)
    raw = b"".join(map(_hmac_sha256(key), map(str.encode, values)))
    head = np.frombuffer(raw, dtype=">u8").reshape(-1, 4)[:, 0].astype(np.uint64)
    shifts = np.uint64(64) - np.uint64(5) * np.arange(1, PSEUDONYM_LENGTH + 1, dtype=np.uint64)
    chars = _B32[((head[:, None] >> shifts) & np.uint64(31)).astype(np.intp)]
    text = np.ascontiguousarray(chars).view(f"S{PSEUDONYM_LENGTH}").ravel().astype(str)
    return np.char.add(PSEUDONYM_PREFIX, text).astype(object)


def pseudonymize(ids: pd.Series | pd.Index | Sequence[str], key: bytes) -> pd.Series:
    """Stable pseudonyms for ids: ``P-`` + 12 base32 characters of HMAC-SHA256(key, id).

    Each distinct id is hashed once (two C SHA-256 calls per distinct id: no vectorised HMAC
    exists in numpy or Arrow; a million ids take a few seconds, 100,000 well under one). With 60
    bits, a collision among a million customers is a one-in-two-million event; one is detected
    and raised rather than shown.

    Parameters
    ----------
    ids : Series, Index or sequence of str
        Customer ids; missing values stay missing.
    key : bytes
        The key from :func:`load_key`.

    Returns
    -------
    Series
        Pseudonyms (``str`` dtype), aligned with ``ids`` (same index when a Series).

    Examples
    --------
    >>> out = pseudonymize(pd.Series(["C000001", "C000001", None]), b"k" * 16)
    >>> out.iloc[0] == out.iloc[1], out.iloc[0][:2], pd.isna(out.iloc[2])
    (True, 'P-', True)
    """
    if not isinstance(key, bytes) or len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"key: expected at least {MIN_KEY_LENGTH} bytes (see load_key)")
    series = ids if isinstance(ids, pd.Series) else pd.Series(np.asarray(ids, dtype=object))
    codes, uniques = pd.factorize(series.astype("str"), use_na_sentinel=True)
    hashed = _pseudonyms_of(key, uniques.tolist())
    if len(hashed) and len(set(hashed)) != len(hashed):
        raise ValueError(
            "pseudonymize: two customer ids share a pseudonym under this key (about one chance "
            f"in a million for a million customers); use another key ({KEY_ENV})"
        )
    out = np.empty(len(series), dtype=object)
    valid = codes >= 0
    out[valid] = hashed[codes[valid]]
    out[~valid] = None
    return pd.Series(out, index=series.index, dtype="str", name=PSEUDONYM_COLUMN)


def mask_frame(
    frame: pd.DataFrame,
    mode: str = "mask",
    *,
    key: bytes | None = None,
    id_column: str = "customer_id",
) -> pd.DataFrame:
    """A copy of ``frame`` safe to show: personal columns dropped, customer ids pseudonymised.

    In ``mask`` mode, every column flagged by :func:`is_pii_column` is dropped and ``id_column``
    (when present) is replaced, in place, by a column ``pseudonym``. In ``show`` mode the frame
    is returned unchanged (a copy).

    Parameters
    ----------
    frame : DataFrame
        Any table about customers.
    mode : {"mask", "show"}
        ``--pii`` of the report.
    key : bytes, optional
        Pseudonym key; required in ``mask`` mode when ``id_column`` is present.
    id_column : str
        The customer id column.

    Examples
    --------
    >>> frame = pd.DataFrame({"customer_id": ["C1"], "email": ["a@b.example"], "clv": [12.5]})
    >>> mask_frame(frame, "show").columns.tolist()
    ['customer_id', 'email', 'clv']
    >>> mask_frame(frame, "mask", key=b"k" * 16).columns.tolist()
    ['pseudonym', 'clv']
    """
    check_mode(mode)
    out = frame.copy()
    if mode == "show":
        return out
    out = out.drop(columns=pii_columns(out))
    if id_column in out.columns:
        if key is None:
            raise ValueError(f"mask_frame: a key is needed to pseudonymise '{id_column}'")
        values = pseudonymize(out[id_column], key)
        columns = [c for c in out.columns if c != PSEUDONYM_COLUMN]
        out = out[columns].assign(**{id_column: values})
        out = out.rename(columns={id_column: PSEUDONYM_COLUMN})
    return out


def _mask_json_lines(lines: pd.Series, *, key: bytes | None, id_column: str) -> pd.Series:
    """Mask the personal fields of JSON objects, one per line (all of one table)."""
    if lines.empty:
        return lines
    records = pd.read_json(
        io.StringIO("\n".join(lines.tolist())),
        lines=True,
        dtype=False,
        precise_float=True,
    )
    records.index = lines.index
    for column in pii_columns(records):
        records[column] = records[column].astype(object).where(records[column].isna(), MASKED)
    if key is not None and id_column in records.columns:
        ids = records[id_column]
        masked = pseudonymize(ids.where(ids.notna(), None).astype("str"), key)
        records[id_column] = masked.astype(object).where(ids.notna(), None)
    records = records.astype(object).where(records.notna(), None)
    text = records.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
    out = pd.Series(text.splitlines(), index=lines.index, dtype="str")
    return out.str.replace(_EMAIL, MASKED, regex=True)


def mask_rejected(
    rejected: pd.DataFrame,
    mode: str = "mask",
    *,
    key: bytes | None = None,
    id_column: str = "customer_id",
) -> pd.DataFrame:
    """Mask personal data inside the raw rows (``values``, JSON) of a rejected-rows table.

    In ``mask`` mode the personal fields of each raw row become ``"[masked]"`` and any e-mail
    address left anywhere in the row is masked too. With ``key`` the customer ids inside the
    rows are pseudonymised as well (for HTML); without it they stay real (for the CSV that the
    data team uses to fix the source). ``show`` returns a copy unchanged.

    Examples
    --------
    >>> rejected = pd.DataFrame({"table": ["customers"], "row": [3], "column": ["customer_id"],
    ...     "reason": ["duplicate customer_id"],
    ...     "values": ['{"customer_id":"C1","name":"Ann Lee","email":"ann@x.example"}']})
    >>> mask_rejected(rejected)["values"].iloc[0]
    '{"customer_id":"C1","name":"[masked]","email":"[masked]"}'
    """
    check_mode(mode)
    out = rejected.copy()
    if mode == "show" or out.empty:
        return out
    masked = out["values"].astype("str")
    for table in pd.unique(out["table"]):
        rows = (out["table"] == table).to_numpy()
        masked.loc[rows] = _mask_json_lines(masked.loc[rows], key=key, id_column=id_column)
    out["values"] = masked
    return out


def restrict_to_owner(dataset: Dataset, owner: str) -> Dataset:
    """The account owner's book: only their customers and what belongs to them.

    Customers whose ``owner_id`` is ``owner``; their orders, tickets and surveys; the owner's own
    staff row and assessments; targets that are the owner's or company-wide (no ``owner_id``);
    rejected rows that reference one of the owner's customers or the owner. Nothing about another
    owner's customers remains.

    Raises
    ------
    ValueError
        When customers have no ``owner_id`` column or ``owner`` has no customers.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=1).to_dataset()
    >>> book = restrict_to_owner(ds, ds.customers["owner_id"].iloc[0])
    >>> book.customers["owner_id"].nunique()
    1
    """
    customers = dataset.customers
    if "owner_id" not in customers.columns:
        raise ValueError("owner: customers have no owner_id column, so there are no owner books")
    mine = (customers["owner_id"] == owner).fillna(False).to_numpy(dtype=bool)
    if not mine.any():
        known = ", ".join(sorted(customers["owner_id"].dropna().unique().tolist())[:10])
        raise ValueError(f"owner: '{owner}' owns no customers (owners include {known})")
    book = customers.loc[mine].reset_index(drop=True)
    ids = book["customer_id"]
    out: dict[str, pd.DataFrame | None] = {"customers": book}
    for name in ("orders", "tickets", "surveys"):
        frame = getattr(dataset, name)
        out[name] = (
            None
            if frame is None
            else frame.loc[isin(frame["customer_id"], ids)].reset_index(drop=True)
        )
    if dataset.staff is not None:
        out["staff"] = dataset.staff.loc[
            (dataset.staff["staff_id"] == owner).to_numpy()
        ].reset_index(drop=True)
    if dataset.assessments is not None:
        keep = (dataset.assessments["staff_id"] == owner).to_numpy()
        out["assessments"] = dataset.assessments.loc[keep].reset_index(drop=True)
    if dataset.targets is not None:
        targets = dataset.targets
        keep = np.ones(len(targets), dtype=bool)
        if "owner_id" in targets.columns:
            keep = (targets["owner_id"].isna() | (targets["owner_id"] == owner)).to_numpy(
                dtype=bool
            )
        out["targets"] = targets.loc[keep].reset_index(drop=True)
    out["rejected"] = _rejected_of_owner(dataset.rejected, ids, owner)
    return replace(dataset, **out)


def _rejected_of_owner(rejected: pd.DataFrame, ids: pd.Series, owner: str) -> pd.DataFrame:
    if rejected.empty:
        return rejected.copy()
    keep = np.zeros(len(rejected), dtype=bool)
    for table in pd.unique(rejected["table"]):
        rows = (rejected["table"] == table).to_numpy()
        records = pd.read_json(
            io.StringIO("\n".join(rejected.loc[rows, "values"].astype("str").tolist())),
            lines=True,
            dtype=False,
        )
        hit = np.zeros(len(records), dtype=bool)
        if "customer_id" in records.columns:
            hit |= isin(records["customer_id"].astype("str"), ids)
        for column in ("owner_id", "staff_id"):
            if column in records.columns:
                hit |= (records[column].astype("str") == owner).fillna(False).to_numpy(dtype=bool)
        keep[np.flatnonzero(rows)[hit]] = True
    return rejected.loc[keep].reset_index(drop=True)


# --- the leak scanner --------------------------------------------------------------------------

_BLOB = re.compile(r"[A-Za-z0-9+/=]{120,}|(?:\\n)?[A-Za-z0-9+/=]{60,}\\n")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
_PHONE_RUN = re.compile(r"[+(]?\d[\d\s().\-/]{5,}\d")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


@dataclass(frozen=True)
class Finding:
    """Personal data found in a file: which file, what kind and how many occurrences."""

    path: str
    kind: str
    count: int

    def __str__(self) -> str:
        return f"{self.path}: {self.count} {self.kind}"


class PiiScanner:
    """Finds a dataset's names, e-mail addresses and phone numbers in written text.

    The report's last line of defence in ``mask`` mode: every HTML, CSV and notebook written is
    scanned before the report is published, and a hit fails the run. Matching is exact on
    normalised values and linear in the text: e-mails are extracted with a pattern and looked up
    (case-insensitive); phone numbers are compared on their digits (at least 7), so
    ``+1-555-177-4512`` and ``15551774512`` both match; names (of two words or more) are looked
    up as word n-grams, case-insensitive, after HTML entities are decoded. Findings report
    counts, never the values.

    Parameters
    ----------
    names, emails, phones : iterable of str
        The values to look for.

    Examples
    --------
    >>> scanner = PiiScanner(names=["Ann Lee"], emails=["ann@x.example"], phones=["+1-555-123-4567"])
    >>> scanner.scan_text("<td>ann LEE</td> call 15551234567")
    {'name': 1, 'phone': 1}
    """

    def __init__(
        self,
        names: Iterable[str] = (),
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
    ):
        self.names_: set[tuple[str, ...]] = set()
        for name in names:
            words = tuple(_words(str(name)))
            if len(words) >= 2:
                self.names_.add(words)
        self.name_lengths_ = sorted({len(n) for n in self.names_})
        self.emails_ = {str(e).strip().lower() for e in emails if str(e).strip()}
        digits = {re.sub(r"\D", "", str(p)) for p in phones}
        self.phones_ = {d for d in digits if len(d) >= 7}
        self.phone_lengths_ = sorted({len(p) for p in self.phones_})

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> PiiScanner:
        """Collect the personal values of every table (customers, staff, extra columns).

        The raw rows of rejected records are included, so a quarantined duplicate's name is
        looked for too.
        """
        values: dict[str, list[str]] = {"name": [], "email": [], "phone": []}
        frames = list(dataset.tables.values())
        if len(dataset.rejected):
            for table in pd.unique(dataset.rejected["table"]):
                lines = dataset.rejected.loc[dataset.rejected["table"] == table, "values"]
                frames.append(
                    pd.read_json(
                        io.StringIO("\n".join(lines.astype("str").tolist())),
                        lines=True,
                        dtype=False,
                    )
                )
        for frame in frames:
            for column in pii_columns(frame):
                key = str(column).lower()
                kind = (
                    "email"
                    if "mail" in key
                    else "phone"
                    if re.search(r"phone|mobile|tele", key)
                    else "name"
                )
                values[kind].extend(frame[column].dropna().astype("str").tolist())
        return cls(names=values["name"], emails=values["email"], phones=values["phone"])

    def scan_text(self, text: str) -> dict[str, int]:
        """Occurrences of personal values in ``text`` by kind (kinds with none are left out)."""
        text = _BLOB.sub(" ", html.unescape(text))  # base64 images: long runs, no names inside
        found: Counter[str] = Counter()
        if self.emails_:
            found["email"] = sum(1 for e in _EMAIL.findall(text) if e.lower() in self.emails_)
        if self.phones_:
            for run in _PHONE_RUN.findall(text):
                digits = re.sub(r"\D", "", run)
                found["phone"] += any(
                    digits[i : i + n] in self.phones_
                    for n in self.phone_lengths_
                    for i in range(len(digits) - n + 1)
                )
        if self.names_:
            words = _words(text)
            found["name"] = sum(
                tuple(words[i : i + n]) in self.names_
                for n in self.name_lengths_
                for i in range(len(words) - n + 1)
            )
        return {kind: count for kind, count in sorted(found.items()) if count}

    def scan_files(self, paths: Iterable[str | os.PathLike]) -> list[Finding]:
        """Scan text files; returns one :class:`Finding` per file and kind with hits."""
        findings = []
        for path in paths:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
            for kind, count in self.scan_text(text).items():
                findings.append(Finding(str(path), kind, count))
        return findings
