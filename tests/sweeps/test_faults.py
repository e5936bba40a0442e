"""Faults a sweep must survive: a killed driver leaves no workers behind; a full disk is one line."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.sweeps import store, sweep
from tests.sweeps.helpers import (
    GATED,
    SLOW,
    combined_files,
    run_folders,
    waiting_at,
    write_experiment,
)

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _slow_sweep(tmp_path: Path, count: int, delay: float,
                **popen: object) -> tuple[Path, Path, subprocess.Popen[bytes]]:
    """A sweep of slow runs on two workers, started as the command line in its own process."""
    return _sweep_process(tmp_path, count, {"policy": SLOW, "params": {"delay": delay},
                                            "label": "slow"}, **popen)


def _sweep_process(tmp_path: Path, count: int, policy: dict[str, object],
                   **popen: object) -> tuple[Path, Path, subprocess.Popen[bytes]]:
    """A sweep of ``policy`` on two workers, started as the command line in its own process."""
    path = write_experiment(tmp_path / "exp.yaml", seeds={"count": count}, policies=[policy])
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "outcome_gym", "sweep", str(path), "--workers",
                             "2", "--out", str(out), "-q"], cwd=ROOT, **popen)  # type: ignore[call-overload]
    return path, out, proc


def _wait_for_a_finished_run(proc: subprocess.Popen[bytes], out: Path) -> None:
    deadline = time.monotonic() + 180
    while not any((p / "summary.json").is_file() for p in (out / "runs").glob("*")):
        assert proc.poll() is None, "the sweep ended early"
        assert time.monotonic() < deadline, "no run finished in time"
        time.sleep(0.05)


def _still_alive(pids: list[int], wait: float = 15.0) -> list[int]:
    """The processes of ``pids`` still alive after up to ``wait`` seconds (killed, if any)."""
    deadline = time.monotonic() + wait
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [p for p in pids if _alive(p)]
    for p in alive:  # do not leave them behind if the test fails
        os.kill(p, signal.SIGKILL)
    return alive


def _resume(path: Path, out: Path) -> None:
    res = runner.invoke(app, ["sweep", str(path), "--workers", "0", "--out", str(out),
                              "--resume", "-q"])
    assert res.exit_code == 0, res.output


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_workers_end_when_the_driver_is_killed(tmp_path):
    log = (tmp_path / "driver.log").open("w")  # not a pipe: the workers inherit it
    path, out, proc = _slow_sweep(tmp_path, 12, 1.0, stdout=log, stderr=log)
    _wait_for_a_finished_run(proc, out)
    workers = _children(proc.pid)  # the pool's workers and multiprocessing's resource tracker
    assert len(workers) >= 2
    os.kill(proc.pid, signal.SIGKILL)  # the driver alone, as a crash or the OOM killer would
    proc.wait()
    log.close()
    alive = _still_alive(workers)
    assert not alive, f"workers {alive} outlived their driver"
    # the resource tracker cleaned up after the driver without printing on the user's terminal
    assert "leaked semaphore" not in (tmp_path / "driver.log").read_text()
    _resume(path, out)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_a_killed_resource_tracker_leaves_the_terminal_clean(tmp_path):
    log = (tmp_path / "driver.log").open("w")
    _, _, proc = _slow_sweep(tmp_path, 8, 0.5, stdout=log, stderr=log)
    deadline = time.monotonic() + 180
    tracker = None
    while tracker is None:
        assert proc.poll() is None and time.monotonic() < deadline, \
            (tmp_path / "driver.log").read_text()
        tracker = next((p for p in _children(proc.pid) if b"resource_tracker" in
                        (Path("/proc") / str(p) / "cmdline").read_bytes()), None)
        time.sleep(0.05)
    os.kill(tracker, signal.SIGKILL)
    assert proc.wait(timeout=300) == 0
    log.close()
    time.sleep(1.0)  # a relaunched tracker would print after the driver ends
    text = (tmp_path / "driver.log").read_text()
    assert "Traceback" not in text and "leaked" not in text and "relaunching" not in text, text


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_ctrl_c_is_exit_130_one_line_and_resumable(tmp_path):
    """Ctrl-C at a terminal: SIGINT to the whole foreground group (driver and workers)."""
    # seed 0 runs, the others wait at the gate: the interrupt lands mid-sweep with both workers
    # inside a run, not before they are up nor after the last run (as timing alone allowed)
    gate = tmp_path / "gate"
    path, out, proc = _sweep_process(
        tmp_path, 10, {"policy": GATED, "params": {"gate": str(gate)}, "label": "gated"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    _wait_for_a_finished_run(proc, out)
    deadline = time.monotonic() + 180
    while len(waiting_at(gate)) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "workers never reached the gate"
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert waiting_at(gate) <= set(workers)
    os.killpg(proc.pid, signal.SIGINT)
    gate.touch()  # the workers ignore Ctrl-C and finish their runs; the driver waits for them
    _, err = proc.communicate(timeout=120)
    text = err.decode()
    assert proc.returncode == 130, text
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1, text
    assert not _still_alive(workers), "workers outlived an interrupted sweep"
    _resume(path, out)


def test_a_full_disk_is_one_line_and_never_a_finished_run(tmp_path, monkeypatch):
    path = write_experiment(tmp_path / "exp.yaml", seeds={"count": 4}, keep=["steps"])
    reference = tmp_path / "reference"
    assert sweep(path, out=reference, workers=0).exit_code == 0
    out = tmp_path / "out"
    real_fsync = os.fsync
    calls = {"n": 0}

    def full_disk(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] > 7:  # the first run's files, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(store.os, "fsync", full_disk)
    res = runner.invoke(app, ["sweep", str(path), "--workers", "0", "--out", str(out), "-q"])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], res.stderr
    assert "Traceback" not in res.output and lines[0].startswith("error: cannot write")
    # nothing half-written is in place: the one run that landed is whole, no temporary left
    assert len(run_folders(out)) == 1
    for name in run_folders(out):
        folder = out / "runs" / name
        assert not name.startswith(".") and store.run_state(folder, ["steps"]) == "ok", name
    assert not (out / "runs.csv").exists()
    monkeypatch.setattr(store.os, "fsync", real_fsync)  # space again: resume completes
    res = runner.invoke(app, ["sweep", str(path), "--workers", "0", "--out", str(out),
                              "--resume", "-q"])
    assert res.exit_code == 0, res.output
    assert combined_files(out) == combined_files(reference)


def test_clean_temporaries_removes_only_the_named_runs_half_written_folders(tmp_path):
    runs = tmp_path / "runs"
    names = [".aaa.tmp-1", ".aaa.old-2", ".bbb.tmp-3", "aaa", ".hidden", ".ccc.tmp"]
    for n in names:
        (runs / n).mkdir(parents=True)
    # after a broken pool: only the lost runs' temporaries (bbb's writer may still be alive)
    assert store.clean_temporaries(runs, ["aaa"]) == 2
    assert sorted(p.name for p in runs.iterdir()) == [".bbb.tmp-3", ".ccc.tmp", ".hidden", "aaa"]
    # at the start of a sweep: every temporary; a folder that only looks similar stays
    assert store.clean_temporaries(runs) == 1
    assert sorted(p.name for p in runs.iterdir()) == [".ccc.tmp", ".hidden", "aaa"]
