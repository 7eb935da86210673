r"""The output folder belongs to the report: a manifest of everything ``cpm report`` wrote there.

``<out>/.cpm-report.json`` lists each thing the runner created at the top of its output folder
(a period folder ``2025-12``, a failed attempt ``_failed/2025-12``, ``index.html``, the Dask
store ``.store``, a staging folder ``.tmp-2025-12-…`` while it is being written) and, for each,
every file in it with its size. The rules that follow from it:

- a folder is claimed only when it is new or empty (:data:`NEUTRAL` files aside), or already
  holds a manifest; any other folder is refused with :class:`OutputFolderError` before anything
  is written to it;
- the runner deletes or replaces a thing only when :meth:`Manifest.foreign` finds nothing in it
  that the manifest does not list with the same size: a file added to a period folder, an
  ``index.html`` written over by hand or a ``.tmp-*`` folder it did not make stop the run
  instead of being removed;
- the manifest is never a list of things to delete: every removal starts from a path the
  runner computed itself and is checked against the manifest, so a doctored manifest cannot
  point the runner at other files.

Examples
--------
>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> manifest = Manifest.claim(root)
>>> (root / "2025-12").mkdir()
>>> _ = (root / "2025-12" / "a.html").write_text("<p>report</p>")
>>> manifest.record("2025-12")
>>> manifest.foreign("2025-12") is None
True
>>> _ = (root / "2025-12" / "family-photo.jpg").write_bytes(b"\xff\xd8")
>>> manifest.foreign("2025-12")
'2025-12/family-photo.jpg'
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from cpm_analysis.privacy import KEY_FILE
from cpm_analysis.report.lock import LOCK_FILE

MANIFEST_FILE = ".cpm-report.json"
FORMAT = 1
STAGING_PREFIXES: tuple[str, ...] = (".tmp-", ".old-")
"""Folders the runner makes while it writes (listed before they are made, removed after): all
of what is in them is the run's own."""
MANAGED: frozenset[str] = frozenset({".store"})
"""Folders whose content the runner's own code rewrites as it needs (the Dask engine's store):
once listed, all of what is in them is its own."""
NEUTRAL: frozenset[str] = frozenset({".gitkeep", LOCK_FILE, KEY_FILE, MANIFEST_FILE})
"""Files that may sit in a folder before ``cpm report`` claims it: it never removes them."""


class OutputFolderError(ValueError):
    """The output folder, or something in it, is not the report's to replace (exit code 2)."""


def _files_under(path: Path) -> dict[str, int]:
    """Every file (or symlink) under ``path`` by its path relative to ``path``, with its size."""
    if not path.is_dir() or path.is_symlink():
        return {"": path.lstat().st_size}
    found = {}
    for folder, dirs, names in os.walk(path):
        base = Path(folder)
        for name in names + [d for d in dirs if (base / d).is_symlink()]:
            item = base / name
            found[item.relative_to(path).as_posix()] = item.lstat().st_size
    return found


