"""Experiment 7, the cost of adaptive layouts: reordering by predicted need at a given accuracy.

docs/calibration.md stylized fact 10 (mechanism 9): frequently reordered layouts are slower than a
static one when their predictions are poor and faster when they are good (mitchell1989: adaptive
menus slower, 81% preferred static; sears1994: stable personalization 17-58% faster; gajos2008:
prediction accuracy matters more than predictability; findlater2004, findlater2008).

**Does the model support the fact?** The literature's cost of adaptation is the user's: a layout
that changes between sessions must be searched again, because the positions the user had learned
no longer hold. Since model v2 (issue #14 item 5) each user has a layout memory
(``sim/mechanisms/memory.py``, docs/model.md section 4.6a): per position, the element last seen
there and a practice count, with cockburn2007's novice-to-expert transition. An element found where
the user learned it is selected fast (Hick-Hyman decision) and is reachable beyond the session's
scan depth; an element at a position whose content changed is back to novice (linear visual
search, charged to the day's attention, and reachable only by scanning). A reordered layout
therefore pays for moving things, in minutes and in what the user finds. The device-switch context
event (section 4.9) is a separate cost of change: the other device shows the previous session's
layout, so it fails more often (attention, trust, a ticket). This experiment measures what the
model does rather than asserting it.

**Design.** On ``productivity_tool`` (its guardrails: locked core), :class:`PredictiveReorder`
rebuilds every user's layout at every step with its *predicted next-needed element* in the first
non-core position (the others follow in default order; a split-menu style adaptive top, as in
sears1994 and findlater2004). With probability ``accuracy`` the prediction is the element the
user's goals value most right now (goal value weighted by the user's current, hidden need — an
oracle the study feeds it, as the lab studies fixed accuracy by design), otherwise a uniformly
random laid-out element. Arms, paired on the same seeds: ``static`` (the default layout), the
reordering policy at every accuracy of the grid, and ``stable random``: accuracy 0 with the random
prediction drawn once per user and kept — the same distribution of layouts as the accuracy-0
reordering, without the reordering; and ``stable predicted``: accuracy 1 with the prediction drawn
at the first step and kept (a stable personalized layout, as sears1994's split menus). Speed is
the professionals' time to complete a task
(``ttc_pros``, days; the scenario's speed outcome), beside minutes of attention per unit of goal
progress.

* **Fact 10:** the reordering policy's time to completion is significantly above static at the
  lowest accuracy and significantly below it at the highest; it passes only if the cost of
  reordering itself is also there.
* **Fact 10, instability:** reordering at accuracy 0 is significantly slower than ``stable
  random`` (same layouts, held still). Without this the slowdown at low accuracy, if any, comes from
  promoting the wrong element (displacing the needed ones down the list), not from instability.
* **Fact 10, selection time (mechanism check):** time to find and select an element (attention
  minutes of search, decision and pointing per engagement) is significantly lower under the stable
  personalized layout than under static (sears1994's direction; its 17-58% is reported beside the
  result, not required: sears1994 compared split menus with alphabetical ones, here one element is
  promoted in an already ordered layout) and significantly higher under the every-step reordering
  at accuracy 0 than under static (mitchell1989, findlater2004). This row checks the memory
  mechanism's selection times, not the outcome.

Accuracy here is about need, not clicks: the need-weighted most valuable element is usually
``focus_mode`` (the most progress per engagement, but 8 minutes and a negative appeal), which users
pick less readily than a random element, so the realised hit rate does not rise with accuracy. At
accuracy 1 the layout changes only when the user's need does, so "frequently reordered" holds at
low accuracy only (the share of steps with a change is in the fact).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from outcome_gym.errors import PolicyError
from outcome_gym.policies.base import BasePolicy
from outcome_gym.policies.spec import PolicySpec
from outcome_gym.runner import RunResult
from outcome_gym.scenario.schema import Scenario
from outcome_gym.sim.interface import Action, Observation, PolicyContext
from outcome_gym.studies.base import EMERGENT, FAIL, MECHANISM, PARTIAL, PASS, Fact, StudyResult
from outcome_gym.studies.common import (
    claim_p,
    diff,
    failure_rate,
    group,
    lift,
    metric,
    moved,
    ratio,
    values,
)
from outcome_gym.studies.runs import Job, JobResult, job_scenario, run_jobs
from outcome_gym.studies.spec import StudyParams, params_dict, size_overrides

NAME = "adaptive"
TITLE = "The cost of adaptive layouts: reordering by predicted need at a given accuracy (fact 10)"
COMMAND = "outcome-gym study adaptive --workers 2"
POLICY = f"{__name__}:PredictiveReorder"  # studies.adaptive:PredictiveReorder


# --- the adaptive policy ---------------------------------------------------------------------


class PredictiveReorder(BasePolicy):
    """Every step, each user's predicted next-needed element goes to the first movable position.

    The prediction is, with probability ``accuracy``, the laid-out element with the largest value
    toward the user's goals weighted by their current need (``need[g]`` where work on goal g is
    still pending, from :meth:`peek`; with no pending need, the largest total value), otherwise a
    uniformly random laid-out element. The layout is the default with that element moved to the
    first movable position and the others shifted down in default order (a core element predicted
    leaves the default unchanged when the core is kept).

    The need is the user's hidden state: a real product cannot see it. It is fed by the study's
    run loop (:func:`run_with_oracle`) through :meth:`peek`, so that accuracy is a parameter the experiment
    controls, as in the lab studies of adaptive menus (gajos2008).

    Args:
        accuracy: Probability the prediction is the need-weighted most valuable element, [0, 1].
        frozen: Draw each user's prediction once (at the first step) and keep it: a stable layout.
        keep_core: Move elements only within the non-core positions.
    """

    name = "predictive_reorder"

    def __init__(self, accuracy: float = 0.5, frozen: bool = False, keep_core: bool = True) -> None:
        self.accuracy = accuracy
        self.frozen = frozen
        self.keep_core = keep_core

    def reset(self, context: PolicyContext, seed: np.random.SeedSequence) -> None:
        """Goal values of the laid-out elements; empty prediction records."""
        super().reset(context, seed)
        if not 0.0 <= float(self.accuracy) <= 1.0:
            raise PolicyError(f"policy '{self.name}': expected accuracy in [0, 1], "
                              f"got {self.accuracy!r}")
        sc = context.scenario
        goals = [g.id for g in sc.goals]
        by_id = {e.id: e for e in sc.product.elements}
        self.elements_ = np.asarray(context.layout_elements, dtype=np.int64)
        self.value_ = np.array([[by_id[context.element_ids[e]].value.get(g, 0.0) for g in goals]
                                for e in self.elements_]).reshape(self.elements_.size, len(goals))
        self.default_ = np.asarray(context.default_layout, dtype=np.int64)
        core = np.asarray(context.core_slot, dtype=bool)
        self.slots_ = np.flatnonzero(~core) if self.keep_core else np.arange(self.default_.size)
        n = context.n_users
        self.need_: np.ndarray | None = None
        self.fixed_: np.ndarray | None = None
        self.predicted_ = np.full(n, -1, dtype=np.int64)
        self.last_layout_: np.ndarray | None = None
        self.sessions_ = 0.0
        self.hits_ = 0.0
        self.oracle_ = 0.0
        self.decisions_ = 0.0
        self.changes_ = 0.0

    def peek(self, need: np.ndarray, remaining: np.ndarray) -> None:
        """The oracle's input for the coming step: N x G need and remaining progress."""
        self.need_ = np.asarray(need, dtype=np.float64) * (np.asarray(remaining) > 0)

    def _oracle(self) -> np.ndarray:
        if self.need_ is None:
            raise PolicyError(f"policy '{self.name}': accuracy > 0 needs the users' need; run it "
                              "with studies.adaptive.run_with_oracle")
        score = self.need_ @ self.value_.T + 1e-3 * self.value_.sum(axis=1)[None, :]
        return self.elements_[np.argmax(score, axis=1)]

    def _predict(self, n: int) -> np.ndarray:
        rng = self.rng_
        use = rng.random(n) < float(self.accuracy)
        pick = self.elements_[rng.integers(self.elements_.size, size=n)]
        return np.where(use, self._oracle(), pick) if use.any() else pick

    def act(self, observation: Observation) -> Action:
        """Move each active user's predicted element to the first movable position."""
        ctx = self.context_
        n = ctx.n_users
        active = np.asarray(observation.active, dtype=bool)
        self._score_last(observation)
        if self.frozen:
            if self.fixed_ is None:
                self.fixed_ = self._predict(n)
            pred = self.fixed_
        else:
            pred = self._predict(n)
        layout = np.broadcast_to(self.default_, (n, self.default_.size)).copy()
        rest = self.default_[self.slots_]
        for e in np.unique(pred):  # a loop over elements, not users
            rows = np.flatnonzero(pred == e)
            if e not in rest:  # a core element: already at the top
                continue
            order = np.concatenate([[e], rest[rest != e]])
            layout[np.ix_(rows, self.slots_)] = order[None, :]
        layout[~active] = self.default_
        self.predicted_ = np.where(active, pred, -1)
        if self.need_ is not None:
            self.oracle_ += float((pred == self._oracle())[active].sum())
        self.decisions_ += float(active.sum())
        if self.last_layout_ is not None:
            self.changes_ += float((layout != self.last_layout_).any(axis=1)[active].sum())
        self.last_layout_ = layout
        return Action(layout=layout, notify=self.default_notify(observation))

    def _score_last(self, obs: Observation) -> None:
        """Hit rate: sessions of the previous step in which the predicted element was engaged."""
        prev = self.predicted_
        s = np.flatnonzero(np.asarray(obs.session, dtype=bool) & (prev >= 0))
        if s.size:
            clicks = np.asarray(obs.clicks)[s, prev[s]]
            self.sessions_ += float(s.size)
            self.hits_ += float((clicks > 0).sum())

    def stats(self) -> dict[str, float]:
        """Realised prediction statistics of the run."""
        return {
            "adaptive.hit_rate": self.hits_ / self.sessions_ if self.sessions_ else math.nan,
            "adaptive.oracle_share": self.oracle_ / self.decisions_ if self.decisions_ else math.nan,
            "adaptive.change_rate": self.changes_ / self.decisions_ if self.decisions_ else math.nan,
        }


