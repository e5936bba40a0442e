"""Degenerate but valid worlds: a valid scenario with one thing taken to its edge.

Each case is an edit of a scenario's data that the schema accepts (a product with no
notifications is a real product; a world of one user is a valid world). The matrix of cases is
driven through the model (tests/sim/test_degenerate.py), every Gymnasium id
(tests/env/test_degenerate.py) and the compare command (tests/cli/test_degenerate_compare.py),
each with what the case must give by hand, not only that it runs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from outcome_gym.scenario import Scenario
from outcome_gym.scenario.loading import scenario_to_dict, validate_scenario
from outcome_gym.scenario.schema import PUSHED_KINDS

Data = dict[str, Any]


def no_templates(d: Data) -> None:
    """No notification or alert elements (and so no schedule): nothing can be sent."""
    d["product"]["elements"] = [e for e in d["product"]["elements"]
                                if e["kind"] not in PUSHED_KINDS]
    d["product"]["schedule"] = []


def no_goals(d: Data) -> None:
    """No goals: no element serves one, no outcome spec, no outcome event to instrument."""
    d["goals"], d["outcomes"] = [], []
    d["instrumentation"]["events"] = []
    for e in d["product"]["elements"]:
        e["value"] = {}
    for seg in d["population"]["segments"]:
        seg["goals"], seg["goal_params"] = [], {}


def no_instrumented(d: Data) -> None:
    """The product observes no outcome event (behaviour logs only)."""
    d["instrumentation"]["events"] = []


def no_context(d: Data) -> None:
    """No device switch, shared screen or support contact ever happens."""
    for key in ("device_switch_per_day", "colleague_share_per_day", "support_contact_per_day"):
        d["context"][key] = 0.0


def single_segment(d: Data) -> None:
    """Only the first segment, with share 1 (its outcome specs and notifications kept)."""
    seg = d["population"]["segments"][0]
    seg["share"] = 1.0
    d["population"]["segments"] = [seg]
    d["outcomes"] = [o for o in d["outcomes"] if o["segment"] == seg["id"]]
    d["product"]["schedule"] = [n for n in d["product"]["schedule"]
                                if n["segments"] is None or seg["id"] in n["segments"]]
    for n in d["product"]["schedule"]:
        n["segments"] = None


def one_user(d: Data) -> None:
    """A population of one (every other segment is empty)."""
    d["population"]["size"] = 1


def one_slot(d: Data) -> None:
    """One time slot per day: one step a day (no quiet slot, or nothing could ever be sent)."""
    d["clock"]["slots_per_day"], d["clock"]["slot_names"] = 1, None
    for seg in d["population"]["segments"]:
        seg["availability"]["slot"] = [max(seg["availability"]["slot"])]
    for n in d["product"]["schedule"]:
        n["slot"] = 0
    d["guardrails"]["quiet_slots"] = []


def one_day(d: Data) -> None:
    """A horizon of one day."""
    d["clock"]["horizon_days"], d["clock"]["horizon_steps"] = 1, None


CASES: dict[str, Callable[[Data], None]] = {
    f.__name__: f for f in (no_templates, no_goals, no_instrumented, no_context, single_segment,
                            one_user, one_slot, one_day)
}
"""Case name -> the edit of a scenario's data that makes it."""


def degenerate(scenario: Scenario, case: str, *, size: int, days: int) -> Scenario:
    """``scenario`` at ``size`` users over ``days`` days, then edited by ``case``, validated.

    Args:
        scenario: A valid scenario.
        case: A key of :data:`CASES`.
        size: Population size before the edit (small: these are fast tests).
        days: Horizon in days before the edit.

    Returns:
        The degenerate scenario (the schema accepts it, or this raises ScenarioValidationError).
    """
    d = copy.deepcopy(scenario_to_dict(scenario))
    d["population"]["size"], d["clock"]["horizon_days"] = size, days
    d["clock"]["horizon_steps"] = None
    CASES[case](d)
    return validate_scenario(d, file=f"<{scenario.name}, {case}>")
