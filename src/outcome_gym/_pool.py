"""Worker processes: the one multiprocessing context every pool of outcome-gym starts from.

Every pool outcome-gym starts uses :func:`worker_context`: ``spawn`` (fresh interpreters, safe with
threads, the same on every platform), except that a worker does not re-import the parent's
``__main__``. Workers only run outcome-gym's own module-level functions, which they import by
name; re-running the user's script in every worker is what makes ``spawn`` demand an
``if __name__ == "__main__":`` guard. So a script without one can call ``compare(...,
workers=2)``, and nothing depends on the process-wide start method.

One kind of job forks instead (:func:`fork_context`): a story's replays, which only simulate and
take about as long as starting a spawned interpreter with outcome-gym's imports.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing as mp
import os
import sys
import threading
import types
import warnings
from collections.abc import Iterator
from multiprocessing import context as mp_context
from typing import Any, TypeVar

T = TypeVar("T")


def default_workers() -> int:
    """CPUs this process may use: every command's default ``--workers``."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Show ``multiprocessing.spawn`` a bare ``__main__`` while it describes the parent.

    Describing the parent also reads the process-wide start method, which fixes it to the
    platform default as a side effect; it is put back as it was, so the user can still choose.
    """
    main = sys.modules.get("__main__")
    method = mp.get_start_method(allow_none=True)
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main
        if method is None:
            mp.set_start_method(None, force=True)


if sys.platform != "win32":
    from multiprocessing import popen_spawn_posix

    class _Popen(popen_spawn_posix.Popen):
        def _launch(self, process_obj: Any) -> None:
            with _main_hidden():
                super()._launch(process_obj)

    class _Process(mp_context.SpawnProcess):
        _start_method = "spawn"

        @staticmethod
        def _Popen(process_obj: Any) -> Any:  # noqa: N802 (multiprocessing's name)
            return _Popen(process_obj)

    class _WorkerContext(mp_context.SpawnContext):
        Process = _Process

    _CONTEXT: Any = _WorkerContext()
else:  # pragma: no cover - Windows spawns through another Popen; keep its plain behaviour
    _CONTEXT = mp.get_context("spawn")


def worker_context() -> Any:
    """The multiprocessing context of every pool: spawn, without re-importing ``__main__``.

    Its resource tracker is started quiet (:func:`quiet_resource_tracker`).
    """
    quiet_resource_tracker()
    return _CONTEXT


def fork_context() -> Any | None:
    """A ``fork`` context for short jobs that only simulate, or None where forking is unsafe.

    A spawned worker pays an interpreter start and outcome-gym's imports (1-2 s with numba), as
    long as a run of a thousand users, so spawning for two replays gains nothing; a forked child
    starts in milliseconds with the parent's imports and compiled kernels. A child forked while
    another thread holds a lock can wait on it forever, so this is None unless the caller is the
    process's only Python thread; and None off Linux (macOS's system libraries are not fork-safe).
    """
    if sys.platform != "linux" or threading.active_count() > 1:
        return None
    quiet_resource_tracker()
    return mp.get_context("fork")


_QUIET_LOCK = threading.Lock()


def quiet_resource_tracker() -> None:
    """Launch multiprocessing's resource tracker with its stderr on the null device.

    The tracker is a helper process that outlives a killed driver to unlink the pool's
    semaphores. It does that job either way; what it also does is print "There appear to be N
    leaked semaphore objects" (or, after a relaunch, ``KeyError`` tracebacks) onto the user's
    terminal after the prompt has returned. Every launch, the first and any relaunch, goes through
    here once this has run: the tracker inherits file descriptor 2, so it is pointed at the null
    device for the moment of the spawn and restored at once. Idempotent; POSIX only.
    """
    if sys.platform == "win32":  # pragma: no cover - no resource tracker on Windows
        return
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker
    with _QUIET_LOCK:
        if getattr(tracker.ensure_running, "_outcome_gym_quiet", False):
            return
        # the relaunched tracker is quiet too; the driver's own "relaunching, some resources
        # might leak" would only alarm (the tracker still unlinks what it knows of)
        warnings.filterwarnings("ignore", message="resource_tracker: process died unexpectedly")
        launch = functools.partial(_launch_quietly, tracker.ensure_running)
        launch._outcome_gym_quiet = True  # type: ignore[attr-defined]
        tracker.ensure_running = launch  # this instance only: register/unregister call it


def _launch_quietly(ensure_running: Any) -> None:
    """``ensure_running`` with file descriptor 2 on the null device while it may spawn."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
