"""Contract files: what a team's CI promises about its personalization policy.

A contract names the scenario(s), the seeds, the candidate policy (a registry id, an entry-point
name, or ``package.module:Class`` from the team's own code), the reference policy, and expectations::

    name: nudge_contract
    scenarios: [productivity_tool]
    population: 600              # optional: a smaller population for a fast CI check
    horizon_days: 14             # optional
    seeds: {count: 10, first: 0}
    candidate: {policy: og_nudge.policy:EveningNudge, params: {threshold: 0.8}}
    reference: {policy: static}
    baseline: nudge_baseline.json  # optional, relative to the contract file
    expectations:
      - {kind: verdict_not, verdicts: [trap, harm]}
      - {kind: outcome_lift, outcome: on_time_pros, min: -0.05}
      - {kind: engagement_lift, max: 0.5}
      - {kind: core_consistency, min: 0.95}
      - {kind: context_failure_rate, max: 0.15}
      - {kind: guardrail_modifications, guardrail: core_restored, max: 0}
      - {kind: notifications_per_user_day, max: 3}
      - {kind: share_worse_off, outcome: learning_new, max: 0.10}

Bounds on lifts and rates are *behavioural*: an expectation fails only when its 95% interval lies
entirely beyond the bound (the evidence says the bound is broken), so unchanged code on fresh seeds
rarely fails while a real regression does (``benchmarks/check_calibration.py`` measures both).
Guardrail counts and notification rates are checked on their seed means. ``share_worse_off``
bounds the share of a segment's users worse off on an outcome spec (or ``engagement``) beyond the
scenario's per-user margin, against the reference on the same seed (docs/who-is-harmed.md); it too
fails only when its 95% interval across seeds lies beyond the bound.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from outcome_gym.errors import ContractError, InputError
from outcome_gym.policies.spec import PolicySpec
from outcome_gym.scenario.distributions import StrictModel
from outcome_gym.scenario.loading import problems_from_validation_error
from outcome_gym.scenario.schema import Identifier
from outcome_gym.scenario.yamlio import load_yaml_mapping, nearest_line, read_text


class Seeds(StrictModel):
    """Seeds ``first`` .. ``first + count - 1`` (paired between candidate and reference)."""

    count: int = Field(default=10, ge=2, le=1000)
    first: int = Field(default=0, ge=0)


class _Bounds(StrictModel):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _check(self) -> _Bounds:
        if self.min is None and self.max is None:
            raise ValueError("expected min, max or both, got neither")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"expected min <= max, got min={self.min}, max={self.max}")
        return self


class VerdictNot(StrictModel):
    """The verdict against the reference is none of these."""

    kind: Literal["verdict_not"]
    verdicts: list[Literal["trap", "harm", "aligned", "quiet win", "engagement only",
                           "engagement loss", "no effect", "inconclusive"]] = Field(
        default_factory=lambda: ["trap", "harm"], min_length=1)


class OutcomeLift(_Bounds):
    """Relative lift of one outcome spec against the reference, within bounds."""

    kind: Literal["outcome_lift"]
    outcome: Identifier


class EngagementLift(_Bounds):
    """Relative lift of the engagement index against the reference, within bounds."""

    kind: Literal["engagement_lift"]


class CoreConsistency(_Bounds):
    """Share of user-steps whose core matches the default."""

    kind: Literal["core_consistency"]


class ContextFailureRate(_Bounds):
    """Share of context events (device switch, shared screen, support) that fail."""

    kind: Literal["context_failure_rate"]


class GuardrailModifications(_Bounds):
    """Guardrail modifications per user over the run (one kind, or all)."""

    kind: Literal["guardrail_modifications"]
    guardrail: Literal["core_restored", "layout_reverted", "notification_capped", "quiet_slot",
                       "all"] = "all"


class NotificationsPerUserDay(_Bounds):
    """Notifications delivered per user per day."""

    kind: Literal["notifications_per_user_day"]


class ShareWorseOff(_Bounds):
    """Share of a segment's users worse off on one outcome spec (or the engagement index)."""

    kind: Literal["share_worse_off"]
    outcome: Identifier = Field(description="An outcome spec id, or 'engagement'.")
    segment: Identifier | None = Field(
        default=None, description="Default: the spec's segment; for engagement, every user.")


Expectation = Annotated[
    VerdictNot | OutcomeLift | EngagementLift | CoreConsistency | ContextFailureRate
    | GuardrailModifications | NotificationsPerUserDay | ShareWorseOff,
    Field(discriminator="kind"),
]


class Contract(StrictModel):
    """A CI contract for one candidate policy."""

    name: Identifier
    description: str = Field(default="", max_length=2000)
    scenarios: list[str] = Field(min_length=1, max_length=20)
    population: int | None = Field(default=None, ge=1, le=1_000_000)
    horizon_days: int | None = Field(default=None, ge=1, le=3650)
    seeds: Seeds = Field(default_factory=Seeds)
    candidate: PolicySpec
    reference: PolicySpec = Field(default_factory=lambda: PolicySpec(policy="static"))
    baseline: str | None = None
    tolerance: float = Field(default=1e-9, ge=0, le=1,
                             description="Relative tolerance of the exact-reproduction check.")
    expectations: list[Expectation] = Field(min_length=1, max_length=100)


def load_contract(path: str | Path) -> tuple[Contract, Path]:
    """Load and validate a contract; returns it and the folder its relative paths resolve from.

    The candidate and reference policies are resolved and their parameters checked against their
    signatures (names and annotated types) without calling anything; a ``module:Class`` module is
    imported to inspect the class.

    Raises:
        ContractError: Unreadable file, a schema problem (file, key path, line, expected/given,
            and the closest valid key for a misspelt one), or a policy that does not resolve to a
            policy class or registered factory, or takes no such parameter or value.
    """
    path = Path(path)
    try:
        data, lines = load_yaml_mapping(read_text(path), str(path))
    except InputError as exc:  # the shared reader names scenario files; this is a contract
        raise exc.as_kind(ContractError) from None
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        raise ContractError(
            problems_from_validation_error(exc, data, str(path), lines, Contract)
        ) from None
    problems = [p for key in ("candidate", "reference")
                for p in getattr(contract, key).located(str(path), (key,),
                                                    functools.partial(nearest_line, lines))]
    if problems:
        raise ContractError(problems)
    return contract, path.resolve().parent
