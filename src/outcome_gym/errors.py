"""The typed errors outcome-gym raises.

Every error a user can provoke derives from :class:`OutcomeGymError`, so a caller can catch one
class. The tree::

    OutcomeGymError
    ├── ScenarioError              a scenario (or experiment) file could not be used
    │   ├── ScenarioFileError      unreadable: missing, too large, not text, not YAML, duplicate keys
    │   └── ScenarioValidationError  parsed, but the content breaks the schema or its cross-checks
    ├── SimulationError            the simulation itself failed
    │   └── NumericalError         a mechanism produced NaN or inf
    ├── PolicyError                a policy is unknown, raised, or returned something unusable
    │   └── ActionError            an action of the wrong shape, dtype or range
    └── ResultsError               a result folder could not be written or read

User input is always checked with ``raise``, never ``assert``.
"""

from __future__ import annotations

from dataclasses import dataclass


class OutcomeGymError(Exception):
    """Base class of every error outcome-gym raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    Attributes:
        file: The file's path as given (or ``"<string>"``).
        path: The key path inside the document, e.g. ``population.segments[0].share``.
        message: What is wrong, saying what was expected and what was given.
        line: 1-based line where the offending key or value starts, if known.
        suggestion: The closest valid key, for a misspelling.
    """

    file: str
    path: str
    message: str
    line: int | None = None
    suggestion: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.path}:" if self.path else ""
        hint = f" (did you mean '{self.suggestion}'?)" if self.suggestion else ""
        text = f"{where}:{key} {self.message}{hint}"
        # One problem, one line: a key or value from the file may contain line breaks.
        return text.replace("\r", "\\r").replace("\n", "\\n")


class ScenarioError(OutcomeGymError):
    """A scenario or experiment file could not be used."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ScenarioFileError(ScenarioError):
    """The file could not be read as a YAML mapping (missing, too big, binary, bad YAML, ...)."""


class ScenarioValidationError(ScenarioError):
    """The file parsed but its content breaks the schema or a cross-check."""


class SimulationError(OutcomeGymError):
    """The simulation failed."""


class NumericalError(SimulationError):
    """A mechanism produced NaN or inf.

    Attributes:
        mechanism: Name of the mechanism whose output was not finite.
        step: Simulation step (time slot index) where it happened.
    """

    def __init__(self, mechanism: str, step: int, detail: str = "") -> None:
        self.mechanism = mechanism
        self.step = step
        extra = f": {detail}" if detail else ""
        super().__init__(
            f"mechanism '{mechanism}' produced a non-finite value at step {step}{extra}"
        )


class PolicyError(OutcomeGymError):
    """A policy is unknown, raised an exception, or returned something unusable."""


class ActionError(PolicyError):
    """An action has the wrong shape, dtype or range."""


class ResultsError(OutcomeGymError):
    """A result folder could not be written or read."""


__all__ = [
    "ActionError",
    "NumericalError",
    "OutcomeGymError",
    "PolicyError",
    "Problem",
    "ResultsError",
    "ScenarioError",
    "ScenarioFileError",
    "ScenarioValidationError",
    "SimulationError",
]
