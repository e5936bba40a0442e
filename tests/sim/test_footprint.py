"""A world too large for memory is refused before anything is allocated, with the estimate."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from outcome_gym.errors import ScenarioValidationError
from outcome_gym.scenario.overrides import with_overrides
from outcome_gym.sim import footprint
from outcome_gym.sim.footprint import CHECK_FROM, bytes_per_user, check_footprint
from tests.conftest import TINY


def test_bytes_per_user_is_measured_and_plausible(monkeypatch):
    per_user = bytes_per_user(with_overrides(TINY, {"population.size": 50}))
    # the population's own state is a few hundred bytes per user (sim/population.py); a step's
    # temporaries and the per-user table add as much again: well under 10 kB
    assert 200 < per_user < 10_000
    # the same world at another size is the same probe: measured once, then read from the cache
    monkeypatch.setattr(footprint, "_measure", lambda probe: pytest.fail("measured twice"))
    assert bytes_per_user(with_overrides(TINY, {"population.size": 999})) == per_user


def test_small_worlds_are_never_probed(monkeypatch):
    monkeypatch.setattr(footprint, "bytes_per_user", lambda sc: pytest.fail("probed"))
    check_footprint(with_overrides(TINY, {"population.size": CHECK_FROM - 1}), available=1)


def test_a_world_larger_than_the_memory_left_is_refused_with_the_estimate():
    big = with_overrides(TINY, {"population.size": 1_000_000})
    per_user = bytes_per_user(big) * footprint.MARGIN
    check_footprint(big, available=int(per_user * 1_000_001))  # fits
    with pytest.raises(ScenarioValidationError, match=r"population.size: expected a world that "
                       r"fits in memory: 1,000,000 users need about .* and 0.5 GB is available; "
                       r"at most about [\d,]+ users fit"):
        check_footprint(big, available=500_000_000)


def _limit_address_space() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))


def test_the_cli_refuses_ten_million_users_under_a_3_gb_limit_without_a_traceback(tmp_path):
    sc = tmp_path / "huge.yaml"
    sc.write_text(TINY.read_text().replace("size: 200", "size: 10000000", 1)
                  .replace("horizon_days: 14", "horizon_days: 2", 1))
    # a hang guard only: on a cold compile cache the child's probe compiles every pass (~1 min
    # alone on a slow 2-core machine, longer beside another test worker)
    done = subprocess.run([sys.executable, "-m", "outcome_gym", "run", str(sc)],
                          capture_output=True, text=True, timeout=600,
                          preexec_fn=_limit_address_space)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "population.size: expected a world that fits in memory: 10,000,000 users" in done.stderr
