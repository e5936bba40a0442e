"""Paths and small helpers shared by the scenario tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from outcome_gym.scenario import bundled_scenarios

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "tiny.yaml"
BAD_DIR = REPO / "tests" / "bad_scenarios"
MANIFEST = BAD_DIR / "expected.yaml"


def good_files() -> list[Path]:
    """The known-good fixture plus every bundled scenario (whatever is there today)."""
    return [FIXTURE, *bundled_scenarios().values()]


def corpus_files() -> list[Path]:
    """Every malformed scenario in the bad corpus (the manifest excluded)."""
    return sorted(p for p in BAD_DIR.iterdir() if p.is_file() and p != MANIFEST)


def manifest() -> dict[str, dict[str, Any]]:
    """The corpus manifest: file name -> expected error class, substrings, line."""
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def file_id(path: Path) -> str:
    """A readable pytest id for a file parameter."""
    return path.name if path.parent == BAD_DIR else str(path.relative_to(REPO))


def tiny_text() -> str:
    """The fixture's YAML text."""
    return FIXTURE.read_text(encoding="utf-8")


def tiny_data() -> dict[str, Any]:
    """The fixture as plain data."""
    return yaml.safe_load(tiny_text())


def replace_once(text: str, old: str, new: str) -> str:
    """Replace ``old`` by ``new`` in ``text``, insisting that ``old`` occurs exactly once."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line of ``text`` containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} on lines {hits}"
    return hits[0]
