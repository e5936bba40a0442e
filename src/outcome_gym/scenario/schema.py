"""The scenario language: one world in one YAML file.

Every model is strict (no type coercion), forbids unknown keys, refuses NaN/inf and is frozen. The
field descriptions double as the documentation exported in the JSON Schema (``outcome-gym schema``)
and in ``docs/scenarios.md``. Defaults of the user model come from ``docs/calibration.md``; each cites its
row. Cross-references between sections (a layout naming an element, an outcome naming a segment) are
checked in :mod:`outcome_gym.scenario.checks`, so that every problem in a file is reported at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from outcome_gym.scenario.distributions import FieldValueError, Param, StrictModel
from outcome_gym.scenario.generate import GeneratedElements, expand_generate

IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"
EVENT_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z_]+$"

Identifier = Annotated[
    str,
    Field(
        pattern=IDENTIFIER_PATTERN,
        description="lower-case letters, digits and '_', starting with a letter, at most 48 chars",
    ),
]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]

MAX_POPULATION = 10_000_000
MAX_HORIZON_DAYS = 3650
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

ElementKind = Literal["navigation", "workflow", "content", "gamification", "notification", "alert"]
PUSHED_KINDS = ("notification", "alert")


class Clock(StrictModel):
    """How long the world runs and how a day is divided into time slots (one step = one slot)."""

    horizon_days: int = Field(ge=1, le=MAX_HORIZON_DAYS, description="Days simulated.")
    slots_per_day: int = Field(default=4, ge=1, le=24, description="Time slots (steps) per day.")
    slot_names: list[Identifier] | None = Field(
        default=None, description="Names of the slots, e.g. [morning, afternoon, evening, night]."
    )
    start_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="mon", description="Weekday of day 0."
    )
    horizon_steps: int | None = Field(
        default=None,
        ge=1,
        description="Optional cap on the number of steps (slots), below horizon_days x slots.",
    )

    @model_validator(mode="after")
    def _check(self) -> Clock:
        if self.slot_names is not None and len(self.slot_names) != self.slots_per_day:
            raise FieldValueError(
                "slot_names",
                f"expected {self.slots_per_day} slot_names (one per slot), "
                f"got {len(self.slot_names)}",
            )
        if self.slot_names is not None and len(set(self.slot_names)) != len(self.slot_names):
            raise FieldValueError("slot_names", "expected distinct slot_names, got a repeated name")
        return self

    @property
    def names(self) -> list[str]:
        """Slot names (generated as slot0, slot1, ... when not given)."""
        return list(self.slot_names or [f"slot{i}" for i in range(self.slots_per_day)])

    @property
    def n_steps(self) -> int:
        """Total number of steps in a run."""
        total = self.horizon_days * self.slots_per_day
        return min(total, self.horizon_steps) if self.horizon_steps else total


class Element(StrictModel):
    """One thing the product can show: laid out in a slot, or pushed as a notification/alert."""

    id: Identifier
    kind: ElementKind = Field(description="What sort of element this is.")
    description: str = Field(default="", max_length=500)
    appeal: float = Field(
        ge=-5, le=5, description="Pull on in-the-moment (impulsive, system-1) choice."
    )
    attention_cost: float = Field(
        ge=0, le=240, description="Minutes of attention one engagement spends."
    )
    value: dict[Identifier, Annotated[float, Field(ge=-1, le=1)]] = Field(
        default_factory=dict,
        description="Progress one focused engagement makes toward each goal (goal id -> value).",
    )
    core: bool = Field(
        default=False,
        description="Part of the consistent core: navigation, key workflows, safety-critical.",
    )
    channel: Identifier | None = Field(
        default=None, description="Delivery channel; required for notification and alert kinds."
    )

    @property
    def pushed(self) -> bool:
        """True for notifications and alerts (sent, not laid out)."""
        return self.kind in PUSHED_KINDS


class Channel(StrictModel):
    """A delivery channel for notifications (push, email, in-app)."""

    id: Identifier
    background_per_day: NonNegative = Field(
        default=56.0,
        le=1000,
        description="Notifications per day from other apps on this channel (source: pielot2018).",
    )


class Layout(StrictModel):
    """The slots of the interface and the default layout (what an unpersonalized user sees)."""

    default: list[Identifier] = Field(
        min_length=1,
        max_length=64,
        description="Element ids in slot order; core elements keep these positions.",
    )


class ScheduledNotification(StrictModel):
    """A notification the default (unpersonalized) product sends on a schedule."""

    element: Identifier
    slot: Identifier | int = Field(description="Slot name or index when it is sent.")
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = Field(
        default=None, description="Weekdays it is sent on (default: every day)."
    )
    period_days: int = Field(default=1, ge=1, le=366, description="Repeat every this many days.")
    on_day: int = Field(default=0, ge=0, description="Day within the period it is sent on.")
    segments: list[Identifier] | None = Field(
        default=None, description="Segments it goes to (default: all)."
    )

    @model_validator(mode="after")
    def _check(self) -> ScheduledNotification:
        if self.on_day >= self.period_days:
            raise FieldValueError(
                "on_day",
                f"expected on_day < period_days ({self.period_days}), got on_day={self.on_day}",
            )
        return self


class Product(StrictModel):
    """What the product can show and how it behaves unpersonalized."""

    generate: GeneratedElements | None = Field(
        default=None,
        description="Generate laid-out elements at a chosen appeal-value correlation "
        "(scenario/generate.py); appended to the elements (and the default layout, if not "
        "given) before validation.",
    )
    elements: list[Element] = Field(min_length=1, max_length=256)
    channels: list[Channel] = Field(default_factory=list, max_length=16)
    layout: Layout
    schedule: list[ScheduledNotification] = Field(
        default_factory=list, max_length=256, description="Default notification schedule."
    )

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, data: object) -> object:
        return expand_generate(data)


class Availability(StrictModel):
    """Chance of having time and context to act, by weekday and slot: weekday[w] x slot[s] x scale."""

    weekday: list[Probability] = Field(
        default_factory=lambda: [1.0] * 7, min_length=7, max_length=7
    )
    slot: list[Probability] = Field(description="One probability per slot of the day.")
    scale: Param = Field(default=1.0, description="Per-user multiplier (clipped to [0, 1]).")


class Segment(StrictModel):
    """A group of users with shared parameter distributions and goals."""

    id: Identifier
    share: Probability = Field(description="Share of the population (shares sum to 1).")
    description: str = Field(default="", max_length=500)
    goals: list[Identifier] = Field(default_factory=list, description="Goals these users pursue.")
    attention_budget: Param = Field(description="Minutes of attention per day for this product.")
    availability: Availability
    susceptibility: Param = Field(
        default=1.0,
        description="Weight on appeal in choice (impulsive self, source: kleinberg2024).",
    )
    goal_weight: Param = Field(
        default=1.0, description="Weight on goal value in choice (reflective self)."
    )
    session_propensity: Param = Field(
        default=1.0, description="Self-initiated sessions per day when available, before habit."
    )
    habit_days: Param = Field(
        default_factory=lambda: {
            "dist": "lognormal",
            "median": 66.0,
            "sigma": 0.65,
            "low": 18.0,
            "high": 254.0,
        },
        description="Days of daily repetition to reach 95% of habit plateau (source: lally2010).",
    )
    fatigue_rate: Param = Field(
        default=0.05, description="Fatigue added per notification received."
    )
    fatigue_recovery: Param = Field(default=0.5, description="Share of fatigue shed per day.")
    channel_trust: Param = Field(default=0.5, description="Initial trust in the product's channel.")
    trust: Param = Field(default=0.7, description="Initial trust in the product (0..1).")
    devices: Param = Field(default=1.0, description="Number of devices used (1 to 4).")
    churn_sensitivity: Param = Field(
        default=1.0, description="Multiplier on the churn hazard from low trust."
    )
    outside_rate: Param = Field(
        default=0.02,
        description="Goal progress per minute of the daily attention budget not spent in the app "
        "(progress made outside the product; app minutes displace it). Guess: a fifth of a "
        "goal-serving app minute in the bundled worlds (docs/calibration.md, outside progress).",
    )
    goal_params: dict[Identifier, dict[Identifier, Param]] = Field(
        default_factory=dict,
        description="Per-goal overrides of the goal's user parameters for this segment.",
    )


class Team(StrictModel):
    """How users are grouped into teams (the colleagues a screen is shared with)."""

    size: Param = Field(default=1.0, description="Team size distribution (1 = no colleagues).")


def segment_counts(n: int, shares: Sequence[float]) -> np.ndarray:
    """Users per segment: the deterministic largest-remainder allocation of ``n`` users.

    The one allocation the simulator uses (``sim.population``): counts, not a multinomial draw,
    so segment sizes are the same on every seed and a report can tell which segments have no
    users (a share too small for ``n``, or 0) without running anything.
    """
    raw = np.asarray(shares, dtype=np.float64) * n
    counts = np.floor(raw).astype(np.int64)
    rest = n - counts.sum()
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:rest]] += 1
    return counts


class Population(StrictModel):
    """Who the synthetic users are."""

    size: int = Field(ge=1, le=MAX_POPULATION, description="Number of users.")
    segments: list[Segment] = Field(min_length=1, max_length=64)
    team: Team = Field(default_factory=Team)

    def segment_sizes(self) -> dict[str, int]:
        """Segment id -> its number of users (:func:`segment_counts`; the same on every seed)."""
        counts = segment_counts(self.size, [s.share for s in self.segments])
        return {s.id: int(k) for s, k in zip(self.segments, counts, strict=True)}

    def empty_segments(self) -> list[str]:
        """Ids of the segments with no users at this size, in the scenario's order."""
        return [sid for sid, k in self.segment_sizes().items() if k == 0]


