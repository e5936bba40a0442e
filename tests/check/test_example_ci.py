"""The team example under examples/ci, end to end through the CLI (as its workflow runs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ci"


def _check(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(workdir / "teampolicy" / "src"),
                                                      str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "outcome_gym.cli", "check", *args],
                          capture_output=True, text=True, env=env, cwd=workdir)


@pytest.fixture
def example(tmp_path):
    work = tmp_path / "ci"
    shutil.copytree(EXAMPLE, work)
    return work


@pytest.mark.slow
def test_policy_passes_and_reproduces_its_baseline(example):
    # the baseline is regenerated here: the committed one reflects the simulator when it was made
    assert _check(example, "contract.yaml", "--update-baseline").returncode == 0
    res = _check(example, "contract.yaml", "--junit", "out/j.xml", "--summary", "out/s.md")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "exact reproduction" in res.stdout and "identical" in res.stdout
    assert (example / "out" / "j.xml").exists() and (example / "out" / "s.md").exists()


@pytest.mark.slow
@pytest.mark.parametrize(("regression", "says"), [
    ("FeedFirst", "verdict against 'reference' is trap"),
    ("MovedCore", "guardrail modifications (core_restored) per user is"),
])
def test_planted_regressions_fail_with_exit_1(example, regression, says):
    text = (example / "contract.yaml").read_text().replace("FocusForDeadlines", regression)
    text = text.replace("baseline: baseline.json\n", "")
    (example / "regression.yaml").write_text(text)
    res = _check(example, "regression.yaml")
    assert res.returncode == 1, res.stdout + res.stderr
    assert says in res.stdout
