"""A/A calibration of the verdict rules: a policy against itself on disjoint seeds.

Every verdict other than ``no effect`` (and ``quiet win`` or ``aligned``, which need an outcome
significantly better) is a false alarm in an A/A comparison; the rules promise a false ``trap`` or
``harm`` in at most 5% of trials. This module measures that rate from a pool of runs (one policy,
many seeds): each trial draws 2n distinct seeds, treats the first n as 'A' and the last n as 'B'
(paired in draw order), and applies exactly the analysis of :func:`~outcome_gym.compare.compare`
(:func:`~outcome_gym.analysis.paired.paired_analysis`). ``benchmarks/aa_calibration.py`` runs the
full version; ``tests/check/test_aa_calibration.py`` a smaller one.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from outcome_gym.analysis.paired import paired_analysis
from outcome_gym.compare import run_all
from outcome_gym.policies.spec import parse_policy
from outcome_gym.scenario import Scenario


def run_pool(scenario: Scenario, policy: str, seeds: range | list[int], *,
             workers: int = 1) -> pd.DataFrame:
    """One run per seed through the executor: the runs table (``policy``, ``seed``, metrics)."""
    runs, _ = run_all(scenario, [parse_policy(policy)], list(seeds), workers=workers)
    return runs


def aa_trials(scenario: Scenario, pool: pd.DataFrame, n_seeds: int, trials: int,
              seed: int = 0) -> Counter:
    """Verdict counts over ``trials`` A/A comparisons drawn from ``pool`` (see :func:`run_pool`)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, trials, n_seeds]))
    counts: Counter = Counter()
    labels = ["A"] * n_seeds + ["B"] * n_seeds
    pairing = list(range(n_seeds)) * 2  # the i-th A seed is paired with the i-th B seed
    for _ in range(trials):
        pick = rng.choice(len(pool), size=2 * n_seeds, replace=False)
        runs = pool.iloc[pick].assign(policy=labels, seed=pairing).reset_index(drop=True)
        result = paired_analysis(scenario, ["A", "B"], "A", list(range(n_seeds)), runs)
        counts[result.verdicts["B"].verdict] += 1
    return counts


def false_alarm_rate(counts: Counter) -> float:
    """Share of trials with a false trap or harm."""
    total = sum(counts.values())
    return (counts["trap"] + counts["harm"]) / total if total else 0.0


__all__ = ["aa_trials", "false_alarm_rate", "run_pool"]
