"""Tests of the study framework and of every study in experiments/studies/ (its fast version)."""

from __future__ import annotations

from pathlib import Path

STUDIES_DIR = Path(__file__).resolve().parents[2] / "experiments" / "studies"
