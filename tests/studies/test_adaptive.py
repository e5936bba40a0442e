"""Experiment 7, the cost of adaptive layouts (docs/calibration.md fact 10): the fast version's numbers
lie where many seeds put them.

The bounds come from the fast version (``adaptive.FAST``: 600 users, 28 days, 6 seeds, accuracy
0 and 1) run with 22 disjoint seed sets (``first_seed`` = 0, 6, ..., 126); each bound holds for all
22 with a margin. Measured ranges (min .. max over the 22 sets of the mean over 6 seeds):

* time to completion (professionals) vs static, reordering at accuracy 0: +7.3% .. +8.0%; at
  accuracy 1: -0.81% .. -0.27% (re-measured after issue #14's outside progress, budget drift and
  appeal_utility fit, over the first 21 of the 22 sets; before: +1.4% .. +3.4% and -3.2% .. -1.2%);
* reordering at accuracy 0 vs the same promotions held still: -1.4% .. +0.3% (re-measured, same
  sets); device-switch failure rate +19.8 .. +21.3 points (re-measured);
* not re-measured after issue #14 (values from before): sign-flip p 0.031 .. 0.063 at accuracy 0
  and 0.031 .. 0.094 at 1; instability p 0.09 .. 0.94; minutes per unit of progress -0.5% .. +0.6%;
  and the two lines below;
* share of steps a user's layout changes: 0.727 .. 0.730 at accuracy 0, 0.118 .. 0.120 at 1;
  realised hit rate (predicted element engaged in the session): 0.273 .. 0.279 at 0, 0.252 ..
  0.260 at 1;
* statuses: "not testable" and "fail" in all 22 sets.

The low- and high-accuracy bounds fail if promoting the predicted element stopped mattering (the
position discount or the cascade changed) or its effect grew beyond the seed spread. The
instability bound documents that the user model has no cost of a layout changing between sessions
(docs/model.md section 11 item 20): it fails — as it should, and then the study's fact should be
revisited — once a learned-position memory with a re-search cost makes reordering itself slow.
"""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.errors import PolicyError
from outcome_gym.studies import study_module
from outcome_gym.studies.runs import Job, run_jobs
from outcome_gym.testing import check_policy
from tests.studies import STUDIES_DIR

adaptive = study_module("adaptive", STUDIES_DIR)


@pytest.fixture(scope="module")
def fast():
    """The fast version, one process (about 15 s on one core)."""
    return adaptive.run(adaptive.Params(**adaptive.FAST), workers=1)


def test_accuracies_must_increase():
    with pytest.raises(ValueError, match="increasing accuracies"):
        adaptive.Params(accuracies=[1.0, 0.5])


def test_the_oracle_loop_is_the_runners_loop():
    """Static through the study's loop gives exactly what the study framework's runner gives."""
    job = Job(scenario="productivity_tool", policy="static", seed=2,
              overrides=(("population.size", 200),))
    ours = adaptive.run_job(job)
    theirs = run_jobs([job])[0]
    assert ours.metrics == theirs.metrics


def _context(users: int = 5):
    from outcome_gym.scenario import load_scenario
    from outcome_gym.sim.model import SimulationModel
    from tests.conftest import variant

    sc = variant(load_scenario("productivity_tool"), **{"population.size": users})
    model = SimulationModel(sc, 0, mesa_agents=False)
    return model


def test_prediction_goes_to_the_first_non_core_position():
    model = _context()
    ctx = model.context
    ids = list(ctx.element_ids)
    pol = adaptive.PredictiveReorder(accuracy=1.0)
    pol.reset(ctx, np.random.SeedSequence(0))
    need = np.zeros((5, 2))
    need[0, 0] = 1.5  # tasks pending: focus_mode (0.7) is worth most
    need[1, 1] = 1.0  # only today's practice: tips (0.4)
    remaining = np.ones((5, 2))
    pol.peek(need, remaining)
    layout = pol.act(model.observe()).layout
    default = np.asarray(ctx.default_layout)
    assert (layout[:, :2] == default[:2]).all()  # the core stays
    assert layout[0, 2] == ids.index("focus_mode") and layout[1, 2] == ids.index("tips")
    assert layout[2, 2] == ids.index("focus_mode")  # no need: the largest total value
    assert all(sorted(row) == sorted(default) for row in layout)
    # a goal with nothing left to do is no need: user 1 falls back to the largest total value
    remaining[1] = 0.0
    pol.peek(need, remaining)
    assert pol.act(model.observe()).layout[1, 2] == ids.index("focus_mode")


def test_accuracy_needs_the_oracle_and_frozen_holds_still():
    model = _context()
    pol = adaptive.PredictiveReorder(accuracy=0.5)
    pol.reset(model.context, np.random.SeedSequence(0))
    with pytest.raises(PolicyError, match="need"):
        pol.act(model.observe())
    frozen = adaptive.PredictiveReorder(accuracy=0.0, frozen=True)
    frozen.reset(model.context, np.random.SeedSequence(0))
    first = frozen.act(model.observe()).layout
    assert (frozen.act(model.observe()).layout == first).all()
    assert "protocol" in check_policy(adaptive.PredictiveReorder(accuracy=0.0))


def test_fast_facts_lie_within_the_seed_spread(fast):
    assert [f.fact for f in fast.facts] == ["10 adaptive cost", "10 adaptive cost: instability"]
    main, inst = (f.values for f in fast.facts)
    assert BOUNDS["low_lift"][0] <= main["low_lift"] <= BOUNDS["low_lift"][1]
    assert BOUNDS["high_lift"][0] <= main["high_lift"] <= BOUNDS["high_lift"][1]
    assert BOUNDS["instability"][0] <= inst["lift"] <= BOUNDS["instability"][1]
    assert BOUNDS["device_switch"][0] <= inst["device_switch_diff"] <= BOUNDS["device_switch"][1]
    # no cost of instability: the fact cannot be tested, and says why
    assert fast.facts[0].status == "not testable" and fast.facts[1].status == "fail"
    assert "memory" in fast.facts[0].explanation
    arms = fast.tables["arms"].set_index("arm")
    assert arms.loc["reorder 1", "adaptive.oracle_share"] == 1.0
    assert arms.loc["stable random", "adaptive.change_rate"] == 0.0
    assert arms.loc["reorder 0", "adaptive.change_rate"] > 0.5


BOUNDS: dict[str, tuple[float, float]] = {
    "low_lift": (0.055, 0.10),  # measured 0.073 .. 0.080 (issue #14 model)
    "high_lift": (-0.03, -0.001),  # measured -0.0081 .. -0.0027
    "instability": (-0.015, 0.015),
    "device_switch": (0.17, 0.24),
}
