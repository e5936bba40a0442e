"""Policies by name: ``make("random", keep_core=False)``, close-name suggestions, entry points.

Third-party packages register policies under the ``outcome_gym.policies`` entry-point group::

    [project.entry-points."outcome_gym.policies"]
    my_policy = "my_package.policies:MyPolicy"

What a name may resolve to (docs/security.md): a factory registered by name — with
:func:`register` or through the entry-point group, any callable, because registering is code the
user chose to run — or, for a ``package.module:Attribute`` reference, a **policy class** only (a
:class:`~outcome_gym.policies.base.BasePolicy` subclass, or a class whose ``reset`` and ``act`` are
callable). The class is inspected without being instantiated; anything else (a function,
``os:system``, ``subprocess:Popen``, ``builtins:exec``, a module) is refused before it is called.
Importing the module runs its top-level code, as ``import`` does.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from outcome_gym.errors import PolicySpecError, Problem
from outcome_gym.policies.bandits import EpsilonGreedyPolicy, LinUCBPolicy, ThompsonPolicy
from outcome_gym.policies.baseline import RandomPolicy, StaticPolicy
from outcome_gym.policies.deadline import DeadlineReminder
from outcome_gym.policies.rules import RulesPolicy

_REGISTRY: dict[str, Callable[..., Any]] = {}


def register(name: str, factory: Callable[..., Any], *, overwrite: bool = False) -> None:
    """Register a policy factory (usually a class) under ``name``."""
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"policy '{name}' is already registered (pass overwrite=True)")
    _REGISTRY[name] = factory


def _entry_point_policies() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group="outcome_gym.policies")}


def names() -> list[str]:
    """All registered and entry-point policy names, sorted."""
    return sorted(set(_REGISTRY) | set(_entry_point_policies()))


def describe(name: str) -> str:
    """First docstring line of a registered policy (or where it comes from)."""
    factory = _REGISTRY.get(name)
    if factory is None and ":" in name:
        factory = _import_object(name)
    if factory is None:  # listing an entry point does not import (run) its package
        ep = _entry_point_policies().get(name)
        return f"(from package entry point {ep.value})" if ep else "(unknown)"
    target = getattr(factory, "func", factory)
    doc = (getattr(target, "__doc__", None) or "").strip().split("\n\n")[0]
    text = " ".join(doc.split())
    return text if len(text) <= 100 else text[:97] + "..."


def _import_object(spec: str) -> Any:
    """Import ``package.module:Attribute`` (a team's own policy class, without registering it).

    This is also how spawned sweep workers and other machines find a policy: a ``register()`` call
    in the driver alone does not exist there, an importable module does.
    """
    import importlib

    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise PolicySpecError.one(f"expected 'package.module:Class', got {spec!r}")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PolicySpecError.one(
            f"cannot import policy '{spec}': {type(exc).__name__}: {exc} (is '{module}' importable "
            "in every worker, e.g. installed or on PYTHONPATH?)"
        ) from None
    if not is_policy_class(obj):
        raise PolicySpecError.one(
            f"policy '{spec}' resolves to {what_is(obj)}; refused without calling it: a "
            "'module:Attribute' policy must be a class with reset() and act() (e.g. a BasePolicy "
            "subclass)")
    return obj


def _callable_on_class(cls: type, name: str) -> bool:
    """Whether ``cls`` defines a callable ``name``, read without running descriptors."""
    try:
        attr = inspect.getattr_static(cls, name)
    except AttributeError:
        return False
    attr = getattr(attr, "__func__", attr)  # staticmethod / classmethod
    return callable(attr)


def is_policy_class(obj: Any) -> bool:
    """Whether ``obj`` is a class implementing the policy protocol (checked, not instantiated)."""
    from outcome_gym.policies.base import BasePolicy

    if not isinstance(obj, type):
        return False
    if BasePolicy in obj.__mro__:
        return True
    return _callable_on_class(obj, "reset") and _callable_on_class(obj, "act")


def what_is(obj: Any) -> str:
    """A short description of ``obj`` for a refusal: ``the built-in function os.system``."""
    if isinstance(obj, type):
        missing = [m for m in ("reset", "act") if not _callable_on_class(obj, m)]
        return (f"the class {obj.__module__}.{obj.__qualname__}, which has no "
                f"{' or '.join(m + '()' for m in missing)}")
    if inspect.ismodule(obj):
        return f"the module {obj.__name__}, not a class"
    if inspect.isbuiltin(obj):
        module = getattr(obj, "__module__", None) or "builtins"
        return f"the built-in function {module}.{getattr(obj, '__qualname__', '?')}, not a class"
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return f"the function {obj.__module__}.{obj.__qualname__}, not a class"
    return f"a {type(obj).__module__}.{type(obj).__qualname__} object, not a class"


def resolve(name: str) -> Callable[..., Any]:
    """The factory behind a registry name, entry-point name or ``module:Attribute``; never called.

    Raises:
        PolicySpecError: Unknown name (with the closest known names), an import failure, or a
            ``module:Attribute`` that is not a policy class (naming what it is).
    """
    factory = _REGISTRY.get(name)
    if factory is None and ":" in name:
        factory = _import_object(name)
    if factory is None:
        ep = _entry_point_policies().get(name)
        if ep is None:
            close = difflib.get_close_matches(name, names(), n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise PolicySpecError.one(f"unknown policy '{name}'; known: {', '.join(names())}."
                                      f"{hint}")
        factory = ep.load()
    return factory


def make(name: str, **params: Any) -> Any:
    """Build a policy by registry name, entry-point name or ``module:Attribute``, with parameters.

    The factory is resolved and checked (see the module docstring), and the parameters are
    checked against its signature (names, and values against their annotations) before it is
    called.

    Raises:
        PolicySpecError: Unknown name, a reference that is not a policy class, a parameter the
            policy does not take (naming the valid keys), a value its annotation cannot read, or
            a value its constructor rejected; one line per problem.
    """
    from outcome_gym.policies.spec import param_problems

    factory = resolve(name)
    problems = param_problems(name, factory, params)
    if problems:
        raise PolicySpecError([Problem(file="", path="", message=m) for _, m in problems])
    try:
        return factory(**params)
    except (TypeError, ValueError) as exc:
        raise PolicySpecError.one(f"policy '{name}': bad parameters {params}: {exc}") from None


register("static", StaticPolicy)
register("random", RandomPolicy)
register("rules", RulesPolicy)
register("deadline_reminder", DeadlineReminder)
register("epsilon_greedy", EpsilonGreedyPolicy)
register("thompson", ThompsonPolicy)
register("linucb", LinUCBPolicy)
register("engagement_bandit", functools.partial(EpsilonGreedyPolicy, objective="engagement"))
register("outcome_bandit", functools.partial(EpsilonGreedyPolicy, objective="outcome"))


def _sb3(**kw: Any) -> Any:
    """A trained Stable-Baselines3 model; its file unpickles objects: load only your own models.

    (docs/security.md: a saved SB3 model is code.) Stable-Baselines3 is imported only here.
    """
    from outcome_gym.policies.sb3 import SB3Policy

    return SB3Policy(**kw)


register("sb3", _sb3)
