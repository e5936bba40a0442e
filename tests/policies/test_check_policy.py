"""check_policy over every registered policy, and that it catches broken policies."""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.policies import BasePolicy, make, names
from outcome_gym.sim.interface import Action
from outcome_gym.testing import PolicyCheckError, check_policy
from tests.conftest import FIXTURES, TINY

NEEDS_ARGS = {"rules": {"rules": str(FIXTURES / "tiny_rules.yaml")},
              # tiny.yaml does not instrument work.arrived: the reference arm (the reminding
              # arm is checked in tests/policies/test_deadline.py on tiny with it instrumented)
              "deadline_reminder": {"goal": "work", "remind": False}}
SKIP = {"sb3"}  # needs a trained model; covered by the env tests


@pytest.mark.parametrize("name", [n for n in names() if n not in SKIP])
def test_every_registered_policy_passes(name):
    passed = check_policy(lambda: make(name, **NEEDS_ARGS.get(name, {})), TINY, steps=12)
    assert "deterministic under a seed" in passed and len(passed) == 5


class _WrongShape(BasePolicy):
    name = "wrong_shape"

    def act(self, observation):
        ctx = self.context_
        return Action(layout=np.zeros((ctx.n_users, ctx.n_slots + 1), np.int64),
                      notify=np.zeros((ctx.n_users, ctx.n_pushed), bool))


class _Unseeded(BasePolicy):
    name = "unseeded"

    def act(self, observation):
        ctx = self.context_
        lay = np.broadcast_to(ctx.default_layout, (ctx.n_users, ctx.n_slots)).copy()
        notify = np.random.default_rng().random((ctx.n_users, ctx.n_pushed)) < 0.5
        return Action(layout=lay, notify=notify)


class _Aliasing(BasePolicy):
    name = "aliasing"

    def act(self, observation):
        return Action(layout=observation.layout, notify=self.default_notify(observation))


class _Crashes(BasePolicy):
    name = "crashes"

    def act(self, observation):
        if observation.step == 3:
            raise RuntimeError("boom")
        ctx = self.context_
        lay = np.broadcast_to(ctx.default_layout, (ctx.n_users, ctx.n_slots)).copy()
        return Action(layout=lay, notify=np.zeros((ctx.n_users, ctx.n_pushed), bool))


@pytest.mark.parametrize(("cls", "match"), [
    (_WrongShape, "wrong_shape: invalid action: .*expected layout of shape"),
    (_Unseeded, "unseeded: not deterministic under a seed"),
    (_Aliasing, "aliasing: action.layout shares memory with observation.layout"),
    (_Crashes, r"crashes: act\(\) raised at step 3: RuntimeError: boom"),
])
def test_broken_policies_fail_with_clear_messages(cls, match):
    with pytest.raises(PolicyCheckError, match=match):
        check_policy(cls, TINY, steps=8)


def test_missing_method():
    class NoUpdate:
        def reset(self, context, seed): ...
        def act(self, observation): ...

    with pytest.raises(PolicyCheckError, match=r"missing method update\(\)"):
        check_policy(NoUpdate, TINY)
