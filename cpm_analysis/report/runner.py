"""The engine of ``cpm report``: run the report notebooks for one or more periods.

For each period the runner

1. computes the period once (:func:`cpm_analysis.pipeline.build_period`): the scored customer
   table (written as ``customers_scored.parquet`` and ``.csv``), the models and their checks,
   KPIs, scorecards and actions; the result is saved in a private folder of the run (mode 0700,
   outside the report folder, removed at the end: never published, never scanned as output);
2. writes ``rejected_rows.csv`` (personal fields masked unless ``pii="show"``) and the
   customer action list, ``care_campaign.csv`` and ``.jsonl`` (pseudonymised unless
   ``export_identified``; with ``holdout`` a seeded share held out, see
   :mod:`cpm_analysis.action_tracking`);
3. executes every periodic notebook with papermill (kernel ``python3``, working directory = the
   period folder; ``--jobs`` warm kernels run every notebook of the run, each one reset before
   every notebook, :mod:`cpm_analysis.report.kernels`; parameters injected: ``data``, ``period``,
   ``freq``, ``out_dir``, ``pii``, ``owner``, ``seed``, ``lang``, ``result``: the saved result,
   which the kernel renders without loading the data again; a notebook gets only the parameters
   it declares) and exports each to offline HTML (:mod:`cpm_analysis.report.export`); with
   ``per_owner`` the owner book (``owner_book.ipynb``, one page) once for each account owner
   into ``owners/<owner_id>/``, from the same saved company result filtered to that owner's
   customers (:meth:`~cpm_analysis.pipeline.PeriodResult.for_owner`), beside the owner's rows
   of the scored table, the rejected rows and the care campaign;
4. writes ``metrics.json`` (:mod:`cpm_analysis.report.metrics`);
5. checks, in ``mask`` mode, that no name, e-mail or phone number of the data appears in any
   HTML, CSV, notebook or JSON written (:class:`cpm_analysis.privacy.PiiScanner`);
6. publishes: everything is written to ``<out>/.tmp-<period>-*`` and swapped into
   ``<out>/<period>`` only when all of it succeeded. A failure leaves the previous report
   untouched and keeps the failed attempt in ``<out>/_failed/<period>/`` (with ``FAILED.txt``).

Finally ``<out>/index.html`` is rewritten (:mod:`cpm_analysis.report.index`). A lock file
(:mod:`cpm_analysis.report.lock`) keeps a second run off the same output folder.

The output folder belongs to the report (:mod:`cpm_analysis.report.manifest`): the runner claims
only a new or empty folder, lists everything it writes in ``<out>/.cpm-report.json``, and
replaces or deletes nothing the manifest does not show as its own; it refuses a folder that
holds the data. A database URL reaches the kernels in their environment (``CPM_DATA_URL``), never
as a notebook parameter (:mod:`cpm_analysis.credentials`).

Notebook discovery: every ``*.ipynb`` in the notebooks folder (``notebooks=`` argument, else
``$CPM_NOTEBOOKS_DIR``, else ``<project root>/notebooks``). Names starting with two digits and an
underscore (``01_data_quality.ipynb``) are *periodic* and run in name order; any other notebook
(``customer_360.ipynb``) is *on demand*: opened by hand, never run by ``cpm report``, except the
owner book (:data:`OWNER_BOOK`), which ``--per-owner`` runs once for each account owner.

Examples
--------
Not run by the doctests (it renders every page for a minute; ``tests/test_report.py`` does):

>>> outcome = run_report(period="2024-06", out="reports")  # doctest: +SKIP
>>> outcome.exit_code  # doctest: +SKIP
0
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import functools
import hashlib
import logging
import os
import re
import secrets
import shutil
import threading
import time
import traceback
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cpm_analysis.action_tracking import parse_share
from cpm_analysis.config import DEFAULT_CONFIG, ConfigError, CPMConfig, load_config
from cpm_analysis.credentials import DATA_URL_ENV, is_url, redact_text, redact_url
from cpm_analysis.data import Dataset, load
from cpm_analysis.data.protocol import CustomerData
from cpm_analysis.i18n import format_locale, normalize_lang
from cpm_analysis.periods import Period, normalize_freq, parse_period, period_range
from cpm_analysis.pipeline import build_period
from cpm_analysis.pipeline.period import RESULT_FILE
from cpm_analysis.pipeline.scored import finalize_scored
from cpm_analysis.privacy import (
    PiiScanner,
    check_mode,
    load_key,
    mask_content,
    mask_rejected,
    restrict_to_owner,
)
from cpm_analysis.report.artifacts import scored_for_csv
from cpm_analysis.report.care_export import care_campaign, write_action_list
from cpm_analysis.report.export import export_html
from cpm_analysis.report.index import (
    FAILED_DIR,
    FAILED_NOTE,
    INDEX_FILE,
    OWNERS_DIR,
    write_index,
)
from cpm_analysis.report.kernels import KERNEL_NAME, KernelPool, WarmKernel
from cpm_analysis.report.lock import ReportLock
from cpm_analysis.report.manifest import Manifest, OutputFolderError
from cpm_analysis.report.metrics import base_metrics, merge_plugin_metrics, write_metrics
from cpm_analysis.report.params import (
    FREQ_NAMES,
    default_reports_dir,
    display_source,
    project_root,
    resolve_data_source,
    resolve_period,
)
from cpm_analysis.report.spreadsheet import write_csv

log = logging.getLogger("cpm_analysis.report")

NOTEBOOKS_ENV = "CPM_NOTEBOOKS_DIR"
PERIODIC_NAME = re.compile(r"^\d{2}_[A-Za-z0-9][A-Za-z0-9_-]*$")
SCORED_STEM = "customers_scored"
OWNER_BOOK = "owner_book"
"""The notebook ``--per-owner`` runs once for each account owner (not periodic: no number)."""
REJECTED_FILE = "rejected_rows.csv"
STORE_DIR = ".store"  # the validated data of --engine dask, reused while the source is unchanged
REQUIRED_PARAMETERS: tuple[str, ...] = ("data", "period", "freq", "pii", "owner", "seed")
"""Parameters every periodic notebook must declare: without ``pii`` or ``owner`` a notebook
would silently show personal data or every owner's customers."""
SCANNED_SUFFIXES: tuple[str, ...] = (".html", ".csv", ".ipynb", ".json", ".jsonl")


class ReportArgumentError(ValueError):
    """A ``cpm report`` argument is wrong (exit code 2)."""


class StepFailed(RuntimeError):
    """A step of a period's report failed while running (exit code 1).

    Parameters
    ----------
    step : str
        What failed: a notebook name, ``period pipeline`` or ``privacy check``.
    message : str
        What happened.
    details : str
        More for the record (a traceback), written to ``_failed/<period>/FAILED.txt``.
    """

    def __init__(self, step: str, message: str, details: str = ""):
        super().__init__(f"{step}: {message}")
        self.step = step
        self.details = details


