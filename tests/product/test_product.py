"""``Product.step``: validate -> guard -> advance, with the guardrail counts on the step's result."""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.env import PersonalizationEnv
from outcome_gym.errors import ActionError
from outcome_gym.policies import make
from outcome_gym.product import Product, StepResult
from outcome_gym.product.guardrails import KINDS
from outcome_gym.runner import run
from outcome_gym.sim.interface import Action
from outcome_gym.sim.model import SimulationModel
from outcome_gym.testing import check_policy
from tests.conftest import variant


def _send_everything(product: Product) -> Action:
    ctx = product.context
    layout = np.broadcast_to(ctx.default_layout, (ctx.n_users, ctx.n_slots)).copy()
    return Action(layout=layout, notify=np.ones((ctx.n_users, ctx.n_pushed), bool))


def test_step_guards_and_counts_on_the_result(tiny):
    product = Product(tiny, 0, guardrails={"quiet_slots": ["morning"]})
    n, m = product.context.n_users, product.context.n_pushed
    result = product.step(_send_everything(product))  # step 0 is the morning slot: quiet
    assert isinstance(result, StepResult) and result.record.step == 0 and product.t == 1
    assert not result.action.notify.any()
    assert result.guardrail_counts["quiet_slot"].tolist() == [m] * n
    metrics = result.record.segment_metrics
    assert metrics["guardrail_quiet_slot"].sum() == n * m
    assert metrics["delivered"].sum() == 0
    assert set(result.guardrail_counts) == set(KINDS)
    assert {f"guardrail_{k}" for k in KINDS} <= set(metrics)
    assert result.feedback is result.record.feedback


def test_guardrails_off_count_zero_and_let_everything_through(tiny):
    product = Product(tiny, 0, guardrails=False)
    result = product.step(_send_everything(product))
    assert result.action.notify.all()
    assert all(not c.any() for c in result.guardrail_counts.values())
    assert result.record.segment_metrics["guardrail_quiet_slot"].sum() == 0


def test_invalid_action_names_the_decider_and_the_step(tiny):
    product = Product(tiny, 0)
    bad = Action(layout=np.zeros((3, 1), np.int64), notify=np.zeros((3, 1), bool))
    with pytest.raises(ActionError, match=r"mine at step 0: expected layout of shape"):
        product.step(bad, who="mine")
    assert product.t == 0  # nothing advanced


def test_the_model_alone_records_no_guardrail_metrics(tiny):
    model = SimulationModel(tiny, 0, mesa_agents=False)
    record = model.advance(model.default_action())
    assert not any(name.startswith("guardrail_") for name in record.segment_metrics)
    assert not hasattr(model.default_action(), "guardrail_counts")


def test_runner_env_and_check_policy_all_step_through_product(tiny, monkeypatch):
    # every step ends in Product._step_valid (guard -> advance); a policy's action gets there
    # through Product.step (validate first); the env's decoded native action, valid by
    # construction, goes there directly
    calls: list[str] = []
    real_step, real_valid = Product.step, Product._step_valid

    def counting(self, action, *, who="policy"):
        calls.append(who)
        return real_step(self, action, who=who)

    def counting_valid(self, action, *, own):
        # the env hands over its own fresh arrays (projected in place); a policy's are copied
        calls.append("advance (own)" if own else "advance")
        return real_valid(self, action, own=own)

    monkeypatch.setattr(Product, "step", counting)
    monkeypatch.setattr(Product, "_step_valid", counting_valid)
    small = variant(tiny, **{"population.size": 20, "clock.horizon_days": 1})
    run(small, "static", 0)
    assert calls == ["static", "advance"] * small.clock.n_steps
    calls.clear()
    env = PersonalizationEnv(small)
    env.reset(seed=0)
    env.action_space.seed(0)
    env.step(env.action_space.sample())
    assert calls == ["advance (own)"]
    calls.clear()
    env.step_action(env.model.default_action())  # a simulator action from outside: validated
    assert calls == ["PersonalizationEnv", "advance"]
    calls.clear()
    check_policy(lambda: make("static"), small, steps=2)
    assert calls and set(calls) == {"static", "advance"}


