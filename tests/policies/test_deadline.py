"""The deadline reminder (policies.deadline): hand-worked task tracking and triggers.

productivity_tool: 4 slots a day (night quiet), ``deadlines`` due 2 days after arrival (8 steps)
for professionals and newcomers, 4 days (16 steps) for casual users, late_days 1 (4 steps),
max_pending 4. Observations are made by hand: an event seen at step s happened at step s - 1.
"""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.errors import PolicyError
from outcome_gym.policies import make
from outcome_gym.policies.deadline import DeadlineReminder
from outcome_gym.scenario.overrides import with_overrides
from outcome_gym.sim.interface import frozen_map
from outcome_gym.sim.model import SimulationModel
from tests.policies.test_bandits import observe

EVENTS = [{"event": "deadlines.arrived", "delay_steps": 0},
          {"event": "deadlines.completed", "delay_steps": 0}]


def _ctx(events=EVENTS):
    sc = with_overrides("productivity_tool", (("population.size", 40),
                                              ("instrumentation.events", events)))
    return SimulationModel(sc, 0, mesa_agents=False).context


@pytest.fixture(scope="module")
def ctx():
    return _ctx()


def _policy(ctx, **kw):
    pol = DeadlineReminder(**kw)
    pol.reset(ctx, np.random.SeedSequence(0))
    return pol


def _obs(ctx, step, arrived=None, completed=None):
    o = observe(ctx, step)
    n = ctx.n_users
    ev = {"deadlines.arrived": np.zeros(n, np.int32), "deadlines.completed": np.zeros(n, np.int32)}
    for key, who in (("deadlines.arrived", arrived), ("deadlines.completed", completed)):
        for i, k in (who or {}).items():
            ev[key][i] = k
    return o.__class__(**{**o.__dict__, "events": frozen_map(ev)})


def _pro(ctx, k=0):
    """The k-th professional (span 8 steps) and the first casual user (span 16)."""
    segs = [s.id for s in ctx.scenario.population.segments]
    seg = np.asarray(ctx.segment)
    return (int(np.flatnonzero(seg == segs.index("professional"))[k]),
            int(np.flatnonzero(seg == segs.index("casual"))[0]))


def _sent(pol, ctx, obs):
    return pol.act(obs).notify[:, pol.col_]


def test_spans_follow_the_segments(ctx):
    pol = _policy(ctx)
    pro, casual = _pro(ctx)
    assert pol.span_[pro] == 8 and pol.span_[casual] == 16  # 2 and 4 days x 4 slots


def test_a_task_left_undone_is_reminded_once_the_day_before_it_is_due(ctx):
    # the module's worked example: arrives day 3 (step 12), seen at step 13, due at step 20;
    # near from step 16 (day 4 morning): one reminder then, none later that day, none on day 5
    pol = _policy(ctx)
    pro, casual = _pro(ctx)
    sent = {}
    for step in range(12, 25):
        obs = _obs(ctx, step, arrived={pro: 1, casual: 1} if step == 13 else None)
        sent[step] = _sent(pol, ctx, obs)
    assert [s for s, v in sent.items() if v[pro]] == [16]
    # the casual user's task (due step 12 + 16 = 28) is near from step 24 (day 6 morning)
    assert [s for s, v in sent.items() if v[casual]] == [24]
    others = np.ones(ctx.n_users, bool)
    others[[pro, casual]] = False
    assert not any(v[others].any() for v in sent.values())


def test_a_completed_task_is_not_reminded(ctx):
    pol = _policy(ctx)
    pro, _ = _pro(ctx)
    for step in range(12, 22):
        obs = _obs(ctx, step, arrived={pro: 1} if step == 13 else None,
                   completed={pro: 1} if step == 15 else None)
        assert not _sent(pol, ctx, obs)[pro], step


def test_completions_take_the_oldest_task_first(ctx):
    # one task on day 3, two on day 4; one completion at step 18 takes day 3's: day 4's two
    # (due step 24) are near from step 20 -> a reminder at 20, not at 16's day-3 trigger
    pol = _policy(ctx)
    pro, _ = _pro(ctx)
    sent = []
    for step in range(12, 22):
        arrived = {pro: 1} if step == 13 else {pro: 2} if step == 17 else None
        obs = _obs(ctx, step, arrived=arrived, completed={pro: 1} if step == 15 else None)
        if _sent(pol, ctx, obs)[pro]:
            sent.append(step)
    assert sent == [20]
    assert pol.open_[pro].sum() == 2


