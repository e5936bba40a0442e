"""Test policies for sweeps, importable in spawned and Dask workers as 'module:Class' specs.

Each behaves like ``static`` (so its results match a static run) until its trigger:

* ``CrashOncePolicy(marker)``: the first run to create ``marker`` SIGKILLs its own worker process
  (as the out-of-memory killer would); every later run, including the retry, runs normally.
* ``RaisingPolicy(fail_seed)``: raises in ``act`` for that seed only.
* ``SlowPolicy(delay)``: sleeps ``delay`` seconds in ``reset`` (to kill a sweep mid-way).
* ``GatedPolicy(gate, free)``: seeds from ``free`` on wait in ``reset`` until the file ``gate``
  exists (to interrupt a sweep while its runs are surely in progress, however loaded the machine).

``dask_setup`` is a Dask worker preload that makes restarted workers slow to start.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import yaml

from outcome_gym.policies.baseline import StaticPolicy

CRASH = "tests.sweeps.helpers:CrashOncePolicy"
RAISE = "tests.sweeps.helpers:RaisingPolicy"
SLOW = "tests.sweeps.helpers:SlowPolicy"
GATED = "tests.sweeps.helpers:GatedPolicy"


class CrashOncePolicy(StaticPolicy):
    name = "crash_once"

    def __init__(self, marker: str = "") -> None:
        self.marker = marker

    def reset(self, context, seed) -> None:
        super().reset(context, seed)
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


class RaisingPolicy(StaticPolicy):
    name = "raising"

    def __init__(self, fail_seed: int = 0) -> None:
        self.fail_seed = fail_seed

    def reset(self, context, seed) -> None:
        super().reset(context, seed)
        self.seed_ = seed.entropy

    def act(self, observation):
        if self.seed_ == self.fail_seed and observation.step == 2:
            raise RuntimeError(f"boom at seed {self.seed_}")
        return super().act(observation)


class SlowPolicy(StaticPolicy):
    name = "slow"

    def __init__(self, delay: float = 0.2) -> None:
        self.delay = delay

    def reset(self, context, seed) -> None:
        super().reset(context, seed)
        time.sleep(self.delay)


class GatedPolicy(StaticPolicy):
    """Seeds below ``free`` run at once; the others first write ``<gate>.at-<pid>`` (this process
    waits at the gate) and wait until ``gate`` exists, for ``limit`` seconds at most (then raise:
    a failing test never hangs on a gate it forgot to open)."""

    name = "gated"

    def __init__(self, gate: str = "", free: int = 1, limit: float = 300.0) -> None:
        self.gate = gate
        self.free = free
        self.limit = limit

    def reset(self, context, seed) -> None:
        super().reset(context, seed)
        if seed.entropy < self.free:
            return
        Path(f"{self.gate}.at-{os.getpid()}").touch()
        deadline = time.monotonic() + self.limit
        while not Path(self.gate).exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gate {self.gate} never opened")
            time.sleep(0.02)


def waiting_at(gate: Path) -> set[int]:
    """The processes that have reached ``gate`` (a :class:`GatedPolicy`'s)."""
    return {int(p.name.rpartition("-")[2]) for p in gate.parent.glob(f"{gate.name}.at-*")}


def write_experiment(path: Path, **fields) -> Path:
    """An experiment file on tests/fixtures/tiny.yaml (small population, few days) by default."""
    tiny = Path(__file__).resolve().parents[1] / "fixtures" / "tiny.yaml"
    beside = path.parent / "tiny.yaml"  # a relative path may not leave the file's folder
    if not beside.exists():
        shutil.copyfile(tiny, beside)
    doc = {"name": "t", "scenarios": ["tiny.yaml"],
           "grid": {"population.size": [40], "clock.horizon_days": [2]},
           "policies": ["static"], "seeds": {"count": 2}}
    doc.update(fields)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


class CrashAlwaysPolicy(StaticPolicy):
    """SIGKILLs its worker in every run: a run that can never finish."""

    name = "crash_always"

    def reset(self, context, seed) -> None:
        super().reset(context, seed)
        os.kill(os.getpid(), signal.SIGKILL)


CRASH_ALWAYS = "tests.sweeps.helpers:CrashAlwaysPolicy"

SLOW_START = "OUTCOME_GYM_TEST_SLOW_START"
"""``<marker>:<seconds>``: with this module as a Dask worker preload, a worker starting once the
marker exists (a run killed its predecessor) takes that long to start, as on a loaded machine; it
then leaves ``<marker>.slow-start`` beside it (the slow start happened)."""


def dask_setup(worker) -> None:
    """Dask calls this in each worker it starts when ``distributed.worker.preload`` names this
    module (the environment variable is inherited from the driver by the spawned workers)."""
    marker, _, seconds = os.environ.get(SLOW_START, "").rpartition(":")
    if marker and Path(marker).exists():
        time.sleep(float(seconds))
        Path(f"{marker}.slow-start").touch()


def combined_files(out: Path) -> dict[str, bytes]:
    """The combined output of a sweep folder: runs.csv, manifest.json and dataset/**."""
    files = {"runs.csv": (out / "runs.csv").read_bytes(),
             "manifest.json": (out / "manifest.json").read_bytes()}
    for p in sorted((out / "dataset").rglob("*")):
        if p.is_file():
            files[str(p.relative_to(out))] = p.read_bytes()
    return files


def run_folders(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "runs").iterdir())
