"""Facts 7 and 8 at the mechanism level: the habit curve and position effects.

docs/calibration.md stylized fact 7 (lally2010): with daily repetition, the median time to 95% of the
habit plateau is 50-80 days with a right tail past 150 days, and one missed day changes day-84
habit by under 5%. Fact 8 (recsim, trecs, craswell2008): click-through falls with rank, and
swapping the top two elements does not fully swap their rates (appeal and position both matter).

Both are properties of single mechanisms, so the study drives them directly, as the unit tests do,
but over many users and independent seeds with intervals: the habit update
(``sim.mechanisms.habits``) on the default ``habit_days`` distribution of a segment, and the
in-session cascade (``sim.mechanisms.engagement.run_sessions``) on a layout of equally appealing
elements, then on two elements of different appeal in both orders. The nudge part of fact 7 (a
nudge moves habitual users less) is not measured here.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pydantic import Field

from outcome_gym.scenario.distributions import LogNormal
from outcome_gym.scenario.schema import Segment, UserModel
from outcome_gym.sim.mechanisms import engagement
from outcome_gym.sim.mechanisms.habits import update_habit
from outcome_gym.sim.params import choice_params
from outcome_gym.sim.population import habit_rate_from_days
from outcome_gym.studies.base import MECHANISM, Estimate, Fact, StudyResult, status
from outcome_gym.studies.spec import StudyParams, params_dict

NAME = "mechanisms"
TITLE = "Mechanism-level facts: the habit curve (fact 7) and position effects (fact 8)"
COMMAND = "outcome-gym study mechanisms"
HABIT_FADE = 0.01  # the user model's default daily fade after two missed days


class Params(StudyParams):
    """Parameters of the mechanism study."""

    users: int = Field(default=20_000, ge=100, description="Simulated users per seed.")
    slots: int = Field(default=5, ge=3, le=20, description="Layout positions for fact 8.")


FAST = {"seeds": 4, "users": 4000}


def habit_curve(seed: int, n: int) -> tuple[np.ndarray, float]:
    """Days to 95% of the plateau per user, and the largest relative day-84 change from a miss."""
    dist = LogNormal.model_validate(
        Segment.model_fields["habit_days"].get_default(call_default_factory=True))
    c = habit_rate_from_days(dist.sample(np.random.default_rng(seed), n))
    h, missed = np.zeros_like(c), np.zeros(c.shape, np.uint8)
    reached = np.full(c.shape, np.inf)
    for d in range(400):
        update_habit(h, c, np.ones(c.shape, bool), missed, HABIT_FADE)  # in place
        reached = np.where(np.isinf(reached) & (h >= 0.95 - 1e-9), d + 1, reached)

    def day84(skip: int) -> np.ndarray:
        hh, mm = np.zeros_like(c), np.zeros(c.shape, np.uint8)
        for d in range(84):
            update_habit(hh, c, np.full(c.shape, d != skip), mm, HABIT_FADE)
        return hh

    full, skipped = day84(-1), day84(40)
    return reached, float(np.max((full - skipped) / full))


def cascade_sessions(layout: list[int], appeal: np.ndarray, n: int,
                     seed: int) -> engagement.SessionOutcome:
    """One engagement each for ``n`` neutral users shown ``layout`` (no habit, need or fatigue)."""
    um = choice_params(UserModel(max_engagements=1))
    n_el = appeal.shape[0]
    inp = engagement.SessionInputs(
        layout=np.repeat(np.asarray(layout, np.int16)[None, :], n, axis=0),
        susceptibility=np.ones(n), goal_weight=np.ones(n), habit=np.zeros((n, n_el)),
        fatigue=np.zeros(n), need=np.zeros((n, 1)), remaining=np.zeros((n, 1)),
        attention_left=np.full(n, 60.0), residue=np.zeros(n))
    u = np.random.default_rng(seed).random((n, 2 + 2 * um.max_engagements))
    return engagement.run_sessions(um, inp, appeal, np.ones(n_el), np.zeros((n_el, 1)), u)


def _ctr(out: engagement.SessionOutcome) -> np.ndarray:
    return out.position_clicks / np.maximum(out.position_views, 1)


def run(params: Params, workers: int = 1, progress: bool = False,
        runs_dir: Path | None = None) -> StudyResult:
    """Run the mechanism study (single process: each part is one vectorized pass, no runs)."""
    del workers, progress, runs_dir
    seeds = params.seed_list()
    medians, tails, misses, ctrs, swaps = [], [], [], [], []
    first_reached = None
    for seed in seeds:
        reached, miss = habit_curve(seed, params.users)
        first_reached = reached if first_reached is None else first_reached
        medians.append(float(np.median(reached)))
        tails.append(float(np.quantile(reached, 0.95)))
        misses.append(miss)
        ctrs.append(_ctr(cascade_sessions(list(range(params.slots)), np.zeros(params.slots),
                                   params.users, seed)))
        appeal = np.array([1.0, 0.0, 0.0])
        a = _ctr(cascade_sessions([0, 1, 2], appeal, params.users, 10_000 + seed))
        b = _ctr(cascade_sessions([1, 0, 2], appeal, params.users, 20_000 + seed))
        swaps.append((a[0], a[1], b[0], b[1]))
    med, tail, miss = Estimate.of(medians), Estimate.of(tails), Estimate.of(misses)
    ctr = np.array(ctrs)
    ctr_est = [Estimate.of(ctr[:, k]) for k in range(params.slots)]
    falls = bool(np.all(np.diff(ctr.mean(axis=0)) < 0))
    sw = np.array(swaps)  # A top (appealing first), A second, B top (plain first), B second
    # appealing element moved to 2nd: its rate drops below its 1st-place rate (position matters)
    # but stays above the plain element's 2nd-place rate (appeal matters): not a full swap
    m = sw.mean(axis=0)
    partial_swap = bool(m[3] < m[0] and m[3] > m[1] and m[2] < m[0])
    ok7 = 50 <= med.mean <= 80 and tail.mean > 150 and miss.high < 0.05
    facts = [
        Fact(fact="7 habit curve", scope="default habit_days of a segment",
             literature="median 66 days to 95% of the plateau, range 18-254; one missed day does "
                        "not matter (lally2010)",
             criterion="median days to 95% of plateau 50-80, 95th percentile past 150 days, one "
                       "missed day (day 40) changes day-84 habit by under 5% for every user",
             produced=f"median {med.text('{:.1f}')} days, 95th percentile {tail.text('{:.0f}')} "
                      f"days; largest day-84 change from one missed day {miss.text('{:.2%}')}",
             status=status(ok7),
             explanation="" if ok7 else "The habit-days distribution or the update moved.",
             label=MECHANISM,
             label_why="the habit update's own equation with the segment's habit-days "
                       "distribution (lally2010's fit) reproduces the curve by construction",
             values={"median": med.mean, "p95": tail.mean, "miss_max": miss.mean}),
        Fact(fact="8 position", scope=f"cascade, {params.slots} equally appealing elements",
             literature="click-through falls with rank; the cascade fits top ranks; swapping the "
                        "top two does not fully swap their rates (recsim, trecs, craswell2008; "
                        "schultheiss2018: relevance dominates)",
             criterion="mean CTR over seeds strictly falls with position; with an appealing and "
                       "a plain element swapped, the appealing one's mean rate falls but stays "
                       "above the plain one's at the same position",
             produced="CTR by position " + ", ".join(e.text("{:.3f}") for e in ctr_est)
                      + f"; appealing element 1st {sw[:, 0].mean():.3f} -> 2nd "
                        f"{sw[:, 3].mean():.3f}, plain element 2nd {sw[:, 1].mean():.3f} -> 1st "
                        f"{sw[:, 2].mean():.3f}",
             status=status(falls and partial_swap),
             explanation="" if falls and partial_swap else "The position discount or choice moved.",
             label=MECHANISM,
             label_why="the cascade's position discount and the choice equation give falling "
                       "click-through and a partial swap by themselves",
             values={"ctr_first": float(ctr[:, 0].mean()), "ctr_last": float(ctr[:, -1].mean()),
                     "falls": float(falls), "partial_swap": float(partial_swap)}),
    ]
    table = pd.DataFrame({"position": np.arange(1, params.slots + 1),
                          "ctr": [e.mean for e in ctr_est], "ctr_low": [e.low for e in ctr_est],
                          "ctr_high": [e.high for e in ctr_est]})
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ax[0].hist(np.minimum(first_reached, 300), bins=60, color="C0")
    ax[0].axvline(np.median(first_reached), color="k", lw=1)
    ax[0].set_xlabel(f"days of daily repetition to 95% of plateau (seed {seeds[0]})")
    ax[0].set_ylabel("users")
    ax[1].errorbar(table["position"], table["ctr"],
                   yerr=[table["ctr"] - table["ctr_low"], table["ctr_high"] - table["ctr"]],
                   fmt="o-")
    ax[1].set_xlabel("position")
    ax[1].set_ylabel("click-through rate")
    fig.tight_layout()
    return StudyResult(name=NAME, title=TITLE, command=COMMAND, params=params_dict(params),
                       facts=facts, tables={"ctr_by_position": table},
                       figures={"habit_and_position": fig},
                       notes=[__doc__.split("\n\n", 1)[1].strip()])
