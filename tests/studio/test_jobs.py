"""Comparisons in the background: the CLI's compare, cached by content, with progress and cancel."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from outcome_gym.studio.jobs import Jobs, Request
from outcome_gym.studio.results import Result
from tests.conftest import TINY
from tests.studio.conftest import SMALL
from tests.sweeps.helpers import GATED, waiting_at

ROOT = Path(__file__).resolve().parents[2]


def _wait(job, until=("finished", "failed", "cancelled"), limit=120.0):
    start = time.monotonic()
    while job.state not in until:
        assert time.monotonic() - start < limit, job.state
        time.sleep(0.1)
    return job.state


def test_request_key_is_the_content():
    a = Request(SMALL, ("random",), seeds=2)
    assert a.key == Request(SMALL, ("random",), seeds=2).key
    assert a.key != Request(SMALL + "\n# edit\n", ("random",), seeds=2).key
    assert a.key != Request(SMALL, ("random",), seeds=3).key
    assert a.key != Request(SMALL, ("random",), seeds=2, rules=(("r.yaml", "x"),)).key
    import outcome_gym.studio.jobs as jobs_module

    before = a.key
    with pytest.MonkeyPatch.context() as mp:  # another version of the code: another folder
        mp.setattr(jobs_module, "code_fingerprint", lambda: "another-version")
        assert a.key != before
    assert a.key == before
    assert a.n_runs == 4 and Request(SMALL, ("static", "random"), seeds=3).n_runs == 6


def test_a_comparison_runs_reports_progress_and_is_found_again(tmp_path):
    request = Request(SMALL, ("random",), seeds=2)
    job = Jobs(tmp_path).get(request)
    assert job.state == "idle" and job.progress == (0, 4)
    job.start(workers=1)
    assert _wait(job) == "finished", job.error
    assert job.progress == (4, 4)
    result = Result.read(job.out)
    assert list(result.verdicts()["policy"]) == ["random"]
    harm = result.harm()  # who is harmed: the policy's rows, and the placebo as a floor
    shares = harm["worse off"].dropna()  # a ratio metric is undefined for users without cases
    assert set(harm["policy"]) == {"random"} and len(shares) and shares.between(0, 1).all()
    assert {p.stem for p in result.figures()} >= {"trap_quadrant", "outcomes"}
    summary = json.loads((job.out / "summary.json").read_text())
    assert summary["seeds"] == [0, 1] and summary["reference"] == "static"
    again = Jobs(tmp_path).get(request)  # another server, the same content: no run needed
    assert again.state == "finished" and again.process is None
    assert list((tmp_path / "comparisons").iterdir()) == [job.folder]


def test_a_failed_comparison_keeps_the_clis_message(tmp_path):
    job = Jobs(tmp_path).get(Request(SMALL, ("outcome_bandit:lever=layout",), seeds=2))
    job.start(workers=1)
    assert _wait(job) == "failed"
    assert "did you mean 'levers'" in job.error


def _finished_runs(job) -> dict[str, int]:
    """Each finished run folder of ``job`` and when its summary was written."""
    return {p.parent.name: p.stat().st_mtime_ns for p in (job.out / "runs").glob("*/summary.json")}


@pytest.mark.slow
def test_cancel_stops_the_runs_and_running_again_reuses_them(tmp_path, monkeypatch):
    # compare (its own process, cwd its folder) imports the gated policy from this checkout
    paths = [str(ROOT), *(str(Path(p).resolve()) for p in
                          os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    gate = tmp_path / "gate"
    request = Request(TINY.read_text(), ("random", f"{GATED}:gate={gate}"), seeds=4)
    job = Jobs(tmp_path).get(request)
    job.start(workers=1)  # one run after another, seed by seed, in compare's process
    # seed 0's runs finish, then compare waits in the gated run of seed 1: cancelled mid-way for
    # sure (with real runs, a loaded machine let the test see progress only once they had all run)
    deadline = time.monotonic() + 300
    while not waiting_at(gate):
        assert job.state == "running", job.error
        assert time.monotonic() < deadline, "compare never reached the gated run"
        time.sleep(0.1)
    job.cancel()
    assert _wait(job) == "cancelled"
    kept = _finished_runs(job)
    assert 2 <= len(kept) == job.progress[0] < request.n_runs
    gate.touch()
    job.start(workers=2)
    assert _wait(job, limit=600) == "finished", job.error
    assert job.progress == (request.n_runs, request.n_runs)
    again = _finished_runs(job)
    assert {k: again[k] for k in kept} == kept  # the finished runs were reused, not run again