# --- running with the oracle -----------------------------------------------------------------


def run_with_oracle(scenario: Scenario, spec: PolicySpec, seed: int, *,
                    guardrails: Any = None) -> RunResult:
    """One run with the oracle feed: the executor's run function for this study (:data:`RUNNER`).

    :func:`outcome_gym.runner.run` calls back before each ``act``; there a policy with a ``peek``
    method gets the users' current need and remaining progress (``SimulationModel.needs``,
    read-only: it sets only the task goals' current step, which ``advance`` sets again). Policy
    statistics (``stats()``) go to the summary's ``extra`` numbers and join the flat metrics.
    """
    from outcome_gym.runner import run

    policy = spec.build()
    peek = getattr(policy, "peek", None)

    def oracle(model: Any) -> None:
        peek(*model.needs())  # the oracle: hidden state, see the docstring

    res = run(scenario, policy, seed, guardrails=guardrails,
              before_act=oracle if peek is not None else None)
    if hasattr(policy, "stats"):
        return dataclasses.replace(res, summary=res.summary.with_extra(policy.stats()))
    return res


RUNNER = f"{__name__}:run_with_oracle"  # studies.adaptive:run_with_oracle, run in the workers


def run_job(job: Job) -> JobResult:
    """One job with the oracle feed, here (a check of :func:`run_with_oracle`)."""
    return run_jobs([job], keep=(), runner=RUNNER)[0]


