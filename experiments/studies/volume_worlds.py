"""Fewer, better notifications in the other bundled worlds: fact 4 replicated, criteria unchanged.

docs/calibration.md stylized fact 4 (meta2022). The volume study (``studies.volume``) tests it on
productivity_tool; this study asks whether the same reversal arises in ``learning_habits`` and
``finance_alerts``, worlds with other users, elements, goals and sends, which were never looked at
while fact 4's criterion and arms were chosen. Everything is the volume study's, unchanged: the
static product of each world sends the first ``k`` of its own best-first order of (template, slot)
sends (``studies._volume_sends``: the most valuable template at the most receptive non-quiet slot
first) for ``k`` = 1 and 5 a day, for a simulated year, 1,000 users, 10 paired seeds, with the
scenario's daily cap lifted and its quiet slots kept; fact 4's criterion is
``studies.volume._fact4`` with the same early window (2 weeks), late window (12 weeks) and margin
(2%). The arms each world gets from that rule:

* learning_habits: 1/day is the practice reminder in the evening (the scenario's own schedule);
  5/day adds a streak nudge in the morning, friend activity in the afternoon, a streak nudge in
  the evening and friend activity in the morning.
* finance_alerts: 1/day is the spending alert in the evening, sent every day (not only on a
  crossing); 5/day adds the month summary in the morning, the promotion in the afternoon, the
  month summary in the evening and the promotion in the morning.

Pre-registration: this module and its YAML were committed before the study was first run. Only
fact 4 is judged (two arms cannot show fact 3's concavity). The criterion's early window and high
arm were fixed after a probe run on productivity_tool (the volume study's disclosure); they were
not chosen on these worlds, which is what makes these rows a replication.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
from pydantic import Field

from outcome_gym.studies.base import PASS, UNTESTED, StudyResult
from outcome_gym.studies.common import group
from outcome_gym.studies.runs import Job, run_jobs
from outcome_gym.studies.spec import StudyParams, params_dict

from . import volume

NAME = "volume_worlds"
TITLE = "Fewer, better notifications in learning_habits and finance_alerts (fact 4, replicated)"
COMMAND = "outcome-gym study volume_worlds --workers 2"


class Params(StudyParams):
    """Parameters of the replication (defaults: the full, published version)."""

    scenarios: list[str] = Field(default_factory=lambda: ["learning_habits", "finance_alerts"],
                                 min_length=1, description="Bundled scenario names or paths.")
    users: int = Field(default=1000, ge=10, description="Population size override.")
    horizon_days: int = Field(default=volume.YEAR_DAYS, ge=364, le=1820,
                              description="Simulated days (fact 4 needs at least 364).")
    low_volume: int = Field(default=1, ge=1, description="The 'fewer, better' arm (sends a day).")
    high_volume: int = Field(default=5, ge=2, description="The high-volume arm (sends a day).")
    early_weeks: int = Field(default=2, ge=1, description="Fact 4's 'first weeks'.")
    late_weeks: int = Field(default=12, ge=1, description="Fact 4's 'last months' (weeks).")
    late_margin: float = Field(default=0.02, ge=0, le=0.5,
                               description="'Matches': the late difference's lower 95% bound is "
                                           "above -margin x high.")


FAST = {"seeds": 2, "users": 200}
"""The test suite's version: a year, both worlds, 200 users, 2 seeds."""


def volume_params(p: Params, scenario: str) -> volume.Params:
    """The volume study's parameters for one world: only the low and high arms."""
    return volume.Params(
        seeds=p.seeds, first_seed=p.first_seed, scenario=scenario, users=p.users,
        horizon_days=p.horizon_days, volumes=[p.low_volume, p.high_volume],
        low_volume=p.low_volume, high_volume=p.high_volume, early_weeks=p.early_weeks,
        late_weeks=p.late_weeks, late_margin=p.late_margin)


def jobs(p: Params) -> list[Job]:
    """Every run: per world, the volume study's low and high arms on the same seeds."""
    return [job for sc in p.scenarios for job in volume.jobs(volume_params(p, sc))]


def _explanation(status: str, why: str) -> str:
    """The volume study's reasons minus its productivity_tool-specific paragraph (a row that
    could not be tested keeps the volume study's reason as it is).
    """
    if status == PASS:
        return ""
    if status == UNTESTED:
        return why
    lead = why.split("In outcome-gym")[0].strip()
    return (lead.rstrip(".") + ". " if lead else "") + (
        "Replication with the criterion, arms and windows of the productivity_tool row "
        "unchanged; the mechanisms that can carry a reversal are the same (trust overload above "
        "overload_free sends a day, the opt-out hazard growing with the day's volume, fatigue "
        "and template wear).")


def run(params: Params, workers: int = 1, progress: bool = False,
        runs_dir: Path | None = None) -> StudyResult:
    """Run the replication."""
    results = run_jobs(jobs(params), workers=workers, runs_dir=runs_dir, keep=("steps",),
                       progress=progress, desc=NAME)
    grouped = group(results)
    facts, weekly = [], []
    for sc in params.scenarios:
        vp = volume_params(params, sc)
        arms = {k: [volume.weekly(r) for r in grouped[(sc, volume._tag(k))]] for k in vp.volumes}
        fact = volume._fact4(vp, arms)
        facts.append(dataclasses.replace(
            fact, criterion=fact.criterion + "; the volume study's criterion and arms, unchanged, "
                                              "in a world not used to choose them",
            explanation=_explanation(fact.status, fact.explanation)))
        weekly.append(volume._weekly_table(arms).assign(scenario=sc))
    return StudyResult(
        name=NAME, title=TITLE, command=COMMAND, params=params_dict(params), facts=facts,
        tables={"weekly": pd.concat(weekly, ignore_index=True)},
        notes=[__doc__.split("\n\n", 1)[1].strip()],
    )