class NotebookFailed(StepFailed):
    """A notebook raised, timed out or lost its kernel (exit code 1).

    The message names the notebook, the cell and the error, e.g. ``01_data_quality: cell 7 of
    14, In [5]: `ctx.show(...)` raised ZeroDivisionError: division by zero``.
    """


@dataclass(frozen=True)
class NotebookSpec:
    """A notebook found in the notebooks folder.

    Examples
    --------
    >>> spec = NotebookSpec(Path("notebooks/01_data_quality.ipynb"))
    >>> spec.name, spec.periodic, spec.short_name
    ('01_data_quality', True, 'data_quality')
    """

    path: Path

    @property
    def name(self) -> str:
        """The file name without ``.ipynb``."""
        return self.path.stem

    @property
    def periodic(self) -> bool:
        """Numbered ``NN_name``: part of every periodic report."""
        return bool(PERIODIC_NAME.match(self.name))

    @property
    def short_name(self) -> str:
        """The name without its number (``data_quality``)."""
        return self.name[3:] if self.periodic else self.name


@dataclass
class PeriodOutcome:
    """What happened to one period."""

    label: str
    ok: bool
    folder: Path
    error: str | None = None
    seconds: float = 0.0
    notebooks: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    owner_failures: dict[str, str] = field(default_factory=dict)
    """Owners whose pages failed (the message by owner id): the company report and the other
    owners were published; the owner's folder holds only ``FAILED.txt``."""


@dataclass
class ReportOutcome:
    """What ``run_report`` did: one :class:`PeriodOutcome` per period and the index page."""

    periods: list[PeriodOutcome]
    index: Path
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[PeriodOutcome]:
        """The periods that failed."""
        return [p for p in self.periods if not p.ok]

    @property
    def owner_failures(self) -> list[str]:
        """``"<period> [owner <id>]: <error>"`` for every owner book that failed."""
        return [
            f"{p.label} [owner {owner}]: {error}"
            for p in self.periods
            for owner, error in p.owner_failures.items()
        ]

    @property
    def exit_code(self) -> int:
        """0 when every period and owner book succeeded, 1 otherwise.

        A failed owner book does not keep the company report from being published, but a
        scheduler must notice it.
        """
        return 1 if self.failed or self.owner_failures else 0


# --- notebooks ---------------------------------------------------------------------------------


def notebooks_dir(folder: str | os.PathLike | None = None) -> Path:
    """Return the notebooks folder.

    ``folder``, else ``$CPM_NOTEBOOKS_DIR``, else ``<project>/notebooks``.

    Examples
    --------
    >>> notebooks_dir("/tmp/nb").as_posix()
    '/tmp/nb'
    """
    if folder is not None:
        return Path(folder)
    env = os.environ.get(NOTEBOOKS_ENV)
    return Path(env) if env else project_root() / "notebooks"


def discover_notebooks(folder: str | os.PathLike | None = None) -> list[NotebookSpec]:
    """Every notebook of the folder: periodic ones first in name order, then on-demand ones.

    Checkpoints and files starting with ``.`` or ``_`` are ignored.

    Raises
    ------
    ReportArgumentError
        When the folder does not exist.

    Examples
    --------
    >>> [s.name for s in discover_notebooks()][:2], [s.name for s in discover_notebooks()][-2:]
    (['01_data_quality', '02_segments'], ['customer_360', 'owner_book'])
    """
    root = notebooks_dir(folder)
    if not root.is_dir():
        raise ReportArgumentError(f"notebooks: folder {root} does not exist")
    specs = [
        NotebookSpec(path)
        for path in sorted(root.glob("*.ipynb"))
        if not path.name.startswith((".", "_"))
    ]
    return sorted(specs, key=lambda s: (not s.periodic, s.name))


def select_notebooks(
    specs: Sequence[NotebookSpec], only: Iterable[str] | None = None
) -> list[NotebookSpec]:
    """Select the periodic notebooks to run, all of them or those named in ``only``.

    A name matches ``01_data_quality``, ``data_quality``, ``01`` or ``01_data_quality.ipynb``.

    Raises
    ------
    ReportArgumentError
        For an unknown name, an on-demand notebook, or no periodic notebook at all.

    Examples
    --------
    >>> specs = [NotebookSpec(Path("01_a.ipynb")), NotebookSpec(Path("02_b.ipynb"))]
    >>> [s.name for s in select_notebooks(specs, ["b"])]
    ['02_b']
    """
    periodic = [s for s in specs if s.periodic]
    wanted = [w.strip() for item in (only or ()) for w in str(item).split(",") if w.strip()]
    if not wanted:
        if not periodic:
            raise ReportArgumentError("notebooks: no periodic notebook (NN_name.ipynb) found")
        return periodic
    chosen: list[NotebookSpec] = []
    for name in wanted:
        key = name.removesuffix(".ipynb")
        match = [s for s in specs if key in (s.name, s.short_name, s.name[:2])]
        if not match:
            known = ", ".join(s.name for s in specs) or "none"
            raise ReportArgumentError(f"--only: no notebook '{name}' (notebooks: {known})")
        spec = match[0]
        if not spec.periodic:
            raise ReportArgumentError(
                f"--only: {spec.name} is an on-demand notebook (not numbered); open it in "
                "JupyterLab or run it with papermill"
            )
        if spec not in chosen:
            chosen.append(spec)
    return sorted(chosen, key=lambda s: s.name)


def owner_book(folder: str | os.PathLike | None = None) -> NotebookSpec:
    """Return the owner book of the notebooks folder: ``owner_book.ipynb``.

    ``cpm report --per-owner`` runs it once for each account owner, into
    ``<period>/owners/<owner>/``; it is not periodic, so the company report never runs it.

    Raises
    ------
    ReportArgumentError
        When the folder has no ``owner_book.ipynb``.

    Examples
    --------
    >>> owner_book().name
    'owner_book'
    """
    path = notebooks_dir(folder) / f"{OWNER_BOOK}.ipynb"
    if not path.is_file():
        raise ReportArgumentError(
            f"--per-owner: the notebooks folder {path.parent} has no {OWNER_BOOK}.ipynb (the "
            "page rendered for each account owner)"
        )
    return NotebookSpec(path)


def check_notebook_parameters(spec: NotebookSpec) -> set[str]:
    """Return the parameters a notebook declares; raise when a required one is missing.

    Raises
    ------
    ReportArgumentError
        When the notebook has no ``parameters`` cell or lacks one of
        :data:`REQUIRED_PARAMETERS`.
    """
    import papermill as pm

    declared = set(pm.inspect_notebook(str(spec.path)))
    missing = [p for p in REQUIRED_PARAMETERS if p not in declared]
    if missing:
        raise ReportArgumentError(
            f"{spec.name}: the parameters cell must declare {', '.join(missing)} "
            f"(every periodic notebook takes {', '.join(REQUIRED_PARAMETERS)})"
        )
    return declared