class TasksGoal(StrictModel):
    """Tasks arrive and must be finished by a deadline."""

    kind: Literal["tasks"]
    id: Identifier
    description: str = Field(default="", max_length=500)
    arrival_rate: Param = Field(default=1.0, description="Tasks arriving per day (Poisson).")
    deadline_days: Param = Field(default=3.0, description="Days from arrival to deadline.")
    effort: Param = Field(default=1.0, description="Progress needed to finish one task.")
    max_pending: int = Field(default=4, ge=1, le=16, description="Tasks a user can hold at once.")
    late_days: float = Field(
        default=1.0, ge=0, le=366, description="Days a late task is still worked on, then dropped."
    )


class BudgetGoal(StrictModel):
    """Keep spending in a category under a limit over a recurring window."""

    kind: Literal["budget"]
    id: Identifier
    description: str = Field(default="", max_length=500)
    window_days: int = Field(default=30, ge=2, le=366, description="Length of a budget window.")
    spend_ratio: Param = Field(
        default=0.9, description="Window spending / limit if the user never adjusts."
    )
    daily_noise: float = Field(default=0.5, ge=0, le=3, description="Log-sd of daily spending.")
    drift: Param = Field(
        default_factory=lambda: {"dist": "normal", "mean": 0.0, "sd": 0.02, "low": -0.1,
                                 "high": 0.1},
        description="Per-user drift of daily spending within a window: the rate grows by "
        "exp(drift) a day (log-rate per day), normalised so spend_ratio stays the window total "
        "without adjusting. Guess (docs/calibration.md, budget drift).",
    )
    effort: Param = Field(default=1.0, description="Progress needed to adjust spending.")
    act_by_day: int = Field(
        default=20, ge=1, description="Day of the window by which adjusting still matters."
    )
    adjustment: Probability = Field(
        default=0.9,
        description="Share of the daily spending rate's excess over the on-budget rate "
        "(1 / window_days) removed by adjusting, from the next day to the window's end; money "
        "already spent stays spent.",
    )

    @model_validator(mode="after")
    def _check(self) -> BudgetGoal:
        if self.act_by_day >= self.window_days:
            raise FieldValueError(
                "act_by_day",
                f"expected act_by_day < window_days ({self.window_days}), got {self.act_by_day}",
            )
        return self


