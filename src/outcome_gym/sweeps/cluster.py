"""The Dask backend: the same sweep on a ``distributed.LocalCluster`` or any scheduler address.

Needs the ``cluster`` extra (``pip install 'outcome-gym[cluster]'``). Workers run a task and ship
the run folder's files back (bytes: summary.json, manifest.json and the kept tables); the driver
writes each folder atomically as it arrives. Workers therefore need no shared filesystem, and the
driver holds one run's files at a time.

A worker that dies is Dask's business: the scheduler reschedules the runs it held on other workers;
a run whose workers die more than the scheduler's ``allowed-failures`` times (``retries`` on the
LocalCluster this module starts) comes back as ``KilledWorker`` and is recorded as failed. A run
executed twice (rescheduled after its worker died once it had finished) produces one result: Dask
keeps one result per task key, and the run folder is written once.

On the LocalCluster, each worker's nanny restarts it after a death. Should every nanny give up
(a worker that cannot start again), the sweep stops with a :class:`ClusterError` instead of waiting
for a worker that will never come; a remote scheduler's workers may join later, so there the sweep
waits, as Dask does.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from outcome_gym.errors import OutcomeGymError
from outcome_gym.sweeps.worker import RunTask, failed_status, run_task

Status = dict[str, Any]

RESTART_GRACE = "10 minutes"
"""How long the LocalCluster lets a dead worker's nanny take to start it again before closing the
nanny for good (Dask's ``distributed.deploy.lost-worker-timeout``, 15 s by default). A restarted
worker is a spawned process importing outcome-gym, numba and pandas: on a loaded machine that took
longer than 15 s, each death then cost a worker for the rest of the sweep, and a run that kept
killing its workers left none (the sweep waited forever)."""

LIVENESS_POLL = 2.0
"""Seconds between checks, while no run finishes, that the LocalCluster still has a worker."""

class ClusterError(OutcomeGymError):
    """The Dask backend is not installed, the scheduler cannot be reached, or workers differ."""


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:  # pragma: no cover - depends on the environment
        raise ClusterError(
            "the dask backend needs Dask distributed: pip install 'outcome-gym[cluster]'"
        ) from None
    return distributed


def _reachable(address: str, timeout: float = 10.0) -> None:
    """Fail fast (not after the client's timeout) when nothing listens at a tcp:// address."""
    import socket
    from urllib.parse import urlsplit

    if not address.startswith("tcp://"):
        return
    parts = urlsplit(address)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 8786), timeout):
            pass
    except (OSError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _ship(task: RunTask) -> Status:
    """Worker side: run and return the files (no filesystem needed on the worker)."""
    return run_task(task, None, pooled=True)


def _worker_version() -> str:
    import outcome_gym

    return str(outcome_gym.__version__)


class DaskRunner:
    """Runs tasks on a Dask cluster: a LocalCluster of ``workers`` processes, or ``address``."""

    def __init__(self, workers: int, address: str | None = None, allowed_failures: int = 2,
                 quiet: bool = True) -> None:
        self.workers = max(1, workers)
        self.address = address
        self.allowed_failures = allowed_failures
        self.quiet = quiet
        self.warnings: list[str] = []

    def _config(self) -> contextlib.AbstractContextManager[Any]:
        """Dask settings of the LocalCluster, held for its whole life.

        Dask reads some of them when a worker dies or restarts, not only when the cluster starts.
        """
        if self.address:
            return contextlib.nullcontext()
        import dask

        # worker-saturation 1.0: a worker holds only the run it is executing, so when a run kills
        # its worker no innocent run queued behind it on that worker is blamed for the death
        return dask.config.set({"distributed.worker.multiprocessing-method": "spawn",
                                "distributed.scheduler.allowed-failures": self.allowed_failures,
                                "distributed.scheduler.worker-saturation": 1.0,
                                "distributed.deploy.lost-worker-timeout": RESTART_GRACE})

    def _client(self) -> tuple[Any, Any]:
        distributed = _import_distributed()
        level = logging.ERROR if self.quiet else logging.WARNING
        if self.address:
            _reachable(self.address)
            try:
                client = distributed.Client(self.address, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ClusterError(f"cannot reach the Dask scheduler at {self.address}: {exc}") \
                    from None
            return client, None
        cluster = distributed.LocalCluster(
            n_workers=self.workers, threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=level,
        )
        return distributed.Client(cluster), cluster

    def _check_workers(self, client: Any) -> None:
        import outcome_gym

        try:
            versions = client.run(_worker_version)
        except Exception as exc:  # any failure here means workers cannot run outcome-gym
            raise ClusterError(f"the Dask workers cannot import outcome_gym: {exc}") from None
        odd = {w: v for w, v in versions.items() if v != outcome_gym.__version__}
        if odd:
            self.warnings.append(f"workers run other outcome-gym versions than the driver "
                                 f"({outcome_gym.__version__}): {odd}")

    def _window(self, client: Any) -> int:
        try:
            threads = sum(client.nthreads().values())
        except Exception:  # a scheduler hiccup: keep a sensible window
            threads = self.workers
        return max(2, 2 * threads)

    def run(self, tasks: Iterable[RunTask], on_status: Callable[[Status], None]) -> None:
        """Execute every task; call ``on_status`` with each status record (with ``files``)."""
        distributed = _import_distributed()
        with self._config():
            client, cluster = self._client()
            try:
                self._check_workers(client)
                self._loop(client, cluster, distributed, iter(tasks), on_status)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()

    def _loop(self, client: Any, cluster: Any, distributed: Any, tasks: Iterator[RunTask],
              on_status: Callable[[Status], None]) -> None:
        window = self._window(client)
        pending: dict[Any, RunTask] = {}
        second: set[str] = set()  # runs given a second chance after a KilledWorker

        def send(task: RunTask, key: str) -> None:
            fut = client.submit(_ship, task, key=key, pure=False, retries=0)
            pending[fut] = task

        def submit() -> bool:
            task = next(tasks, None)
            if task is None:
                return False
            send(task, f"outcome-gym-run-{task.run_id}")
            return True

        while len(pending) < window and submit():
            pass
        finished = 0
        for fut in self._completed(distributed, cluster, pending):
            finished += 1
            task = pending.pop(fut)
            try:
                status = self._result(fut, cluster, len(pending) + 1)
            except distributed.KilledWorker as exc:
                if task.run_id not in second:
                    # a scheduler blames every run that was on a dying worker, including ones
                    # merely queued there (a remote cluster's own saturation setting): run it
                    # once more under a fresh key; a run that kills its worker fails again
                    second.add(task.run_id)
                    fut.release()
                    send(task, f"outcome-gym-run-{task.run_id}-again")
                    continue
                status = failed_status(task, f"WorkerDied: the workers running it kept dying ({exc})")
            except ClusterError:
                raise  # the cluster, not this run
            except Exception as exc:  # the task itself never raises; this is infrastructure
                status = failed_status(task, f"{type(exc).__name__}: {exc}")
            fut.release()
            on_status(status)
            if finished % 64 == 0:
                window = self._window(client)
            while len(pending) < window and submit():
                pass

    @staticmethod
    def _completed(distributed: Any, cluster: Any, pending: dict[Any, RunTask]) -> Iterator[Any]:
        """Each future of ``pending`` as it finishes, while any is pending.

        The caller adds and removes futures between two. Waits in slices of ``LIVENESS_POLL``
        seconds so that a LocalCluster left without workers is noticed.

        Raises:
            ClusterError: The LocalCluster has no worker left (:func:`_check_alive`).
        """
        while pending:
            try:
                done, _ = distributed.wait(list(pending), timeout=LIVENESS_POLL,
                                           return_when="FIRST_COMPLETED")
            except TimeoutError:
                _check_alive(cluster, len(pending))
                continue
            yield from done

    @staticmethod
    def _result(fut: Any, cluster: Any, waiting: int) -> Status:
        """The finished future's status (or its exception, raised).

        A finished run's result lives on its worker until fetched: when that worker dies first
        (killed by the next run it took), the scheduler runs it again, so this waits too. A fetch
        that times out while the result is still there is a slow transfer: the next try (which
        starts it again) gets twice as long, so a large result always arrives.

        Raises:
            ClusterError: The LocalCluster has no worker left (:func:`_check_alive`).
        """
        timeout = LIVENESS_POLL
        while True:
            try:
                return fut.result(timeout=timeout)  # _ship never raises TimeoutError
            except TimeoutError:
                _check_alive(cluster, waiting)
                if fut.status == "finished":
                    timeout *= 2


def _check_alive(cluster: Any, waiting: int) -> None:
    """Raise when ``cluster`` (the LocalCluster this module started) has no worker left.

    Each worker's nanny restarts it when it dies; Dask closes a nanny whose worker has not come back
    within ``RESTART_GRACE``, or that could not start it. With no nanny left, the runs waiting
    would wait forever. ``None`` (a remote scheduler, whose workers may join later) never raises.

    Raises:
        ClusterError: No nanny of ``cluster`` is running or restarting its worker.
    """
    if cluster is None:
        return
    from distributed.core import Status

    gone = {Status.closing, Status.closing_gracefully, Status.closed, Status.failed}
    nannies = list(cluster.workers.values())  # the cluster's event loop changes this dict
    if all(n.status in gone for n in nannies):
        raise ClusterError(
            f"every worker of the local Dask cluster died and none could be restarted; "
            f"{waiting} run(s) were still waiting (finished runs are kept: run again with "
            "--resume)")


__all__ = ["ClusterError", "DaskRunner"]