def execute_notebook(
    spec: NotebookSpec,
    output: Path,
    parameters: dict[str, Any],
    *,
    cwd: Path,
    kernel_name: str = KERNEL_NAME,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    kernel: WarmKernel | None = None,
) -> None:
    """Execute one notebook with papermill into ``output``, its working directory ``cwd``.

    ``env`` is added to the kernel's environment (not to this process's, and not to the
    notebook): how the runner hands a database URL to the kernel (:data:`DATA_URL_ENV`).
    With ``kernel`` (a worker of a :class:`~cpm_analysis.report.kernels.KernelPool`) the
    notebook runs in that warm kernel after a reset of its namespace, figures and style
    (:mod:`cpm_analysis.report.kernels`); without it a kernel is started for this notebook
    and shut down after it.

    Raises
    ------
    NotebookFailed
        Naming the cell (its position in the notebook, its execution count and its first line)
        and the error, when a cell raises; or the kernel's fate when it dies or times out (a
        warm kernel is then replaced for the next notebook). The executed notebook, error
        included, is at ``output``.
    """
    from papermill.exceptions import PapermillExecutionError

    # The kernel moves into ``cwd`` itself, and papermill gets no ``cwd``: papermill's own is
    # a process-wide chdir, and with parallel notebook threads (``--jobs``) the save-and-restore
    # of two threads interleaves. A kernel could then run in the wrong folder, and this process
    # could be left in a period's temporary folder after it was renamed away (the next report
    # then fails on a folder of a finished run).
    try:
        source = _source_notebook(spec, parameters.get("lang"))
        if kernel is not None:
            kernel.execute(source, output, parameters, cwd=cwd, timeout=timeout, env=env)
        else:
            with WarmKernel(kernel_name, home=cwd) as once:
                once.execute(source, output, parameters, cwd=cwd, timeout=timeout, env=env)
    except PapermillExecutionError as err:
        raise NotebookFailed(spec.name, redact_text(_describe_cell_error(spec, err))) from None
    except Exception as err:  # dead kernel, timeout, unreadable notebook, full disk, ...
        raise NotebookFailed(spec.name, redact_text(f"{type(err).__name__}: {err}")) from None


def _source_notebook(spec: NotebookSpec, lang: str | None) -> Any:
    """Return the notebook to execute: its path, or its node with the prose in ``lang``.

    A page that declares ``lang`` is run with its Markdown cells translated from the catalogue
    (:func:`cpm_analysis.i18n.translate_notebook`) when the language is not English.
    """
    if lang is None or normalize_lang(lang) == "en":
        return str(spec.path)
    import nbformat

    from cpm_analysis.i18n import translate_notebook, translator

    return translate_notebook(nbformat.read(spec.path, as_version=4), translator(lang))


def _describe_cell_error(spec: NotebookSpec, err: Any) -> str:
    import nbformat

    source = (err.source or "").strip()
    first = source.splitlines()[0] if source else ""
    position = ""
    try:
        cells = nbformat.read(spec.path, as_version=4).cells
        index = next(i for i, c in enumerate(cells) if c.source.strip() == source)
        position = f"cell {index + 1} of {len(cells)}, "
    except (StopIteration, OSError, ValueError):
        pass
    count = f"In [{err.exec_count}]" if err.exec_count is not None else "a cell"
    first = first if len(first) <= 80 else first[:77] + "..."
    evalue = str(err.evalue).strip().splitlines()[0] if str(err.evalue).strip() else ""
    return f"{position}{count}: `{first}` raised {err.ename}: {evalue}"


# --- periods -------------------------------------------------------------------------------------


def resolve_periods(
    dataset: Dataset,
    *,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    freq: str | None = None,
) -> list[Period]:
    """Return the periods to report: one (``period``, default ``latest``) or a backfill range.

    Parameters
    ----------
    dataset : Dataset
        The data (``latest`` and coverage are checked against it).
    period : str, optional
        ``2024-06``, ``2024-Q2``, ``2024`` or ``latest``.
    start, end : str, optional
        A backfill range (``--from``/``--to``); ``end`` defaults to ``latest``.
    freq : str, optional
        Frequency of ``latest``; an explicit label must agree with it.

    Raises
    ------
    ReportArgumentError
        When ``period`` and a range are both given, or ``end`` without ``start``.
    PeriodError
        For malformed or uncovered periods.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=1, end="2024-07-15").to_dataset()
    >>> [p.label for p in resolve_periods(ds, start="2024-04", end="2024-06")]
    ['2024-04', '2024-05', '2024-06']
    """
    if start is None and end is None:
        return [resolve_period(dataset, period or "latest", freq)]
    if period is not None:
        raise ReportArgumentError("give either --period or --from/--to, not both")
    if start is None:
        raise ReportArgumentError("--to needs --from (the first period of the backfill)")
    first = resolve_period(dataset, start, freq)
    last = resolve_period(dataset, end or "latest", FREQ_NAMES[first.freq])
    return period_range(first, last)


# --- files ----------------------------------------------------------------------------------------


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{d}{n}" for d in ("COM", "LPT") for n in [*"123456789", "\u00b9", "\u00b2", "\u00b3"]}
)
"""Windows device names, reserved with any extension (``nul.txt``) and in any case."""
SLUG_LENGTH = 40
HASH_LENGTH = 8


def _plainly_safe(name: str) -> bool:
    stem = name.split(".", 1)[0].upper()
    return bool(_SAFE_NAME.match(name)) and not name.endswith(".") and stem not in _RESERVED_NAMES


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9]+", "_", ascii_text).strip("_")[:SLUG_LENGTH].strip("_")
    return slug or "owner"


def owner_folder_names(owners: Sequence[str]) -> dict[str, str]:
    """Map each owner id to a folder name safe on every file system and unique ignoring case.

    An id that is already a plain name (letters, digits, ``.``, ``_``, ``-``; at most 64
    characters; not starting with a dot or ending in one; not a Windows device name such as
    ``CON`` or ``nul.txt``) and that no other id equals ignoring case is its own folder name.
    Every other id becomes a slug of it (ASCII letters and digits, at most 40 characters) plus
    ``-`` and the first 8 hex digits of the SHA-256 of the id, lengthened until unique. Path
    separators, ``..``, control characters and odd Unicode never reach a path, and the names are
    the same on every run.

    Examples
    --------
    >>> owner_folder_names(["S001", "a/b", "CON"])
    {'S001': 'S001', 'a/b': 'a_b-c14cddc0', 'CON': 'CON-a3dbc4b6'}
    >>> owner_folder_names(["ab", "AB"])
    {'ab': 'ab-fb8e20fc', 'AB': 'AB-38164fbd'}
    """
    folded: dict[str, int] = {}
    for owner in owners:
        folded[owner.casefold()] = folded.get(owner.casefold(), 0) + 1
    out: dict[str, str] = {}
    used: set[str] = set()
    plain = {o for o in owners if _plainly_safe(o) and folded[o.casefold()] == 1}
    used.update(o.casefold() for o in plain)
    for owner in owners:
        if owner in plain:
            out[owner] = owner
            continue
        digest = hashlib.sha256(owner.encode("utf-8", "surrogatepass")).hexdigest()
        length = HASH_LENGTH
        name = f"{_slug(owner)}-{digest[:length]}"
        while name.casefold() in used:
            length += 4
            name = f"{_slug(owner)}-{digest[:length]}"
        used.add(name.casefold())
        out[owner] = name
    return out