# --- parameters ------------------------------------------------------------------------------


class Params(StudyParams):
    """Parameters of the adaptive-cost experiment."""

    seeds: int = Field(default=20, ge=2, le=1000, description="Paired seeds per arm.")
    scenario: str = Field(default="productivity_tool", description="Bundled name or path.")
    users: int | None = Field(default=None, ge=10, description="Population size override.")
    horizon_days: int | None = Field(default=None, ge=7, description="Horizon override.")
    accuracies: list[float] = Field(
        default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0], min_length=2,
        description="Prediction accuracies of the reordering policy, increasing, in [0, 1].")
    speed: str = Field(default="ttc_pros",
                       description="Outcome id of the speed measure (a time: lower is faster).")

    @field_validator("accuracies")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if any(not 0.0 <= a <= 1.0 for a in v) or any(b <= a for a, b in itertools.pairwise(v)):
            raise ValueError(f"expected increasing accuracies in [0, 1], got {v}")
        return v


FAST = {"seeds": 6, "users": 600, "accuracies": [0.0, 1.0]}


def arms(p: Params) -> dict[str, str]:
    """Arm tag -> policy spec."""
    out = {"static": "static",
           "stable random": f"{POLICY}:accuracy=0,frozen=true",
           "stable predicted": f"{POLICY}:accuracy=1,frozen=true"}
    for a in p.accuracies:
        out[f"reorder {a:g}"] = f"{POLICY}:accuracy={a:g}"
    return out