class PracticeGoal(StrictModel):
    """Practise daily (a lesson, a workout): days practised and the habit it builds."""

    kind: Literal["practice"]
    id: Identifier
    description: str = Field(default="", max_length=500)
    effort: Param = Field(default=1.0, description="Progress in a day that counts as practice.")


Goal = Annotated[TasksGoal | BudgetGoal | PracticeGoal, Field(discriminator="kind")]

GOAL_EVENTS: dict[str, tuple[str, ...]] = {
    "tasks": ("arrived", "completed", "completed_on_time", "failed", "abandoned"),
    "budget": ("crossed", "adjusted", "adjusted_in_time", "window_under_budget"),
    "practice": ("practised",),
}
"""Outcome events each goal kind emits (``<goal id>.<event>`` in instrumentation)."""

OUTCOME_METRICS: dict[str, dict[str, str]] = {
    "tasks": {
        "completed": "increase",
        "completed_on_time": "increase",
        "on_time_rate": "increase",
        "failed": "decrease",
        "time_to_completion": "decrease",
    },
    "budget": {
        "adjusted_in_time": "increase",
        "under_budget": "increase",
        "overspend": "decrease",
        "time_to_adjust": "decrease",
    },
    "practice": {"days_practised": "increase", "habit_strength": "increase"},
}
"""Outcome metrics per goal kind, with the direction that counts as better."""


