"""``outcome-gym examples DIR`` and the wheel: the README's files travel with the package."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.examples import CONTENTS

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def test_examples_copies_the_readme_files_and_refuses_a_foreign_folder(tmp_path):
    dest = tmp_path / "ex"
    res = runner.invoke(app, ["examples", str(dest)])
    assert res.exit_code == 0, res.output
    for rel in ("examples/designer_worlds/fitness_coach.yaml", "examples/ci/contract.yaml",
                "examples/ci/baseline.json", "experiments/sweeps/example_sweep.yaml",
                "experiments/studies/trap.py", "experiments/studies/trap.yaml"):
        assert (dest / rel).read_bytes() == (REPO / rel).read_bytes(), rel
    assert not list(dest.rglob("__pycache__"))
    # again: its own earlier output is replaced only with --overwrite
    res = runner.invoke(app, ["examples", str(dest)])
    assert res.exit_code == 2 and "--overwrite" in res.stderr
    (dest / "mine.txt").write_text("keep me")
    assert runner.invoke(app, ["examples", str(dest), "--overwrite"]).exit_code == 0
    assert (dest / "mine.txt").read_text() == "keep me"
    # a folder it did not write: refused, untouched
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    res = runner.invoke(app, ["examples", str(other)])
    assert res.exit_code == 2 and "not an outcome-gym output folder" in res.stderr
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


def test_setup_py_ships_what_the_command_copies():
    text = (REPO / "setup.py").read_text()
    shipped = re.search(r"CONTENTS = \((.*?)\)", text, re.S)
    assert shipped is not None
    assert tuple(re.findall(r'"([^"]+)"', shipped.group(1))) == CONTENTS
    manifest = (REPO / "MANIFEST.in").read_text()
    for rel in CONTENTS:
        assert any(rel.startswith(g) for g in re.findall(r"^graft (\S+)", manifest, re.M)), rel


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> str:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{cmd}: exit {res.returncode}\n{res.stdout}\n{res.stderr}"
    assert "Traceback" not in res.stderr, res.stderr
    return res.stdout


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_venv_runs_the_designer_journey(tmp_path):
    """Build the wheel offline, install it alone in a new venv, run the README's designer journey.

    The venv gets outcome-gym from the wheel only (``--no-deps --no-index``); its dependencies
    come from this interpreter's site-packages through a .pth file, because the test runs offline
    and must not download them. ``--system-site-packages`` would expose the base interpreter's
    packages, not this venv's. The test asserts that outcome_gym is imported from the new venv.
    """
    src = tmp_path / "src"  # a copy: building in the checkout would leave build/ and egg-info
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", ".*")
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, src / name)
    for name in ("src", "examples", "experiments"):
        shutil.copytree(REPO / name, src / name, ignore=skip)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-w", str(dist), str(src)], tmp_path, env)
    wheel = next(dist.glob("outcome_gym-*.whl"))

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    py = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
          "-q", str(wheel)], tmp_path, env)
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     tmp_path, env).strip())
    (site / "zz_outcome_gym_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")

    home = tmp_path / "empty"
    home.mkdir()
    where = _run([str(py), "-c", "import outcome_gym; print(outcome_gym.__file__)"], home, env)
    assert where.startswith(str(venv)), where
    og = str(venv / "bin" / "outcome-gym")
    _run([og, "examples", "ex"], home, env)
    work = home / "ex"
    world = "examples/designer_worlds/fitness_coach.yaml"
    assert "valid" in _run([og, "validate", world], work, env)
    assert "productivity_tool" in _run([og, "scenarios"], work, env)
    assert "outcome_bandit" in _run([og, "policies"], work, env)
    _run([og, "run", world, "--policy", "static", "--out", "results/static"], work, env)
    assert (work / "results" / "static" / "summary.json").is_file()
    out = _run([og, "compare", world, "--policies", "static,outcome_bandit", "--seeds", "2",
                "--workers", "1", "--out", "results/cmp"], work, env)
    assert "outcome_bandit:" in out and (work / "results" / "cmp" / "report.html").is_file()
    assert "72 runs" in _run([og, "sweep", "experiments/sweeps/example_sweep.yaml", "--dry-run"],
                             work, env)