def jobs(p: Params) -> list[Job]:
    """Every run of the study (the scenario's guardrails)."""
    ov = size_overrides(p)
    return [Job(scenario=p.scenario, policy=pol, seed=seed, overrides=ov, tag=tag)
            for tag, pol in arms(p).items() for seed in p.seed_list()]


# --- analysis --------------------------------------------------------------------------------


# minutes of attention in the product per unit of goal progress (lower: more efficient)
minutes_per_progress = ratio(metric("engagement.minutes"), metric("wellbeing.goal_progress"))
# minutes to find and select an element, per engagement (layout memory; opened notifications count
# as engagements with no selection time, the same in every arm of a seed but for the choices made)
selection_time = ratio(metric("attention.search_minutes"), metric("engagement.clicks"))


def _speed(p: Params) -> Callable[[JobResult], float]:
    return metric(f"outcome.{p.speed}")


def _facts(runs: dict[str, list[JobResult]], p: Params, scope: str) -> list[Fact]:
    lo_tag, hi_tag = f"reorder {p.accuracies[0]:g}", f"reorder {p.accuracies[-1]:g}"
    low, p_low = lift(runs["static"], runs[lo_tag], _speed(p))
    high, p_high = lift(runs["static"], runs[hi_tag], _speed(p))
    inst, p_inst = lift(runs["stable random"], runs[lo_tag], _speed(p))
    inst_ds = diff(runs["stable random"], runs[lo_tag], _device_rate)
    inst_min, p_inst_min = lift(runs["stable random"], runs[lo_tag], minutes_per_progress)
    slower, faster, costly = moved(low, p_low) == 1, moved(high, p_high) == -1, moved(inst, p_inst) == 1
    curve = ", ".join(
        f"{a:g}: {lift(runs['static'], runs[f'reorder {a:g}'], _speed(p))[0].text()}"
        for a in p.accuracies)
    def arm_mean(a: float, name: str) -> float:
        return float(np.nanmean(values(runs[f"reorder {a:g}"], metric(name))))

    hits = ", ".join(f"{a:g}: {arm_mean(a, 'adaptive.hit_rate'):.0%}" for a in p.accuracies)
    changes = ", ".join(f"{a:g}: {arm_mean(a, 'adaptive.change_rate'):.0%}" for a in p.accuracies)
    if slower and faster and costly:
        st, why = PASS, ""
    else:
        st = FAIL if not (slower or faster) else PARTIAL
        why = ("Not significant in the predicted direction: "
               + ", ".join(x for x, ok in (("slower at low accuracy", slower),
                                           ("faster at high accuracy", faster),
                                           ("the cost of reordering itself (instability row)",
                                            costly)) if not ok) + ".")
        if low.mean < 0:
            why += (" Reordering is faster than static here, not slower. An ablation of the fast "
                    "version (600 users, 6 seeds; issue #14 note) locates why: with appeal_utility "
                    "at its pre-fit 1.0 the same reordering is +6.8% slower than static (+3.3% vs "
                    "held still), and with layout memory off +6.6%; with outside progress off it "
                    "is still -5.6%. At the fitted 3.6 choice is mostly impulsive, and a stable, "
                    "learned layout lets users reach the appealing distractions deep in it from "
                    "memory; a layout that keeps moving takes that reach away.")
        if not faster and high.mean > 0:
            held, p_held = lift(runs["static"], runs["stable predicted"], _speed(p))
            why += (" Even the accurate reordering is slower than static, and not because it "
                    "moves things: the same accurate prediction held still (stable predicted) is "
                    f"slower still ({p.speed} {held.text()} vs static, p={p_held:.2f}). The "
                    "need-weighted most valuable element (usually focus_mode) does not shorten "
                    "task completion when promoted, and promoting it shifts the elements below it, "
                    "which users had learned where they were (layout memory).")
    fact10 = Fact(
        fact="10 adaptive cost", scope=scope,
        literature="adaptive menus slower than static, 81% preferred static (mitchell1989); "
                   "stable personalization 17-58% faster (sears1994); accuracy matters more than "
                   "predictability (gajos2008)",
        criterion=f"{p.speed} (time to complete a task, days) of the every-step reordering "
                  f"significantly above static at accuracy {p.accuracies[0]:g} and below it at "
                  f"{p.accuracies[-1]:g} (paired t p<0.05), with the cost of "
                  "reordering itself (next fact) present",
        produced=f"{p.speed} vs static by accuracy: {curve}; share of steps a user's layout "
                 f"changes {changes}; realised hit rate (predicted element engaged in the "
                 f"session) {hits}",
        status=st, explanation=why,
        label=EMERGENT,
        label_why="whether adapting pays is the balance of what right predictions save and what "
                  "re-finding moved elements costs over many sessions; no one equation sets it",
        p_values={"slower at low accuracy": claim_p(low, p_low, 1),
                  "faster at high accuracy": claim_p(high, p_high, -1)},
        values={"low_lift": low.mean, "low_p": p_low, "high_lift": high.mean, "high_p": p_high,
                "instability_lift": inst.mean, "instability_p": p_inst})
    fact10i = Fact(
        fact="10 adaptive cost: instability", scope=scope,
        literature="the cost of adaptation is re-finding what moved (mitchell1989, sears1994, "
                   "findlater2004)",
        criterion=f"at accuracy {p.accuracies[0]:g}, reordering every step is significantly slower "
                  f"({p.speed}) than the same random promotions held fixed per user (paired "
                  "t p<0.05)",
        produced=f"reordering vs stable: {p.speed} {inst.text()} (p={p_inst:.2f}), minutes per "
                 f"unit of progress {inst_min.text()} (p={p_inst_min:.2f}), device-switch "
                 f"failure rate {inst_ds.text('{:+.1%}')} (points)",
        status=PASS if costly else FAIL,
        explanation="" if costly else (
            "The same layouts held still are not significantly faster: what layout memory "
            "charges for a change (novice search time, lost reach beyond the scan depth) does "
            "not measurably move task completion here."),
        label=MECHANISM,
        label_why="the layout-memory equation charges for every moved element (conservatively "
                  "labelled: the row checks that this built-in cost reaches task completion)",
        p_values={"reordering slower": claim_p(inst, p_inst, 1)},
        values={"lift": inst.mean, "p": p_inst, "minutes_lift": inst_min.mean,
                "minutes_p": p_inst_min, "device_switch_diff": inst_ds.mean})
    return [fact10, fact10i, _selection_fact(runs, p, scope)]


