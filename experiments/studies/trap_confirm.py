"""Fact 1 across generated worlds, confirmatory: the trap study's generated rows re-tested, sized.

docs/calibration.md stylized fact 1 (kleinberg2024), issue #14. The trap study (``studies.trap``)
ran the engagement and outcome bandits (layout only) on ``productivity_tool`` with its non-core
elements replaced by generated ones at appeal-value correlation r = -0.8 .. +0.8, 2 element draws x
10 seeds per r. Those rows were a **pilot**: where the trap's claim is *emergent* (r = -0.4, 0,
+0.4, +0.8) the engagement policy's engagement gain was significant alone (p = 0.032 .. 0.045) but
not after Holm's correction over fact 1's 11 rows, and two draws cannot say anything "across
generated worlds". This study is the confirmatory test, **sized from the pilot after its result
was seen**, on **element draws and seeds held apart from the pilot's**, with fact 1's criterion
unchanged (``studies.trap._fact1``: engagement index significantly up, paired t-test p<0.05, and
the primary outcome not significantly better; then Holm within fact 1). Module and YAML were
committed before the first run.

**Design (written before any confirmatory run).**

* *Bins:* the four emergent bins r = -0.4, 0, +0.4, +0.8. r = -0.8 is left out: its laid-out
  correlation (-0.34) makes it *follows from inputs*, and its pilot row already passed after Holm.
* *Replicate:* one fresh element draw (``product.generate.seed``) run on its own fresh seed, both
  policies on that seed (paired). Every replicate is a different generated world, so the paired
  test's replicates are independent draws of (world, seed) and the row speaks for generated worlds,
  not for two of them. Draw seeds start at ``first_draw`` = 1000 (the pilot's were 0 and 1), run
  seeds at ``first_seed`` = 200000 (the pilot's were 0 .. 9; no other study uses these).
* *Level:* fact 1 has 11 rows with significance claims in the trap study; these 4 make 15, and
  Holm spans both studies (``holm_across_studies``). The design level is Bonferroni's 0.05 / 15 =
  0.00333: a row whose p is below it survives Holm whatever the other rows' p-values.
* *Effect:* the pilot's standardised effect of the engagement claim, d = t / sqrt(20) with t from
  its two-sided p at 19 df (:data:`PILOT`): 0.479 (r=-0.4), 0.505 (0), 0.516 (+0.4), 0.499 (+0.8).
  The design uses the smallest, 0.479, for every bin. The pilot's runs, re-run to look at its
  spread (same numbers), show no world effect beyond seeds: the two draws' mean engagement-index
  differences are 1.71 / 1.30 (r=-0.4), 1.76 / 1.18 (0), 1.31 / 1.26 (+0.4), 1.50 / 1.24 (+0.8)
  points against a per-world standard error of 0.6 .. 1.2, so the pooled d is taken as the
  effect per (world, seed) replicate. Caveat: the pilot's effects were selected by being near
  significance, so they are likely optimistic (winner's curse); two draws cannot rule out a world
  effect; the design corrects for neither.
* *Power:* a two-sided paired t-test at level 0.00333 has 80% power for d = 0.479 at
  :func:`replicates_needed` = 67 replicates (noncentral t: 80.5%; 66 give 79.6%), so ``draws`` =
  67 per bin: 4 bins x 67 worlds x 2 policies = 536 runs (about 5 minutes on 1 core at 2,000
  users).
* *What the power does not cover:* the criterion's second clause (the primary outcome *not*
  significantly better) gets harder to meet as replicates grow when the outcome effect is not
  zero. The pilot's outcome effects were small and positive (d = 0.16, 0.19, 0.11, 0.22 by bin);
  if they are real, the outcome is significantly better at n = 67 with probability 0.26, 0.34,
  0.15, 0.43 (:func:`outcome_better_probability`), and the row fails then, as it should (the
  engagement policy would then be better on the outcome too). Projected chance the whole criterion
  holds, taking the pilot's effects as true: about 0.8 x (0.74, 0.66, 0.85, 0.57).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field
from scipy.stats import nct
from scipy.stats import t as student_t

from outcome_gym.scenario.generate import appeal_value_correlation
from outcome_gym.studies.base import Fact, StudyResult
from outcome_gym.studies.common import group, input_label, lift, metric
from outcome_gym.studies.runs import Job, JobResult, job_scenario, run_jobs
from outcome_gym.studies.spec import StudyParams, params_dict, size_overrides

from . import trap

NAME = "trap_confirm"
TITLE = "The trap across generated worlds, confirmatory (fact 1; sized from the trap study's pilot)"
COMMAND = "outcome-gym study trap_confirm --workers 1"

PILOT_REPLICATES = 20  # the pilot's rows: 2 element draws x 10 seeds, one paired t-test
PILOT = {  # r: (p of "engagement up", p of the primary outcome), results/trap/facts.json, trap.py e0c6264d8d
    -0.4: (0.045253532533149565, 0.4710967456158104),
    0.0: (0.03584457439030582, 0.39993168654633865),
    0.4: (0.032296455485721, 0.6174633380299457),
    0.8: (0.037850699313428215, 0.33444574582672354),
}
FACT1_ROWS_BEFORE = 11  # rows of fact 1 with significance claims in the trap study
ALPHA = 0.05
POWER = 0.80


def pilot_effect(p: float, n: int = PILOT_REPLICATES) -> float:
    """Standardised paired effect d = t / sqrt(n) of a two-sided t-test's p over n pairs."""
    return float(student_t.ppf(1.0 - p / 2.0, n - 1)) / math.sqrt(n)