class Window(StrictModel):
    """Days (from 0, end exclusive) over which an outcome is measured."""

    start_day: int = Field(default=0, ge=0)
    end_day: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> Window:
        if self.end_day is not None and self.end_day <= self.start_day:
            raise FieldValueError(
                "end_day", f"expected end_day > start_day ({self.start_day}), got {self.end_day}"
            )
        return self


class OutcomeSpec(StrictModel):
    """The behaviour change a personalization should drive: for whom, what, by when, how much."""

    id: Identifier
    segment: Identifier
    goal: Identifier
    metric: str = Field(description="One of the goal kind's outcome metrics.")
    window: Window = Field(default_factory=Window)
    threshold: float = Field(
        default=0.05, ge=0, le=10,
        description="The practical margin: the relative lift vs the reference that matters "
                    "(better needs at least +threshold; within +-threshold is no practical "
                    "difference; docs/verdicts.md). Default 0.05: a guess, the value every "
                    "bundled designer chose where they chose one.")
    primary: bool = Field(
        default=False,
        description="The segment's headline outcome: the one a win is judged on. A segment "
                    "with one spec: that spec, implicitly; with several: exactly one must say "
                    "primary: true (docs/verdicts.md).")
    description: str = Field(default="", max_length=500)


class InstrumentedEvent(StrictModel):
    """An outcome event the product can observe, with delay and noise."""

    event: str = Field(pattern=EVENT_PATTERN, description="'<goal>.<event>'.")
    delay_steps: int = Field(default=0, ge=0, le=1000)
    miss_rate: Probability = Field(default=0.0, description="Chance a real event is not seen.")
    false_rate: Probability = Field(
        default=0.0, description="Chance per user-step of a spurious event."
    )


class Instrumentation(StrictModel):
    """What the product can observe beyond behaviour logs."""

    events: list[InstrumentedEvent] = Field(default_factory=list, max_length=64)
    receptivity_auc: float = Field(
        default=0.7,
        ge=0.5,
        le=1.0,
        description="AUC of the receptivity signal a policy sees (source: katevas2017).",
    )


class GuardrailThresholds(StrictModel):
    """Coherence thresholds: crossing them raises the coherence flag on a verdict."""

    core_consistency_min: Probability = Field(default=0.95)
    context_failure_max: Probability | None = Field(default=None)


class Guardrails(StrictModel):
    """Constraints applied after the policy and before users see anything."""

    lock_core: bool = Field(default=True, description="Core elements keep their positions.")
    max_notifications_per_day: int | None = Field(default=None, ge=0, le=1000)
    quiet_slots: list[Identifier | int] = Field(default_factory=list)
    max_layout_distance: Probability | None = Field(
        default=None, description="Largest share of slots that may differ from the default."
    )
    thresholds: GuardrailThresholds = Field(default_factory=GuardrailThresholds)


class ContextEvents(StrictModel):
    """Device switches, shared screens and support contacts, and what makes them fail.

    No published effect size exists for these failures under personalized UIs (docs/calibration.md,
    mechanism 9); the form is justified by the transfer and awareness results, the sizes are D.
    """

    device_switch_per_day: NonNegative = Field(default=0.3, le=50)
    colleague_share_per_day: NonNegative = Field(default=0.1, le=50)
    support_contact_per_day: NonNegative = Field(default=0.02, le=50)
    base_failure: Probability = Field(default=0.05)
    distance_sensitivity: NonNegative = Field(default=1.5, le=100)
    core_weight: float = Field(default=4.0, ge=1, le=100)
    failure_minutes: NonNegative = Field(default=3.0, le=240)
    failure_trust_cost: Probability = Field(default=0.02)


