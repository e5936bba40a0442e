"""The ``outcome_gym/...`` ids in Gymnasium's registry.

* ``outcome_gym/Personalization-v0``: :class:`~outcome_gym.env.env.PersonalizationEnv` with its
  native ``Dict`` spaces (default: ``productivity_tool``, objective ``outcome``);
* ``outcome_gym/PersonalizationVariants-v0``: variant actions and a flat observation
  (:func:`~outcome_gym.env.wrappers.make_flat_env`), 20 users over 7 days by default so RL trains
  fast, one variant choice per user;
* ``outcome_gym/PersonalizationSegments-v0``: the same with one variant choice per segment (what a
  product team ships: a layout and a notification plan per target segment). Stable-Baselines3 PPO
  is tested on this id's population with ``per="all"`` (one choice for everyone): with a head per
  segment or user, each head's effect on a mean reward is too small to learn in the test budget
  with that id's flat observation;
* ``outcome_gym/PersonalizationRecipe-v0``: the id of the PPO recipe (docs/rl.md,
  examples/rl/train_ppo.py): ``finance_alerts``, 200 users over 31 days (one budget window and the
  day it closes), one variant choice for everyone, the per-segment summary observation.

``import outcome_gym`` registers them (this module imports nothing heavier than Gymnasium's
registry, so the import stays cheap), and ``gymnasium.register_envs(outcome_gym)`` works as with
any other environment package.
"""

from __future__ import annotations

from typing import Any

from gymnasium.envs.registration import register, registry

NATIVE_ID = "outcome_gym/Personalization-v0"
VARIANTS_ID = "outcome_gym/PersonalizationVariants-v0"
SEGMENTS_ID = "outcome_gym/PersonalizationSegments-v0"
RECIPE_ID = "outcome_gym/PersonalizationRecipe-v0"

ENV_IDS: dict[str, dict[str, Any]] = {
    NATIVE_ID: {
        "entry_point": "outcome_gym.env.env:PersonalizationEnv",
        "kwargs": {"scenario": "productivity_tool", "objective": "outcome"},
    },
    VARIANTS_ID: {
        "entry_point": "outcome_gym.env.wrappers:make_flat_env",
        "kwargs": {
            "scenario": "productivity_tool",
            "objective": "outcome",
            "population": 20,
            "horizon_days": 7,
        },
    },
    SEGMENTS_ID: {
        "entry_point": "outcome_gym.env.wrappers:make_flat_env",
        "kwargs": {
            "scenario": "productivity_tool",
            "objective": "outcome",
            "population": 200,
            "horizon_days": 7,
            "per": "segment",
        },
    },
    RECIPE_ID: {
        "entry_point": "outcome_gym.env.wrappers:make_flat_env",
        "kwargs": {
            "scenario": "finance_alerts",
            "objective": "outcome",
            "population": 200,
            "horizon_days": 31,
            "per": "all",
            "observation": "summary",
        },
    },
}


def register_envs() -> None:
    """Register every ``outcome_gym/...`` id (idempotent: ids already present are kept)."""
    for env_id, spec in ENV_IDS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=spec["entry_point"], kwargs=dict(spec["kwargs"]))
