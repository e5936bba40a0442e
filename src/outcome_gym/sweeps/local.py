"""The local backend: a process pool in outcome-gym's one worker context.

The context is :func:`~outcome_gym._pool.worker_context` (spawn, without re-importing the user's
``__main__``). Workers write their run folders themselves and send back only a small status
record, so the driver holds nothing per run but a line of status, however long the sweep.

A worker process that dies (``os._exit``, SIGKILL, the out-of-memory killer) breaks the whole pool:
every run still in it fails with ``BrokenProcessPool``. Finished runs are already on disk. Each
worker reports the id of the run it starts through a pipe, so after a break the driver knows which
runs were in progress (suspects) and which had not started (resubmitted as they were). A suspect
is resubmitted once with the others; a run in progress during a second break runs alone, where a
death can only be its own, and after ``retries`` deaths alone it is recorded as failed. A fresh pool
replaces each broken one.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from outcome_gym._pool import worker_context
from outcome_gym.errors import OutcomeGymError
from outcome_gym.sweeps.store import clean_temporaries
from outcome_gym.sweeps.worker import RunTask, failed_status, run_task

Status = dict[str, Any]
MAX_IDLE_BREAKS = 3
EXIT_ORPHANED = 3
"""A worker's exit code when it ends itself because its driver died."""

_started: Any = None


class WorkerDeathError(OutcomeGymError):
    """Worker processes die before running anything (a broken environment, not a run)."""


PARENT_POLL_SECONDS = 0.5


def _exit_with_parent(parent: int, poll: float = PARENT_POLL_SECONDS) -> None:
    """End this worker when its driver is gone (SIGKILL, a crash): no orphan keeps simulating.

    A killed driver's children are re-parented (to init or a subreaper), so the parent id
    differs from the driver's; checked every ``poll`` seconds from a daemon thread. The driver
    passes its id: read here at start-up, it would already be the new parent's when the driver
    died while this worker was still importing. A run cut short leaves only a
    temporary folder, which the next sweep removes (:func:`~.store.clean_temporaries`).
    """
    while True:
        time.sleep(poll)
        if os.getppid() != parent:
            os._exit(EXIT_ORPHANED)


def _init_worker(queue: Any, driver: int) -> None:
    global _started
    _started = queue
    # Ctrl-C reaches the whole process group: let the driver decide, finish the current run
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(driver,), daemon=True,
                     name="outcome-gym-parent-watch").start()


def _pool_execute(task: RunTask, runs_dir: str) -> Status:
    if _started is not None:
        _started.put(task.run_id)  # SimpleQueue.put writes to the pipe before returning
    return run_task(task, runs_dir, pooled=True)


def _describe_exit(codes: list[int]) -> str:
    if not codes:
        return "the worker process died"
    parts = []
    for c in sorted(set(codes)):
        if c < 0:
            try:
                name = signal.Signals(-c).name
            except ValueError:
                name = f"signal {-c}"
            hint = " (killed; the out-of-memory killer sends this)" if c == -9 else ""
            parts.append(f"{name}{hint}")
        else:
            parts.append(f"exit code {c}")
    return "the worker process died: " + ", ".join(parts)


