"""Helpers for testing policies, for our own suite and for third-party policy authors.

``check_policy`` is the conformance check a policy author runs (like Gymnasium's ``check_env``)::

    from outcome_gym.testing import check_policy
    check_policy(lambda: MyPolicy(alpha=0.1), "productivity_tool")

It raises :class:`PolicyCheckError` (an ``AssertionError``, so test runners show it as a failure)
naming the check, the step and what was wrong; it returns the list of checks passed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from outcome_gym.errors import ActionError, OutcomeGymError
from outcome_gym.product import Product
from outcome_gym.scenario import Scenario
from outcome_gym.scenario.overrides import with_overrides
from outcome_gym.sim.interface import Action, Observation


class PolicyCheckError(AssertionError):
    """A policy failed a conformance check."""


def _scenario(source: Scenario | str | Path, **changes: Any) -> Scenario:
    return with_overrides(source, changes)


def _fresh(policy: Any) -> Any:
    if isinstance(policy, type) or (callable(policy) and not hasattr(policy, "act")):
        return policy()  # a class or a factory
    return copy.deepcopy(policy)


def _snapshot(obs: Observation) -> dict[str, np.ndarray]:
    out = {k: np.array(getattr(obs, k), copy=True) for k in
           ("active", "session", "clicks", "minutes", "delivered", "opened", "receptivity",
            "layout")}
    out.update({f"event:{k}": np.array(v, copy=True) for k, v in obs.events.items()})
    return out


def _rollout(policy: Any, scenario: Scenario, seed: int, steps: int, name: str) -> list[Action]:
    """Run ``policy`` as a run does (through ``Product.step``), checking each step on the way."""
    product = Product(scenario, seed)
    try:
        policy.reset(product.context, product.model.streams.policy_seed())
    except OutcomeGymError:
        raise
    except Exception as exc:
        raise PolicyCheckError(f"{name}: reset() raised {type(exc).__name__}: {exc}") from exc
    actions = []
    for _ in range(min(steps, product.model.world.n_steps)):
        obs = product.observe()
        before = _snapshot(obs)
        try:
            action = policy.act(obs)
        except Exception as exc:
            raise PolicyCheckError(f"{name}: act() raised at step {product.t}: "
                                   f"{type(exc).__name__}: {exc}") from exc
        try:
            step = product.step(action, who=name)
        except ActionError as exc:
            raise PolicyCheckError(f"{name}: invalid action: {exc}") from exc
        _check_untouched(name, obs, before, action, step.record.step)
        try:
            policy.update(obs, step.action, step.feedback)
        except Exception as exc:
            raise PolicyCheckError(f"{name}: update() raised at step {step.record.step}: "
                                   f"{type(exc).__name__}: {exc}") from exc
        actions.append(Action(layout=np.array(action.layout, copy=True),
                              notify=np.array(action.notify, copy=True)))
    return actions


def _check_untouched(name: str, obs: Observation, before: dict[str, np.ndarray], action: Action,
                     t: int) -> None:
    """``act()`` left the observation as it was and returned arrays of its own."""
    now = _snapshot(obs)
    for key, arr in before.items():
        if not np.array_equal(arr, now[key]):
            raise PolicyCheckError(f"{name}: act() mutated the observation ('{key}') at step {t}")
    for key in ("layout", "notify"):
        for okey in ("layout", "clicks", "opened", "delivered"):
            if np.shares_memory(np.asarray(getattr(action, key)), np.asarray(getattr(obs, okey))):
                raise PolicyCheckError(f"{name}: action.{key} shares memory with "
                                       f"observation.{okey} at step {t}")


def check_policy(policy: Any, scenario: Scenario | str | Path = "productivity_tool", *,
                 seed: int = 0, steps: int = 24, name: str | None = None) -> list[str]:
    """Run the conformance checks on a policy.

    Args:
        policy: A policy object (deep-copied for each check) or a zero-argument factory.
        scenario: A scenario object, bundled name or path.
        seed: Seed for the checks.
        steps: Steps per rollout (capped at the horizon).
        name: Name used in messages (default: the policy's ``name`` or class name).

    Returns:
        The names of the checks passed.

    Raises:
        PolicyCheckError: The first check that failed, with what and where.
    """
    probe = _fresh(policy)
    name = name or getattr(probe, "name", type(probe).__name__)
    for method in ("reset", "act", "update"):
        if not callable(getattr(probe, method, None)):
            raise PolicyCheckError(f"{name}: missing method {method}() of the Policy protocol")
    passed = ["protocol"]
    base = _scenario(scenario, **{"population.size": 60})
    first = _rollout(_fresh(policy), base, seed, steps, name)
    passed.append("valid actions on every step, observation untouched, no aliasing")
    again = _rollout(_fresh(policy), base, seed, steps, name)
    for t, (a, b) in enumerate(zip(first, again, strict=True)):
        if not (np.array_equal(a.layout, b.layout) and np.array_equal(a.notify, b.notify)):
            raise PolicyCheckError(f"{name}: not deterministic under a seed: actions differ at "
                                   f"step {t}")
    passed.append("deterministic under a seed")
    churny = _scenario(base, **{"user_model.churn_rate": 1.0, "user_model.churn_trust": 1.0})
    _rollout(_fresh(policy), churny, seed, max(steps, 3 * churny.clock.slots_per_day), name)
    passed.append("handles churned users")
    for size in (1, 7):
        _rollout(_fresh(policy), _scenario(base, **{"population.size": size}), seed, 4, name)
    passed.append("respects the shapes of other population sizes")
    return passed


PolicyFactory = Callable[[], Any]


# --- assertions for a team's own pytest suite ------------------------------------------------


def _stat(cmp: Any, policy: str, metric: str) -> Any:
    if policy not in cmp.stats:
        raise PolicyCheckError(f"policy '{policy}' is not in the comparison "
                               f"(compared: {list(cmp.stats)})")
    if metric not in cmp.stats[policy]:
        raise PolicyCheckError(f"metric '{metric}' is not in the comparison")
    return cmp.stats[policy][metric]


def assert_outcome_lift(cmp: Any, policy: str, outcome: str, *, min_lift: float | None = None,
                        max_lift: float | None = None) -> None:
    """Fail when an outcome spec's lift interval lies entirely beyond a bound.

    Args:
        cmp: A :class:`~outcome_gym.compare.Comparison`.
        policy: The compared policy's label.
        outcome: The outcome spec id.
        min_lift, max_lift: Bounds on the relative lift against the reference.
    """
    from outcome_gym.check.evaluate import _check_interval

    st = _stat(cmp, policy, f"outcome.{outcome}")
    if not cmp.measured(f"outcome.{outcome}"):
        raise PolicyCheckError(f"{policy}: outcome '{outcome}' is not measured: its segment has "
                               "no users in this comparison")
    ok, msg = _check_interval(st.lift, st.lift_low, st.lift_high, min_lift, max_lift, True,
                              f"{policy}: outcome '{outcome}' lift")
    if not ok:
        raise PolicyCheckError(msg)


def assert_not_trap(cmp: Any, policy: str, verdicts: tuple[str, ...] = ("trap", "harm")) -> None:
    """Fail when the policy's verdict against the reference is one of ``verdicts``."""
    if policy not in cmp.verdicts:
        raise PolicyCheckError(f"policy '{policy}' is not in the comparison")
    v = cmp.verdicts[policy]
    empty = [seg for seg, r in v.segments.items() if r["rule"] == "no-users"]
    if empty:  # the verdict does not speak for them: passing would be a pass on no data
        raise PolicyCheckError(f"{policy}: target segment(s) {empty} have no users in this "
                               "comparison; the verdict cannot be checked for them")
    if v.verdict in verdicts:
        raise PolicyCheckError(f"{policy}: verdict against '{cmp.reference}' is {v.verdict}: "
                               + "; ".join(v.reasons))


def assert_core_consistent(cmp: Any, policy: str, minimum: float = 0.95) -> None:
    """Fail when the policy's core consistency (seed mean) is below ``minimum``."""
    st = _stat(cmp, policy, "fragmentation.core_consistency")
    if not np.isfinite(st.pol_mean) or st.pol_mean < minimum:
        raise PolicyCheckError(f"{policy}: core consistency {st.pol_mean:.1%} is below "
                               f"{minimum:.0%}")
