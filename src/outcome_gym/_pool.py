"""One function over many items, in a spawn process pool, results in item order.

Shared by ``compare`` and the studies. The pool uses an explicit ``spawn`` context: ``import mesa``
forces spawn for the whole process anyway, and being explicit keeps the pool independent of it.
Results come back in the order of the items whatever order the workers finish in, so what a caller
builds from them depends only on its items.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from tqdm import tqdm

from outcome_gym.errors import OutcomeGymError

T = TypeVar("T")


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
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
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
