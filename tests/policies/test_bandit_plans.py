"""Day plans around the schedule (``plans``, issue #15's third pass), hand-worked.

tests/fixtures/tiny.yaml: two pushed elements (column 0 ``task_reminder``, column 1
``spend_alert``), four slots with ``night`` quiet (open: morning 0, afternoon 1, evening 2), a
schedule of two pairs — ``task_reminder@morning`` (weekdays) and ``spend_alert@evening`` (every
7th day, savers) — and a cap of 3 notifications a day.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from outcome_gym.errors import PolicyError
from outcome_gym.policies import EpsilonGreedyPolicy, LinUCBPolicy, ThompsonPolicy
from outcome_gym.product.variants import build_variants, schedule_pairs
from outcome_gym.scenario import load_scenario
from tests.conftest import variant
from tests.policies.test_bandits import context, feedback, observe, started

HEALTH = Path(__file__).resolve().parents[2] / "examples/designer_worlds/health_companion.yaml"

# P = 2 pairs in open slots, U = 2 x 3 - 2 = 4 unused pairs: 1 + 1 + P + P x U = 12 plans
TINY_LOCAL = (
    "none", "default",
    "default-task_reminder@morning", "default-spend_alert@evening",
    "default-task_reminder@morning+task_reminder@afternoon",
    "default-task_reminder@morning+task_reminder@evening",
    "default-task_reminder@morning+spend_alert@morning",
    "default-task_reminder@morning+spend_alert@afternoon",
    "default-spend_alert@evening+task_reminder@afternoon",
    "default-spend_alert@evening+task_reminder@evening",
    "default-spend_alert@evening+spend_alert@morning",
    "default-spend_alert@evening+spend_alert@afternoon",
)


def test_local_plans_for_a_two_send_schedule(tiny):
    ctx = context(tiny)
    assert schedule_pairs(ctx) == [(0, 0), (1, 2)]
    v = build_variants(ctx, day_plans=True)  # local is the default family
    assert v.notify_names == TINY_LOCAL
    assert v.notify_uses_default.tolist() == [False] + [True] * 11


def test_local_plans_send_the_schedule_with_one_edit(tiny):
    """Three users on plans 2 (drop task_reminder@morning), 7 (task_reminder@morning replaced by
    spend_alert@afternoon) and 1 (the schedule), on a day the schedule sends both pairs."""
    v = build_variants(context(tiny), day_plans=True)
    plans = np.array([2, 7, 1])
    morning = np.array([[True, False]] * 3)  # the schedule sends task_reminder in the morning
    afternoon = np.zeros((3, 2), bool)  # and nothing in the afternoon
    evening = np.array([[False, True]] * 3)  # and spend_alert in the evening (a saver's 7th day)
    assert v.notify_for(plans, morning, slot=0).tolist() == [
        [False, False], [False, False], [True, False]]
    assert v.notify_for(plans, afternoon, slot=1).tolist() == [
        [False, False], [False, True], [False, False]]
    assert v.notify_for(plans, evening, slot=2).tolist() == [
        [False, True], [False, True], [False, True]]
    # plan 0 (none) sends nothing; plan 3 drops only the evening send
    assert not v.notify_for(np.array([0]), morning[:1], slot=0).any()
    assert v.notify_for(np.array([3, 3]), np.array([[True, False], [False, True]]),
                        slot=2).tolist() == [[True, False], [False, False]]
    with pytest.raises(ValueError, match="slot"):  # a day plan's sends depend on the slot
        v.notify_for(plans, morning)


def test_grow_adds_the_schedule_plus_one_send_under_the_cap(tiny):
    """grow = local + default+<b>@<t> for the U = 4 unused pairs (2 pairs < cap 3); at a cap of 2
    the schedule has no room, and grow is local."""
    v = build_variants(context(tiny), day_plans=True, family="grow")
    assert v.notify_names == (*TINY_LOCAL, "default+task_reminder@afternoon",
                              "default+task_reminder@evening", "default+spend_alert@morning",
                              "default+spend_alert@afternoon")
    plus = v.notify_names.index("default+spend_alert@morning")
    assert v.notify_for(np.array([plus]), np.array([[True, False]]), slot=0).tolist() == [
        [True, True]]
    capped = variant(tiny, **{"guardrails.max_notifications_per_day": 2})
    assert build_variants(context(capped), day_plans=True, family="grow").notify_names == (
        TINY_LOCAL)


@pytest.mark.parametrize("schedule", [[], [{"element": "task_reminder", "slot": "night"}]])
def test_an_empty_schedule_is_explored_by_its_one_send_plans(tiny, schedule):
    """No pair to drop or replace (none at all, or one only in the quiet night, never sent):
    none, default (sends nothing here) and the 2 x 3 one-send plans."""
    v = build_variants(context(variant(tiny, **{"product.schedule": schedule})), day_plans=True)
    assert v.notify_names == ("none", "default", "default+task_reminder@morning",
                              "default+task_reminder@afternoon", "default+task_reminder@evening",
                              "default+spend_alert@morning", "default+spend_alert@afternoon",
                              "default+spend_alert@evening")


def test_health_companion_plans():
    """Sends dose_reminder@morning and breaking_news@afternoon: 12 plans; 11 keep at least one
    scheduled send, 9 send two a day (the schedule and the eight replacements)."""
    v = build_variants(context(load_scenario(HEALTH)), day_plans=True)
    assert len(v.notify_names) == 12
    sends = np.stack([
        v.notify_for(np.arange(12), np.repeat(np.array([sched]), 12, axis=0), slot=s)
        for s, sched in enumerate([[True, False], [False, True], [False, False]])])  # 3 x 12 x 2
    per_plan = sends.sum(axis=(0, 2))
    kept = sends[0, :, 0].astype(int) + sends[1, :, 1]
    assert per_plan.tolist() == [0, 2, 1, 1] + [2] * 8
    assert (kept >= 1).sum() == 11


def test_steps_keep_the_earlier_plans(tiny):
    """Step plans (hold=step and the environments) are unchanged: none, default, send:<id>."""
    v = build_variants(context(tiny))
    assert v.notify_names == ("none", "default", "send:task_reminder", "send:spend_alert")
    assert v.notify_add is None


@pytest.mark.parametrize("cls", [EpsilonGreedyPolicy, ThompsonPolicy, LinUCBPolicy])
def test_every_bandit_takes_the_family(tiny, cls):
    ctx = context(tiny)
    assert started(cls(), ctx).variants_.notify_names == TINY_LOCAL
    assert len(started(cls(plans="single"), ctx).variants_.notify_names) == 8
    with pytest.raises(PolicyError, match="plans one of local, grow, single"):
        started(cls(plans="locl"), ctx)


def test_first_choices_draw_every_plan(tiny):
    """epsilon 0, launch untried: on day 0 every plan is untried (value +inf), so each user's plan
    is a uniformly drawn tied arm; over the 200 users all 12 plans are tried, and through the day
    a user on plan 2 sends nothing in the morning while the schedule would send the reminder."""
    ctx = context(tiny)
    pol = started(EpsilonGreedyPolicy(epsilon=0.0), ctx)
    obs = observe(ctx, 0)  # Monday morning
    act = pol.act(obs)
    plan = pol.periods_[-1].arms[1]
    assert set(plan.tolist()) == set(range(12))
    on_drop = plan == 2
    assert not act.notify[on_drop].any()
    assert act.notify[plan == 1, 0].all()  # the schedule's reminder
    pol.update(obs, act, feedback(ctx))
