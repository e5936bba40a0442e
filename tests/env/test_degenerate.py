"""Every Gymnasium id over degenerate but valid worlds (tests/degenerate.py): a whole episode of
sampled actions, Gymnasium's ``check_env``, and what each case gives by hand.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from outcome_gym.env import ENV_IDS, PersonalizationEnv, encode_action
from outcome_gym.scenario import load_scenario
from tests.conftest import TINY
from tests.degenerate import CASES, degenerate
from tests.env.helpers import rollout

KNOWN_WARNINGS = [  # as in test_conformance: by design (unbounded entries, wrapper stacks)
    "ignore:.*Box observation space (maximum|minimum) value is.*infinity",
    "ignore:.*is different from the unwrapped version",
]
WORLDS = {"tiny": str(TINY), "productivity_tool": "productivity_tool"}
SIZE, DAYS = 8, 2


@pytest.fixture(scope="module")
def bases():
    return {name: load_scenario(source) for name, source in WORLDS.items()}


def _infos(steps):
    return [info for _, reward, _, _, info in steps if reward is not None]


def _rewards(steps):
    return [reward for _, reward, _, _, _ in steps if reward is not None]


def _no_templates(env, sc, steps):
    n = sc.population.size
    space = env.unwrapped.action_space["notify"]
    assert space.shape == (n, 0) and space.dtype == np.int8
    assert all(i["delivered"] == i["opens"] == i["interruption_minutes"] == 0
               for i in _infos(steps))


def _no_goals(env, sc, steps):
    assert all(i["goal_progress"] == 0 for i in _infos(steps))
    assert _rewards(steps) == [0.0] * sc.clock.n_steps  # the outcome objective: no event ever


def _no_instrumented(env, sc, steps):
    assert "events" not in env.unwrapped.observation_space.spaces
    assert _rewards(steps) == [0.0] * sc.clock.n_steps


def _no_context(env, sc, steps):
    keys = [f"{kind}_events" for kind in ("device_switch", "colleague_share", "support_contact")]
    assert all(i[k] == 0 for i in _infos(steps) for k in (*keys, "support_tickets"))


def _single_segment(env, sc, steps):
    segment = env.unwrapped.observation_space["segment"]
    assert segment.shape == (SIZE, 1)


def _one_user(env, sc, steps):
    assert env.unwrapped.action_space["layout"].shape[0] == 1
    assert all(i["active_users"] <= 1 for i in _infos(steps))


def _one_slot(env, sc, steps):
    assert env.unwrapped.observation_space["slot"].shape == (1,)
    assert [i["slot"] for i in _infos(steps)] == [0] * DAYS


def _one_day(env, sc, steps):
    assert [i["day"] for i in _infos(steps)] == [0] * sc.clock.slots_per_day


EXPECT = {"no_templates": _no_templates, "no_goals": _no_goals,
          "no_instrumented": _no_instrumented, "no_context": _no_context,
          "single_segment": _single_segment, "one_user": _one_user, "one_slot": _one_slot,
          "one_day": _one_day}
assert set(EXPECT) == set(CASES), "every degenerate case needs its expectation here"


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
@pytest.mark.parametrize("world", sorted(WORLDS))
@pytest.mark.filterwarnings(*KNOWN_WARNINGS)
def test_every_id_runs_a_degenerate_world_as_its_case_says(bases, world, env_id, case):
    sc = degenerate(bases[world], case, size=SIZE, days=DAYS)
    # None: the scenario's own size and horizon, not the id's defaults
    env = gym.make(env_id, scenario=sc, population=None, horizon_days=None)
    steps = rollout(env, seed=0, action_seed=1)
    assert len(steps) == sc.clock.n_steps + 1 and steps[-1][3]  # truncated at the horizon
    for obs, reward, *_ in steps:
        assert env.observation_space.contains(obs)
        assert reward is None or np.isfinite(reward)
    EXPECT[case](env, sc, steps)
    check_env(env.unwrapped)
    check_env(env)


def test_a_product_without_notifications_has_an_n_by_0_notify_action(bases):
    """MultiBinary refuses a zero count: the notify key stays, an N x 0 int8 Box."""
    sc = degenerate(bases["tiny"], "no_templates", size=3, days=1)
    env = PersonalizationEnv(sc)
    env.reset(seed=0)
    native = encode_action(env.model.default_action(), env.context)
    assert native["notify"].shape == (3, 0) and env.action_space.contains(native)
    env.action_space.seed(0)
    assert env.action_space.sample()["notify"].shape == (3, 0)
    _, reward, _, _, info = env.step(native)
    assert info["delivered"] == info["opens"] == 0 and np.isfinite(reward)
