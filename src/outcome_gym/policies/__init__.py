"""Personalization policies: the protocol, built-ins and the registry."""

from outcome_gym.policies.bandits import EpsilonGreedyPolicy, LinUCBPolicy, ThompsonPolicy
from outcome_gym.policies.base import BasePolicy, Policy, treats_users_apart
from outcome_gym.policies.baseline import RandomPolicy, StaticPolicy
from outcome_gym.policies.registry import make, names, register

__all__ = [
    "BasePolicy",
    "EpsilonGreedyPolicy",
    "LinUCBPolicy",
    "Policy",
    "RandomPolicy",
    "StaticPolicy",
    "ThompsonPolicy",
    "make",
    "names",
    "register",
    "treats_users_apart",
]