def test_open_tasks_are_capped_and_dropped_after_late_days(ctx):
    pol = _policy(ctx)
    pro, _ = _pro(ctx)
    pol.act(_obs(ctx, 1, arrived={pro: 6}))  # 6 arrive on day 0: 4 places, 2 fail at once
    assert pol.open_[pro].sum() == 4
    # due at step 8, late until 8 + 4 = 12: dropped at the end of step 11, seen at step 12
    pol.act(_obs(ctx, 11))
    assert pol.open_[pro].sum() == 4
    pol.act(_obs(ctx, 12))
    assert pol.open_[pro].sum() == 0


def test_quiet_slots_wait_for_the_next_morning(ctx):
    # a casual user's task arriving day 0 with lead 0.25 day (1 step) is near only at step 15,
    # the night slot (quiet): no reminder is sent at all, the task is past due by the morning
    pol = _policy(ctx, lead_days=0.25)
    _, casual = _pro(ctx)
    sent = [s for s in range(1, 20)
            if _sent(pol, ctx, _obs(ctx, s, arrived={casual: 1} if s == 1 else None))[casual]]
    assert sent == []


def test_quiet_slots_given_by_index_are_the_same_slots():
    """The scenario may list quiet slots by index (3 = night) as well as by name."""
    by_index = SimulationModel(with_overrides(
        "productivity_tool", (("population.size", 40), ("instrumentation.events", EVENTS),
                              ("guardrails.quiet_slots", [3]))), 0, mesa_agents=False).context
    by_name = _ctx()
    assert _policy(by_index).quiet_ == _policy(by_name).quiet_ == {3}


def test_the_reference_sends_no_reminder_and_drops_the_scheduled_ones(ctx):
    ref = _policy(ctx, remind=False)
    keep = _policy(ctx, remind=False, keep_scheduled=True)
    monday_morning = _obs(ctx, 0)
    assert keep.act(monday_morning).notify[:, keep.col_].all()  # the schedule's weekday send
    assert not ref.act(monday_morning).notify[:, ref.col_].any()
    # the schedule's other sends stay (social_activity in the evening)
    evening = _obs(ctx, 2)
    assert (ref.act(evening).notify == keep.act(evening).notify).all()


def test_bad_configuration_is_a_clear_error(ctx):
    with pytest.raises(PolicyError, match="expected a tasks goal id, got 'learning'"):
        _policy(ctx, goal="learning")
    with pytest.raises(PolicyError, match="expected a notification id, got 'focus_mode'"):
        _policy(ctx, reminder="focus_mode")
    bare = _ctx(events=[{"event": "deadlines.completed", "delay_steps": 0}])
    with pytest.raises(PolicyError, match=r"need the events \['deadlines.arrived'\]"):
        _policy(bare)
    _policy(bare, remind=False)  # the reference needs no events
    with pytest.raises(ValueError, match="lead_days > 0"):
        DeadlineReminder(lead_days=0)


def test_registered_by_name():
    pol = make("deadline_reminder", lead_days=0.5, remind=False)
    assert isinstance(pol, DeadlineReminder) and pol.lead_days == 0.5 and not pol.remind


def test_in_a_run_reminders_go_to_users_with_tasks_due():
    """A week of productivity_tool (200 users): the reminder arm sends task reminders beyond the
    reference's none, never more than one a user a day, and no user without a goal-state trigger
    gets one (the users' tables: every reminded user had a task arrive)."""
    from outcome_gym.runner import run

    sc = with_overrides("productivity_tool", (("population.size", 200),
                                              ("clock.horizon_days", 7),
                                              ("instrumentation.events", EVENTS)))
    ref = run(sc, "deadline_reminder", 3, policy_params={"remind": False})
    alert = run(sc, "deadline_reminder", 3)
    sent_ref = ref.users["delivered"].to_numpy()
    sent = alert.users["delivered"].to_numpy()
    extra = sent - sent_ref
    assert extra.sum() > 150  # 356 at this seed: about a quarter of user-days have a task due
    assert (extra <= 7).all()  # at most one reminder a user a day
    arrived = alert.users["deadlines.arrived"].to_numpy()
    assert (extra[arrived == 0] == 0).all()


def test_passes_check_policy_on_tiny_with_arrivals_instrumented():
    from outcome_gym.testing import check_policy
    from tests.conftest import TINY

    sc = with_overrides(TINY, (("instrumentation.events",
                                [{"event": "work.arrived", "delay_steps": 0},
                                 {"event": "work.completed", "delay_steps": 0}]),))
    passed = check_policy(lambda: make("deadline_reminder", goal="work"), sc, steps=40)
    assert "deterministic under a seed" in passed and len(passed) == 5