def power(n: int, d: float, alpha: float) -> float:
    """Power of a two-sided paired t-test of n pairs at level ``alpha`` for effect ``d``."""
    df = n - 1
    crit = float(student_t.ppf(1.0 - alpha / 2.0, df))
    nc = d * math.sqrt(n)
    return float(1.0 - nct.cdf(crit, df, nc) + nct.cdf(-crit, df, nc))


def replicates_needed(d: float, alpha: float, target: float = POWER) -> int:
    """Smallest number of pairs giving at least ``target`` power (two-sided paired t-test)."""
    for n in range(3, 100_000):
        if power(n, d, alpha) >= target:
            return n
    raise ValueError(f"expected an effect large enough to reach {target:.0%} power, got d={d}")


def design_alpha(bins: int) -> float:
    """Bonferroni's level over fact 1's rows once the ``bins`` new rows join them."""
    return ALPHA / (FACT1_ROWS_BEFORE + bins)


def design_replicates(bins: int = len(PILOT)) -> int:
    """Replicates per bin: 80% power at :func:`design_alpha` for the smallest pilot effect."""
    d = min(pilot_effect(p_eng) for p_eng, _p_out in PILOT.values())
    return replicates_needed(d, design_alpha(bins))


def outcome_better_probability(p_out: float, n: int) -> float:
    """Chance the primary outcome comes out significantly better (p<0.05, positive) at n pairs,
    if the pilot's outcome effect (from its two-sided p, taken as positive) were the truth.
    """
    d, df = pilot_effect(p_out), n - 1
    crit = float(student_t.ppf(1.0 - ALPHA / 2.0, df))
    return float(1.0 - nct.cdf(crit, df, d * math.sqrt(n)))


class Params(StudyParams):
    """Parameters of the confirmatory study (defaults: the committed design)."""

    seeds: int = Field(default=1, ge=1, le=1000,
                       description="Run seeds per element draw (1: each world its own seed).")
    first_seed: int = Field(default=200_000, ge=0, description="First run seed.")
    users: int | None = Field(default=None, ge=10, description="Population size override.")
    horizon_days: int | None = Field(default=None, ge=7, description="Horizon override.")
    base: str = Field(default="productivity_tool", description="The world whose non-core "
                                                               "elements are generated.")
    correlations: list[float] = Field(default_factory=lambda: [-0.4, 0.0, 0.4, 0.8],
                                      min_length=1, description="Appeal-value correlations.")
    draws: int = Field(default=67, ge=2, le=10_000, description="Element draws per correlation.")
    first_draw: int = Field(default=1000, ge=0, description="First element-draw seed.")
    engagement_policy: str = "engagement_bandit:levers=layout"
    outcome_policy: str = "outcome_bandit:levers=layout"

    def replicates(self) -> list[tuple[int, int]]:
        """``(draw seed, run seed)`` of every replicate, in order."""
        return [(self.first_draw + j, self.first_seed + j * self.seeds + k)
                for j in range(self.draws) for k in range(self.seeds)]


