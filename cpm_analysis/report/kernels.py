"""Warm Jupyter kernels: one kernel executes many report notebooks, one after the other.

Starting a kernel and importing pandas, matplotlib and the package costs a notebook about three
seconds of CPU before its first chart; ``cpm report --per-owner`` runs a hundred notebooks. A
:class:`KernelPool` keeps one :class:`WarmKernel` per worker slot (``--jobs``) for the whole run,
and each of them executes its notebooks with papermill (parameters injected, output notebook,
cell errors and the cell timeout as before) in the kernel it already has. Modules imported once
stay imported: that is the gain.

Every notebook still starts clean. Before its first cell the kernel runs
:func:`prepare_kernel`, sent as a silent request (not a cell: it appears in no saved notebook or
page, and it counts no execution), which

- resets the user namespace and the execution count (``reset(new_session=True)``);
- closes every matplotlib figure and restores the backend and ``rcParams`` the kernel had before
  its first notebook (a notebook's ``style.apply()`` never reaches the next one);
- restores the environment the kernel was started with, and lets warnings shown by an earlier
  notebook be shown again;
- moves into the notebook's folder (inside the kernel; this process never changes its own
  working directory).

A kernel is started with the environment the runner gives (``CPM_DATA_URL`` reaches the kernel
that way, never a notebook or a message); a notebook that needs another environment gets a new
kernel. A kernel that died, timed out or failed to prepare is shut down and replaced before the
next notebook; a notebook whose cell raised leaves its kernel in use (the next one resets it).

Examples
--------
Not run by the doctests (it starts two Jupyter kernels; ``tests/test_report_kernels.py`` does):

>>> with KernelPool(2) as pool:  # doctest: +SKIP
...     future = pool.submit(lambda kernel: kernel.execute(path, output, {}, cwd=folder))
...     future.result()
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import nbformat

log = logging.getLogger("cpm_analysis.report")

KERNEL_NAME = "python3"
ENGINE_NAME = "cpm-warm-kernel"
"""The papermill engine that executes a notebook in a :class:`WarmKernel`."""
KERNEL_ARGUMENTS: tuple[str, ...] = (
    "--IPKernelApp.log_level=CRITICAL",
    "--HistoryManager.hist_file=:memory:",  # as papermill's own kernels: no history file
)
START_TIMEOUT = 60.0
"""Seconds a kernel may take to start and answer."""
WARM_MODULES: tuple[str, ...] = (
    "pandas",
    "matplotlib.pyplot",
    "cpm_analysis.report.params",
    "cpm_analysis.report.tables",
)
"""What a kernel imports while it waits for its first notebook (:meth:`WarmKernel.warm_up`)."""

T = TypeVar("T")


class KernelPrepareError(RuntimeError):
    """A kernel could not be made ready for a notebook (it is then replaced)."""


# --- inside the kernel -------------------------------------------------------------------------

_FIRST_STATE: dict[str, Any] = {}
"""What the kernel looked like before its first notebook (kept across namespace resets)."""


def prepare_kernel(folder: str) -> None:
    """Make this kernel look fresh for the next notebook and move into its folder.

    Called inside the kernel, before every notebook (:class:`WarmKernel` sends the call as a
    silent request). The first call records the kernel's environment, matplotlib backend and
    ``rcParams`` (importing :mod:`matplotlib.pyplot`); every call restores them, closes every
    figure, resets the user namespace and the execution count, lets warnings shown before be
    shown again, and changes the working directory to ``folder``. Imported modules stay.
    Outside an IPython kernel only the working directory changes.

    Parameters
    ----------
    folder : str
        The notebook's folder: its working directory.

    Raises
    ------
    FileNotFoundError
        When ``folder`` does not exist.

    Examples
    --------
    >>> import os, tempfile
    >>> here = os.getcwd()
    >>> prepare_kernel(tempfile.gettempdir())
    >>> os.path.samefile(os.getcwd(), tempfile.gettempdir())
    True
    >>> os.chdir(here)
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"the notebook's folder {folder} does not exist")
    shell = _kernel_shell()
    if shell is None:
        os.chdir(folder)
        return
    import matplotlib
    import matplotlib.pyplot as plt

    if not _FIRST_STATE:
        _FIRST_STATE["environ"] = dict(os.environ)
        _FIRST_STATE["backend"] = matplotlib.get_backend()
        _FIRST_STATE["rc"] = {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}
    shell.reset(new_session=True)
    plt.close("all")
    if matplotlib.get_backend() != _FIRST_STATE["backend"]:
        plt.switch_backend(_FIRST_STATE["backend"])
    with warnings.catch_warnings():  # on leaving, every "shown once" registry is forgotten
        warnings.simplefilter("ignore")  # rcParams that are deprecated warn when set
        matplotlib.rcParams.update(_FIRST_STATE["rc"])
    if os.environ != _FIRST_STATE["environ"]:
        os.environ.clear()
        os.environ.update(_FIRST_STATE["environ"])
    os.chdir(folder)