@pytest.mark.parametrize("bad", [-3, 40])
def test_step_always_validates_there_is_no_public_way_around_it(tiny, bad):
    product = Product(tiny, 0)
    default = product.model.default_action()
    layout = np.array(default.layout, copy=True)
    layout[1, 2] = bad
    action = Action(layout=layout, notify=default.notify)
    with pytest.raises(TypeError):
        product.step(default, checked=True)  # the old shortcut is gone
    with pytest.raises(ActionError, match=rf"user 1, slot 2: .* got {bad}"):
        product.step(action, who="mine")


def test_variant_step_rows_by_hand():
    # two layout variants of S = 2 and three step plans over M = 2 columns: plan 0 sends
    # nothing, plan 1 follows the schedule, plan 2 sends column 1 besides nothing else.
    # Choosers (variant, plan): 0 -> (1, 1), 1 -> (0, 2); users 0, 1, 2 in groups 0, 1, 1;
    # the schedule sends column 0 to users 0 and 2.
    from outcome_gym.product.variants import Variants

    v = Variants(layout_names=("a", "b"), layouts=np.array([[5, 6], [6, 5]]),
                 notify_names=("none", "default", "send:x"),
                 notify_send=np.array([[False, False], [False, False], [False, True]]),
                 notify_uses_default=np.array([False, True, False]))
    schedule = np.array([[True, False], [False, False], [True, False]])
    layout, notify = v.step_rows(np.array([1, 1, 0, 2]), np.array([0, 1, 1]), schedule)
    assert layout.tolist() == [[6, 5], [5, 6], [5, 6]] and layout.dtype == np.int64
    assert notify.tolist() == [[True, False], [False, True], [False, True]]
    # the same sends through notify_for (one plan per user)
    assert v.notify_for(np.array([1, 2, 2]), schedule).tolist() == notify.tolist()
    for bad in ([2, 0, 0, 0], [0, 0, 0, 3], [0, -1, 0, 0]):
        assert v.step_rows(np.array(bad), np.array([0, 1, 1]), schedule) is None
    # an odd length (its last index would be read by no chooser) and the former G x 2 pairs
    for bad in ([1, 1, 0, 2, 7], [[1, 1], [0, 2]]):
        with pytest.raises(ValueError, match=r"2G variant indices .* got shape"):
            v.step_rows(np.array(bad), np.array([0, 1, 1]), schedule)
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        v.notify_for(np.array([0, 3, 0]), schedule)


def test_with_metrics_adds_entries_and_keeps_the_record(tiny):
    from outcome_gym.sim.interface import MetricRows

    m = SimulationModel(tiny, 0, mesa_agents=False)
    rec = m.advance(m.default_action())
    extra = np.zeros((2, len(next(iter(rec.segment_metrics.values())))))
    extra.setflags(write=False)
    out = rec.with_metrics(("x", "y"), extra)
    assert list(out.segment_metrics) == [*rec.segment_metrics, "x", "y"]
    assert np.shares_memory(out.segment_metrics["x"], extra)  # the rows as given, no copy
    assert "x" not in rec.segment_metrics  # the record's own map is not touched
    for name in ("step", "day", "slot", "weekday", "position_clicks", "position_views",
                 "element_clicks", "feedback"):
        assert getattr(out, name) is getattr(rec, name)
    # read-only: the rows of the record's table and of the read-only matrix given
    assert isinstance(out.segment_metrics, MetricRows)
    with pytest.raises(ValueError):  # names and rows must pair up
        rec.with_metrics(("x",), extra)


