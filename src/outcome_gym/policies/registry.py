"""Policies by name: ``make("random", keep_core=False)``, close-name suggestions, entry points.

Third-party packages register policies under the ``outcome_gym.policies`` entry-point group::

    [project.entry-points."outcome_gym.policies"]
    my_policy = "my_package.policies:MyPolicy"
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from outcome_gym.errors import PolicyError
from outcome_gym.policies.baseline import RandomPolicy, StaticPolicy
from outcome_gym.policies.rules import RulesPolicy

_REGISTRY: dict[str, Callable[..., Any]] = {}


def register(name: str, factory: Callable[..., Any], *, overwrite: bool = False) -> None:
    """Register a policy factory (usually a class) under ``name``."""
    if name in _REGISTRY and not overwrite:
        raise PolicyError(f"policy '{name}' is already registered")
    _REGISTRY[name] = factory


def _entry_point_policies() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group="outcome_gym.policies")}


def names() -> list[str]:
    """All registered and entry-point policy names, sorted."""
    return sorted(set(_REGISTRY) | set(_entry_point_policies()))


def describe(name: str) -> str:
    """First docstring line of a registered policy (or where it comes from)."""
    factory = _REGISTRY.get(name)
    if factory is None:
        ep = _entry_point_policies().get(name)
        return f"(from package entry point {ep.value})" if ep else "(unknown)"
    target = getattr(factory, "func", factory)
    doc = (getattr(target, "__doc__", None) or "").strip().split("\n\n")[0]
    text = " ".join(doc.split())
    return text if len(text) <= 100 else text[:97] + "..."


def make(name: str, **params: Any) -> Any:
    """Build a policy by registry name with hyperparameters.

    Raises:
        PolicyError: Unknown name (with the closest known names) or bad parameters.
    """
    factory = _REGISTRY.get(name)
    if factory is None:
        ep = _entry_point_policies().get(name)
        if ep is None:
            close = difflib.get_close_matches(name, names(), n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise PolicyError(f"unknown policy '{name}'; known: {', '.join(names())}.{hint}")
        factory = ep.load()
    try:
        return factory(**params)
    except TypeError as exc:
        raise PolicyError(f"policy '{name}': bad parameters {params}: {exc}") from None


register("static", StaticPolicy)
register("random", RandomPolicy)
register("rules", RulesPolicy)
