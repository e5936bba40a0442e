"""The Gymnasium environment: a synthetic population with the personalization policy as the agent.

Importing this package registers the ``outcome_gym/...`` ids::

    import gymnasium as gym
    import outcome_gym.env  # registers the ids

    env = gym.make("outcome_gym/Personalization-v0", scenario="productivity_tool",
                   objective="outcome")
"""

from outcome_gym._registration import (
    ENV_IDS,
    NATIVE_ID,
    RECIPE_ID,
    SEGMENTS_ID,
    VARIANTS_ID,
    register_envs,
)
from outcome_gym.env.env import PersonalizationEnv, resolve_scenario
from outcome_gym.env.spaces import (
    action_space,
    decode_action,
    encode_action,
    encode_observation,
    observation_space,
)
from outcome_gym.env.wrappers import (
    SegmentSummary,
    TargetedOutcomeReward,
    VariantActions,
    make_flat_env,
    variant_action_space,
    variants_to_action,
)

register_envs()

__all__ = [
    "ENV_IDS",
    "NATIVE_ID",
    "RECIPE_ID",
    "SEGMENTS_ID",
    "VARIANTS_ID",
    "PersonalizationEnv",
    "SegmentSummary",
    "TargetedOutcomeReward",
    "VariantActions",
    "action_space",
    "decode_action",
    "encode_action",
    "encode_observation",
    "make_flat_env",
    "observation_space",
    "register_envs",
    "resolve_scenario",
    "variant_action_space",
    "variants_to_action",
]
