"""outcome-gym: see what an AI personalization policy does to people before you ship it.

The public API (everything in ``__all__``; the rest of the package is reached through its modules)::

    import outcome_gym as og

    scenario = og.load_scenario("productivity_tool")
    result = og.run(scenario, "engagement_bandit:levers=layout", seed=0)
    cmp = og.compare("productivity_tool", ["static", "engagement_bandit:levers=layout"], seeds=10)
    cmp.verdicts

Importing the package registers the Gymnasium ids (``outcome_gym/Personalization-v0`` and the
variant and segment ids), so ``gymnasium.register_envs(outcome_gym)`` and ``gymnasium.make`` work
without importing ``outcome_gym.env``. It never changes the process's multiprocessing start method.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("outcome-gym")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

from outcome_gym._registration import ENV_IDS, register_envs
from outcome_gym.compare import Comparison, compare
from outcome_gym.errors import InputError, OutcomeGymError, PolicyError
from outcome_gym.policies.registry import make as make_policy
from outcome_gym.policies.registry import register as register_policy
from outcome_gym.policies.spec import PolicySpec, parse_policy
from outcome_gym.runner import RunResult, run
from outcome_gym.scenario import Scenario, load_scenario
from outcome_gym.testing import check_policy

register_envs()

__all__ = [
    "ENV_IDS",
    "Comparison",
    "InputError",
    "OutcomeGymError",
    "PolicyError",
    "PolicySpec",
    "RunResult",
    "Scenario",
    "__version__",
    "check_policy",
    "compare",
    "load_scenario",
    "make_policy",
    "parse_policy",
    "register_policy",
    "run",
]
