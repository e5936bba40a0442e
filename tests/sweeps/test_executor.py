"""The one executor: RunTask.make, execute (order, skip, failures), read_summary/read_table."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from outcome_gym._io import dumps
from outcome_gym.errors import ResultsError
from outcome_gym.policies.spec import PolicySpec
from outcome_gym.runner import run
from outcome_gym.scenario import validate_scenario
from outcome_gym.sweeps import RunTask, execute, expand, load_experiment, read_summary, read_table
from tests.conftest import variant
from tests.sweeps.helpers import RAISE, write_experiment

ROW_RUNNER = "tests.sweeps.test_executor:with_user_rows"


def with_user_rows(scenario, spec, seed, guardrails=None):
    """A custom runner: the default run plus a per-user column (as a study adds one)."""
    res = run(scenario, spec.policy, seed, policy_params=spec.params, guardrails=guardrails)
    res.users["extra"] = 7
    return res


@pytest.fixture(scope="module")
def small(tiny):
    return variant(tiny, **{"population.size": 30, "clock.horizon_days": 2})


def test_run_ids_are_the_sweeps_ids(tmp_path):
    path = write_experiment(tmp_path / "exp.yaml", policies=["static", "random:keep_core=false"])
    plan = expand(load_experiment(path))
    for r in plan.runs:
        sc = validate_scenario(plan.scenario_data(r))
        task = RunTask.make(sc, PolicySpec(policy=r.policy, params=r.params, label="x"), r.seed)
        assert task.run_id == r.run_id  # the label is not part of the id


def test_runner_and_guardrails_change_the_id_only_when_given(small):
    spec = PolicySpec(policy="static")
    plain = RunTask.make(small, spec, 0)
    assert RunTask.make(small, spec, 0, info={"a": 1}, keep=("steps",)).run_id == plain.run_id
    assert RunTask.make(small, spec, 0, runner=ROW_RUNNER).run_id != plain.run_id
    assert RunTask.make(small, spec, 0, guardrails=False).run_id != plain.run_id
    with pytest.raises(ValueError, match="cannot import runner"):
        RunTask.make(small, spec, 0, runner="tests.sweeps.test_executor:nope")


def test_execute_returns_statuses_in_task_order_and_skips_finished_runs(small, tmp_path):
    spec = PolicySpec(policy="random")
    tasks = [RunTask.make(small, spec, s, keep=("steps",)) for s in (3, 1, 2)]
    tasks.append(tasks[0])  # the same run twice: simulated once
    statuses = execute(tasks, tmp_path / "runs", workers=2)
    assert [s["run_id"] for s in statuses] == [t.run_id for t in tasks]
    assert all(s["status"] == "ok" and not s["skipped"] for s in statuses)
    direct = run(small, "random", 1)
    folder = tmp_path / "runs" / tasks[1].run_id
    assert read_summary(folder) == json.loads(dumps(direct.summary))
    pd.testing.assert_frame_equal(read_table(folder, "steps"), direct.steps)
    with pytest.raises(ResultsError, match="no users table"):
        read_table(folder, "users")
    again = execute(tasks, tmp_path / "runs")
    assert all(s["skipped"] for s in again)
    # asking for another table runs again, in this process
    more = execute([RunTask.make(small, spec, 1, keep=("users",))], tmp_path / "runs")
    assert not more[0]["skipped"] and (folder / "users.parquet").is_file()


def test_a_failure_is_a_status_and_a_record(small, tmp_path):
    spec = PolicySpec(policy=RAISE, params={"fail_seed": 1})
    tasks = [RunTask.make(small, spec, s) for s in (0, 1)]
    ok, bad = execute(tasks, tmp_path / "runs")
    assert ok["status"] == "ok" and bad["status"] == "failed"
    assert "boom at seed 1" in bad["error"] and "Traceback" in bad["traceback"]
    with pytest.raises(ResultsError, match="the run failed: PolicyError"):
        read_summary(tmp_path / "runs" / bad["run_id"])
    assert not execute(tasks, tmp_path / "runs")[1]["skipped"]  # failures run again


def test_a_custom_runner_and_guardrails_reach_the_run(small, tmp_path):
    spec = PolicySpec(policy="random", params={"keep_core": False})
    task = RunTask.make(small, spec, 0, keep=("users",), runner=ROW_RUNNER, guardrails=False)
    [status] = execute([task], tmp_path / "runs", workers=2, in_process=False)
    assert status["status"] == "ok", status
    folder = tmp_path / "runs" / task.run_id
    assert (read_table(folder, "users")["extra"] == 7).all()
    free = run(small, "random", 0, policy_params={"keep_core": False}, guardrails=False)
    assert read_summary(folder) == json.loads(dumps(free.summary))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["run_spec"]["runner"] == ROW_RUNNER
    assert manifest["run_spec"]["guardrails"] is False


def test_unknown_backend_is_refused(tmp_path):
    with pytest.raises(ValueError, match="expected backend local or dask"):
        execute([], tmp_path, backend="slurm")


def test_a_finished_run_made_by_other_code_runs_again(tmp_path, small):
    """Run folders are named by what was run, not by the code: a folder whose manifest records
    another code fingerprint (an older model) is run again and replaced, never served."""
    import json as _json

    from outcome_gym._io import code_fingerprint

    task = RunTask.make(small, PolicySpec(policy="random"), 0)
    (first,) = execute([task], tmp_path / "runs")
    assert first["status"] == "ok" and not first["skipped"]
    manifest_path = tmp_path / "runs" / task.run_id / "manifest.json"
    manifest = _json.loads(manifest_path.read_text())
    assert manifest["code"] == code_fingerprint()
    (again,) = execute([task], tmp_path / "runs")
    assert again["skipped"]  # the same code: reused
    manifest_path.write_text(_json.dumps({**manifest, "code": "someoldcode0000"}))
    (rerun,) = execute([task], tmp_path / "runs")
    assert not rerun["skipped"]
    assert _json.loads(manifest_path.read_text())["code"] == code_fingerprint()  # replaced


def test_a_pool_worker_compiles_every_pass_once_shared_and_a_run_here_does_not(small, tmp_path,
                                                                              monkeypatch):
    from outcome_gym.product import _weighted, guardrails, variants
    from outcome_gym.sim import _jit
    from outcome_gym.sim.model import kernel_modules
    from outcome_gym.sweeps import worker

    shared: list[tuple] = []
    monkeypatch.setattr(_jit, "compile_together", lambda modules: shared.append(tuple(modules)))
    worker.compile_shared.cache_clear()
    spec = PolicySpec(policy="static")
    try:
        here = worker.run_task(RunTask.make(small, spec, 0), str(tmp_path / "a"))
        assert here["status"] == "ok" and shared == []
        for seed in (0, 1):
            status = worker.run_task(RunTask.make(small, spec, seed), str(tmp_path / "b"),
                                     pooled=True)
            assert status["status"] == "ok"
    finally:
        worker.compile_shared.cache_clear()
    assert shared == [(*kernel_modules(), guardrails, variants, _weighted)]  # once per process


def test_a_failing_shared_compilation_is_left_to_the_runs(small, tmp_path, monkeypatch):
    from outcome_gym.sim import _jit
    from outcome_gym.sweeps import worker

    def broken(modules):
        raise RuntimeError("no compiler today")

    monkeypatch.setattr(_jit, "compile_together", broken)
    worker.compile_shared.cache_clear()
    try:
        status = worker.run_task(RunTask.make(small, PolicySpec(policy="static"), 0),
                                 str(tmp_path), pooled=True)
    finally:
        worker.compile_shared.cache_clear()
    assert status["status"] == "ok", status.get("error")