def test_guardrail_sums_are_the_recorders_segment_sums_bit_for_bit():
    # the guardrail pass sums its whole-number counts per segment as it counts; the recorder's
    # per-segment sums (numpy's add.reduceat of float64, as the recorder sums) give the same bits,
    # for every kind, over random policies' actions that break every guardrail
    product = Product("productivity_tool", 3, guardrails={
        "quiet_slots": ["night"], "max_notifications_per_day": 2, "max_layout_distance": 0.3})
    ctx = product.context
    rng = np.random.default_rng(0)
    laid = np.asarray(ctx.layout_elements)
    changed = np.zeros(len(KINDS))
    for _ in range(12):
        layout = np.stack([rng.permutation(laid)[:ctx.n_slots] for _ in range(ctx.n_users)])
        notify = rng.random((ctx.n_users, ctx.n_pushed)) < 0.7
        result = product.step(Action(layout=layout, notify=notify))
        sums = np.stack([result.record.segment_metrics[f"guardrail_{k}"] for k in KINDS])
        seg = product.model.recorder.segments  # the users' segment blocks
        by_reduceat = np.zeros((len(KINDS), seg.k))
        by_reduceat[:, seg.ids] = np.add.reduceat(
            result.guardrail_matrix.astype(np.float64), seg.starts, axis=1)
        assert sums.tobytes() == by_reduceat.tobytes()
        assert not result.record.segment_metrics["guardrail_quiet_slot"].flags.writeable
        changed += sums.sum(axis=1)
    assert (changed > 0).all()  # every kind was counted somewhere (the test can fail)


def test_a_guardrail_layer_given_is_restarted_and_runs_as_a_fresh_one(tiny):
    # a daily cap of 1: the first product's day counts every user's send; a product given its
    # layer starts with none counted (the second run's guarded actions and counts are a fresh
    # layer's, step by step), and the layer is the one given
    cap = {"max_notifications_per_day": 1, "quiet_slots": []}
    first = Product(tiny, 0, guardrails=cap)
    first.step(_send_everything(first))
    assert first.guardrails._sent_today.tolist() == [1] * first.context.n_users
    reused = Product(tiny, 1, guardrails=first.guardrails)
    fresh = Product(tiny, 1, guardrails=cap)
    assert reused.guardrails is first.guardrails
    for _ in range(3):
        got, want = reused.step(_send_everything(reused)), fresh.step(_send_everything(fresh))
        assert np.array_equal(got.guardrail_matrix, want.guardrail_matrix)
        assert np.array_equal(got.action.notify, want.action.notify)
    assert got.guardrail_matrix[KINDS.index("notification_capped")].sum() > 0  # the cap acted


def test_a_guardrail_layer_of_another_scenario_is_refused(tiny):
    layer = Product(tiny, 0).guardrails
    with pytest.raises(ValueError, match="same scenario and users"):
        Product(variant(tiny, **{"population.size": 7}), 0, guardrails=layer)


def test_a_guardrail_layer_of_other_users_of_the_same_scenario_is_refused(tiny):
    # the same scenario object, so only the users' check can refuse: a subset's layer holds
    # the subset's rows (segments, today's sends), the whole population's holds all of them
    whole = Product(tiny, 0)
    subset = Product(tiny, 0, users=[0, 1, 2])
    assert subset.context.scenario is whole.context.scenario
    assert subset.context.n_users < whole.context.n_users
    for layer, users in ((whole.guardrails, [0, 1, 2]), (subset.guardrails, None)):
        with pytest.raises(ValueError, match="same scenario and users"):
            Product(tiny, 1, guardrails=layer, users=users)
    # the same users (teams, and so teammates, are the seed's): the layer is taken
    again = Product(tiny, 0, guardrails=subset.guardrails, users=[0, 1, 2])
    assert again.guardrails is subset.guardrails


