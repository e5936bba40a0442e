"""The example third-party package under examples/: conformance and discovery by entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
