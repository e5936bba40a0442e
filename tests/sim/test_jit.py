"""The compiled session loop's cache (sim/_jit.py, issue #18): on disk, and in a user directory
when the package directory is read-only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# Steps a small run (sessions happen, so the kernel is called) and reports where numba cached it.
SCRIPT = r"""
import json, os, sys
import outcome_gym.sim._jit as jit
if sys.argv[1] == "pretend-read-only":  # root ignores file modes; pretend the package is read-only
    jit._writable = lambda directory: False
from outcome_gym.scenario import load_scenario
from outcome_gym.scenario.overrides import size_overrides, with_overrides
from outcome_gym.sim.mechanisms import engagement
from outcome_gym.sim.model import SimulationModel
sc = with_overrides(load_scenario("productivity_tool"), size_overrides(50, 1), file="<test>")
m = SimulationModel(sc, 0, mesa_agents=False)
while not m.done:
    m.advance(m.default_action())
import numba
d = engagement.session_rounds.dispatcher
print(json.dumps({"cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
                  "hits": sum(d.stats.cache_hits.values()),
                  "misses": sum(d.stats.cache_misses.values()),
                  "sessions": float(m.totals["sessions"].sum())}))
"""


def _run(pythonpath: Path, cache_home: Path, mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(pythonpath), XDG_CACHE_HOME=str(cache_home))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode], env=env, capture_output=True,
                          text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _copy_package(tmp_path: Path) -> Path:
    dest = tmp_path / "ro" / "outcome_gym"
    shutil.copytree(SRC / "outcome_gym", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest.parent


def _cached_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.suffix in (".nbi", ".nbc")]


def test_unwritable_package_caches_in_the_user_dir_and_reloads(tmp_path):
    root, cache_home = _copy_package(tmp_path), tmp_path / "cache"
    first = _run(root, cache_home, "pretend-read-only")
    user_dir = cache_home / "outcome_gym" / "numba"
    assert first["cache_dir"] == str(user_dir)
    assert first["sessions"] > 0 and first["misses"] >= 1  # compiled in this process
    assert _cached_files(user_dir), "compiled code was not cached in the user directory"
    assert not _cached_files(root), "nothing may be written into the package"
    second = _run(root, cache_home, "pretend-read-only")
    assert second["hits"] >= 1 and second["misses"] == 0  # loaded, not recompiled
    assert second["sessions"] == first["sessions"]


def test_writable_package_caches_next_to_the_source(tmp_path):
    root, cache_home = _copy_package(tmp_path), tmp_path / "cache"
    first = _run(root, cache_home, "as-is")
    assert first["cache_dir"] is None
    assert _cached_files(root / "outcome_gym" / "sim" / "mechanisms")
    assert not cache_home.exists() or not _cached_files(cache_home)
    assert _run(root, cache_home, "as-is")["misses"] == 0


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only directories")
def test_really_read_only_package(tmp_path):
    root, cache_home = _copy_package(tmp_path), tmp_path / "cache"
    for p in sorted(root.rglob("*"), reverse=True):
        p.chmod(p.stat().st_mode & ~0o222)
    try:
        out = _run(root, cache_home, "as-is")
        assert out["cache_dir"] == str(cache_home / "outcome_gym" / "numba")
        assert not _cached_files(root)
    finally:
        for p in root.rglob("*"):
            p.chmod(p.stat().st_mode | 0o200)
