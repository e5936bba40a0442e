"""End-to-end through the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
from typer.testing import CliRunner

from outcome_gym.cli import app
from tests.conftest import TINY

runner = CliRunner()


def test_run_writes_tables_and_prints_summary(tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", str(TINY), "--policy", "random", "--seed", "1",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "worker" in res.stdout and "on_time" in res.stdout
    for name in ("manifest.json", "summary.json", "steps.parquet", "users.parquet",
                 "positions.parquet", "elements.parquet"):
        assert (out / name).exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 1 and manifest["policy"]["name"] == "random"
    assert manifest["scenario"]["name"] == "tiny"
    steps = pd.read_parquet(out / "steps.parquet")
    summary = json.loads((out / "summary.json").read_text())
    clicks = steps.loc[steps["segment"] == "worker", "clicks"].sum()
    n = summary["segments"]["worker"]["n_users"]
    assert summary["segments"]["worker"]["engagement"]["clicks_per_user"] == clicks / n


def test_run_quiet_prints_nothing(tmp_path):
    res = runner.invoke(app, ["run", str(TINY), "--quiet"])
    assert res.exit_code == 0 and res.stdout == ""


def test_run_unknown_policy_exits_2_with_suggestion():
    proc = subprocess.run([sys.executable, "-m", "outcome_gym.cli", "run", str(TINY), "--policy",
                           "statc", "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Did you mean 'static'" in proc.stderr


def test_run_bundled_scenario_by_name(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "outcome_gym.cli", "run", "productivity_tool",
                           "--quiet", "--out", str(tmp_path / "r")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r" / "summary.json").exists()


def test_run_policy_params(tmp_path):
    res = runner.invoke(app, ["run", str(TINY), "--policy", "random", "-p", "notify_prob=0.5",
                              "-p", "keep_core=true", "--quiet", "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["policy"]["params"] == {"notify_prob": 0.5, "keep_core": True}
