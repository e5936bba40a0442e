"""A/A calibration of the verdict rules: a policy against itself on disjoint seeds.

Every verdict other than ``no effect`` (and ``quiet win`` or ``aligned``, which need an outcome
significantly better) is a false alarm in an A/A comparison; the rules promise a false ``trap`` or
``harm`` in at most 5% of trials. This module measures that rate from a pool of runs (one policy,
many seeds): each trial draws 2n distinct seeds, treats the first n as 'A' and the last n as 'B'
(paired in draw order), and applies exactly the comparison machinery of :func:`compare`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from outcome_gym.compare import _assemble, _run_one
from outcome_gym.policies.spec import PolicySpec
from outcome_gym.scenario import Scenario, scenario_to_dict


def run_pool(scenario: Scenario, policy: str, seeds: range | list[int]) -> list[dict[str, Any]]:
    """One run per seed (in this process)."""
    data = scenario_to_dict(scenario)
    spec = PolicySpec(policy=policy)
    return [_run_one((data, spec, s, None, None)) for s in seeds]


def aa_trials(scenario: Scenario, pool: list[dict[str, Any]], n_seeds: int, trials: int,
              seed: int = 0) -> Counter:
    """Verdict counts over ``trials`` A/A comparisons drawn from ``pool``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, trials, n_seeds]))
    counts: Counter = Counter()
    specs = [PolicySpec(policy="static", label="A"), PolicySpec(policy="static", label="B")]
    for _ in range(trials):
        pick = rng.choice(len(pool), size=2 * n_seeds, replace=False)
        results = []
        for i, k in enumerate(pick):
            r = dict(pool[k])
            r["label"] = "A" if i < n_seeds else "B"
            r["seed"] = i % n_seeds  # pair the i-th A seed with the i-th B seed
            results.append(r)
        cmp = _assemble(scenario, specs, "A", list(range(n_seeds)), results)
        counts[cmp.verdicts["B"].verdict] += 1
    return counts


def false_alarm_rate(counts: Counter) -> float:
    """Share of trials with a false trap or harm."""
    total = sum(counts.values())
    return (counts["trap"] + counts["harm"]) / total if total else 0.0
