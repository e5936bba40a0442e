"""Progress bars on stderr: the one way outcome-gym draws them.

tqdm's default write lock is a ``multiprocessing.RLock`` made from the *default* context, which
fixes the process's start method as a side effect (a user's later ``set_start_method`` then fails
with "context has already been set"). outcome-gym's workers never draw bars, so a thread lock is
all the bars need, and importing or running outcome-gym leaves the start method unset.

tqdm's monitor thread (it lowers ``miniters`` of a bar that stalls) is switched off: outcome-gym's
bars update once per run, and a process with no thread but its main one may fork a story's
replays (:func:`outcome_gym._pool.fork_context`).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from tqdm import tqdm

tqdm.set_lock(threading.RLock())
tqdm.monitor_interval = 0


def progress_bar(*, total: int, enabled: bool, desc: str, unit: str, **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr (drawn only when ``enabled``)."""
    return tqdm(total=total, disable=not enabled, file=sys.stderr, unit=unit, desc=desc, **kwargs)
