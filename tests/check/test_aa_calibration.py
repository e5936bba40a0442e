"""A/A calibration: a policy against itself must rarely get a verdict other than no effect or
inconclusive, and its 95% lift intervals must hold the true lift (0) about 95% of the time.

The full calibration (``benchmarks/aa_calibration.py``: the bundled worlds, pools of 120, 400
trials at 5, 10 and 20 seeds) measures the rates against the promises (docs/verdicts.md); this slow
test repeats a smaller version so that a change to the statistics or the verdict rules that breaks
calibration fails CI. With a true false-verdict rate of at most 5%, 200 trials exceed 8% with
probability under 2%; coverage over 200 trials x 2 intervals (engagement, the one primary) has a
binomial sd of about 1.1% at 95%, so [90%, 99%] is about four sd either way. The seeds are fixed,
so the test is deterministic.
"""

from __future__ import annotations

import pytest

from outcome_gym.check.calibration import aa_trials, false_alarm_rate, run_pool
from tests.conftest import variant


@pytest.mark.slow
def test_aa_false_verdict_rate_and_coverage(tiny):
    sc = variant(tiny, **{"population.size": 150, "clock.horizon_days": 10})
    pool = run_pool(sc, "static", range(120))
    cal = aa_trials(sc, pool, n_seeds=10, trials=200)
    assert cal.trials == 200
    assert false_alarm_rate(cal) <= 0.08, cal.counts
    assert 0.90 <= cal.coverage() <= 0.99, (cal.covered, cal.measured)
