"""A sweep whose driver is killed mid-way, then resumed, writes what an uninterrupted sweep writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from outcome_gym.sweeps import sweep
from tests.sweeps.helpers import SLOW, combined_files, run_folders, write_experiment

ROOT = Path(__file__).resolve().parents[2]


def _finished(out: Path) -> int:
    runs = out / "runs"
    if not runs.is_dir():
        return 0
    return sum((p / "summary.json").is_file() for p in runs.iterdir() if not p.name.startswith("."))


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "outcome_gym.cli", "sweep", *args, "-q"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


def test_killed_driver_then_resume_is_byte_identical(tmp_path):
    path = write_experiment(
        tmp_path / "exp.yaml", seeds={"count": 5}, keep=["steps"],
        grid={"population.size": [40], "clock.horizon_days": [2, 3]},
        policies=[{"policy": SLOW, "params": {"delay": 0.25}, "label": "slow"},
                  "random:keep_core=false"])
    reference = tmp_path / "uninterrupted"
    assert sweep(path, out=reference, workers=0).exit_code == 0
    n_runs = len(run_folders(reference))
    assert n_runs == 20

    out = tmp_path / "interrupted"
    proc = _cli(str(path), "--workers", "2", "--out", str(out), start_new_session=True)
    deadline = time.monotonic() + 120
    while _finished(out) < 4:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no runs finished in time"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, as a crash would
    proc.communicate()
    done = _finished(out)
    assert 4 <= done < n_runs and not (out / "runs.csv").exists()

    proc = _cli(str(path), "--workers", "2", "--out", str(out))  # no --resume: refused
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "pass --resume" in err
    proc = _cli(str(path), "--workers", "2", "--out", str(out), "--resume")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert f"{n_runs - done} run now" in stdout and f"{done} already finished" in stdout

    assert combined_files(out) == combined_files(reference)
    assert run_folders(out) == run_folders(reference)  # no temporaries, nothing twice
    for run_id in run_folders(reference):
        for f in sorted((reference / "runs" / run_id).iterdir()):
            assert (out / "runs" / run_id / f.name).read_bytes() == f.read_bytes(), f
