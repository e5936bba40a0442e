"""Experiment files and their expansion: crossed and zipped axes, dotted keys, run ids, seeds,
and validation of every point before anything runs."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from outcome_gym.errors import SweepFileError
from outcome_gym.sweeps import expand, load_experiment, sweep
from outcome_gym.sweeps.ids import run_id_for
from tests.sweeps.helpers import write_experiment

ROOT = Path(__file__).resolve().parents[2]


def plan_of(tmp_path, **fields):
    return expand(load_experiment(write_experiment(tmp_path / "exp.yaml", **fields)))


def test_crossed_grid_times_zip_times_policies_times_seeds(tmp_path):
    plan = plan_of(
        tmp_path,
        grid={"population.segments.worker.attention_budget.median": [10, 20, 30],
              "population.size": [40, 60]},
        zip=[{"clock.horizon_days": [2, 3], "guardrails.max_notifications_per_day": [1, 2]}],
        policies=["static", "random"], seeds={"count": 2, "first": 5})
    # 3 medians x 2 sizes x 2 zipped pairs = 12 points; x 2 policies x 2 seeds = 48 runs
    assert plan.n_points == 12 and len(plan.runs) == 48 and plan.merged == 0
    assert plan.seeds == [5, 6]
    combos = {(r.values["population.segments.worker.attention_budget.median"],
               r.values["population.size"], r.values["clock.horizon_days"],
               r.values["guardrails.max_notifications_per_day"], r.label, r.seed)
              for r in plan.runs}
    expected = {(m, n, h, c, p, s) for m, n, (h, c), p, s in itertools.product(
        [10, 20, 30], [40, 60], [(2, 1), (3, 2)], ["static", "random"], [5, 6])}
    assert combos == expected
    assert len({r.run_id for r in plan.runs}) == 48
    # the resolved scenario carries the point's values
    run = next(r for r in plan.runs if r.values["population.segments.worker.attention_budget.median"]
               == 30 and r.values["clock.horizon_days"] == 3)
    data = plan.scenario_data(run)
    worker = data["population"]["segments"][0]
    assert worker["id"] == "worker" and worker["attention_budget"]["median"] == 30
    assert data["clock"]["horizon_days"] == 3
    assert data["guardrails"]["max_notifications_per_day"] == 2
    assert data["population"]["size"] == run.values["population.size"]


def test_two_zip_groups_cross_each_other(tmp_path):
    plan = plan_of(tmp_path, grid={},
                   zip=[{"population.size": [30, 40]},
                        {"clock.horizon_days": [1, 2, 3], "context.base_failure": [0.1, 0.2, 0.3]}],
                   seeds=1)
    assert plan.n_points == 6 and len(plan.runs) == 6
    pairs = {(r.values["clock.horizon_days"], r.values["context.base_failure"]) for r in plan.runs}
    assert pairs == {(1, 0.1), (2, 0.2), (3, 0.3)}


def test_lists_by_id_and_by_index(tmp_path):
    plan = plan_of(tmp_path, grid={"population.segments.saver.availability.slot.2": [0.1, 0.9],
                                   "product.elements.feed.appeal": [2.5],
                                   "goals.work.arrival_rate": [2.0]}, seeds=1)
    data = plan.scenario_data(plan.runs[-1])
    saver = data["population"]["segments"][1]
    assert saver["id"] == "saver" and saver["availability"]["slot"][2] == 0.9
    assert saver["availability"]["slot"][:2] == [0.4, 0.4]
    feed = next(e for e in data["product"]["elements"] if e["id"] == "feed")
    assert feed["appeal"] == 2.5
    assert next(g for g in data["goals"] if g["id"] == "work")["arrival_rate"] == 2.0


def test_a_whole_distribution_as_a_value(tmp_path):
    dist = {"dist": "lognormal", "median": 12, "sigma": 0.2, "low": 1, "high": 60}
    plan = plan_of(tmp_path, grid={"population.segments.saver.attention_budget": [15, dist]},
                   seeds=1)
    budgets = [plan.scenario_data(r)["population"]["segments"][1]["attention_budget"]
               for r in plan.runs]
    assert budgets[0] == 15.0 and budgets[1]["median"] == 12.0


def test_policy_axes_scoped_to_one_policy_merge_identical_runs(tmp_path):
    plan = plan_of(tmp_path, policies=["static", "random"],
                   grid={"population.size": [30, 40], "policy.random.notify_prob": [0.1, 0.5]},
                   seeds={"count": 3})
    # static: 2 sizes x 3 seeds = 6 runs; random: 2 x 2 x 3 = 12; 6 duplicates of static merged
    assert plan.n_points == 4 and len(plan.runs) == 18 and plan.merged == 6
    static = [r for r in plan.runs if r.label == "static"]
    assert all("policy.random.notify_prob" not in r.values for r in static)
    assert {r.params["notify_prob"] for r in plan.runs if r.label == "random"} == {0.1, 0.5}


def test_policy_axis_for_every_policy_must_fit_every_policy(tmp_path):
    with pytest.raises(SweepFileError, match=r"policy 'static'.*notify_prob"):
        plan_of(tmp_path, policies=["static", "random"], grid={"policy.notify_prob": [0.1]})
    with pytest.raises(SweepFileError, match=r"labels \['static'\].*policy.randm.x"):
        plan_of(tmp_path, grid={"policy.randm.x": [1]})


def test_run_ids_hash_the_resolved_spec_not_the_label(tmp_path):
    a = plan_of(tmp_path, policies=["random:keep_core=false"])
    b = plan_of(tmp_path, policies=[{"policy": "random", "params": {"keep_core": False},
                                     "label": "free"}])
    assert [r.run_id for r in a.runs] == [r.run_id for r in b.runs]
    c = plan_of(tmp_path, policies=["random"])
    assert not {r.run_id for r in a.runs} & {r.run_id for r in c.runs}
    r = a.runs[0]
    assert r.run_id == run_id_for(r.scenario_sha256, "random", {"keep_core": False}, r.seed)
    assert run_id_for(r.scenario_sha256, "random", {"keep_core": False}, r.seed + 1) != r.run_id


def test_run_ids_are_the_same_in_another_process(tmp_path):
    path = write_experiment(tmp_path / "exp.yaml", policies=["static", "random"],
                            grid={"population.size": [30, 40]})
    here = [r.run_id for r in expand(load_experiment(path)).runs]
    code = ("import json,sys; from outcome_gym.sweeps import expand, load_experiment; "
            "print(json.dumps([r.run_id for r in expand(load_experiment(sys.argv[1])).runs]))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         env=env, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == here


def test_seeds_from_entropy_are_spawned_children(tmp_path):
    plan = plan_of(tmp_path, seeds={"count": 3, "entropy": 2024})
    kids = np.random.SeedSequence(2024).spawn(3)
    assert plan.seeds == [int(k.generate_state(1, np.uint64)[0] >> np.uint64(1)) for k in kids]
    assert len(set(plan.seeds)) == 3 and all(0 <= s < 2**63 for s in plan.seeds)


@pytest.mark.parametrize(("fields", "pattern"), [
    ({"grids": {}}, r"exp.yaml:\d+: grids: unknown key 'grids'.*did you mean 'grid'"),
    ({"seeds": {"count": 2, "frist": 1}}, r"seeds.frist: unknown key.*did you mean 'first'"),
    ({"grid": {"population.size": [30, 30]}}, r"grid.population.size: expected distinct values"),
    ({"grid": {"population.size": [float("nan")]}}, r"expected finite numbers"),
    ({"grid": {"population.size": []}}, r"expected at least one value"),
    ({"zip": [{"population.size": [1, 2], "clock.horizon_days": [1]}]},
     r"zip\[0\].clock.horizon_days: expected equal lengths"),
    ({"policies": ["random:keep_core"]}, r"policies\[0\]: expected key=value"),
    ({"policies": ["static", "static"]}, r"policies\[1\]: expected distinct policy labels"),
    ({"keep": ["steps", "everything"]}, r"keep\[1\]: expected one of"),
    ({"scenarios": ["no_such_world"]}, r"scenarios\[0\]: cannot use scenario 'no_such_world'"),
])
def test_bad_experiment_files_name_file_key_and_line(tmp_path, fields, pattern):
    with pytest.raises(SweepFileError, match=pattern):
        plan_of(tmp_path, **fields)


def test_one_invalid_point_stops_everything_and_names_it(tmp_path):
    path = write_experiment(tmp_path / "exp.yaml", grid={"clock.horizon_days": [2],
                                                         "population.size": [40, 0, 50]})
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1)
                if "population.size" in t)
    with pytest.raises(SweepFileError) as info:
        sweep(path, out=tmp_path / "out", workers=1)
    [problem] = info.value.problems
    assert problem.line == line and problem.path == "grid.population.size"
    assert "point 2 of 3" in problem.message and "population.size=0" in problem.message
    assert "expected a number >= 1, got 0" in problem.message
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was written


def test_cross_check_failures_blame_the_keys_that_caused_them(tmp_path):
    with pytest.raises(SweepFileError) as info:
        plan_of(tmp_path, grid={"population.size": [30],
                                "population.segments.worker.share": [0.6, 0.7]})
    text = str(info.value)
    assert "grid.population.segments.worker.share" in text and "point 2 of 2" in text
    assert "set by population.segments.worker.share" in text


@pytest.mark.parametrize(("key", "pattern"), [
    ("population.segments.wroker.share", r"no item with id 'wroker'.*did you mean 'worker'"),
    ("population.segments.saver.attention_budget.mean",
     r"'population.segments.saver.attention_budget' is the number 15.0, not a mapping"),
    ("product.layout.default.9", r"has 6 item\(s\); index 9 is out of range"),
    ("product.schedule.first.slot", r"without ids: address an item by its index"),
    ("population.sise", r"unknown key 'sise'.*did you mean 'size'"),
])
def test_keys_that_lead_nowhere(tmp_path, key, pattern):
    with pytest.raises(SweepFileError, match=pattern):
        plan_of(tmp_path, grid={key: [1]})


def test_same_simulation_from_two_values_is_an_error(tmp_path):
    with pytest.raises(SweepFileError, match="runs the same simulation as point 1"):
        plan_of(tmp_path, grid={"context.base_failure": [0, 0.0]})


def test_sweep_file_problems_are_sweep_file_errors(tmp_path):
    from outcome_gym.errors import ScenarioError

    with pytest.raises(SweepFileError, match=r"nope\.yaml") as info:
        load_experiment(tmp_path / "nope.yaml")  # unreadable: named as a sweep file's problem
    assert not isinstance(info.value, ScenarioError)
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(SweepFileError, match=r"bad\.yaml"):
        load_experiment(tmp_path / "bad.yaml")
    with pytest.raises(SweepFileError, match="policies"):
        plan_of(tmp_path, policies=[])


def test_paths_a_sweep_file_names_may_not_leave_its_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    with pytest.raises(SweepFileError, match=r"exp.yaml:\d+: scenarios\[0\]: expected a scenario "
                                             r"file inside .* got '\.\./tiny.yaml'"):
        plan_of(tmp_path / "sub", scenarios=["../tiny.yaml"])
    rules = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_rules.yaml"
    (tmp_path / "r.yaml").write_text(rules.read_text())
    with pytest.raises(SweepFileError, match=r"policy 'rules:rules=\.\./r\.yaml': .*expected a "
                                             r"rules file inside"):
        plan_of(tmp_path / "sub", policies=["rules:rules=../r.yaml"])
    plan = plan_of(tmp_path, policies=["rules:rules=r.yaml"])  # beside the file: read from there
    assert plan.runs[0].params["rules"]["name"] == "midweek_alerts"
    bad = tmp_path / "bad.yaml"
    bad.write_text(rules.read_text().replace("segments: [saver]", "segments: [savers]"))
    with pytest.raises(SweepFileError, match=r"bad.yaml:\d+: rules\[0\].when.segments\[0\]: "
                                             r"expected a segment id, got 'savers'"):
        plan_of(tmp_path, policies=["rules:rules=bad.yaml"])
