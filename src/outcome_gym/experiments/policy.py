"""Building a policy from a sweep's spec: a registry name, or ``package.module:Class``.

Sweep workers are separate processes (spawned, or on other machines), so a policy registered with
``register()`` in the driver alone does not exist there. A ``module:Class`` spec is importable
wherever the module is, which makes it the way to sweep a policy that lives in your own code.
"""

from __future__ import annotations

import importlib
from typing import Any

from outcome_gym.errors import PolicyError
from outcome_gym.policies import make, registry


def is_import_spec(name: str) -> bool:
    """True for ``module:Attribute`` specs that are not registered names."""
    return ":" in name and name not in registry.names()


def import_object(spec: str) -> Any:
    """Import ``package.module:Attribute`` (dots in the attribute walk nested names).

    Raises:
        PolicyError: The module or the attribute cannot be imported.
    """
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise PolicyError(f"expected 'package.module:Class', got {spec!r}")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PolicyError(
            f"cannot import policy '{spec}': {type(exc).__name__}: {exc} (is '{module}' importable "
            "in every worker, e.g. installed or on PYTHONPATH?)"
        ) from None
    return obj


def build_policy(name: str, params: dict[str, Any]) -> Any:
    """A policy object from a registry name or a ``module:Class`` spec, with parameters.

    Raises:
        PolicyError: Unknown name (with suggestions), unimportable spec or bad parameters.
    """
    if not is_import_spec(name):
        return make(name, **params)
    factory = import_object(name)
    if not callable(factory):
        raise PolicyError(f"policy '{name}' is not a class or factory, got {type(factory).__name__}")
    try:
        return factory(**params)
    except TypeError as exc:
        raise PolicyError(f"policy '{name}': bad parameters {params}: {exc}") from None


__all__ = ["build_policy", "import_object", "is_import_spec"]