def _selection_fact(runs: dict[str, list[JobResult]], p: Params, scope: str) -> Fact:
    """Mechanism check of layout memory's selection times (sears1994, mitchell1989)."""
    lo_tag = f"reorder {p.accuracies[0]:g}"
    stable, p_stable = lift(runs["static"], runs["stable predicted"], selection_time)
    churn, p_churn = lift(runs["static"], runs[lo_tag], selection_time)
    faster = moved(stable, p_stable) == -1
    slower = moved(churn, p_churn) == 1
    band = "inside" if -0.58 <= stable.mean <= -0.17 else "outside"
    missing = [x for x, ok in (("stable personalized faster than static", faster),
                               ("every-step reordering slower than static", slower)) if not ok]
    return Fact(
        fact="10 adaptive cost: selection time", scope=scope,
        literature="stable personalized (split) menus 17-58% faster than static ones (sears1994); "
                   "frequently changing adaptive menus slower than static (mitchell1989, "
                   "findlater2004)",
        criterion="mechanism check: search, decision and pointing minutes per engagement "
                  "significantly lower under the stable personalized layout (accuracy 1, held "
                  "fixed) than static, and significantly higher under the every-step reordering "
                  f"at accuracy {p.accuracies[0]:g} than static (paired t p<0.05); "
                  "sears1994's 17-58% reported, not required",
        produced=f"selection time per engagement vs static: stable personalized {stable.text()} "
                 f"(p={p_stable:.2f}; {band} sears1994's 17-58%), reordering at accuracy "
                 f"{p.accuracies[0]:g} {churn.text()} (p={p_churn:.2f})",
        status=PASS if faster and slower else (PARTIAL if faster or slower else FAIL),
        explanation=_selection_why(missing, stable.mean, churn.mean),
        label=MECHANISM,
        label_why="selection time is the layout-memory equation's own output (search, decision, "
                  "pointing; cockburn2007's form)",
        p_values={"stable faster": claim_p(stable, p_stable, -1),
                  "reordering slower": claim_p(churn, p_churn, 1)},
        values={"stable_lift": stable.mean, "stable_p": p_stable, "reorder_lift": churn.mean,
                "reorder_p": p_churn})


