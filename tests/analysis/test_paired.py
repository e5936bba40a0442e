"""The paired analysis is a pure function of a runs table: verdicts follow the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from outcome_gym.analysis.paired import daily_series, metric_names, paired_analysis


def _runs(tiny, engagement_lift: float, outcome_lift: float, n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    outcome = f"outcome.{tiny.outcomes[0].id}"
    rows = []
    for label, e, o in (("ref", 1.0, 1.0), ("pol", 1 + engagement_lift, 1 + outcome_lift)):
        for seed in range(n):
            noise = rng.normal(0, 0.01, size=2)
            rows.append({"policy": label, "seed": seed, "run_id": f"{label}{seed}",
                         "engagement.index": 100 * (e + noise[0]), outcome: 10 * (o + noise[1]),
                         "fragmentation.core_consistency": 1.0,
                         "fragmentation.context_failure_rate": 0.0})
    return pd.DataFrame(rows)


def test_engagement_up_with_the_primary_down_is_a_trap(tiny):
    runs = _runs(tiny, engagement_lift=0.3, outcome_lift=-0.3)
    assert "run_id" not in metric_names(runs)
    res = paired_analysis(tiny, ["ref", "pol"], "ref", list(range(12)), runs)
    assert res.verdicts["pol"].verdict == "trap"
    assert res.stats["pol"]["engagement.index"].lift > 0.25
    assert set(res.info) == set(metric_names(runs))
    # the primary within its margin (0 +- 1% noise, margin 5%): engagement only, not a trap
    res = paired_analysis(tiny, ["ref", "pol"], "ref", list(range(12)),
                          _runs(tiny, engagement_lift=0.3, outcome_lift=0.0))
    assert res.verdicts["pol"].verdict == "engagement only"


def test_outcome_down_is_harm_and_no_difference_is_no_effect(tiny):
    res = paired_analysis(tiny, ["ref", "pol"], "ref", list(range(12)),
                          _runs(tiny, engagement_lift=0.0, outcome_lift=-0.3))
    assert res.verdicts["pol"].verdict == "harm"
    res = paired_analysis(tiny, ["ref", "pol"], "ref", list(range(12)),
                          _runs(tiny, engagement_lift=0.0, outcome_lift=0.0))
    assert res.verdicts["pol"].verdict == "no effect"


def test_daily_series_is_per_user_and_per_day():
    steps = pd.DataFrame({"day": [0, 0, 1], "clicks": [2.0, 4.0, 3.0],
                          "push_failures": [1, 0, 1]})
    out = daily_series(steps, n_users=2)
    assert list(out.columns) == ["day", "clicks", "push_failures"]
    assert out["clicks"].tolist() == [3.0, 1.5] and out["push_failures"].tolist() == [0.5, 0.5]
