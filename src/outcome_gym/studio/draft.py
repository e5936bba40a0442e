"""A scenario as the designer edits it: its text checked as the CLI checks it, and kept on disk.

Validation is the CLI's own (:func:`~outcome_gym.scenario.loading.parse_scenario`), so a problem
shows on the page with the message ``outcome-gym validate`` prints. Every edit is saved as a draft
under the work folder, so nothing typed is lost to a failed run or a page reload.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from outcome_gym._io import atomic_write, safe_name
from outcome_gym.errors import InputError, Problem
from outcome_gym.scenario import Scenario
from outcome_gym.scenario.loading import bundled_scenarios, parse_scenario, resolve_scenario_path

DEFAULT_HOME = Path.home() / ".cache" / "outcome-gym" / "studio"



def studio_home() -> Path:
    """The work folder: ``$OUTCOME_GYM_STUDIO_HOME`` or ``~/.cache/outcome-gym/studio``."""
    return Path(os.environ.get("OUTCOME_GYM_STUDIO_HOME") or DEFAULT_HOME)


@dataclass(frozen=True)
class Checked:
    """One check of a scenario's text.

    Attributes:
        scenario: The validated scenario, or None when there are problems.
        problems: Every problem, as the CLI reports them (file, line, key path, message).
        seconds: How long the check took.
    """

    scenario: Scenario | None
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No problem found."""
        return self.scenario is not None

    def at(self, prefix: str) -> list[str]:
        """The problems under one key path (e.g. ``guardrails``), one CLI line each."""
        return [str(p) for p in self.problems if p.path == prefix
                or p.path.startswith((prefix + ".", prefix + "["))]


def check_text(text: str, file: str = "scenario.yaml") -> Checked:
    """Validate a scenario's YAML text; never raises for bad input."""
    start = time.perf_counter()
    try:
        sc = parse_scenario(text, file=file)
    except InputError as exc:
        return Checked(None, exc.problems, time.perf_counter() - start)
    return Checked(sc, [], time.perf_counter() - start)


def source_text(name_or_path: str) -> tuple[str, str]:
    """A bundled scenario's or a file's text, and the name the page shows for it.

    Raises:
        ScenarioFileError: Neither a bundled name nor a readable file.
    """
    path = resolve_scenario_path(name_or_path)
    name = name_or_path if name_or_path in bundled_scenarios() else path.stem
    return path.read_text(encoding="utf-8"), name


class Drafts:
    """The designer's edited scenarios, one file per scenario name, under ``home/drafts``."""

    def __init__(self, home: Path) -> None:
        self.folder = home / "drafts"

    def path(self, name: str) -> Path:
        """Where the draft of ``name`` lives (the name made safe as a file name)."""
        return self.folder / f"{safe_name(name)}.yaml"

    def save(self, name: str, text: str) -> Path:
        """Keep ``text`` as the draft of ``name`` (atomic: a crash leaves the old or the new)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(name)
        atomic_write(path, text, what="draft")
        return path

    def load(self, name: str) -> str | None:
        """The draft of ``name``, or None if there is none."""
        path = self.path(name)
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def discard(self, name: str) -> None:
        """Forget the draft of ``name`` (the studio wrote it; nothing else is touched)."""
        self.path(name).unlink(missing_ok=True)