FAST = {"users": 1500, "correlations": [0.0], "draws": 8}
"""The test suite's version: r = 0 only, 8 draws at 1,500 users."""


def tag(r: float, arm: str) -> str:
    """The tag of one bin's arm."""
    return f"confirm r={r:+g} {arm}"


def jobs(p: Params) -> list[Job]:
    """Every run: per bin and replicate, both policies on the replicate's world and seed."""
    ov = size_overrides(p)
    base = job_scenario(Job(scenario=p.base, overrides=ov))
    return [Job(scenario=p.base, policy=pol, seed=seed,
                overrides=ov + trap.generated_overrides(base, r, draw), tag=tag(r, arm))
            for r in p.correlations for draw, seed in p.replicates()
            for arm, pol in (("engagement", p.engagement_policy), ("outcome", p.outcome_policy))]


def _fact(p: Params, runs: dict[str, list[JobResult]], r: float) -> Fact:
    """Fact 1 at correlation r over the bin's replicates (the trap study's criterion)."""
    worlds = [job_scenario(res.job) for res in runs["engagement"]]
    shown = [x for x in (appeal_value_correlation(w.product.elements) for w in worlds)
             if x is not None]
    # the label follows the most negative laid-out r of any draw (the most input-driven world)
    labelled = worlds[int(np.argmin(shown))] if shown else worlds[0]
    label, label_why = input_label(labelled, flat_outcome=True)
    fact = trap._fact1(f"{p.base}, generated elements r={r:+.1f}", runs, worlds[0])
    n = len(runs["engagement"])
    r_text = (f"{min(shown):+.2f} .. {max(shown):+.2f}" if shown else "n/a")
    return dataclasses.replace(
        fact, fact="1 trap: generated worlds, confirmatory",
        literature="the trap should come from how users choose and what engagement credits, not "
                   "from a world built so that appealing elements are useless (issue #14)",
        criterion=fact.criterion + f"; confirmatory: sized from the trap study's pilot rows "
                  f"(2 draws x 10 seeds) after their result was seen, for 80% power at "
                  f"p<{design_alpha(len(p.correlations)):.5f} (Bonferroni over fact 1's rows); "
                  f"{n} replicates, each a fresh element draw on its own seed, draws and seeds "
                  f"held apart from the pilot's; committed before its first run",
        produced=fact.produced + f"; laid-out appeal-value r over the {len(worlds)} worlds "
                 f"(core elements included) {r_text}",
        label=label, label_why=label_why)


def _table(p: Params, grouped: dict[tuple[str, str], list[JobResult]]) -> pd.DataFrame:
    """Per bin: both arms' means, the paired lifts with p, and the pilot's numbers beside them."""
    rows = []
    for r in p.correlations:
        runs = {arm: grouped[(p.base, tag(r, arm))] for arm in ("engagement", "outcome")}
        primary = job_scenario(runs["engagement"][0].job).outcomes[0].id
        eng, p_eng = lift(runs["outcome"], runs["engagement"], metric("engagement.index"))
        out, p_out = lift(runs["outcome"], runs["engagement"], metric(f"outcome.{primary}"))
        pilot = PILOT.get(r, (math.nan, math.nan))
        rows.append({"r": r, "replicates": len(runs["engagement"]),
                     "engagement_lift": eng.text(), "engagement_p": p_eng,
                     f"{primary}_lift": out.text(), f"{primary}_p": p_out,
                     "pilot_engagement_p": pilot[0], "pilot_outcome_p": pilot[1]})
    return pd.DataFrame(rows)


def run(params: Params, workers: int = 1, progress: bool = False,
        runs_dir: Path | None = None) -> StudyResult:
    """Run the confirmatory study."""
    results = run_jobs(jobs(params), workers=workers, runs_dir=runs_dir, keep=(),
                       progress=progress, desc=NAME)
    grouped = group(results)
    facts = [_fact(params, {arm: grouped[(params.base, tag(r, arm))]
                            for arm in ("engagement", "outcome")}, r)
             for r in params.correlations]
    return StudyResult(
        name=NAME, title=TITLE, command=COMMAND, params=params_dict(params), facts=facts,
        tables={"bins": _table(params, grouped)},
        notes=[__doc__.split("\n\n", 1)[1].strip()],
    )