class Manifest:
    """The manifest of one output folder (see the module docstring).

    Parameters
    ----------
    root : path
        The output folder.
    entries : dict, optional
        ``{relative path: {file: size}}`` of what the runner created (``""`` names a file
        entry itself).
    """

    def __init__(self, root: str | os.PathLike, entries: dict[str, dict[str, int]] | None = None):
        self.root = Path(root)
        self.path = self.root / MANIFEST_FILE
        self.entries: dict[str, dict[str, int]] = dict(entries or {})

    # --- claiming a folder ---------------------------------------------------------------------

    @classmethod
    def read(cls, root: str | os.PathLike) -> Manifest | None:
        """Return the manifest of ``root``, or ``None`` when it has none.

        Raises
        ------
        OutputFolderError
            When the manifest cannot be read.
        """
        path = Path(root) / MANIFEST_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = {
                str(name): {str(k): int(v) for k, v in files.items()}
                for name, files in data["entries"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise OutputFolderError(
                f"--out: cannot read {path} ({type(err).__name__}); it is the record of what "
                "cpm report wrote there, so nothing is replaced until it is readable"
            ) from None
        return cls(root, entries)

    @classmethod
    def claim(cls, root: str | os.PathLike) -> Manifest:
        """Return the manifest of ``root``; a new one for a new or empty folder (not yet saved).

        Raises
        ------
        OutputFolderError
            When ``root`` is not a folder, or is a non-empty folder without a manifest: a folder
            ``cpm report`` did not create is never written into.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> mine = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (mine / "thesis.docx").write_text("chapter 1")
        >>> Manifest.claim(mine)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        cpm_analysis.report.manifest.OutputFolderError: --out: ... is not empty and was not ...
        """
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise OutputFolderError(f"--out: {root} is a file, not a folder")
        found = cls.read(root)
        if found is not None:
            return found
        others = sorted(p for p in os.listdir(root) if p not in NEUTRAL) if root.is_dir() else []
        if others:
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if others[3:] else "")
            raise OutputFolderError(
                f"--out: {root} is not empty and was not written by cpm report (it holds "
                f"{shown} and no {MANIFEST_FILE}); give a new or empty folder (a report folder "
                "of an earlier version has no manifest either: move its contents away first)"
            )
        return cls(root)

    def save(self) -> None:
        """Write the manifest atomically (a temporary file renamed over the old one)."""
        self.root.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = {
            "format": FORMAT,
            "written_by": "cpm-analysis (cpm report)",
            "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "note": "what cpm report wrote here; it replaces or deletes only these",
            "entries": {name: dict(sorted(files.items())) for name, files in self.entries.items()},
        }
        handle, temporary = tempfile.mkstemp(prefix=f"{MANIFEST_FILE}.", dir=self.root)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
            out.write("\n")
        os.replace(temporary, self.path)

    # --- what is ours -----------------------------------------------------------------------------

    def _relative(self, path: str | os.PathLike) -> str:
        full = Path(path)
        if full.is_absolute():
            return full.relative_to(self.root).as_posix()
        return full.as_posix()

    def foreign(self, path: str | os.PathLike) -> str | None:
        """Return the first thing at ``path`` the runner did not write, or ``None`` when all is its own.

        ``path`` is relative to the folder (or absolute inside it). A missing path is ``None``
        (nothing to lose); a path the manifest does not list is itself foreign; otherwise every
        file under it must be listed with the same size.
        """
        name = self._relative(path)
        full = self.root / name
        if not full.exists() and not full.is_symlink():
            return None
        if name not in self.entries:
            return name
        if name.startswith(STAGING_PREFIXES) or name in MANAGED:
            return None
        listed = self.entries[name]
        for file, size in sorted(_files_under(full).items()):
            if listed.get(file) != size:
                return f"{name}/{file}" if file else name
        return None

    def owns(self, path: str | os.PathLike) -> bool:
        """Whether the runner may delete or replace ``path`` (nothing foreign in it)."""
        return self.foreign(path) is None

    def require_own(self, path: str | os.PathLike, what: str) -> None:
        """Raise :class:`OutputFolderError` unless the runner may replace ``path``.

        Parameters
        ----------
        path : path
            Relative to the folder, or absolute inside it.
        what : str
            What the runner was about to do, for the message (``"replace the period"``).
        """
        alien = self.foreign(path)
        if alien is not None:
            raise OutputFolderError(
                f"--out: {self.root / alien} was not written by cpm report, so it will not "
                f"{what} {self.root / self._relative(path)}; move it away or choose another --out"
            )

    def record(self, path: str | os.PathLike, source: str | os.PathLike | None = None) -> None:
        """Record ``path`` as written by the runner, listing the files now at ``source``.

        ``source`` (default ``path``) is where the files are now: a staging folder about to be
        renamed to ``path``. The manifest is saved.
        """
        name = self._relative(path)
        self.entries[name] = _files_under(Path(source) if source is not None else self.root / name)
        self.save()

    def reserve(self, path: str | os.PathLike) -> None:
        """List ``path`` (a staging folder about to be made) before it exists, and save."""
        self.entries[self._relative(path)] = {}
        self.save()

    def forget(self, path: str | os.PathLike) -> None:
        """Drop ``path`` from the manifest (after the runner removed it) and save."""
        if self.entries.pop(self._relative(path), None) is not None:
            self.save()

    def staging(self) -> list[str]:
        """Return the staging folders listed (left behind by a run that was killed)."""
        return sorted(n for n in self.entries if n.startswith(STAGING_PREFIXES))

    def labels(self) -> set[str]:
        """Return the top-level names the manifest lists (period folders, ``index.html``, ...)."""
        return {name for name in self.entries if "/" not in name}

    def failed_labels(self) -> set[str]:
        """Return the periods with a failed attempt the manifest lists under ``_failed/``."""
        return {n.split("/", 1)[1] for n in self.entries if n.startswith("_failed/")}