def write_scored(folder: Path, scored: pd.DataFrame, scanner: PiiScanner | None = None) -> None:
    """Write ``customers_scored.parquet`` and ``.csv`` (byte-identical for equal tables).

    The table holds the scoring's fixed columns only (never a free-text column of the source).
    With ``scanner`` (``--pii mask``) personal data found by content in its text columns (a
    reason code quoting a free-text attribute) is masked (:func:`privacy.mask_content`); the
    ids stay real for the CRM. The CSV is spreadsheet-safe (:func:`spreadsheet.write_csv`).
    """
    if scanner is not None:
        scored = mask_content(scored, scanner)
    scored.to_parquet(folder / f"{SCORED_STEM}.parquet", index=False)
    write_csv(
        scored_for_csv(scored),
        folder / f"{SCORED_STEM}.csv",
        float_format="%.10g",
        date_format="%Y-%m-%d %H:%M:%S",
    )


def write_rejected(
    folder: Path, rejected: pd.DataFrame, pii: str, scanner: PiiScanner | None = None
) -> None:
    """Write ``rejected_rows.csv``: real ids kept, personal values masked.

    Unless ``show``, only the contract columns of each raw row, personal values masked by column
    and by content (:func:`mask_rejected`).
    """
    write_csv(mask_rejected(rejected, pii, scanner=scanner), folder / REJECTED_FILE)


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return False
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    at_fdcwd, rename_exchange = -100, 2
    return function(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def publish(staging: Path, final: Path, manifest: Manifest | None = None) -> None:
    """Move a finished folder into place, replacing the previous one.

    On Linux the two folders are swapped in one atomic step; elsewhere the old folder is renamed
    away and the new one renamed in, two renames a few microseconds apart. Readers see either
    the complete old report or the complete new one.

    With a ``manifest`` the previous folder is replaced only when the manifest shows it holds
    nothing but what the runner wrote (:class:`OutputFolderError` otherwise), and the new one is
    recorded before it is moved in.
    """
    if manifest is not None:
        manifest.require_own(final, "replace")
        manifest.record(final, source=staging)
    if final.exists():
        if _renameat2_exchange(staging, final):
            shutil.rmtree(staging)  # the previous report, now at the staging path
        else:
            old = final.with_name(f".old-{final.name}-{secrets.token_hex(4)}")
            if manifest is not None:
                manifest.reserve(old)  # listed before it exists
            os.rename(final, old)
            os.rename(staging, final)
            shutil.rmtree(old)
            if manifest is not None:
                manifest.forget(old)
    else:
        os.rename(staging, final)
    if manifest is not None:
        manifest.forget(staging)


def carry_over_pages(final: Path, staging: Path) -> list[str]:
    """Copy into ``staging`` the published files of ``final`` that this run did not write.

    ``cpm report --only NAME`` renders some pages of a period that may already be published:
    the other pages (their HTML and executed notebook, also in the owners' folders) are kept
    by copying them into the new folder before it replaces the old one. What this run wrote
    (the pages it rendered, the scored table, ``metrics.json``) wins; a ``FAILED.txt`` is never
    carried, and nothing is copied into an owner's folder that failed in this run. Only the
    report's own folder is read (the runner checked beforehand that the manifest lists all of
    it), and symbolic links are not followed.

    Returns
    -------
    list of str
        The names of the pages carried over (``02_segments``), top level only.

    Examples
    --------
    >>> import tempfile
    >>> old, new = (Path(tempfile.mkdtemp()) for _ in range(2))
    >>> _ = (old / "01_a.html").write_text("a"), (old / "02_b.html").write_text("b")
    >>> _ = (new / "02_b.html").write_text("B")
    >>> carry_over_pages(old, new), (new / "01_a.html").read_text(), (new / "02_b.html").read_text()
    (['01_a'], 'a', 'B')
    """
    if not final.is_dir() or final.is_symlink():
        return []
    failed = {p.parent for p in staging.rglob(FAILED_NOTE)}
    kept: list[str] = []
    for path in sorted(final.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.name == FAILED_NOTE:
            continue
        relative = path.relative_to(final)
        target = staging / relative
        if target.exists() or any(folder in target.parents for folder in failed):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        if len(relative.parts) == 1 and path.suffix == ".html":
            kept.append(path.stem)
    return kept


def keep_failed(
    staging: Path, out: Path, label: str, message: str, manifest: Manifest | None = None
) -> Path:
    """Move a failed attempt to ``<out>/_failed/<label>/`` (replacing an older failure).

    With a ``manifest`` an older failure is replaced only when it is the runner's own.
    """
    (staging / FAILED_NOTE).write_text(redact_text(message) + "\n", encoding="utf-8")
    target = out / FAILED_DIR / label
    if manifest is not None:
        manifest.require_own(target, "replace")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.rmtree(target)
    if manifest is not None:
        manifest.record(target, source=staging)
    os.rename(staging, target)
    if manifest is not None:
        manifest.forget(staging)
    return target


def _clean_stale(out: Path, manifest: Manifest) -> None:
    """Remove the staging folders a killed run left behind: only those the manifest lists."""
    for name in manifest.staging():
        stale = out / name
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        if not stale.exists():
            manifest.forget(name)


def _new_staging(out: Path, label: str, manifest: Manifest) -> Path:
    """Make a staging folder ``.tmp-<label>-<hex>``, listed in the manifest before it is made."""
    while True:
        staging = out / f".tmp-{label}-{secrets.token_hex(4)}"
        if not staging.exists():
            break
    manifest.reserve(staging)
    staging.mkdir()
    return staging


def data_folder(source: str) -> Path | None:
    """Return the folder or file on this machine a data source reads: a folder, or a SQLite file.

    Examples
    --------
    >>> data_folder("sqlite:////srv/crm.db").as_posix()
    '/srv/crm.db'
    >>> data_folder("postgresql://cpm@db/crm") is None
    True
    """
    if not is_url(source):
        return Path(source).expanduser().resolve()
    from sqlalchemy.engine import make_url

    try:
        url = make_url(source)
    except Exception:
        return None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).expanduser().resolve()
    return None


def check_data_outside(source: str, out: Path) -> None:
    """Refuse an output folder that holds the data, or lies inside the data folder.

    Raises
    ------
    ReportArgumentError
        When ``--data`` is ``--out`` or lies inside it (publishing would replace the input), or
        ``--out`` lies inside ``--data`` (reports would be mixed into the export).

    Examples
    --------
    >>> check_data_outside("/srv/reports/2025-12", Path("/srv/reports"))
    Traceback (most recent call last):
    ...
    cpm_analysis.report.runner.ReportArgumentError: --data /srv/reports/2025-12 lies inside --out /srv/reports; cpm report replaces what is in --out, so give an output folder outside the data
    """
    data = data_folder(source)
    if data is None:
        return
    out = out.resolve()
    if data == out or out in data.parents:
        raise ReportArgumentError(
            f"--data {data} lies inside --out {out}; cpm report replaces what is in --out, so "
            "give an output folder outside the data"
        )
    if data in out.parents:
        raise ReportArgumentError(
            f"--out {out} lies inside --data {data}; keep the reports out of the data folder "
            "(give an output folder outside it)"
        )


# --- the run -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _log_through(bar: Any) -> Iterator[None]:
    """While the bar is shown, print the package's log lines above it (not through it)."""
    from tqdm.contrib.logging import _TqdmLoggingHandler

    package = logging.getLogger("cpm_analysis")
    consoles = [h for h in package.handlers if type(h) is logging.StreamHandler]
    if bar.disable or not consoles:
        yield
        return
    handler = _TqdmLoggingHandler(type(bar))
    handler.setFormatter(consoles[0].formatter)
    handler.setLevel(consoles[0].level)
    saved = package.handlers[:]
    package.handlers = [h for h in saved if h not in consoles] + [handler]
    try:
        yield
    finally:
        package.handlers = saved


@dataclass
class _Task:
    spec: NotebookSpec
    folder: Path
    owner: str | None


def run_report(
    *,
    data: str | os.PathLike | None = None,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    freq: str | None = None,
    out: str | os.PathLike | None = None,
    only: Iterable[str] | None = None,
    pii: str = "mask",
    per_owner: bool = False,
    notebooks: str | os.PathLike | None = None,
    seed: int = 0,
    jobs: int = 1,
    timeout: float | None = 1800,
    progress: bool = True,
    kernel_name: str = KERNEL_NAME,
    engine: str = "pandas",
    scheduler: str | None = None,
    config: CPMConfig | str | os.PathLike | None = None,
    lang: str | None = None,
    holdout: str | float | None = None,
    export_identified: bool = False,
    pdf: bool = False,
) -> ReportOutcome:
    """Render the periodic reports (see the module docstring for what is written where).

    Parameters
    ----------
    data : path or URL, optional
        Data source; default the bundled sample ``data/sample``.
    period : str, optional
        ``2024-06``, ``2024-Q2``, ``2024`` or ``latest`` (the default).
    start, end : str, optional
        A backfill range instead of ``period`` (``end`` defaults to ``latest``).
    freq : str, optional
        ``monthly``, ``quarterly`` or ``yearly``: the frequency of ``latest`` (monthly when not
        given); an explicit period carries its own.
    out : path, optional
        Output folder; default ``<project root>/reports``.
    only : iterable of str, optional
        Run only these periodic notebooks.
    pii : {"mask", "show"}
        Personal data in reports: masked and pseudonymised (default), or shown.
    per_owner : bool
        Also render the owner book (:data:`OWNER_BOOK`) of each account owner into
        ``<period>/owners/<owner_id>/``.
    notebooks : path, optional
        Notebooks folder (default ``$CPM_NOTEBOOKS_DIR`` or ``<project root>/notebooks``).
    seed : int
        Seed passed to every notebook and to the scoring plug-in.
    jobs : int
        Notebooks executed at the same time: each of the ``jobs`` workers keeps one warm
        kernel for every notebook of the run (:mod:`cpm_analysis.report.kernels`).
    timeout : float, optional
        Seconds a single cell may run.
    progress : bool
        Show a progress bar (tqdm, on stderr).
    kernel_name : str
        Jupyter kernel to use.
    engine : {"pandas", "dask"}
        ``"dask"`` validates the data on a Dask cluster into a store
        (``<out>/.store``, reused while the source files are unchanged) and runs the
        transaction-heavy stages of the scoring there: RFM measures, the lifetime-value models
        (summary, fits on distinct rows, scoring per partition) and the KPIs. The notebooks read
        the validated store, so nothing is validated twice.
    scheduler : str, optional
        With ``engine="dask"``: the address of a running scheduler (``tcp://host:8786``) or a
        scheduler file; without it a local cluster sized to this machine is started.
    config : CPMConfig or path, optional
        The business rules (:mod:`cpm_analysis.config`): a loaded configuration or a YAML/TOML
        file (``--config``); default the data folder's ``cpm.yaml``/``cpm.toml``, else the
        defaults. The effective configuration is written into ``metrics.json`` (``config``).
    lang : str, optional
        The reports' language: ``en``, ``zh``, or a tag with a region (``en-GB``, ``zh-CN``);
        default the configuration's ``locale``. Passed to the notebooks that declare ``lang``
        and used for the index page (:mod:`cpm_analysis.i18n`).
    holdout : str or float, optional
        Share of each period's customer action list held out at random (``"10%"``,
        ``--holdout``) so the next period can measure the effect of contact
        (:mod:`cpm_analysis.action_tracking`); default none.
    export_identified : bool
        Write real customer ids into the care-campaign export (``care_campaign.csv`` and
        ``.jsonl``, ``--export-identified``) instead of pseudonyms only.
    pdf : bool
        Also print each period's pages into ``<period>/report.pdf`` with headless Chromium
        (``--pdf``, :mod:`cpm_analysis.report.pdf`); without Chromium the run is refused.

    Returns
    -------
    ReportOutcome
        ``exit_code`` is 0 when every period was published, 1 when a notebook failed.

    Raises
    ------
    ReportArgumentError, PeriodError, DataValidationError
        Bad arguments or unusable data (exit code 2), before anything is written: also a
        pseudonym key that is too short, and ``--data`` inside ``--out`` or the reverse.
    OutputFolderError
        The output folder is not the report's (a non-empty folder without a manifest, or a
        period folder, failed attempt or ``index.html`` holding files the runner did not write),
        or cannot be written (exit code 2).
    ReportLockedError
        Another run holds the output folder (exit code 2).
    OSError
        The disk filled up or the folder vanished outside a period (exit code 1); inside a
        period such an error fails the period instead.
    """
    check_mode(pii)
    if engine not in ("pandas", "dask"):
        raise ReportArgumentError(f"--engine: expected pandas or dask, got {engine!r}")
    if scheduler and engine != "dask":
        raise ReportArgumentError("--scheduler: only used with --engine dask")
    if engine == "dask":
        from cpm_analysis.scale import require_dask

        try:
            require_dask()
        except ImportError as err:
            raise ReportArgumentError(f"--engine dask: {err}") from None
    if not isinstance(jobs, int) or jobs < 1:
        raise ReportArgumentError(f"--jobs: expected a positive integer, got {jobs!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ReportArgumentError(f"--seed: expected an integer, got {seed!r}")
    if freq is not None:
        normalize_freq(freq)
    try:
        holdout_share = parse_share(holdout, "--holdout")
        chromium = _pdf_chromium() if pdf else None
    except ValueError as err:
        raise ReportArgumentError(str(err)) from None
    for label in (period, start, end):  # malformed labels fail before any data is read
        if label is not None and str(label).strip().lower() != "latest":
            parse_period(label)
    specs = select_notebooks(discover_notebooks(notebooks), only)
    # --only adds or refreshes pages: the period's other published pages are carried over
    keep_pages = any(str(item).strip(" ,") for item in (only or ()))
    declared = {spec.name: check_notebook_parameters(spec) for spec in specs}
    book = owner_book(notebooks) if per_owner else None
    if book is not None:
        declared[book.name] = check_notebook_parameters(book)
    out_dir = (Path(out) if out is not None else default_reports_dir()).expanduser().resolve()
    source = resolve_data_source(data if data is not None else "data/sample")
    check_data_outside(source, out_dir)
    if isinstance(config, CPMConfig):
        settings = config
    else:
        try:
            settings = load_config(config, data_folder(source))
        except ConfigError as err:
            raise ReportArgumentError(f"--config: {err}") from None
    language = report_language(lang, settings)
    if normalize_lang(language) != "en":
        english = [spec.name for spec in specs if "lang" not in declared[spec.name]]
        if english:  # the pages move to the message catalogues one by one
            log.warning(
                "lang %s: %s declare(s) no lang parameter and stay(s) in English",
                language,
                ", ".join(english),
            )
    Manifest.claim(out_dir)  # a folder that is not the report's is refused before any write

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(ReportLock(out_dir))
        except OSError as err:
            raise OutputFolderError(
                f"--out: cannot write to {out_dir} ({_os_reason(err)})"
            ) from None
        manifest = Manifest.claim(out_dir)  # again, now that no other run can change it
        manifest.require_own(INDEX_FILE, "rewrite")
        manifest.save()
        _clean_stale(out_dir, manifest)
        key = _pseudonym_key(out_dir) if pii == "mask" else None
        private = stack.enter_context(_private_run_folder())
        client = stack.enter_context(_cluster(engine, scheduler))
        started = time.perf_counter()
        timings: dict[str, float] = {}
        # what the period pipeline reads: the pandas dataset, or the cluster's (either engine)
        computed: CustomerData
        if client is not None:
            manifest.require_own(STORE_DIR, "rebuild")
            if STORE_DIR not in manifest.entries:
                manifest.reserve(STORE_DIR)  # listed before load() makes it
            on_cluster = load(source, engine="dask", work_dir=out_dir / STORE_DIR)
            log.info(
                "validated on the cluster %s into %s",
                client.dashboard_link or client.scheduler.address,
                on_cluster.work_dir,
            )
            source = str(on_cluster.work_dir)  # the notebooks read the validated store
            dataset = on_cluster.collect()  # its pandas view, read from the store once
            computed = on_cluster
        else:
            dataset = computed = load(source)
        timings["load"] = time.perf_counter() - started
        log.info(
            "data %s: %s; %s rejected rows",
            redact_url(dataset.source),
            ", ".join(f"{n} {len(f):,}" for n, f in dataset.tables.items()),
            f"{len(dataset.rejected):,}",
        )
        periods = resolve_periods(dataset, period=period, start=start, end=end, freq=freq)
        for p in periods:  # nothing the report did not write is replaced: refuse before running
            manifest.require_own(p.label, "replace")
            manifest.require_own(f"{FAILED_DIR}/{p.label}", "replace")
        if pii == "show":
            log.warning(
                "--pii show: the reports hold personal data and real customer ids; internal use "
                "only, do not forward them"
            )
        scanner = (
            PiiScanner.from_dataset(dataset, staff_names=settings.report.staff_names == "name")
            if pii == "mask"
            else None
        )
        log.info(
            "loaded in %.1f s; %d period(s): %s; notebooks: %s",
            time.perf_counter() - started,
            len(periods),
            ", ".join(p.label for p in periods),
            ", ".join(s.name for s in specs),
        )
        # one warm kernel per job (no more than a period has notebooks) for every notebook of
        # every period, started and its imports done while the first period is computed
        kernels = stack.enter_context(
            KernelPool(
                jobs if per_owner else min(jobs, len(specs)),
                kernel_name,
                home=private,
                warm=True,
                env=_kernel_env(source),
            )
        )
        from tqdm.auto import tqdm

        outcomes = []
        # disable=None: a bar on a terminal, plain log lines under cron or in CI
        with (
            tqdm(
                total=0, unit="notebook", disable=None if progress else True, desc="report"
            ) as bar,
            _log_through(bar),
        ):
            for p in periods:
                outcome = _run_period(
                    p,
                    private=private,
                    dataset=dataset,
                    data=computed,
                    source=source,
                    specs=specs,
                    declared=declared,
                    out_dir=out_dir,
                    pii=pii,
                    key=key,
                    scanner=scanner,
                    per_owner=per_owner,
                    book=book,
                    seed=seed,
                    jobs=jobs,
                    timeout=timeout,
                    kernel_name=kernel_name,
                    bar=bar,
                    manifest=manifest,
                    config=settings,
                    keep_pages=keep_pages,
                    lang=language,
                    kernels=kernels,
                    holdout=holdout_share,
                    export_identified=export_identified,
                    chromium=chromium,
                )
                outcomes.append(outcome)
                _write_index(out_dir, manifest, language)
        tick = time.perf_counter()
        index = _write_index(out_dir, manifest, language)
        timings["index"] = time.perf_counter() - tick
        log.info("index %s", index)
    return ReportOutcome(periods=outcomes, index=index, timings=timings)


def report_language(lang: str | None, config: CPMConfig) -> str:
    """Return the language tag of a run: ``lang`` (``--lang``) when given, else the config's.

    Raises
    ------
    ReportArgumentError
        When ``lang`` is not a report language (the configuration's ``locale`` is checked when
        the file is read).

    Examples
    --------
    >>> report_language(None, CPMConfig(locale="zh-CN")), report_language("en", CPMConfig())
    ('zh-CN', 'en')
    """
    if lang is None or not str(lang).strip():
        return config.locale
    try:
        format_locale(lang, name="--lang")
    except ValueError as err:
        raise ReportArgumentError(str(err)) from None
    return str(lang).strip()


def _kernel_env(source: str) -> dict[str, str] | None:
    """Return what the kernels get in their environment: a database URL (:data:`DATA_URL_ENV`).

    Examples
    --------
    >>> _kernel_env("/srv/crm") is None, list(_kernel_env("sqlite:////srv/crm.db"))
    (True, ['CPM_DATA_URL'])
    """
    return {DATA_URL_ENV: source} if is_url(source) else None


def _write_index(out: Path, manifest: Manifest, lang: str | None = None) -> Path:
    manifest.require_own(INDEX_FILE, "rewrite")
    index = write_index(out, lang=lang)
    manifest.record(INDEX_FILE)
    return index


def _pseudonym_key(out: Path) -> bytes:
    """Load the pseudonym key; a key too short is a usage error (exit 2), not a traceback."""
    try:
        return load_key(out)
    except ValueError as err:
        raise ReportArgumentError(str(err)) from None


def _os_reason(err: OSError) -> str:
    """Say an ``OSError`` in a few words: ``No space left on device: '/srv/reports/x.csv'``."""
    reason = err.strerror or errno.errorcode.get(err.errno or 0, "") or str(err)
    return f"{reason}: '{err.filename}'" if err.filename else reason


@contextlib.contextmanager
def _private_run_folder() -> Iterator[Path]:
    """Yield a folder of this run only: the saved period results the kernels read.

    Mode 0700, in the system's temporary folder, outside the report. Removed when the run ends.
    """
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="cpm-report-run-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # this run created it and everything in it


@contextlib.contextmanager
def _cluster(engine: str, scheduler: str | None) -> Iterator[Any]:
    """Yield a Dask client for ``engine="dask"`` (closed afterwards), else ``None``."""
    if engine != "dask":
        yield None
        return
    from cpm_analysis.scale.cluster import close_client, start_client

    client = start_client(scheduler)
    try:
        yield client
    finally:
        close_client(client)


def _private_folder(private: Path, label: str) -> Path:
    """``<private>/<label>``: where the run keeps the period's result (never published)."""
    folder = private / label
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _run_period(
    period: Period,
    *,
    private: Path,
    dataset: Dataset,
    data: CustomerData,
    source: str,
    specs: Sequence[NotebookSpec],
    declared: dict[str, set[str]],
    out_dir: Path,
    pii: str,
    key: bytes | None,
    scanner: PiiScanner | None,
    per_owner: bool,
    seed: int,
    jobs: int,
    timeout: float | None,
    kernel_name: str,
    bar: Any,
    manifest: Manifest,
    book: NotebookSpec | None = None,
    config: CPMConfig | None = None,
    keep_pages: bool = False,
    lang: str = "en",
    kernels: KernelPool | None = None,
    holdout: float = 0.0,
    export_identified: bool = False,
    chromium: str | None = None,
) -> PeriodOutcome:
    label = period.label
    started = time.perf_counter()
    staging = _new_staging(out_dir, label, manifest)
    final = out_dir / label
    outcome = PeriodOutcome(label=label, ok=False, folder=final, notebooks=[s.name for s in specs])
    try:
        tick = time.perf_counter()
        try:
            result = build_period(
                data,
                period,
                config,
                seed=seed,
                reports_dir=out_dir,
                jobs=jobs,
            )
        except Exception as err:  # the period's computation is a step of the report
            raise StepFailed(
                "period pipeline", f"{type(err).__name__}: {err}", traceback.format_exc()
            ) from None
        view = result.view
        if per_owner:  # every owner's KPIs and trends in one pass, for the owner books
            result.by_owner  # noqa: B018 - computed to be saved with the result
        result_path = result.save(_private_folder(private, label) / RESULT_FILE)
        scored = finalize_scored(result.scored, view, key=key)
        write_scored(staging, scored, scanner)
        write_rejected(staging, dataset.rejected, pii, scanner)
        campaign = care_campaign(
            scored,
            period,
            size=(config or DEFAULT_CONFIG).actions.risk_list_size,
            holdout=holdout,
            seed=seed,
            scanner=scanner,
            due_days=(config or DEFAULT_CONFIG).windows.action_due_days,
        )
        identified = export_identified or key is None
        if campaign is not None:
            write_action_list(campaign, staging, identified=identified)
        outcome.timings["artifacts"] = time.perf_counter() - tick
        log.info(
            "%s: period computed, scored table %s customers x %d columns (%.1f s)",
            label,
            f"{len(scored):,}",
            scored.shape[1],
            outcome.timings["artifacts"],
        )
        tasks = [_Task(spec, staging, None) for spec in specs]
        if per_owner:
            if book is None:
                raise ReportArgumentError(f"--per-owner: no {OWNER_BOOK}.ipynb given")
            tasks += _owner_tasks(
                dataset, view, scored, book, staging, pii, outcome, scanner, campaign, identified
            )
        common = {
            "data": f"${DATA_URL_ENV}" if is_url(source) else source,  # the URL goes by env
            "period": label,
            "freq": FREQ_NAMES[period.freq],
            "out_dir": str(out_dir),
            "pii": pii,
            "seed": seed,
            "lang": lang,
            "result": str(result_path),
        }
        bar.total += len(tasks)
        bar.refresh()
        env = _kernel_env(source)
        _execute_all(
            tasks, common, declared, jobs, timeout, kernel_name, bar, outcome, env, kernels
        )
        _mark_failed_owners(tasks, outcome)
        kept = carry_over_pages(final, staging) if keep_pages else []
        if chromium is not None:  # --pdf: report.pdf from the published pages
            _print_pdf(staging, chromium, outcome)

        parameters = {
            "data": display_source(dataset.source),
            "period": label,
            "freq": FREQ_NAMES[period.freq],
            "pii": pii,
            "seed": seed,
            "lang": lang,
            "notebooks": sorted({*(s.name for s in specs), *kept}),
        }
        if config is not None:
            parameters["config"] = config.source
        metrics = base_metrics(
            dataset,
            view,
            period,
            parameters=parameters,
            models_available=True,
        )
        if config is not None:
            metrics["config"] = config.to_dict()
        write_metrics(staging, merge_plugin_metrics(metrics, result.metrics))

        if scanner is not None:
            tick = time.perf_counter()
            files = [p for p in sorted(staging.rglob("*")) if p.suffix in SCANNED_SUFFIXES]
            findings = scanner.scan_files(files)
            outcome.timings["pii_scan"] = time.perf_counter() - tick
            if findings:
                shown = "; ".join(
                    f"{Path(f.path).relative_to(staging)}: {f.count} {f.kind}(s)"
                    for f in findings[:5]
                )
                raise StepFailed(
                    "privacy check",
                    f"personal data found in the output with --pii mask ({shown}); a notebook "
                    "shows a table without ctx.show / privacy.mask_frame",
                )
            log.info("%s: privacy check passed on %d files", label, len(files))
        publish(staging, final, manifest)
        outcome.ok = True
        outcome.seconds = time.perf_counter() - started
        log.info("%s: published %s (%.1f s)", label, final, outcome.seconds)
    except (StepFailed, OSError) as failure:  # OSError: a full disk, a vanished folder
        step = failure if isinstance(failure, StepFailed) else _write_failed(failure)
        message = redact_text("\n\n".join(filter(None, [str(step), step.details])))
        try:
            kept_at = keep_failed(staging, out_dir, label, message, manifest)
            where = f"the failed attempt is kept in {kept_at}"
        except OSError as again:  # keeping the attempt failed too: remove it
            shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                manifest.forget(staging)
            where = f"the failed attempt could not be kept: {_os_reason(again)}"
        outcome.error = f"{redact_text(str(step))} ({where})"
        outcome.seconds = time.perf_counter() - started
        log.error("%s: FAILED %s", label, outcome.error)
        if final.exists():
            log.error("%s: the previous report in %s is unchanged", label, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            manifest.forget(staging)
        raise
    return outcome


def _pdf_chromium() -> str:
    from cpm_analysis.report.pdf import PdfError, find_chromium

    try:
        return find_chromium()
    except PdfError as err:
        raise ReportArgumentError(str(err)) from None


def _print_pdf(staging: Path, chromium: str, outcome: PeriodOutcome) -> None:
    from cpm_analysis.report.pdf import PdfError, write_pdf

    tick = time.perf_counter()
    try:
        write_pdf(staging, chromium=chromium)
    except PdfError as err:
        raise StepFailed("PDF", str(err)) from None
    outcome.timings["pdf"] = time.perf_counter() - tick


def _write_failed(err: OSError) -> StepFailed:
    return StepFailed("writing the report", _os_reason(err), traceback.format_exc())


def _owner_tasks(
    dataset: Dataset,
    view: Dataset,
    scored: pd.DataFrame,
    book: NotebookSpec,
    staging: Path,
    pii: str,
    outcome: PeriodOutcome,
    scanner: PiiScanner | None = None,
    campaign: pd.DataFrame | None = None,
    identified: bool = False,
) -> list[_Task]:
    """Write each owner's files and return one task per owner: the owner book in its folder.

    The owner's folder gets the owner's rows of the scored table, the rejected rows of the
    owner's customers and, when the period has a care campaign, the owner's rows of the
    company's list (written as the company's, :func:`write_action_list`).
    """
    if "owner_id" not in view.customers.columns:
        raise ReportArgumentError("--per-owner: customers have no owner_id column")
    owners = sorted(view.customers["owner_id"].dropna().unique().tolist())
    names = owner_folder_names(owners)
    tasks = []
    for owner in owners:  # a loop over account owners (tens), not customers
        folder = staging / OWNERS_DIR / names[owner]
        folder.mkdir(parents=True)
        mine = scored.loc[(scored["owner_id"] == owner).to_numpy(dtype=bool)].reset_index(drop=True)
        write_scored(folder, mine, scanner)
        write_rejected(folder, restrict_to_owner(dataset, owner).rejected, pii, scanner)
        if campaign is not None:
            part = campaign.loc[(campaign["owner_id"] == owner).to_numpy(dtype=bool)]
            write_action_list(part.reset_index(drop=True), folder, identified=identified)
        tasks.append(_Task(book, folder, owner))
    outcome.owners = owners
    log.info("%s: %d owner books", outcome.label, len(owners))
    return tasks


def _mark_failed_owners(tasks: Sequence[_Task], outcome: PeriodOutcome) -> None:
    """Empty the folder of each failed owner book but for ``FAILED.txt`` with the error.

    Only files this run wrote there are deleted (the folder is in the staging area).
    """
    folders = {task.owner: task.folder for task in tasks if task.owner is not None}
    for owner, error in sorted(outcome.owner_failures.items()):
        folder = folders[owner]
        shutil.rmtree(folder)
        folder.mkdir(parents=True)
        (folder / FAILED_NOTE).write_text(
            f"the report of owner {owner} failed: {error}\n", encoding="utf-8"
        )


def _execute_all(
    tasks: Sequence[_Task],
    common: dict[str, Any],
    declared: dict[str, set[str]],
    jobs: int,
    timeout: float | None,
    kernel_name: str,
    bar: Any,
    outcome: PeriodOutcome,
    env: dict[str, str] | None = None,
    kernels: KernelPool | None = None,
) -> None:
    """Execute and export every task's notebook in the warm kernels of ``kernels``.

    Without ``kernels`` a pool of ``jobs`` kernels is started for these tasks only. A failing
    company page stops the rest (the period fails); a failing owner page is recorded in
    ``outcome.owner_failures`` and the other pages go on.
    """
    stop = threading.Event()
    lock = threading.Lock()

    def run(task: _Task, kernel: WarmKernel) -> None:
        if stop.is_set():
            return
        where = task.spec.name if task.owner is None else f"{task.spec.name} [owner {task.owner}]"
        parameters = {**common, "owner": task.owner or ""}
        parameters = {k: v for k, v in parameters.items() if k in declared[task.spec.name]}
        notebook = task.folder / f"{task.spec.name}.ipynb"
        tick = time.perf_counter()
        try:
            execute_notebook(
                task.spec,
                notebook,
                parameters,
                cwd=task.folder,
                kernel_name=kernel_name,
                timeout=timeout,
                env=env,
                kernel=kernel,
            )
        except NotebookFailed as err:
            if task.owner is not None:
                # one owner's book failing never stops the company report or the other owners
                with lock:
                    outcome.owner_failures.setdefault(task.owner, str(err).split(": ", 1)[1])
                    bar.update(1)
                log.error("%s: FAILED %s: %s", common["period"], where, err)
                return
            stop.set()
            raise
        executed = time.perf_counter() - tick
        tick = time.perf_counter()
        try:
            import nbformat

            from cpm_analysis.report.export import notebook_title

            heading = notebook_title(nbformat.read(notebook, as_version=4), task.spec.name)
            scope = common["period"] if task.owner is None else f"{common['period']}, {task.owner}"
            export_html(notebook, title=f"{heading} ({scope})")
        except ValueError as err:
            stop.set()
            raise NotebookFailed(where, f"HTML export: {err}") from None
        exported = time.perf_counter() - tick
        with lock:
            outcome.timings[f"run {where}"] = executed
            outcome.timings[f"export {where}"] = exported
            bar.update(1)
        log.info("%s: ran %s (%.1f s, export %.1f s)", common["period"], where, executed, exported)

    with contextlib.ExitStack() as stack:
        if kernels is None:
            kernels = stack.enter_context(KernelPool(jobs, kernel_name))
        futures: list[Future] = [kernels.submit(functools.partial(run, task)) for task in tasks]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()
        wait(futures)
        for future in futures:
            error = None if not future.done() or future.cancelled() else future.exception()
            if error is not None:
                raise error
