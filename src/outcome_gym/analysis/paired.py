"""A paired comparison's numbers: per-seed metrics in, statistics and verdicts out (pure).

The input is one row per run — ``policy`` (the label), ``seed``, optionally ``run_id``, and the flat
metrics of :func:`~outcome_gym.metrics.flat.flatten` — so the same function serves
:func:`outcome_gym.compare`, the A/A and contract calibrations (rows drawn from a pool of runs) and
anyone holding run summaries. Each policy is paired with the reference seed by seed; every metric
gets a :class:`~outcome_gym.analysis.stats.PairedStat` at 95%, and the engagement index and the
outcome specs (primary and secondary, with their margins) go to the verdict rules
(:func:`~outcome_gym.analysis.verdict.judge`, docs/verdicts.md), with the segments the scenario's
population leaves without users (their specs are not measured).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from outcome_gym.analysis.stats import PairedStat, paired
from outcome_gym.analysis.verdict import MetricInput, Verdict, judge
from outcome_gym.metrics.flat import MetricInfo, describe
from outcome_gym.scenario import Scenario, primary_outcomes

DAILY = ("clicks", "sessions", "opens", "minutes", "delivered", "goal_progress",
         "goal_minutes", "distraction_minutes", "support_tickets", "churned")
"""Columns of a run's steps table summed per day for the daily series."""

ID_COLUMNS = ("policy", "seed", "run_id")
"""Columns of a runs table that identify a run; every other column is a metric."""


@dataclass(frozen=True)
class PairedAnalysis:
    """Every policy against the reference.

    Attributes:
        stats: Policy label -> metric -> paired statistic (95%).
        verdicts: Policy label -> verdict.
        info: Metric -> what it measures (family, direction, threshold).
    """

    stats: dict[str, dict[str, PairedStat]]
    verdicts: dict[str, Verdict]
    info: dict[str, MetricInfo]


def daily_series(steps: pd.DataFrame, n_users: int) -> pd.DataFrame:
    """Per-user daily totals of a run's steps table (one row per day)."""
    cols = [c for c in DAILY if c in steps] + [c for c in steps if c.endswith("_failures")]
    day = steps.groupby("day")[cols].sum() / max(n_users, 1)
    return day.reset_index()


def metric_names(runs: pd.DataFrame) -> list[str]:
    """The metric columns of a runs table, in column order."""
    return [c for c in runs.columns if c not in ID_COLUMNS]


def coherence(scenario: Scenario, pol: pd.DataFrame) -> tuple[bool, list[str]]:
    """The coherence flag of a policy's runs against the scenario's thresholds, and why."""
    th = scenario.guardrails.thresholds
    why = []
    core = float(pol["fragmentation.core_consistency"].mean())
    if core < th.core_consistency_min:
        why.append(f"core consistency {core:.1%} below {th.core_consistency_min:.0%}")
    fail = float(pol["fragmentation.context_failure_rate"].mean())
    if th.context_failure_max is not None and fail > th.context_failure_max:
        why.append(f"context-failure rate {fail:.1%} above {th.context_failure_max:.0%}")
    return bool(why), why


def verdict_inputs(scenario: Scenario, info: dict[str, MetricInfo], ref: pd.DataFrame,
                   pol: pd.DataFrame) -> tuple[MetricInput, list[MetricInput]]:
    """The engagement index and every outcome spec (role, direction, margin) for the verdict."""
    def values(m: str) -> tuple[np.ndarray, np.ndarray]:
        return ref[m].to_numpy(dtype=np.float64), pol[m].to_numpy(dtype=np.float64)

    eng = MetricInput("engagement.index", "engagement", None, "increase",
                      scenario.verdict.engagement_margin, *values("engagement.index"))
    primary = {spec.id for spec in primary_outcomes(scenario).values()}
    outs = [MetricInput(f"outcome.{o.id}", "primary" if o.id in primary else "secondary",
                        o.segment, info[f"outcome.{o.id}"].direction, o.threshold,
                        *values(f"outcome.{o.id}"))
            for o in scenario.outcomes if f"outcome.{o.id}" in info]
    return eng, outs


def paired_analysis(scenario: Scenario, labels: list[str], reference: str, seeds: list[int],
                    runs: pd.DataFrame) -> PairedAnalysis:
    """Statistics and verdicts of every policy in ``labels`` against ``reference``.

    Args:
        scenario: The scenario the runs simulated (its outcome specs and thresholds).
        labels: Policy labels, the reference among them.
        reference: The reference's label.
        seeds: The seeds every policy ran, in pairing order.
        runs: One row per (policy, seed) with the flat metrics.

    Raises:
        KeyError: A policy lacks a run on one of ``seeds``.
    """
    names = metric_names(runs)
    info = {m: describe(scenario, m) for m in names}
    ref = runs[runs["policy"] == reference].set_index("seed").loc[seeds]
    stats: dict[str, dict[str, PairedStat]] = {}
    verdicts: dict[str, Verdict] = {}
    empty = scenario.population.empty_segments()  # the same on every seed (segment_counts)
    for label in labels:
        if label == reference:
            continue
        pol = runs[runs["policy"] == label].set_index("seed").loc[seeds]
        stats[label] = {m: paired(ref[m].to_numpy(), pol[m].to_numpy()) for m in names}
        flag, why = coherence(scenario, pol)
        eng, outs = verdict_inputs(scenario, info, ref, pol)
        verdicts[label] = judge(label, reference, eng, outs, flag, why,
                                alpha=scenario.verdict.alpha, empty=empty)
    return PairedAnalysis(stats=stats, verdicts=verdicts, info=info)


__all__ = ["DAILY", "ID_COLUMNS", "PairedAnalysis", "coherence", "daily_series", "metric_names",
           "paired_analysis", "verdict_inputs"]