class UserModel(StrictModel):
    """Mechanism parameters shared by all users; defaults cite docs/calibration.md rows."""

    no_click_mass: float = Field(default=1.0, gt=0, le=100, description="source: recsim")
    cascade_continue: Probability = Field(default=0.65, description="source: recsim")
    position_exponent: float = Field(default=-0.8, ge=-5, le=0, description="source: trecs")
    open_base: float = Field(
        default=-1.36, ge=-10, le=10,
        description="Open log-odds intercept (fitted: open rate 0.20 near 1/day, pielot2018).",
    )
    open_relevance: NonNegative = Field(default=1.5, le=20)
    open_receptive: NonNegative = Field(default=1.0, le=20)
    open_fatigue: NonNegative = Field(default=1.0, le=20)
    open_wear: NonNegative = Field(default=0.6, le=20)
    open_trust: NonNegative = Field(default=1.0, le=20)
    wear_recovery: Probability = Field(default=0.3, description="Share of wear shed per day.")
    optout_base: Probability = Field(
        default=0.0005, description="Opt-out hazard per dismissed notification.")
    optout_volume: NonNegative = Field(default=1.0, le=5, description="Hazard ~ (sent/day)^this.")
    session_habit: NonNegative = Field(default=1.5, le=20)
    session_need: NonNegative = Field(default=0.5, le=20)
    habit_utility: NonNegative = Field(default=1.0, le=20)
    goal_utility: NonNegative = Field(default=2.0, le=20)
    appeal_utility: NonNegative = Field(
        default=3.6, le=20,
        description="Weight on susceptibility x appeal in in-session choice (fitted: the share of "
        "self-control-driven app minutes to 0.31, allcott2022; docs/calibration.md).",
    )
    fatigue_utility: NonNegative = Field(default=0.5, le=20)
    residue: Probability = Field(default=0.2, description="Focus lost per distracting engagement.")
    residue_carry: Probability = Field(
        default=0.5, description="Share of focus residue carried into the next slot (D)."
    )
    breakpoint_multiplier: Probability = Field(default=0.5, description="source: iqbal_bailey")
    resumption_minutes: NonNegative = Field(default=0.25, le=10, description="source: altmann2007")
    max_engagements: int = Field(default=8, ge=1, le=64, description="Per session.")
    need_met_exit: Probability = Field(default=0.7)
    habit_fade: Probability = Field(default=0.01, description="Daily fade after 2+ missed days.")
    trust_gain: NonNegative = Field(default=0.05, le=5)
    trust_waste: NonNegative = Field(default=0.002, le=5)
    trust_overload: NonNegative = Field(default=0.01, le=5)
    channel_trust_gain: Probability = Field(default=0.02, description="Per useful open.")
    channel_trust_loss: Probability = Field(
        default=0.002, description="Per notification dismissed, replaced or expired.")
    overload_free: int = Field(default=3, ge=0, le=1000, description="Daily sends before overload.")
    churn_trust: Probability = Field(default=0.3, description="Trust below which churn rises.")
    churn_rate: NonNegative = Field(
        default=0.05, le=1, description="Daily churn hazard added at 0 trust (D)."
    )
    # layout memory (sim/mechanisms/memory.py; cockburn2007's form, every size a guess)
    memory_max: Probability = Field(
        default=0.9, description="Largest expertise L at a learned layout position, "
        "e = L n/(n+1) after n sessions (form: cockburn2007; value: guess). 0 turns memory off.")
    memory_fade: Probability = Field(
        default=0.05, description="Share of a position's practice count forgotten per day "
        "(guess).")
    search_seconds: NonNegative = Field(
        default=0.3, le=10, description="Novice visual search time per position scanned, seconds "
        "(form: cockburn2007, linear search; value: guess).")
    decision_seconds: NonNegative = Field(
        default=0.15, le=10, description="Expert Hick-Hyman decision time per bit, seconds "
        "(form: cockburn2007; value: guess).")
    pointing_seconds: NonNegative = Field(
        default=0.1, le=10, description="Fitts pointing time per bit of index of difficulty, "
        "seconds (form: cockburn2007; value: guess).")
    # --- notification tray (mechanisms/notifications.py; docs/model.md 4.4) ---
    tray_delay_median_minutes: float = Field(
        default=5.0, gt=0, le=1440,
        description="Median response delay to a notification, minutes (lognormal; pielot2014: "
                    "'typically viewed within minutes'; the number is a guess).")
    tray_delay_sigma: NonNegative = Field(
        default=1.5, le=5,
        description="Log-sd of the response delay (guess: a tail of hours; mehrotra2016).")
    tray_expiry_hours: float = Field(
        default=24.0, gt=0, le=24 * 30,
        description="Age at which an unattended notification leaves the tray, hours (guess).")
    # --- trust as long-term satisfaction (mechanisms/trust.py; docs/model.md 4.8) ---
    trust_memory: Probability = Field(
        default=0.95,
        description="Daily discount of past experience in trust (recsim_lts form; value D).")
    churn_base: Probability = Field(
        default=0.00132,
        description="Daily churn hazard at any trust (fitted: recurly2023, 3.95% voluntary "
                    "churn a month).")


