"""The policy protocol (docs/design.md section 9).

A policy is any object with three methods. Its constructor only stores hyperparameters (under the
same names); everything learned is created in ``reset`` and ends in ``_``.

    reset(context, seed)             called once before a run, with the product's public facts and
                                     a SeedSequence for the policy's own randomness
    act(observation) -> Action       a layout for every user and which notifications to send now
    update(observation, action, feedback)   what the product saw happen after the action
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from outcome_gym.sim.interface import Action, Feedback, Observation, PolicyContext


@runtime_checkable
class Policy(Protocol):
    """What outcome-gym needs of a personalization policy."""

    def reset(self, context: PolicyContext, seed: np.random.SeedSequence) -> None:
        """Prepare for a run."""

    def act(self, observation: Observation) -> Action:
        """Decide layouts and notifications for every user now."""

    def update(self, observation: Observation, action: Action, feedback: Feedback) -> None:
        """Learn from what happened after ``action``."""


def treats_users_apart(policy: Any) -> bool:
    """True if ``policy``'s class itself declares ``treats_users_apart = True``.

    Such a policy decides each user's action from that user's own observations alone (and the
    product's public facts), never from other users' feedback or from random numbers drawn over
    all users: a story may then replay it for the user's team only (``SimulationModel(users=)``)
    and get exactly the user's days of the full run. The declaration is read from the class's own
    namespace, not inherited: a subclass that changes how it acts must declare it again, since a
    wrong True is a silently wrong story (tests/cli/test_story_subset.py checks every policy that
    declares it against a full run).
    """
    return vars(type(policy)).get("treats_users_apart", False) is True


class BasePolicy:
    """Convenience base: stores the context and a generator; ``update`` does nothing."""

    name = "base"
    treats_users_apart = False
    """Whether a user's action depends on that user's own observations alone (see
    :func:`treats_users_apart`); learners that pool feedback across users do not."""

    def reset(self, context: PolicyContext, seed: np.random.SeedSequence) -> None:
        """Keep the context and make the policy's generator from ``seed``."""
        self.context_ = context
        self.rng_ = np.random.Generator(np.random.PCG64(seed))

    def act(self, observation: Observation) -> Action:  # pragma: no cover - abstract
        """Decide layouts and notifications for every user now."""
        raise NotImplementedError

    def update(self, observation: Observation, action: Action, feedback: Feedback) -> None:
        """Non-learning policies ignore feedback."""

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to the constructor."""
        return {
            k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")
        }

    def default_layout(self) -> np.ndarray:
        """The scenario's default layout for every user (N x S, a writable copy to edit)."""
        ctx = self.context_
        return np.broadcast_to(ctx.default_layout, (ctx.n_users, ctx.n_slots)).copy()

    def default_notify(self, observation: Observation) -> np.ndarray:
        """The scenario's default notification schedule for every user at this step."""
        from outcome_gym.sim.world import compile_world

        if getattr(self, "_world", None) is None:
            self._world = compile_world(self.context_.scenario)
        return self._world.default_notify(observation.step, np.asarray(self.context_.segment))