def _kernel_shell() -> Any:
    """Return the IPython shell of this Jupyter kernel, or ``None`` outside a kernel."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - every Jupyter kernel has IPython
        return None
    shell = get_ipython()
    return shell if type(shell).__name__ == "ZMQInteractiveShell" else None


def warm_up(modules: tuple[str, ...] = WARM_MODULES) -> None:
    """Import ``modules`` (inside a kernel, before its first notebook).

    Examples
    --------
    >>> warm_up(("json",))
    """
    import importlib

    for name in modules:
        importlib.import_module(name)


def _call(function: str, *args: Any) -> str:
    """Python code calling ``function`` of this module with literal ``args``, binding no name.

    Examples
    --------
    >>> _call("prepare_kernel", "/srv/reports/2025-06")
    "__import__('cpm_analysis.report.kernels', fromlist=['_']).prepare_kernel('/srv/reports/2025-06')"
    """
    arguments = ", ".join(repr(a) for a in args)
    return f"__import__({__name__!r}, fromlist=['_']).{function}({arguments})"


# --- in the runner -----------------------------------------------------------------------------


class WarmKernel:
    """One kernel that executes notebooks one after the other, each from a clean start.

    The kernel is started when first needed (or by :meth:`warm_up`) and used from one thread
    only: its client lives on that thread's event loop (a :class:`KernelPool` gives each
    worker thread its own).

    Parameters
    ----------
    kernel_name : str
        The Jupyter kernel (``python3``).
    home : path, optional
        The folder the kernel process starts in (default this process's working directory);
        each notebook then runs in its own folder.

    Attributes
    ----------
    starts : int
        Kernel processes this slot has started (a replaced kernel counts again).
    """

    def __init__(self, kernel_name: str = KERNEL_NAME, *, home: str | os.PathLike | None = None):
        self.kernel_name = kernel_name
        self.home = None if home is None else Path(home)
        self.starts = 0
        self.km: Any = None
        self.kc: Any = None
        self.env: dict[str, str] = {}

    @property
    def alive(self) -> bool:
        """Whether a kernel is started (it may still have died since its last notebook)."""
        return self.km is not None

    def start(self, env: Mapping[str, str] | None = None) -> None:
        """Start the kernel (replacing one already running) with ``env`` added to its environment.

        Raises
        ------
        RuntimeError
            When the kernel does not start or answer within :data:`START_TIMEOUT`.
        """
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self.shutdown()
        added = dict(env or {})
        km = AsyncKernelManager(kernel_name=self.kernel_name)
        options: dict[str, Any] = {
            "extra_arguments": list(KERNEL_ARGUMENTS),
            "env": {**os.environ, **added},
        }
        if self.home is not None:
            options["cwd"] = str(self.home)
        run_sync(km.start_kernel)(**options)
        self.starts += 1
        self.km, self.env = km, added
        try:
            self.kc = km.client()
            self.kc.start_channels()
            run_sync(self.kc.wait_for_ready)(timeout=START_TIMEOUT)
        except BaseException:
            self.shutdown(now=True)
            raise

    def warm_up(self, env: Mapping[str, str] | None = None) -> None:
        """Start the kernel if needed and import :data:`WARM_MODULES` in it.

        A failure is logged, never raised: the kernel is then replaced by the first notebook.
        """
        try:
            if not self.alive or self.env != dict(env or {}):
                self.start(env)
            self._run_silently(_call("warm_up"))
        except Exception as err:  # the notebook will start a kernel and say what fails
            log.debug("kernel warm-up failed: %s: %s", type(err).__name__, err)
            self.shutdown(now=True)

    def execute(
        self,
        path: str | os.PathLike | nbformat.NotebookNode,
        output: str | os.PathLike,
        parameters: dict[str, Any],
        *,
        cwd: str | os.PathLike,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Execute the notebook ``path`` into ``output`` with papermill, in this kernel.

        ``path`` is a notebook file, or a notebook node (a page whose prose was translated).

        The kernel is prepared first (:func:`prepare_kernel`: clean namespace, figures and
        style, environment, working directory ``cwd``); it is started when there is none or
        when ``env`` differs from the one it was started with.

        Raises
        ------
        papermill.exceptions.PapermillExecutionError
            When a cell raised (the kernel stays in use).
        Exception
            Anything else (the kernel died, a cell timed out, the kernel could not be prepared,
            the notebook could not be read or written): the kernel is shut down first, and the
            next notebook gets a new one.
        """
        import nbformat
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        _register_engine()
        from jupyter_core.utils import run_sync

        wanted = dict(env or {})
        try:
            if not self.alive or self.env != wanted or not run_sync(self.km.is_alive)():
                self.start(wanted)  # a kernel that died since its last notebook is replaced
            pm.execute_notebook(
                path if isinstance(path, nbformat.NotebookNode) else str(path),
                str(output),
                parameters=parameters,
                engine_name=ENGINE_NAME,
                kernel_name=self.kernel_name,
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                execution_timeout=timeout,
                warm_kernel=self,
                prepare=_call("prepare_kernel", str(Path(cwd))),
            )
        except PapermillExecutionError:
            raise
        except BaseException:
            self.shutdown(now=True)
            raise

    def shutdown(self, *, now: bool = False) -> None:
        """Stop the kernel (if any) and its client; the next notebook starts a new one."""
        from jupyter_core.utils import run_sync

        km, kc = self.km, self.kc
        self.km = self.kc = None
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception as err:  # the channels of a dead kernel
                log.debug("kernel client: %s", err)
        if km is not None:
            try:
                run_sync(km.shutdown_kernel)(now=now)
            except Exception as err:  # already dead: its resources are still cleaned up
                log.debug("kernel shutdown: %s", err)
                try:
                    run_sync(km.cleanup_resources)()
                except Exception as again:
                    log.debug("kernel cleanup: %s", again)

    def kill(self) -> None:
        """Kill the kernel process at once, from any thread (a run that is being stopped).

        The thread using the kernel sees it die and shuts it down properly.
        """
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None:
            try:
                process.kill()
            except OSError:  # already gone
                pass

    def _run_silently(self, code: str, timeout: float | None = START_TIMEOUT) -> None:
        """Run ``code`` in the kernel as a silent request; raise when it fails."""
        from jupyter_core.utils import run_sync

        async def ask() -> Any:
            return await self.kc.execute(
                code,
                silent=True,
                store_history=False,
                allow_stdin=False,
                reply=True,
                timeout=timeout,
            )

        _check_reply(run_sync(ask)())

    def __enter__(self) -> WarmKernel:
        """Use the kernel in a ``with`` block; it is shut down at its end."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Shut the kernel down (at once when the block raised)."""
        self.shutdown(now=exc[0] is not None)


def _check_reply(reply: Mapping[str, Any] | None) -> None:
    content = (reply or {}).get("content", {})
    if content.get("status") != "ok":
        error = f"{content.get('ename', 'no reply')}: {content.get('evalue', '')}".strip(": ")
        raise KernelPrepareError(f"the kernel could not be prepared for the notebook ({error})")


class KernelPool:
    """``size`` worker threads, each with one :class:`WarmKernel`, executing submitted work.

    A task is a callable taking the worker's kernel; tasks are taken in submission order by the
    first free worker. The kernels live until :meth:`close` (or the end of the ``with`` block),
    across all the notebooks and periods of a run.

    Parameters
    ----------
    size : int
        Worker threads, hence kernels at the same time (``--jobs``).
    kernel_name : str
        The Jupyter kernel.
    home : path, optional
        The folder the kernel processes start in.
    warm : bool
        Start every kernel at once and import :data:`WARM_MODULES` in it, while the runner
        computes the period.
    env : mapping, optional
        The environment the kernels are warmed with (the notebooks' ``env``; a notebook with
        another one gets a new kernel).

    Examples
    --------
    >>> with KernelPool(1) as pool:
    ...     pool.submit(lambda kernel: kernel.starts).result()
    0
    """

    def __init__(
        self,
        size: int = 1,
        kernel_name: str = KERNEL_NAME,
        *,
        home: str | os.PathLike | None = None,
        warm: bool = False,
        env: Mapping[str, str] | None = None,
    ):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size: expected a positive integer, got {size!r}")
        self.kernels = [WarmKernel(kernel_name, home=home) for _ in range(size)]
        self._queue: queue.SimpleQueue[tuple[Future, Callable[[WarmKernel], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._threads = [
            threading.Thread(
                target=self._work,
                args=(kernel, warm, dict(env or {})),
                name=f"cpm-kernel-{i + 1}",
                daemon=True,
            )
            for i, kernel in enumerate(self.kernels)
        ]
        self._closed = False
        self._abort = False
        for thread in self._threads:
            thread.start()

    @property
    def starts(self) -> int:
        """Kernel processes started so far, by every worker."""
        return sum(kernel.starts for kernel in self.kernels)

    def submit(self, task: Callable[[WarmKernel], T]) -> Future[T]:
        """Queue ``task``; it is called with a worker's kernel. Returns its future."""
        if self._closed:
            raise RuntimeError("the kernel pool is closed")
        future: Future[T] = Future()
        self._queue.put((future, task))
        return future

    def close(self, *, abort: bool = False) -> None:
        """Let the queued tasks finish and shut the kernels down.

        With ``abort`` (the run is being stopped) the kernels are killed at once, the running
        tasks fail with their dead kernel, and the queued ones are cancelled.
        """
        if self._closed:
            return
        self._closed = True
        self._abort = abort
        if abort:
            for kernel in self.kernels:
                kernel.kill()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def _work(self, kernel: WarmKernel, warm: bool, env: dict[str, str]) -> None:
        try:
            if warm:
                kernel.warm_up(env)
            while (item := self._queue.get()) is not None:
                future, task = item
                if self._abort:  # the run is being stopped: what is still queued never starts
                    future.cancel()
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(task(kernel))
                except BaseException as err:
                    future.set_exception(err)
        finally:
            kernel.shutdown(now=self._abort)

    def __enter__(self) -> KernelPool:
        """Use the pool in a ``with`` block; it is closed at its end."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the pool: let the queued tasks finish, or kill the kernels when it raised."""
        self.close(abort=exc[0] is not None)


# --- the papermill engine ----------------------------------------------------------------------

_registered = threading.Lock()


def _register_engine() -> None:
    """Register :data:`ENGINE_NAME` with papermill (once)."""
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillException

    with _registered:
        try:
            papermill_engines.get_engine(ENGINE_NAME)
        except PapermillException:  # not registered yet
            papermill_engines.register(ENGINE_NAME, _engine())


def _engine() -> type:
    """Make the papermill engine that runs a notebook in the :class:`WarmKernel` it is given."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, logger
    from papermill.utils import merge_kwargs, remove_args

    class WarmClient(PapermillNotebookClient):
        """papermill's client on an existing kernel and client: prepares it, never stops it."""

        prepare = ""

        def papermill_execute_cells(self) -> None:
            reply = self.wait_for_reply(
                self.kc.execute(self.prepare, silent=True, store_history=False, allow_stdin=False)
            )
            _check_reply(reply)
            super().papermill_execute_cells()

    class WarmKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: float = 60,
            execution_timeout: float | None = None,
            **kwargs: Any,
        ) -> Any:
            kernel: WarmKernel = kwargs.pop("warm_kernel")
            prepare: str = kwargs.pop("prepare")
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(
                kwargs,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = WarmClient(nb_man, km=kernel.km, **final)
            client.kc = kernel.kc  # the kernel's own client: nothing to start, nothing to leak
            client.prepare = prepare
            return client.execute()

    return WarmKernelEngine
