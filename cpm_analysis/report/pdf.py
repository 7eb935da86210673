"""One PDF of a period for e-mail, printed by headless Chromium from the published HTML.

``cpm report --pdf`` writes ``<period>/report.pdf``: the period's pages (``NN_*.html``, in name
order, each starting on a new A4 page) as they are published, already escaped and sanitised,
printed by the distribution's Chromium (``chromium`` on ``PATH``, or ``$CPM_CHROMIUM``) with
``--headless --print-to-pdf``. Nothing new is installed and nothing is fetched: the pages hold
no external resource, and Chromium runs with its networking features off, in a throw-away
profile, under a timeout. The pages' print stylesheet (``@media print`` in the report
template) lays them out for A4.

Without Chromium :func:`find_chromium` raises :class:`PdfError` with one line saying what to
install, and the runner refuses ``--pdf`` before it renders anything.

Examples
--------
>>> PDF_FILE
'report.pdf'
>>> combined_html(["<html><head><style>p{}</style></head><body><p>a</p></body></html>",
...                "<html><head></head><body><p>b</p></body></html>"]).count('<div class="cpm-pdf')
2
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

PDF_FILE = "report.pdf"
"""The period's PDF, next to its pages."""

CHROMIUM_ENV = "CPM_CHROMIUM"
"""Environment variable naming the Chromium executable (default: ``chromium`` on ``PATH``)."""

CHROMIUM_NAMES: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome")

FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-quic",
    "--no-pdf-header-footer",
)
"""Chromium's flags: headless, offline features off, no header or footer on the pages."""

TIMEOUT = 300.0
"""Seconds Chromium may take to print a period."""

_PAGE = re.compile(r"^\d\d_.*\.html$")
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)
_HEAD = re.compile(r"^(.*?<body[^>]*>)", re.S | re.I)


class PdfError(RuntimeError):
    """The PDF could not be printed: no Chromium, or Chromium failed or timed out."""


def find_chromium() -> str:
    """Return the path of the Chromium that prints the PDF.

    Raises
    ------
    PdfError
        When ``$CPM_CHROMIUM`` names no executable, or no Chromium is on ``PATH``.

    Examples
    --------
    >>> import os
    >>> os.environ[CHROMIUM_ENV] = "/nonexistent/chromium"
    >>> find_chromium()
    Traceback (most recent call last):
    ...
    cpm_analysis.report.pdf.PdfError: --pdf needs headless Chromium: $CPM_CHROMIUM=/nonexistent/chromium is not an executable
    >>> del os.environ[CHROMIUM_ENV]
    """
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        found = shutil.which(named)
        if found is None:
            raise PdfError(
                f"--pdf needs headless Chromium: ${CHROMIUM_ENV}={named} is not an executable"
            )
        return found
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    raise PdfError(
        "--pdf needs headless Chromium and none is on PATH "
        "(apt-get install chromium, or set $CPM_CHROMIUM)"
    )


def combined_html(pages: Sequence[str]) -> str:
    """Return one HTML document holding ``pages`` one after the other, each on a new page.

    The head (styles) is the first page's, every page's body follows in a
    ``<div class="cpm-pdf-page">`` that starts a new printed page. The pages are the published,
    sanitised HTML; nothing else is added.
    """
    if not pages:
        raise ValueError("pages: no page to print")
    head = _HEAD.match(pages[0])
    start = head.group(1) if head else "<html><head></head><body>"
    bodies = []
    for page in pages:
        body = _BODY.search(page)
        bodies.append(body.group(1) if body else page)
    style = (
        "<style>.cpm-pdf-page + .cpm-pdf-page { break-before: page; }"
        " @page { size: A4; margin: 14mm 12mm; }</style>"
    )
    parts = [f'<div class="cpm-pdf-page">{body}</div>' for body in bodies]
    return start.replace("</head>", style + "</head>", 1) + "\n".join(parts) + "</body></html>"


def period_pages(folder: Path) -> list[Path]:
    """Return the period's report pages in ``folder`` (``NN_*.html``, not the owners'), in order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and _PAGE.match(p.name))


def write_pdf(
    folder: str | os.PathLike, *, chromium: str | None = None, timeout: float = TIMEOUT
) -> Path:
    """Print the period's pages in ``folder`` into ``folder/report.pdf`` and return its path.

    Parameters
    ----------
    folder : path
        A period folder (the runner's staging folder) holding the published ``NN_*.html``.
    chromium : str, optional
        The Chromium executable; default :func:`find_chromium`.
    timeout : float
        Seconds before Chromium is stopped.

    Raises
    ------
    PdfError
        Without Chromium, without pages, when Chromium fails, times out or writes no PDF.
    """
    folder = Path(folder)
    executable = chromium or find_chromium()
    pages = period_pages(folder)
    if not pages:
        raise PdfError(f"no report page in {folder.name} to print")
    target = folder / PDF_FILE
    with tempfile.TemporaryDirectory(prefix="cpm-pdf-") as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(
            combined_html([p.read_text(encoding="utf-8") for p in pages]), encoding="utf-8"
        )
        command = [
            executable,
            *FLAGS,
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--print-to-pdf={Path(tmp) / PDF_FILE}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=timeout, check=False, cwd=tmp
            )
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not print the PDF within {timeout:.0f} s") from None
        except OSError as err:
            raise PdfError(f"Chromium could not be started: {err.strerror or err}") from None
        printed = Path(tmp) / PDF_FILE
        if done.returncode != 0 or not printed.is_file() or printed.stat().st_size == 0:
            last = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()
            raise PdfError(
                f"Chromium failed to print the PDF (exit {done.returncode})"
                + (f": {last[-1][:200]}" if last else "")
            )
        shutil.move(str(printed), target)
    return target