class VerdictSettings(StrictModel):
    """How a comparison's verdict is decided (docs/verdicts.md)."""

    engagement_margin: float = Field(
        default=0.02, ge=0, le=10,
        description="Relative change of the engagement index that counts as a practical change "
                    "(engagement 'up' needs a significant lift of at least this much). Default "
                    "0.02: a guess, the size of change an engagement team reports as a win.")
    alpha: float = Field(
        default=0.05, gt=0, lt=0.5,
        description="Chance of a false verdict in an A/A comparison: half goes to the engagement "
                    "test, half to the outcome specs (Holm across them).")
    user_margin: float = Field(
        default=0.05, ge=0, le=10, allow_inf_nan=False,
        description="Per-user margin of the 'who is harmed' analysis (docs/who-is-harmed.md): a "
                    "user is worse (better) off on a metric when their own difference against the "
                    "reference, on the same seed, is beyond this share of the segment's mean "
                    "reference value per user; within it, unchanged. Default 0.05: a guess, the "
                    "same size as an outcome spec's default threshold.")


class Scenario(StrictModel):
    """One world: product, population, goals, outcome specs, guardrails and clock."""

    name: Identifier
    description: str = Field(default="", max_length=2000)
    clock: Clock
    product: Product
    population: Population
    goals: list[Goal] = Field(default_factory=list, max_length=32)
    outcomes: list[OutcomeSpec] = Field(default_factory=list, max_length=64)
    verdict: VerdictSettings = Field(default_factory=VerdictSettings)
    instrumentation: Instrumentation = Field(default_factory=Instrumentation)
    guardrails: Guardrails = Field(default_factory=Guardrails)
    context: ContextEvents = Field(default_factory=ContextEvents)
    user_model: UserModel = Field(default_factory=UserModel)

    # Convenience look-ups used by the simulator; cheap, derived, never stored.
    def element_index(self) -> dict[str, int]:
        """Element id -> index in ``product.elements``."""
        return {e.id: i for i, e in enumerate(self.product.elements)}

    def segment_index(self) -> dict[str, int]:
        """Segment id -> index in ``population.segments``."""
        return {s.id: i for i, s in enumerate(self.population.segments)}

    def goal_index(self) -> dict[str, int]:
        """Goal id -> index in ``goals``."""
        return {g.id: i for i, g in enumerate(self.goals)}


def primary_outcomes(scenario: Scenario) -> dict[str, OutcomeSpec]:
    """Target segment -> its primary outcome spec (a segment's only spec is its primary).

    A segment with several specs and not exactly one marked ``primary`` has none here; loading
    refuses such a scenario (scenario.checks), so this only happens for unvalidated objects.
    """
    by_segment: dict[str, list[OutcomeSpec]] = {}
    for spec in scenario.outcomes:
        by_segment.setdefault(spec.segment, []).append(spec)
    out: dict[str, OutcomeSpec] = {}
    for seg, specs in by_segment.items():
        marked = [o for o in specs if o.primary]
        if len(specs) == 1:
            out[seg] = specs[0]
        elif len(marked) == 1:
            out[seg] = marked[0]
    return out
