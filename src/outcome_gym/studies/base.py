"""What every study shares: facts with numbers and a verdict, results, and the files they become.

A *study* is one experiment of ``experiments/``: it runs many simulations (:mod:`.runs`), reduces
them to tables and figures, and judges each stylized fact of docs/calibration.md it is about as a
:class:`Fact` — what the literature says, what outcome-gym produced (a number with its interval),
and whether that passes the fact's stated criterion. :func:`write_study` writes
``results/<name>/``: ``facts.json``, one CSV per table, ``figures/*.png`` and ``report.md``.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from outcome_gym.analysis.stats import holm, t_interval, t_p_value

if TYPE_CHECKING:
    from collections.abc import Iterable

    from matplotlib.figure import Figure

PASS, FAIL, PARTIAL, UNTESTED = "pass", "fail", "partial", "not testable"
STATUSES = (PASS, FAIL, PARTIAL, UNTESTED)

# What a row's pass is evidence of (docs/experiments.md, "Honest rows"):
EMERGENT = "emergent"  # implied by no single mechanism's equation and not by the scenario's inputs
MECHANISM = "mechanism check"  # one mechanism's equation reproduces the fact by itself
INPUTS = "follows from inputs"  # the scenario's inputs (e.g. appeal-value correlation) imply it
LABELS = (EMERGENT, MECHANISM, INPUTS)
ALPHA = 0.05


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

    def p_value(self) -> float:
        """Two-sided t p-value for mean = 0 from the interval (NaN when n < 2)."""
        return t_p_value(self.mean, self.low, self.high, self.n)

    def p_beyond(self, bound: float, side: int) -> float:
        """p-value of the claim "the mean is above (``side`` = +1) / below (-1) ``bound``".

        The two-sided t test of mean = ``bound`` when the mean lies on the claimed side (its 95%
        interval excludes ``bound`` exactly when p < 0.05), else 1.
        """
        if not side * (self.mean - bound) > 0:
            return 1.0
        return t_p_value(self.mean - bound, self.low - bound, self.high - bound, self.n)

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
        label: What a pass would be evidence of: ``emergent``, ``mechanism check`` or
            ``follows from inputs`` (:data:`LABELS`); required.
        label_why: One line justifying the label.
        p_values: The p-value of every significance claim the criterion makes (all must hold,
            so the row's p is their maximum); empty when the criterion makes none.
        p_holm: The row's p after Holm's correction across the rows of its fact that make
            significance claims (set by :func:`holm_within_facts`).
    """

    fact: str
    scope: str
    literature: str
    criterion: str
    produced: str
    status: str
    explanation: str = ""
    values: dict[str, float] = field(default_factory=dict)
    label: str = ""
    label_why: str = ""
    p_values: dict[str, float] = field(default_factory=dict)
    p_holm: float | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"expected status one of {STATUSES}, got {self.status!r}")
        if self.label not in LABELS:
            raise ValueError(f"expected label one of {LABELS}, got {self.label!r} "
                             f"(fact {self.fact!r}, {self.scope!r})")
        if not self.label_why.strip():
            raise ValueError(f"expected a one-line label_why for fact {self.fact!r}")

    @property
    def p(self) -> float | None:
        """The row's p: the largest p of its significance claims (``None``: it makes none)."""
        finite = [v for v in self.p_values.values() if math.isfinite(v)]
        if len(finite) < len(self.p_values):
            return math.nan
        return max(finite) if finite else None

    @property
    def family(self) -> str:
        """The fact a row belongs to for multiplicity (:func:`fact_family`)."""
        return fact_family(self.fact)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the row's ``p``."""
        return {**asdict(self), "p": self.p}


def fact_family(fact: str) -> str:
    """A row's fact: its leading number, else its name up to the first ':'.

    ``"1 trap: weak correlation"`` -> ``"1"``; ``"frontier (b) price"`` -> ``"frontier (b) price"``.
    """
    m = re.match(r"\s*(\d+)", fact)
    return m.group(1) if m else fact.split(":")[0].strip()


def status(ok: bool) -> str:
    """``pass`` or ``fail``."""
    return PASS if ok else FAIL


