"""What every study shares: facts with numbers and a verdict, results, and the files they become.

A *study* is one experiment of ``experiments/``: it runs many simulations (:mod:`.runs`), reduces
them to tables and figures, and judges each stylized fact of docs/calibration.md it is about as a
:class:`Fact` — what the literature says, what outcome-gym produced (a number with its interval),
and whether that passes the fact's stated criterion. :func:`write_study` writes
``results/<name>/``: ``facts.json``, one CSV per table, ``figures/*.png`` and ``report.md``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from outcome_gym.analysis.stats import t_interval

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PASS, FAIL, PARTIAL, UNTESTED = "pass", "fail", "partial", "not testable"
STATUSES = (PASS, FAIL, PARTIAL, UNTESTED)


@dataclass(frozen=True)
class Estimate:
    """A mean with a 95% Student-t interval over independent replicates (seeds)."""

    mean: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Any, level: float = 0.95) -> Estimate:
        """Mean and t interval of the finite values."""
        return cls(*t_interval(values, level))

    def text(self, fmt: str = "{:+.1%}") -> str:
        """``mean [low, high]`` in ``fmt``."""
        if not math.isfinite(self.mean):
            return "n/a"
        if not math.isfinite(self.low):
            return fmt.format(self.mean)
        return f"{fmt.format(self.mean)} [{fmt.format(self.low)}, {fmt.format(self.high)}]"

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready."""
        return asdict(self)


@dataclass(frozen=True)
class Fact:
    """One stylized fact or claim as a study judged it.

    Attributes:
        fact: The docs/calibration.md fact it tests (e.g. ``"1 trap"``).
        scope: Where it was tested (scenario, arm).
        literature: What the literature says (with docs/calibration.md keys).
        criterion: The pass criterion, stated before the run.
        produced: What outcome-gym produced, numbers with 95% intervals.
        status: ``pass``, ``fail``, ``partial`` or ``not testable``.
        explanation: For anything but a pass: which mechanism is missing or what differs.
        values: The numbers behind ``produced`` (tests read these).
    """

    fact: str
    scope: str
    literature: str
    criterion: str
    produced: str
    status: str
    explanation: str = ""
    values: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"expected status one of {STATUSES}, got {self.status!r}")


def status(ok: bool) -> str:
    """``pass`` or ``fail``."""
    return PASS if ok else FAIL


@dataclass
class StudyResult:
    """Everything a study produced.

    Attributes:
        name: The study's name (the ``results/`` folder).
        title: One line.
        command: The command that regenerates it.
        params: The parameters it ran with.
        facts: The facts it judged.
        tables: Named tables (each becomes ``<name>.csv``).
        figures: Named figures (each becomes ``figures/<name>.png``).
        notes: Paragraphs for the report (method, caveats).
    """

    name: str
    title: str
    command: str
    params: dict[str, Any]
    facts: list[Fact] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
