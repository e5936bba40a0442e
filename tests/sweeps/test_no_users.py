"""Sweeps and a segment with no users at some points (docs/verdicts.md, rule ``no-users``).

tests/fixtures/tiny.yaml has workers (share 0.6) and savers (share 0.4): at 1 user the saver
segment is empty, so ``engagement.index[saver]`` and ``outcome.adjusted`` (a saver spec) are 0 for
want of users. The dataset must hold them as missing and the report must say *not measured*.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.metrics.flat import unmeasured
from outcome_gym.report.sweep import NOT_MEASURED, PARTIAL, SweepData, axis_table
from outcome_gym.runner import run
from outcome_gym.scenario.overrides import with_overrides
from outcome_gym.sweeps import read_dataset
from outcome_gym.sweeps.store import read_runs_csv
from tests.conftest import TINY
from tests.sweeps.helpers import combined_files, write_experiment

runner = CliRunner()
SAVER_METRICS = ["engagement.index[saver]", "outcome.adjusted"]


@pytest.mark.parametrize(("size", "savers", "expected"),
                         [(1, 0, SAVER_METRICS), (2, 1, []), (40, 16, [])])
def test_unmeasured_names_the_metrics_of_empty_segments(size, savers, expected):
    # 1 user: 0.6 and 0.4 of a user, the larger remainder (0.6) makes the one user a worker;
    # 2 users: 1.2 and 0.8, the saver's remainder is larger, so one each
    sc = with_overrides(TINY, {"population.size": size, "clock.horizon_days": 1})
    summary = run(sc, "static", 0).summary
    assert summary.segments["saver"].n_users == savers
    assert unmeasured(summary) == expected


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("no_users")
    path = write_experiment(tmp / "exp.yaml", policies=["static", "random"], seeds={"count": 2},
                            grid={"population.size": [1, 40], "clock.horizon_days": [2]})
    out = tmp / "sweep"
    res = runner.invoke(app, ["sweep", str(path), "--workers", "0", "--out", str(out)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["report", str(out)])
    assert res.exit_code == 0, res.output
    return path, out


def test_the_dataset_holds_no_value_where_the_segment_has_no_users(swept):
    _, out = swept
    csv = read_runs_csv(out)
    df = read_dataset(out)
    pd.testing.assert_frame_equal(df, csv)  # the same missing cells in runs.csv and dataset/
    assert (df["status"] == "ok").all()
    tiny, big = df[df["param.population.size"] == 1], df[df["param.population.size"] == 40]
    assert len(tiny) == len(big) == 4
    for m in SAVER_METRICS:
        assert df[m].dtype == np.float64
        assert tiny[m].isna().all(), m          # was 0.0: no saver to measure
        assert big[m].notna().all(), m
    # the worker's metrics and population-wide ones are measured at 1 user
    for m in ["engagement.index[worker]", "outcome.on_time", "engagement.index"]:
        assert df[m].notna().all(), m
    # a missing value is an empty cell in runs.csv, on an ok row
    lines = (out / "runs.csv").read_text().splitlines()
    head = lines[0].split(",")
    col = head.index("outcome.adjusted")
    size = head.index("param.population.size")
    cells = {(row[size], row[col]) for row in (line.split(",") for line in lines[1:])}
    assert ("1", "") in cells and not any(s == "40" and c == "" for s, c in cells)


def test_resume_writes_the_missing_cells_byte_for_byte(swept, tmp_path):
    path, out = swept
    other = tmp_path / "resumed"
    res = runner.invoke(app, ["sweep", str(path), "--workers", "0", "--out", str(other)])
    assert res.exit_code == 0, res.output
    first = combined_files(other)
    # lose one run at each size, then resume: only those run again
    df = read_dataset(other)
    for size in (1, 40):
        rid = df[df["param.population.size"] == size]["run_id"].iloc[0]
        for f in (other / "runs" / rid).iterdir():
            f.unlink()
        (other / "runs" / rid).rmdir()
    res = runner.invoke(app, ["sweep", str(path), "--workers", "0", "--out", str(other),
                              "--resume"])
    assert res.exit_code == 0, res.output
    assert "2 run now" in res.output and "6 already finished" in res.output
    assert combined_files(other) == first == combined_files(out)


def test_the_report_says_not_measured_instead_of_0(swept):
    _, out = swept
    md = (out / "report" / "report.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| static |")]
    at1 = next(r for r in rows if r.startswith("| static | 1 |")).split(" | ")
    head = next(line for line in md.splitlines() if line.startswith("| policy |")).split(" | ")
    assert at1[head.index("outcome.adjusted")] == NOT_MEASURED  # was "0 [0, 0]"
    # on_time (the worker's) is measured at 1 user
    assert "not measured" not in at1[head.index("outcome.on_time")]
    at40 = next(r for r in rows if r.startswith("| static | 40 |")).split(" | ")
    assert at40[head.index("outcome.adjusted")].startswith("0 [")  # measured: a real 0
    assert "the metric's segment has no users at that point" in md
    assert ("`outcome.adjusted` is not measured at population.size=1: its segment has no users "
            "there") in md
    assert "outcome.on_time` is not measured" not in md


def _data(rows: list[dict]) -> SweepData:
    """A SweepData over hand-written ok rows of one scenario and policy, axes a and b."""
    data = SweepData.__new__(SweepData)
    data.df = data.ok = pd.DataFrame(rows).assign(scenario="s", policy="p", status="ok")
    data.labels = ["p"]
    data.axes = [{"key": "a", "column": "a", "values": [1, 2]},
                 {"key": "b", "column": "b", "values": ["x", "y"]}]
    data.manifest = {"metrics": {"s": {"outcome.o": {"family": "outcome", "label": "o"}}}}
    return data


def test_a_mean_over_another_axis_leaves_out_the_unmeasured_points_and_says_so():
    # outcome.o has no users at a=1 (every seed, every b); at a=2 it is seed + 2 * (b == "y")
    rows = [{"a": a, "b": b, "seed": seed, "engagement.index": 10.0 + seed,
             "outcome.o": math.nan if a == 1 else seed + 2.0 * (b == "y")}
            for a in (1, 2) for b in ("x", "y") for seed in (0, 1, 2)]
    data = _data(rows)
    head, by_a = axis_table(data, "s", data.axes[0])
    assert head == ["policy", "a", "seeds", "engagement.index", "outcome.o"]
    assert by_a[0][1:] == ["1", "3", by_a[0][3], NOT_MEASURED]
    # at a=2, per seed the mean over b is seed + 1: 1, 2, 3 -> mean 2, t interval over 3 seeds
    low, high = stats.t.interval(0.95, 2, loc=2.0, scale=stats.sem([1.0, 2.0, 3.0]))
    assert by_a[1][4] == f"2 [{low:.4g}, {high:.4g}]"
    # over b, a=1 is left out: at b=x the seeds give 0, 1, 2 (a=2 only), marked
    _, by_b = axis_table(data, "s", data.axes[1])
    low, high = stats.t.interval(0.95, 2, loc=1.0, scale=stats.sem([0.0, 1.0, 2.0]))
    assert by_b[0][4] == f"1 [{low:.4g}, {high:.4g}]{PARTIAL}"
    # engagement has a value everywhere: no mark
    assert not by_b[0][3].endswith(PARTIAL)


def test_the_sweep_says_before_running_which_points_have_an_empty_segment(swept, tmp_path):
    path, out = swept
    res = runner.invoke(app, ["sweep", str(path), "--dry-run"])
    assert res.exit_code == 0, res.output
    line = ("warning: segment 'saver' of tiny has no users at 1 of 2 point(s) (first: point 1, "
            "population.size=1 clock.horizon_days=2): its metrics there are not measured "
            "(missing in the dataset)")
    assert line in res.output.splitlines()
    assert res.output.count("no users") == 1  # the worker always has the one user
    res = runner.invoke(app, ["sweep", str(path), "--workers", "0", "--out", str(out),
                              "--resume", "--json"])
    assert res.exit_code == 0, res.output
    assert line in res.stderr.splitlines()  # on stderr, and in the JSON's warnings
    assert "warning: " + json.loads(res.stdout)["warnings"][0] == line
    # every segment has users at 2 users and more: nothing to say
    ordinary = write_experiment(tmp_path / "exp.yaml",
                                grid={"population.size": [2, 40], "clock.horizon_days": [2]})
    res = runner.invoke(app, ["sweep", str(ordinary), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "no users" not in res.output and "warning" not in res.output