def holm_within_facts(facts: list[Fact], alpha: float = ALPHA) -> list[Fact]:
    """Holm's correction within each fact; a pass that does not survive it becomes a partial.

    The family of a row is :attr:`Fact.family`; only rows making significance claims take part
    (``m`` is their number). A passing row whose adjusted p is at least ``alpha`` is demoted to
    ``partial`` with a sentence saying so; every participating row gets ``p_holm``.
    """
    out = list(facts)
    families: dict[str, list[int]] = {}
    for i, f in enumerate(facts):
        if f.p is not None:
            families.setdefault(f.family, []).append(i)
    for members in families.values():
        adjusted = holm([facts[i].p for i in members])  # type: ignore[misc]
        m = _tested(facts[i].p for i in members)
        for i, adj in zip(members, adjusted, strict=True):
            f = facts[i]
            change: dict[str, Any] = {"p_holm": adj}
            if f.status == PASS and not adj < alpha:
                change["status"] = PARTIAL
                change["explanation"] = " ".join(filter(None, [
                    f.explanation, holm_note(f.p, m, f.family, adj)]))
            out[i] = replace(f, **change)
    return out


def _tested(ps: Iterable[Any]) -> int:
    """Holm's ``m``: the p-values that are numbers (:func:`~outcome_gym.analysis.stats.holm`
    leaves NaN out).
    """
    return sum(1 for p in ps if math.isfinite(float(p)))


def holm_note(p: float, rows: int, family: str, adjusted: float, across: bool = False) -> str:
    """The sentence a pass demoted by Holm's correction carries (:data:`HOLM_NOTE` finds it)."""
    where = "; the rows of every study testing the fact" if across else ""
    return (f"Significant alone (p={p:.3g}) but not after Holm's correction over the {rows} rows "
            f"of fact {family} that make significance claims (adjusted p={adjusted:.3g}{where}).")


HOLM_NOTE = re.compile(r"\s*Significant alone \(p=[^)]*\) but not after Holm's correction over "
                       r"the \d+ rows of fact .*? that make significance claims "
                       r"\(adjusted p=[^)]*\)\.")


def holm_across_studies(rows: list[dict[str, Any]], alpha: float = ALPHA) -> list[dict[str, Any]]:
    """Holm's correction within each fact over the rows of *every* study (``facts.json`` dicts).

    :func:`holm_within_facts` corrects within one study; a fact tested by two studies (fact 4 by
    ``volume`` and its replication ``volume_worlds``) needs its family to span both. Families
    found in one study only are returned unchanged (the study already corrected them). In a
    family that spans studies every row's ``p_holm`` is recomputed over all its rows; a row that
    passed (before any demotion: a study's demotion note marks it) and does not survive becomes
    ``partial`` with the note re-written for the larger family.

    Args:
        rows: Facts as dicts (:meth:`Fact.as_dict` plus ``study``), in any order.
        alpha: The family-wise level.

    Returns:
        New dicts, in the input's order.
    """
    out = [dict(r) for r in rows]
    families: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        if r.get("p") is not None:
            families.setdefault(fact_family(str(r["fact"])), []).append(i)
    for family, members in families.items():
        if len({rows[i].get("study") for i in members}) < 2:
            continue
        adjusted = holm([float(rows[i]["p"]) for i in members])
        m = _tested(rows[i]["p"] for i in members)
        for i, adj in zip(members, adjusted, strict=True):
            r = out[i]
            note = HOLM_NOTE.search(str(r.get("explanation", "")))
            passed = r["status"] == PASS or (r["status"] == PARTIAL and note is not None)
            base = HOLM_NOTE.sub("", str(r.get("explanation", ""))).strip()
            r["p_holm"] = adj
            if passed and not adj < alpha:
                r["status"] = PARTIAL
                r["explanation"] = " ".join(filter(None, [
                    base, holm_note(float(r["p"]), m, family, adj, across=True)]))
    return out


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
        source: The study files that produced it (:func:`outcome_gym.studies.source.study_source`).
    """

    name: str
    title: str
    command: str
    params: dict[str, Any]
    facts: list[Fact] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    source: list[dict[str, Any]] = field(default_factory=list)
