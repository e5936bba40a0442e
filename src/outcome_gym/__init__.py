"""outcome-gym: see what an AI personalization policy does to people before you ship it.

The public API::

    from outcome_gym import load_scenario, run, compare, make_policy, check_policy
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("outcome-gym")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

from outcome_gym.errors import OutcomeGymError
from outcome_gym.scenario import Scenario, load_scenario


def compare(*args: Any, **kwargs: Any) -> Any:
    """Compare policies on paired seeds (see :func:`outcome_gym.analysis.compare.compare`)."""
    from outcome_gym.analysis.compare import compare as _compare

    return _compare(*args, **kwargs)


def run(*args: Any, **kwargs: Any) -> Any:
    """Run one policy on one seed (see :func:`outcome_gym.runner.run`)."""
    from outcome_gym.runner import run as _run

    return _run(*args, **kwargs)


def make_policy(name: str, **params: Any) -> Any:
    """Build a registered policy (see :func:`outcome_gym.policies.make`)."""
    from outcome_gym.policies import make

    return make(name, **params)


def check_policy(*args: Any, **kwargs: Any) -> Any:
    """Conformance-check a policy (see :func:`outcome_gym.testing.check_policy`)."""
    from outcome_gym.testing import check_policy as _check

    return _check(*args, **kwargs)


__all__ = [
    "OutcomeGymError",
    "Scenario",
    "__version__",
    "check_policy",
    "compare",
    "load_scenario",
    "make_policy",
    "run",
]
