"""The typed errors outcome-gym raises.

Every error a user can provoke derives from :class:`OutcomeGymError`, so a caller can catch one
class. The tree::

    OutcomeGymError
    ├── InputError                 an input (a file, or text on the command line) could not be used;
    │   │                          carries every Problem found, each naming file, line and key path
    │   ├── ScenarioError          a scenario file
    │   │   ├── ScenarioFileError      unreadable: missing, too large, not text, not YAML, duplicates
    │   │   └── ScenarioValidationError  parsed, but breaks the schema or its cross-checks
    │   ├── SweepFileError         a sweep file (experiments/sweeps/*.yaml)
    │   ├── StudyFileError         a study file (experiments/studies/*.yaml) or study name
    │   ├── ContractError          a CI contract file (``outcome-gym check``)
    │   ├── RulesFileError         a rules-policy file
    │   └── PolicySpecError        a policy reference: unknown name, unknown or bad parameter
    │                              (also a PolicyError)
    ├── SimulationError            the simulation itself failed
    │   └── NumericalError         a mechanism produced NaN or inf
    ├── PolicyError                a policy raised, or returned something unusable
    │   └── ActionError            an action of the wrong shape, dtype or range
    └── ResultsError               a result folder could not be written or read

A file-specific loader reads YAML through the shared reader (which raises :class:`ScenarioFileError`
for an unreadable file) and re-raises its problems as its own kind with :meth:`InputError.as_kind`,
so the class always names the kind of file. User input is checked with ``raise``, never ``assert``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class OutcomeGymError(Exception):
    """Base class of every error outcome-gym raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    Attributes:
        file: The file's path as given (``"<string>"`` for text; empty for a command-line value).
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
        key = f"{self.path}: " if self.path else ""
        hint = f" (did you mean '{self.suggestion}'?)" if self.suggestion else ""
        text = f"{where}: {key}{self.message}{hint}" if where else f"{key}{self.message}{hint}"
        # One problem, one line: a key or value from the file may contain line breaks.
        return text.replace("\r", "\\r").replace("\n", "\\n")


class InputError(OutcomeGymError):
    """An input file, or a value given on the command line, could not be used.

    Attributes:
        problems: Every problem found, one line each when printed.
    """

    kind: ClassVar[str] = "input"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def one(cls, message: str, *, file: str = "", path: str = "",
            line: int | None = None, suggestion: str | None = None) -> InputError:
        """An error of this kind with a single problem."""
        return cls([Problem(file=file, path=path, message=message, line=line,
                            suggestion=suggestion)])

    def as_kind(self, cls: type[InputError]) -> InputError:
        """The same problems as an error of another kind (e.g. an unreadable sweep file)."""
        return cls(self.problems)

    def __reduce__(self) -> tuple[type, tuple[list[Problem]]]:
        # pickled across worker processes with its problems, not its formatted message
        return (type(self), (self.problems,))


class ScenarioError(InputError):
    """A scenario file could not be used."""

    kind: ClassVar[str] = "scenario file"


class ScenarioFileError(ScenarioError):
    """The file could not be read as a YAML mapping (missing, too big, binary, bad YAML, ...)."""


class ScenarioValidationError(ScenarioError):
    """The file parsed but its content breaks the schema or a cross-check."""


class SweepFileError(InputError):
    """A sweep file could not be used."""

    kind: ClassVar[str] = "sweep file"


class StudyFileError(InputError):
    """A study file (or study name) could not be used."""

    kind: ClassVar[str] = "study file"


class ContractError(InputError):
    """A CI contract file could not be used."""

    kind: ClassVar[str] = "contract file"


class RulesFileError(InputError):
    """A rules-policy file could not be used."""

    kind: ClassVar[str] = "rules file"


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
    """A policy raised an exception, or returned something unusable."""


class PolicySpecError(InputError, PolicyError):
    """A policy reference names no policy, or gives parameters the policy does not take.

    Also a :class:`PolicyError`, so ``except PolicyError`` catches every policy problem.
    """

    kind: ClassVar[str] = "policy"


class ActionError(PolicyError):
    """An action has the wrong shape, dtype or range."""


class ResultsError(OutcomeGymError):
    """A result folder could not be written or read."""


__all__ = [
    "ActionError",
    "ContractError",
    "InputError",
    "NumericalError",
    "OutcomeGymError",
    "PolicyError",
    "PolicySpecError",
    "Problem",
    "ResultsError",
    "RulesFileError",
    "ScenarioError",
    "ScenarioFileError",
    "ScenarioValidationError",
    "SimulationError",
    "StudyFileError",
    "SweepFileError",
]
