"""The example third-party package under examples/: conformance and discovery by entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from outcome_gym.testing import check_policy
from tests.conftest import TINY

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SRC = ROOT / "examples" / "third_party_policy" / "src"


def test_example_policy_passes_check_policy(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE_SRC))
    from og_nudge import EveningNudge

    assert len(check_policy(EveningNudge, TINY, steps=12)) == 5


def _fake_install(site: Path) -> None:
    """What `pip install` leaves for entry-point discovery: a dist-info with entry_points.txt."""
    dist = site / "og_nudge-0.1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: og-nudge\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(
        "[outcome_gym.policies]\nevening_nudge = og_nudge.policy:EveningNudge\n")


def test_cli_finds_the_example_policy_by_name(tmp_path):
    _fake_install(tmp_path / "site")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), str(EXAMPLE_SRC),
                                                      str(ROOT)]))
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "outcome_gym.cli", "run", str(TINY), "--policy",
                           "evening_nudge", "-p", "threshold=0.2", "--quiet", "--out", str(out)],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["policy"] == {"name": "evening_nudge", "params": {"threshold": 0.2}}
    listing = subprocess.run([sys.executable, "-m", "outcome_gym.cli", "policies"],
                             capture_output=True, text=True, env=env)
    assert "evening_nudge" in listing.stdout


def _env(tmp_path):
    _fake_install(tmp_path / "site")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp_path / "site"), str(EXAMPLE_SRC), str(ROOT), os.environ.get("PYTHONPATH", "")]))


def _cli(env, *args):
    return subprocess.run([sys.executable, "-m", "outcome_gym", *args], capture_output=True,
                          text=True, env=env)


REFERENCES = ["og_nudge.policy:EveningNudge", "evening_nudge"]  # by module:Class, by entry point


def test_example_policy_in_compare_and_check(tmp_path):
    env = _env(tmp_path)
    for ref in REFERENCES:
        proc = _cli(env, "compare", str(TINY), "--policies", f"static,{ref}:threshold=0.2",
                    "--seeds", "2", "--quiet")
        assert proc.returncode == 0, proc.stderr
        assert f"{ref}:threshold=0.2:" in proc.stdout
    contract = tmp_path / "contract.yaml"
    contract.write_text(json.dumps({
        "name": "nudge", "scenarios": [str(TINY)], "population": 60, "horizon_days": 3,
        "seeds": {"count": 2}, "candidate": {"policy": REFERENCES[0], "params": {"threshold": 0.2}},
        "reference": {"policy": REFERENCES[1], "params": {"threshold": 0.2}},
        "expectations": [{"kind": "notifications_per_user_day", "max": 24}]}))
    for dry in (["--dry-run"], []):
        proc = _cli(env, "check", str(contract), *dry)
        assert proc.returncode == 0, proc.stderr
    assert "PASS" in proc.stdout


def _sweep_file(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(json.dumps({
        "name": "nudges", "scenarios": [str(TINY)], "grid": {"population.size": [40]},
        "policies": [{"policy": ref, "params": {"threshold": 0.2}} for ref in REFERENCES],
        "seeds": {"count": 2}}))
    return path


def test_example_policy_in_a_sweep_in_process(tmp_path):
    env, path = _env(tmp_path), _sweep_file(tmp_path)
    proc = _cli(env, "sweep", str(path), "--dry-run")
    assert proc.returncode == 0 and "4 runs" in proc.stdout, proc.stderr
    proc = _cli(env, "sweep", str(path), "--workers", "0", "--quiet", "--out", str(tmp_path / "a"))
    assert proc.returncode == 0, proc.stderr
    assert "4 ok, 0 failed" in proc.stdout


@pytest.mark.slow
def test_example_policy_in_a_sweep_on_spawned_workers(tmp_path):
    env, path = _env(tmp_path), _sweep_file(tmp_path)
    proc = _cli(env, "sweep", str(path), "--workers", "2", "--quiet", "--out", str(tmp_path / "b"))
    assert proc.returncode == 0, proc.stderr
    assert "4 ok, 0 failed" in proc.stdout
