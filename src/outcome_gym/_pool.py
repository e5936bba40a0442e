"""Worker processes: the one multiprocessing context, and one function mapped over many items.

Every pool outcome-gym starts uses :func:`worker_context`: ``spawn`` (fresh interpreters, safe with
threads, the same on every platform), except that a worker does not re-import the parent's
``__main__``. Workers only run outcome-gym's own module-level functions, which they import by
name; re-running the user's script in every worker is what makes ``spawn`` demand an
``if __name__ == "__main__":`` guard. So a script without one can call ``compare(...,
workers=2)``, and nothing depends on the process-wide start method.

:func:`map_spawn` returns results in the order of the items whatever order the workers finish in,
so what a caller builds from them depends only on its items.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import context as mp_context
from typing import Any, TypeVar

from tqdm import tqdm

from outcome_gym.errors import OutcomeGymError

T = TypeVar("T")


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Show ``multiprocessing.spawn`` a bare ``__main__`` while it describes the parent."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


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
    """The multiprocessing context of every pool: spawn, without re-importing ``__main__``."""
    return _CONTEXT


def map_spawn(fn: Callable[[Any], T], items: Sequence[Any], workers: int = 1,
              progress: bool = False, desc: str = "runs",
              failure: type[OutcomeGymError] = OutcomeGymError,
              what: str = "a run") -> list[T]:
    """``[fn(item) for item in items]``, in a spawn pool of ``workers`` processes when > 1.

    Args:
        fn: A module-level function (the pool pickles it).
        items: Its arguments.
        workers: Worker processes (1 runs in this process).
        progress: Show a progress bar on stderr.
        desc: The progress bar's label.
        failure: The error an unexpected exception is wrapped in.
        what: How the message names one item ("``what`` failed: ...").

    Raises:
        OutcomeGymError: The first failing item's error (as raised, or wrapped in ``failure``),
            after the other items finished.
    """
    out: list[Any] = [None] * len(items)
    error: BaseException | None = None
    with tqdm(total=len(items), disable=not progress, file=sys.stderr, unit="run",
              desc=desc) as bar:
        if workers <= 1:
            for i, item in enumerate(items):
                out[i] = fn(item)
                bar.update(1)
            return out
        with ProcessPoolExecutor(max_workers=workers, mp_context=worker_context()) as pool:
            index = {pool.submit(fn, item): i for i, item in enumerate(items)}
            pending = set(index)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    try:
                        out[index[fut]] = fut.result()
                    except BaseException as exc:  # let the others finish, then raise
                        error = error or exc
                    bar.update(1)
    if error is not None:
        if isinstance(error, OutcomeGymError):
            raise error
        raise failure(f"{what} failed: {type(error).__name__}: {error}") from error
    return out