def test_a_layer_given_belongs_to_the_newest_product_in_its_own_mode(tiny):
    # two live products on one layer would both count today's sends in it: the older one
    # may no longer step (the newer one may), and a mode other than the layer's is refused
    older = Product(tiny, 0, guardrails={"max_notifications_per_day": 1}, guardrail_mode="strict")
    layer = older.guardrails
    newer = Product(tiny, 1, guardrails=layer, guardrail_mode="strict")
    with pytest.raises(RuntimeError, match="newer product"):
        older.step(_send_nothing(older))
    assert newer.step(_send_nothing(newer)).record.step == 0
    assert Product(tiny, 2, guardrails=layer).guardrails.mode == "strict"  # the default: its own
    with pytest.raises(ValueError, match="guardrail_mode 'off'"):
        Product(tiny, 3, guardrails=layer, guardrail_mode="off")


def _send_nothing(product: Product) -> Action:
    action = _send_everything(product)
    action.notify[:] = False
    return action


def test_outcome_objective_by_hand():
    # weights: a +1, b -1 (a 'failed' event), c not observed. Users 0..2 with a = (2, 0, 1),
    # b = (0, 0, 3): rewards 0 + 2 - 0 = 2, 0 + 0 - 0 = 0 (not -0.0: numpy's 0.0 + -0.0),
    # 0 + 1 - 3 = -2
    from outcome_gym.product._weighted import add_weighted
    from outcome_gym.product.objectives import OutcomeObjective
    from outcome_gym.sim.interface import Feedback

    zeros = np.zeros(3, np.int64)
    fb = Feedback(clicks=zeros, minutes=zeros, sessions=zeros, opens=zeros,
                  events={"a": np.array([2, 0, 1], np.int32), "b": np.array([0, 0, 3], np.int32)})
    got = OutcomeObjective({"a": 1.0, "b": -1.0, "c": 5.0})(fb)
    assert got.tolist() == [2.0, 0.0, -2.0] and not np.signbit(got).tolist()[1]
    with pytest.raises(ValueError, match="one event count per user"):
        add_weighted(np.zeros(2), np.zeros(3, np.int32), 1.0)
    # a length-1 count, which numpy's += would broadcast to every user, is refused too
    one = Feedback(clicks=zeros, minutes=zeros, sessions=zeros, opens=zeros,
                   events={"a": np.array([2], np.int32)})
    with pytest.raises(ValueError, match="one event count per user"):
        OutcomeObjective({"a": 1.0})(one)


def test_outcome_objective_has_numpys_bits_with_fractional_weights():
    # the compiled pass claims np.multiply(w, counts, dtype=float64) then += per event, in the
    # weights' order: with fractional weights each product and sum rounds, so another order of
    # the events, or a fused multiply-add (one rounding of w * c + out), gives other bits for
    # some users; the +-1 weights of the scenarios (spec_event) are exact either way
    from fractions import Fraction

    from outcome_gym.product.objectives import OutcomeObjective
    from outcome_gym.sim.interface import Feedback

    rng = np.random.default_rng(7)
    n = 500
    zeros = np.zeros(n, np.int64)
    events = {e: rng.integers(0, 40, n).astype(np.int32) for e in ("a", "b", "c")}
    for counts in events.values():
        counts.setflags(write=False)  # as the recorder's
    weights = {"a": 0.1, "b": -0.7, "c": 0.3}
    fb = Feedback(clicks=zeros, minutes=zeros, sessions=zeros, opens=zeros, events=events)

    def numpy_sum(order):
        out = np.zeros(n)
        for e in order:
            out += np.multiply(weights[e], events[e], dtype=np.float64)
        return out

    want = numpy_sum(("a", "b", "c"))
    assert OutcomeObjective(weights)(fb).tobytes() == want.tobytes()
    # what the comparison catches: the events in another order, the last one fused
    assert numpy_sum(("c", "b", "a")).tobytes() != want.tobytes()
    fused = numpy_sum(("a", "b"))
    fused = np.array([float(Fraction(0.3) * int(c) + Fraction(x))
                      for c, x in zip(events["c"], fused, strict=True)])
    assert fused.tobytes() != want.tobytes()