def _selection_why(missing: list[str], stable: float, churn: float) -> str:
    """Why the selection-time row missed, from the signs of its two lifts."""
    if not missing:
        return ""
    why = "Not significant in the predicted direction: " + ", ".join(missing) + "."
    if churn < 0:
        why += (" Per engagement the every-step reordering is faster, not slower: a user whose "
                "layout keeps changing reaches fewer positions beyond the scan depth from memory "
                "(the positions a promotion shifts are unknown again), so their engagements stay "
                "nearer the top, where selection is quick even for a novice. "
                "The per-position cost of a change is there (at equal reach, reordering "
                "every step costs 14-21% more selection time per click than the same layouts held "
                "still on the benchmark scenario: tests/sim/test_memory.py), but a per-engagement "
                "mean mixes it with where users click.")
    if -0.17 < stable < 0:
        why += (" The stable personalized layout is faster but far below sears1994's 17-58%: it "
                "promotes one element in an already ordered layout, where sears1994 compared "
                "split menus with alphabetical ones.")
    return why


_device_rate = failure_rate("device_switch")


def _table(runs: dict[str, list[JobResult]], p: Params, outcomes: list[str]) -> pd.DataFrame:
    rows = []
    for tag, arm in runs.items():
        row: dict[str, Any] = {"arm": tag, "policy": arm[0].job.policy, "seeds": len(arm)}
        for m in ("adaptive.hit_rate", "adaptive.oracle_share", "adaptive.change_rate"):
            row[m] = (float(np.nanmean(values(arm, metric(m)))) if m in arm[0].metrics
                      else math.nan)
        for m in (*outcomes, "engagement.index", "engagement.minutes",
                  "wellbeing.goal_progress", "fragmentation.layout_distance"):
            row[m] = float(values(arm, metric(m)).mean())
        row["minutes per progress"] = float(values(arm, minutes_per_progress).mean())
        row["selection minutes per engagement"] = float(values(arm, selection_time).mean())
        row["device switch failure rate"] = float(values(arm, _device_rate).mean())
        if tag != "static":
            for m in outcomes:
                row[f"{m} lift"] = lift(runs["static"], arm, metric(m))[0].text()
            row["minutes per progress lift"] = lift(runs["static"], arm,
                                                    minutes_per_progress)[0].text()
            row["selection time lift"] = lift(runs["static"], arm, selection_time)[0].text()
        rows.append(row)
    return pd.DataFrame(rows)


def _figure(runs: dict[str, list[JobResult]], p: Params) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (fn, label) in zip(axes, ((_speed(p), f"{p.speed} lift vs static (%)"),
                                      (minutes_per_progress, "minutes per progress lift (%)")),
                               strict=True):
        est = [lift(runs["static"], runs[f"reorder {a:g}"], fn)[0] for a in p.accuracies]
        ax.errorbar(p.accuracies, [100 * e.mean for e in est],
                    yerr=[[100 * (e.mean - e.low) for e in est],
                          [100 * (e.high - e.mean) for e in est]],
                    fmt="o-", capsize=3, label="reordered every step")
        st = lift(runs["static"], runs["stable random"], fn)[0]
        ax.errorbar([p.accuracies[0]], [100 * st.mean],
                    yerr=[[100 * (st.mean - st.low)], [100 * (st.high - st.mean)]],
                    fmt="s", color="C3", capsize=3, label="stable random (accuracy 0, fixed)")
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_xlabel("prediction accuracy")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    axes[0].set_title("Above 0 = slower than the static layout")
    axes[1].set_title("Attention per unit of progress")
    fig.tight_layout()
    return fig


def run(params: Params, workers: int = 1, progress: bool = False,
        runs_dir: Path | None = None) -> StudyResult:
    """Run the adaptive-cost experiment."""
    job_list = jobs(params)
    sc = job_scenario(job_list[0])
    if params.speed not in {o.id for o in sc.outcomes}:
        raise ValueError(f"expected speed to be an outcome id of {params.scenario}, "
                         f"got {params.speed!r}")
    results = run_jobs(job_list, workers=workers, runs_dir=runs_dir, keep=(), progress=progress,
                       desc=NAME, runner=RUNNER)
    grouped = group(results)
    runs = {tag: grouped[(params.scenario, tag)] for tag in arms(params)}
    scope = f"{params.scenario}, accuracy {params.accuracies[0]:g} -> {params.accuracies[-1]:g}"
    outcomes = [f"outcome.{o.id}" for o in sc.outcomes]
    return StudyResult(
        name=NAME, title=TITLE, command=COMMAND, params=params_dict(params),
        facts=_facts(runs, params, scope), tables={"arms": _table(runs, params, outcomes)},
        figures={"adaptive": _figure(runs, params)},
        notes=[__doc__.split("\n\n", 1)[1].strip()],
    )
