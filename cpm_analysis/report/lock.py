"""One ``cpm report`` at a time per output folder: an advisory ``fcntl`` lock.

The lock file ``<out>/.cpm-report.lock`` holds the pid and start time of the run holding it.
The operating system releases the lock when that process ends, however it ends (crash, kill), so
a stale lock file never blocks the next run. The file itself is never deleted (deleting a lock
file while another process waits on it is a classic race).

Examples
--------
>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> with ReportLock(folder):
...     try:
...         ReportLock(folder).acquire()
...     except ReportLockedError as err:
...         print("locked")
locked
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import TextIO

LOCK_FILE = ".cpm-report.lock"


class ReportLockedError(RuntimeError):
    """Another run holds the lock of the output folder."""


class ReportLock:
    """An exclusive, non-blocking lock on a report folder.

    Parameters
    ----------
    folder : path
        The output folder (created when missing).

    Examples
    --------
    >>> import tempfile
    >>> with ReportLock(tempfile.mkdtemp()) as lock:
    ...     lock.path.name
    '.cpm-report.lock'
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._handle: TextIO | None = None

    def acquire(self) -> ReportLock:
        """Take the lock or raise :class:`ReportLockedError` naming the holder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # held until release()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise ReportLockedError(
                f"another cpm report is running on {self.folder} ({holder}); wait for it to "
                f"finish (the lock is {self.path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()}, started {started}\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> ReportLock:
        """Acquire the lock."""
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release the lock."""
        self.release()
