"""Bad actions raise ActionError naming the user and slot; guardrails project or refuse."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded

from outcome_gym.env import NATIVE_ID, VARIANTS_ID, PersonalizationEnv, VariantActions
from outcome_gym.errors import ActionError, PolicyError, ScenarioValidationError
from outcome_gym.sim.interface import Action


@pytest.fixture
def env():
    e = PersonalizationEnv("productivity_tool", population=6, horizon_days=2)
    e.reset(seed=0)
    return e


def _default(env):
    """The unpersonalized native action (default layout, default schedule)."""
    n, s = env.context.n_users, env.context.n_slots
    layout = np.broadcast_to(env.layout_index(env.context.default_layout), (n, s)).copy()
    return {"layout": layout, "notify": env.default_notify().astype(np.int8)}


def test_the_default_action_is_in_the_space_and_steps(env):
    action = _default(env)
    assert env.action_space.contains(action)
    env.step(action)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: a.update(layout=a["layout"][:, :-1]), r"expected layout of shape \(6, 7\)"),
        (lambda a: a.update(notify=a["notify"][:3]), r"expected notify of shape \(6, 3\)"),
        (lambda a: a.update(layout=a["layout"].astype(float)), "expected an integer layout"),
        (lambda a: a["layout"].__setitem__((3, 5), 7), r"step 0: user 3, slot 5: .* \[0, 7\), got 7"),
        (lambda a: a["layout"].__setitem__((2, 4), -1), r"user 2, slot 4: .* got -1"),
        (lambda a: a["notify"].__setitem__((1, 2), 2), r"user 1, notification 2: expected 0 or 1"),
        (lambda a: a.update(notify=a["notify"] * 0.5), "expected 0/1 or boolean notify"),
        (lambda a: a.pop("notify"), "expected a dict with keys 'layout' and 'notify'"),
    ],
)
def test_bad_native_actions_raise_action_error(env, change, match):
    action = _default(env)
    change(action)
    with pytest.raises(ActionError, match=match):
        env.step(action)


def test_a_non_dict_action_raises(env):
    with pytest.raises(ActionError, match=r"expected a dict .* got ndarray"):
        env.step(np.zeros(3))


def test_step_before_reset_and_after_the_end_needs_reset():
    env = PersonalizationEnv(population=4, horizon_days=1)
    with pytest.raises(ResetNeeded):
        env.step(env.action_space.sample())
    env.reset(seed=1)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        done = terminated or truncated
    with pytest.raises(ResetNeeded, match="episode has ended"):
        env.step(env.action_space.sample())


def _move_core(env):
    action = _default(env)
    layout = action["layout"]
    layout[0, [0, 2]] = layout[0, [2, 0]]  # user 0 swaps a core element out of slot 0
    return action


def test_guardrails_project_a_moved_core_and_count_it(env):
    _, _, _, _, info = env.step(_move_core(env))
    assert info["guardrail_core_restored"] == 2.0  # the core slot and the misplaced core element
    assert env.model.observe().layout[0, 0] == env.context.default_layout[0]


def test_strict_guardrails_raise_naming_user_and_slot():
    env = PersonalizationEnv(population=6, horizon_days=2, guardrail_mode="strict")
    env.reset(seed=0)
    with pytest.raises(ActionError, match=r"user 0, slot 0: a core element was moved"):
        env.step(_move_core(env))


def test_without_guardrails_nothing_is_projected():
    env = PersonalizationEnv(population=6, horizon_days=2, guardrails=False)
    env.reset(seed=0)
    _, _, _, _, info = env.step(_move_core(env))
    assert all(info[f"guardrail_{k}"] == 0.0 for k in
               ("core_restored", "layout_reverted", "notification_capped", "quiet_slot"))
    assert env.model.observe().layout[0, 0] == env.context.default_layout[2]


def test_guardrail_counts_reach_info_in_a_quiet_slot():
    env = PersonalizationEnv(population=5, horizon_days=1)
    env.reset(seed=0)
    everything = {"layout": _default(env)["layout"], "notify": np.ones((5, 3), np.int8)}
    counts = [env.step(everything)[4] for _ in range(4)]
    night = counts[3]
    assert night["slot"] == 3  # the scenario's quiet slot
    assert night["guardrail_quiet_slot"] == 15.0 and night["delivered"] == 0.0
    assert sum(c["guardrail_notification_capped"] for c in counts) > 0


def test_variant_actions_raise_naming_the_user():
    env = gym.make(VARIANTS_ID)
    env.reset(seed=0)
    action = np.zeros(40, dtype=np.int64)
    action[2 * 4] = 5  # user 4: layout variant 5 of 5
    with pytest.raises(ActionError, match=r"user 4: expected a layout variant index in \[0, 5\)"):
        env.step(action)
    action[2 * 4], action[2 * 7 + 1] = 0, -1
    with pytest.raises(ActionError, match=r"user 7: expected a notification plan index"):
        env.step(action)
    with pytest.raises(ActionError, match=r"shape \(40,\)"):
        env.step(np.zeros(39, dtype=np.int64))


def test_variant_actions_map_to_the_named_variants():
    base = PersonalizationEnv(population=3, horizon_days=1)
    env = VariantActions(base)
    env.reset(seed=0)
    v = env.variants
    tips = v.layout_names.index("promote:tips")
    send = v.notify_names.index("send:social_activity")
    native = env.action(np.array([tips, send, 0, 0, 0, 1]))
    assert np.array_equal(base.context.layout_elements[native["layout"][0]], v.layouts[tips])
    assert native["notify"][0].tolist() == [0, 1, 0]
    assert native["notify"][1].tolist() == [0, 0, 0]  # plan 'none'
    assert native["notify"][2].tolist() == base.default_notify()[2].astype(int).tolist()


def test_variant_actions_of_other_integer_types_are_the_int64_ones():
    # an int64 vector is taken as it is; other integers (a list, int32, uint8) are cast first
    base = PersonalizationEnv(population=3, horizon_days=1)
    env = VariantActions(base)
    env.reset(seed=0)
    want = env.action(np.array([1, 2, 0, 0, 2, 1], np.int64))
    for other in ([1, 2, 0, 0, 2, 1], np.array([1, 2, 0, 0, 2, 1], np.int32),
                  np.array([1, 2, 0, 0, 2, 1], np.uint8)):
        got = env.action(other)
        assert all(np.array_equal(got[k], want[k]) for k in ("layout", "notify"))
    with pytest.raises(ActionError, match="integer variant indices, got dtype float64"):
        env.action(np.ones(6))


def test_variant_actions_need_a_personalization_env():
    with pytest.raises(TypeError, match="wraps a PersonalizationEnv"):
        VariantActions(gym.make("CartPole-v1"))


def test_bad_constructor_arguments_are_typed_errors():
    with pytest.raises(PolicyError, match=r"unknown objective 'outcom'.*Did you mean 'outcome'"):
        gym.make(NATIVE_ID, objective="outcom")
    with pytest.raises(PolicyError, match="weight in"):
        PersonalizationEnv(objective="mixed", objective_params={"weight": 2.0})
    with pytest.raises(ScenarioValidationError, match=r"population\.size"):
        PersonalizationEnv(population=0)
    with pytest.raises(ScenarioValidationError, match="productivity_tool"):
        PersonalizationEnv(scenario="productivity_tol")


def test_segment_variants_give_everyone_in_a_segment_the_same_variant():
    base = PersonalizationEnv(population=30, horizon_days=1)
    env = VariantActions(base, per="segment")
    env.reset(seed=0)
    k = len(base.context.scenario.population.segments)
    assert env.action_space.shape == (2 * k,)
    choice = np.array([1, 0] * k)
    choice[2 * (k - 1)] = 2  # the last segment gets layout variant 2
    native = env.action(choice)
    seg = np.asarray(base.context.segment)
    lay = np.asarray(native["layout"])
    assert (lay[seg == k - 1] == lay[seg == k - 1][0]).all()
    assert not np.array_equal(lay[seg == 0][0], lay[seg == k - 1][0])
    with pytest.raises(ActionError, match=r"segment 0: expected a layout variant index"):
        env.action(np.array([99, 0] * k))


def test_variant_actions_hand_the_env_the_action_its_native_dict_decodes_to():
    # VariantActions directly around the env steps it with the simulator action (no native
    # round trip); with a wrapper in between it goes through the native dict: the same episode
    from tests.env.helpers import assert_same

    def episode(between: bool) -> list:
        base = PersonalizationEnv("productivity_tool", population=12, horizon_days=2)
        inner = gym.Wrapper(base) if between else base
        env = VariantActions(inner, per="user")
        obs, info = env.reset(seed=3)
        env.action_space.seed(4)
        out = [(obs, info)]
        for _ in range(8):
            out.append(env.step(env.action_space.sample()))
        return out

    assert_same(episode(False), episode(True))


def test_mean_reward_is_np_mean_bit_for_bit(monkeypatch):
    from outcome_gym.env import env as env_module
    from outcome_gym.env.env import mean_reward

    summed = []  # the vectors the compiled sum was given: the fast path is taken where it should
    pairwise_sum = env_module.pairwise_sum
    monkeypatch.setattr(env_module, "pairwise_sum",
                        lambda r, start, stop: summed.append(r) or pairwise_sum(r, start, stop))
    rng = np.random.default_rng(0)
    cases = [rng.normal(size=n) * 10.0 ** rng.integers(-3, 4, size=n) for n in (1, 7, 200, 1001)]
    cases += [np.full(5, -0.0), np.zeros(3), np.array([1e308, 1e308])]
    fast = list(cases)
    # np.mean's own path: a strided view, a read-only array (mean_reward's guard sends neither to
    # the compiled sum, which would compile a second signature for them)
    frozen = cases[2].copy()
    frozen.setflags(write=False)
    cases += [cases[3][::3], frozen]
    for r in cases:
        with np.errstate(over="ignore"):  # 1e308 + 1e308: inf either way
            want = float(np.mean(r))
            got = mean_reward(r)
        assert type(got) is float
        assert np.float64(got).view(np.int64) == np.float64(want).view(np.int64)
    assert len(summed) == len(fast) and all(a is b for a, b in zip(summed, fast, strict=True))
    # anything but a 1-D float64 array goes through np.mean itself
    assert mean_reward(np.array([1, 2], np.int32)) == 1.5
    assert mean_reward([0.5, 1.0]) == 0.75
    assert mean_reward(np.ones((2, 2), np.float32)) == 1.0
    with pytest.warns(RuntimeWarning):  # no users: np.mean's NaN and its warning, as before
        assert np.isnan(mean_reward(np.zeros(0)))


@pytest.mark.parametrize("bad", [-3, 40])
def test_step_action_validates_a_simulator_action(env, bad):
    # there is no public way around the product's validation (the wrappers' own, for actions
    # they build valid from the scenario's tables, is private)
    default = env.model.default_action()
    layout = np.array(default.layout, copy=True)
    layout[2, 4] = bad
    with pytest.raises(TypeError):
        env.step_action(default, checked=True)  # the old shortcut is gone
    with pytest.raises(ActionError, match=rf"PersonalizationEnv at step 0: user 2, slot 4: "
                                          rf".* got {bad}"):
        env.step_action(Action(layout=layout, notify=default.notify))
    assert env.model.t == 0  # nothing stepped
    env.step_action(default)
    assert env.model.t == 1


def test_a_bad_layout_is_named_before_a_bad_notify(env):
    # both wrong: the layout's element is named (the checks' order), whatever the notify holds
    action = _default(env)
    action["layout"][1, 2] = 99
    action["notify"][0, 0] = 5
    with pytest.raises(ActionError, match=r"user 1, slot 2: expected a laid-out element index"):
        env.step(action)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint8, bool])
def test_native_notify_of_any_integer_or_bool_dtype_decodes_alike(env, dtype):
    from outcome_gym.env.spaces import ActionDecoder

    rng = np.random.default_rng(0)
    ctx = env.context
    layout = rng.integers(0, len(ctx.layout_elements), (ctx.n_users, ctx.n_slots))
    notify = rng.integers(0, 2, (ctx.n_users, ctx.n_pushed))
    got = ActionDecoder(ctx)({"layout": layout.astype(np.int16), "notify": notify.astype(dtype)})
    assert got.layout.dtype == np.int64 and got.notify.dtype == np.bool_
    assert got.layout.tolist() == np.asarray(ctx.layout_elements)[layout].tolist()
    assert got.notify.tolist() == (notify == 1).tolist()


def test_the_schedule_of_every_step_is_the_worlds_and_shared_read_only():
    # the world builds the schedule's sends once per set of entries that send (World.sends_at),
    # for every step of every episode; default_notify() hands out a writable copy
    env = PersonalizationEnv("productivity_tool", population=40, horizon_days=8)
    env.reset(seed=0)
    world, segment = env.model.world, env.model.pop.segment
    seen = {}
    while True:
        shared = env._schedule_now()
        assert not shared.flags.writeable
        assert np.array_equal(shared, world.default_notify(env.model.t, segment))
        copy = env.default_notify()
        assert copy.flags.writeable and np.array_equal(copy, shared)
        seen.setdefault(world.sends_at(env.model.t), shared)
        assert seen[world.sends_at(env.model.t)] is shared  # built once
        if any(env.step_action(env.model.default_action())[2:4]):
            break
    assert len(seen) > 2 and any(s.any() for s in seen.values())  # the schedule does send


def test_the_actions_and_step_results_built_without_init_hold_every_field_of_their_classes():
    # the native decoder, the variant actions and Product._step_valid build their Action and
    # StepResult without the frozen dataclass's __init__ (interface._instance): each holds exactly
    # its class's fields, in order, and __init__ accepts them again (dataclasses.replace); a
    # pickle round trip keeps the type and fields. A field added to either class (even with a
    # default) fails here, not as an AttributeError far from the builder.
    import dataclasses
    import pickle

    from outcome_gym.env.spaces import decode_action
    from outcome_gym.env.wrappers import variants_to_action
    from outcome_gym.product import StepResult

    env = PersonalizationEnv("productivity_tool", population=6, horizon_days=2)
    env.reset(seed=0)
    ctx, product = env.context, env._product
    native = decode_action(_default(env), ctx)
    variant = variants_to_action(np.array([1, 0] * 6), env.variants, ctx, env.default_notify())
    results = [product.step(native), product._step_valid(variant, own=True)]
    for got, cls in ((native, Action), (variant, Action), *((r, StepResult) for r in results)):
        names = [f.name for f in dataclasses.fields(cls)]
        assert type(got) is cls and list(vars(got)) == names
        assert type(dataclasses.replace(got)) is cls
        back = pickle.loads(pickle.dumps(got))
        assert type(back) is cls and list(vars(back)) == names
    assert results[1].action is variant and results[1].record.step == 1


def test_every_builder_without_init_is_one_whose_objects_a_test_checks():
    # interface._instance's callers, by file and class: those of the recorder and with_metrics
    # (tests/sim/test_recording.py) and the three above. A new caller must add its objects to
    # one of those tests, then here.
    import re
    from pathlib import Path

    import outcome_gym

    root = Path(outcome_gym.__file__).parent
    calls = sorted((f.relative_to(root).as_posix(), cls)
                   for f in root.rglob("*.py")
                   for cls in re.findall(r"\b_instance\((?:itf\.)?(\w+),", f.read_text()))
    assert calls == [("env/spaces.py", "Action"), ("env/wrappers.py", "Action"),
                     ("product/product.py", "StepResult"), ("sim/interface.py", "StepRecord"),
                     ("sim/recording.py", "Feedback"), ("sim/recording.py", "Observation"),
                     ("sim/recording.py", "StepRecord")]
