"""A/A calibration: a policy against itself must rarely be called a trap or harm.

The full calibration (``benchmarks/aa_calibration.py``: 300 runs, 400 trials) measures the rate
against the 5% promise; this slow test repeats a smaller version so a change to the statistics or the
verdict rules that breaks calibration fails CI. With a true rate of at most 5%, 200 trials exceed 8%
with probability under 2%; the seeds are fixed, so the test is deterministic.
"""

from __future__ import annotations

import pytest

from outcome_gym.check.calibration import aa_trials, false_alarm_rate, run_pool
from tests.conftest import variant


@pytest.mark.slow
def test_aa_false_trap_or_harm_rate(tiny):
    sc = variant(tiny, **{"population.size": 150, "clock.horizon_days": 10})
    pool = run_pool(sc, "static", range(120))
    counts = aa_trials(sc, pool, n_seeds=10, trials=200)
    assert sum(counts.values()) == 200
    assert false_alarm_rate(counts) <= 0.08, counts