class LocalPool:
    """Runs tasks on ``workers`` spawned processes, surviving worker deaths."""

    def __init__(self, workers: int, runs_dir: str, retries: int = 2) -> None:
        self.workers = max(1, workers)
        self.runs_dir = runs_dir
        self.retries = max(1, retries)
        self.window = 2 * self.workers
        self.ctx = worker_context()
        self._alone: str | None = None

    def _new_pool(self) -> tuple[ProcessPoolExecutor, Any]:
        self._procs: dict[int, Any] = {}  # the pool's processes, as seen while it ran
        queue = self.ctx.SimpleQueue()
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=self.ctx,
                                   initializer=_init_worker, initargs=(queue, os.getpid()))
        return pool, queue

    def run(self, tasks: Iterable[RunTask], on_status: Callable[[Status], None]) -> None:
        """Execute every task; call ``on_status`` with each status record as it arrives."""
        fresh: Iterator[RunTask] = iter(tasks)
        retry: deque[RunTask] = deque()
        solo: deque[RunTask] = deque()
        breaks: dict[str, int] = {}
        deaths_alone: dict[str, int] = {}
        idle_breaks = 0
        pool, queue = self._new_pool()
        inflight: dict[Future[Status], RunTask] = {}
        started: set[str] = set()
        try:
            while True:
                alone = self._fill(pool, inflight, fresh, retry, solo)
                # keep our own references: a broken executor may drop dead processes from its
                # table before we read their exit codes (then the signal could not be named)
                self._procs.update(getattr(pool, "_processes", None) or {})
                if not inflight:
                    break
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                _drain(queue, started)  # read start reports before their runs' results
                lost = self._collect(done, inflight, on_status, started)
                if not lost:
                    continue
                # the pool is broken: every other run in it fails too; gather them all
                rest, _ = wait(inflight)
                _drain(queue, started)
                lost += self._collect(rest, inflight, on_status, started)
                codes = self._exit_codes(pool)
                pool.shutdown(wait=True, cancel_futures=True)
                # the pool's survivors were stopped mid-write too: their runs run again, so the
                # half-written folders go now rather than at the next sweep
                clean_temporaries(Path(self.runs_dir), [t.run_id for t in lost])
                suspects = [t for t in lost if t.run_id in started]
                retry.extendleft(reversed([t for t in lost if t.run_id not in started]))
                if not suspects:
                    idle_breaks += 1
                    if idle_breaks >= MAX_IDLE_BREAKS:
                        raise WorkerDeathError(
                            f"worker processes die before running anything ({_describe_exit(codes)}"
                            f"); {len(lost)} run(s) not started")
                for t in suspects:
                    breaks[t.run_id] = breaks.get(t.run_id, 0) + 1
                    if alone:
                        deaths_alone[t.run_id] = deaths_alone.get(t.run_id, 0) + 1
                        if deaths_alone[t.run_id] >= self.retries:
                            on_status(_death_status(t, codes, breaks[t.run_id]))
                            continue
                    (solo if breaks[t.run_id] >= 2 else retry).appendleft(t)
                started.clear()
                pool, queue = self._new_pool()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _fill(self, pool: ProcessPoolExecutor, inflight: dict[Future[Status], RunTask],
              fresh: Iterator[RunTask], retry: deque[RunTask], solo: deque[RunTask]) -> bool:
        """Submit work; return True when the one run in flight is a suspect running alone."""
        if self._alone is not None and self._alone in {t.run_id for t in inflight.values()}:
            return True  # nothing joins a suspect running alone
        self._alone = None
        if solo:
            task = solo.popleft()
            inflight[pool.submit(_pool_execute, task, self.runs_dir)] = task
            self._alone = task.run_id
            return True
        while len(inflight) < self.window:
            task = retry.popleft() if retry else next(fresh, None)
            if task is None:
                break
            inflight[pool.submit(_pool_execute, task, self.runs_dir)] = task
        return False

    @staticmethod
    def _collect(done: set[Future[Status]], inflight: dict[Future[Status], RunTask],
                 on_status: Callable[[Status], None], started: set[str]) -> list[RunTask]:
        lost = []
        for fut in done:
            task = inflight.pop(fut)
            try:
                status = fut.result()
            except BrokenProcessPool:
                lost.append(task)
                continue
            started.discard(task.run_id)
            on_status(status)
        return lost

    def _exit_codes(self, pool: ProcessPoolExecutor) -> list[int]:
        """Exit codes of the pool's dead processes, other than SIGTERM.

        SIGTERM is how the pool stops the survivors after a death. This reads a private attribute
        of the executor (and the references taken while it ran) and returns nothing if neither is
        there.
        """
        procs = {**self._procs, **dict(getattr(pool, "_processes", None) or {})}
        for p in procs.values():
            p.join(timeout=5)
        return [p.exitcode for p in procs.values()
                if p.exitcode is not None and p.exitcode not in (0, -signal.SIGTERM)]


def _drain(queue: Any, started: set[str]) -> None:
    """Move the workers' start reports into ``started`` (so the pipe never fills up)."""
    while not queue.empty():
        started.add(queue.get())


def _death_status(task: RunTask, codes: list[int], breaks: int) -> Status:
    message = (f"WorkerDied: {_describe_exit(codes)} while running this run "
               f"({breaks} time(s), the last ones with no other run in the pool)")
    return failed_status(task, message)


def run_in_process(tasks: Iterable[RunTask], runs_dir: str,
                   on_status: Callable[[Status], None]) -> None:
    """Run every task in this process, one after another (``--workers 0``: for debugging)."""
    for task in tasks:
        on_status(run_task(task, runs_dir))


__all__ = ["LocalPool", "WorkerDeathError", "run_in_process"]
