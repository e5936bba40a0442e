"""outcome-gym: see what an AI personalization policy does to people before you ship it."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("outcome-gym")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

from outcome_gym.errors import OutcomeGymError
from outcome_gym.scenario import Scenario, load_scenario

__all__ = ["OutcomeGymError", "Scenario", "__version__", "load_scenario"]
