"""A/A calibration of the verdict rules: a policy against itself on disjoint seeds.

In an A/A comparison every verdict other than ``no effect`` and ``inconclusive`` is false; the rules
promise at most ``alpha`` (5%) of them (docs/verdicts.md). This module measures that rate from a
pool of runs (one policy, many seeds): each trial draws 2n distinct seeds, treats the first n as 'A'
and the last n as 'B' (paired in draw order), and applies exactly the analysis of
:func:`~outcome_gym.compare.compare` (:func:`~outcome_gym.analysis.paired.paired_analysis`). It also
measures the 95% lift intervals' coverage of the true lift (0 in A/A) and, by planting a relative
effect on B's primary outcomes, the power to detect it. ``benchmarks/aa_calibration.py`` runs it
over the bundled worlds; ``tests/check/test_aa_calibration.py`` a smaller version.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from outcome_gym.analysis.paired import paired_analysis
from outcome_gym.compare import run_all
from outcome_gym.metrics.flat import describe
from outcome_gym.policies.spec import parse_policy
from outcome_gym.scenario import Scenario, primary_outcomes

NO_CLAIM = ("no effect", "inconclusive")
"""The verdicts that are not false in an A/A comparison."""


@dataclass
class Calibration:
    """What :func:`aa_trials` measured over its trials.

    Attributes:
        counts: Verdict -> trials.
        covered: Metric -> trials whose 95% lift interval held the true lift.
        measured: Metric -> trials with a bounded lift interval.
        detected: Primary metric -> trials in which it was significant in the planted direction
            (Holm-adjusted, at the verdict's alpha/2); only with ``plant``.
    """

    counts: Counter = field(default_factory=Counter)
    covered: Counter = field(default_factory=Counter)
    measured: Counter = field(default_factory=Counter)
    detected: Counter = field(default_factory=Counter)

    @property
    def trials(self) -> int:
        """Trials run."""
        return sum(self.counts.values())

    def coverage(self) -> float:
        """Share of all measured intervals (every tracked metric pooled) that held the truth."""
        n = sum(self.measured.values())
        return sum(self.covered.values()) / n if n else float("nan")


def run_pool(scenario: Scenario, policy: str, seeds: range | list[int], *,
             workers: int = 1) -> pd.DataFrame:
    """One run per seed through the executor: the runs table (``policy``, ``seed``, metrics)."""
    runs, _ = run_all(scenario, [parse_policy(policy)], list(seeds), workers=workers)
    return runs


def tracked_metrics(scenario: Scenario) -> list[str]:
    """The metrics whose interval coverage is measured: engagement and every primary outcome."""
    return ["engagement.index"] + [f"outcome.{o.id}" for o in primary_outcomes(scenario).values()]


def _plant(runs: pd.DataFrame, scenario: Scenario, effect: float) -> pd.DataFrame:
    """B's primary outcomes moved by ``effect`` (relative) in their better direction."""
    runs = runs.copy()
    b = runs["policy"] == "B"
    for spec in primary_outcomes(scenario).values():
        m = f"outcome.{spec.id}"
        sign = -1.0 if describe(scenario, m).direction == "decrease" else 1.0
        runs.loc[b, m] = runs.loc[b, m] * (1.0 + sign * effect)
    return runs


def aa_trials(scenario: Scenario, pool: pd.DataFrame, n_seeds: int, trials: int,
              seed: int = 0, plant: float = 0.0) -> Calibration:
    """Verdicts, coverage and (with ``plant``) power over ``trials`` comparisons from ``pool``.

    Args:
        scenario: The scenario the pool ran.
        pool: :func:`run_pool`'s table (at least ``2 * n_seeds`` runs).
        n_seeds: Paired seeds per comparison.
        trials: Comparisons.
        seed: The draws' generator seed (reproducible).
        plant: Relative effect added to B's primary outcomes in their better direction (0: A/A).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, trials, n_seeds]))
    out = Calibration()
    labels = ["A"] * n_seeds + ["B"] * n_seeds
    pairing = list(range(n_seeds)) * 2  # the i-th A seed is paired with the i-th B seed
    tracked = tracked_metrics(scenario)
    truth = {m: (plant * (-1.0 if describe(scenario, m).direction == "decrease" else 1.0)
                 if m.startswith("outcome.") else 0.0) for m in tracked}
    alpha = scenario.verdict.alpha
    for _ in range(trials):
        pick = rng.choice(len(pool), size=2 * n_seeds, replace=False)
        runs = pool.iloc[pick].assign(policy=labels, seed=pairing).reset_index(drop=True)
        if plant:
            runs = _plant(runs, scenario, plant)
        result = paired_analysis(scenario, ["A", "B"], "A", list(range(n_seeds)), runs)
        v = result.verdicts["B"]
        out.counts[v.verdict] += 1
        for m in tracked:
            st = result.stats["B"][m]
            if st.lift_low is not None and st.lift_high is not None:
                out.measured[m] += 1
                out.covered[m] += int(st.lift_low <= truth[m] <= st.lift_high)
        if plant:
            for m in tracked[1:]:
                c = v.metrics[m]
                lift = c["lift"]
                p_adj = c["p_adj"]  # None: the spec's segment has no users (not measured)
                out.detected[m] += int(p_adj is not None
                                       and float(p_adj) < alpha / 2  # type: ignore[arg-type]
                                       and lift is not None
                                       and float(lift) * truth[m] > 0)  # type: ignore[arg-type]
    return out


def false_alarm_rate(counts: Counter | Calibration) -> float:
    """Share of trials with a verdict other than ``no effect`` or ``inconclusive``."""
    if isinstance(counts, Calibration):
        counts = counts.counts
    total = sum(counts.values())
    return sum(n for v, n in counts.items() if v not in NO_CLAIM) / total if total else 0.0


__all__ = ["NO_CLAIM", "Calibration", "aa_trials", "false_alarm_rate", "run_pool",
           "tracked_metrics"]
