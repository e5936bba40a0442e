"""``rules``: a designer's personalization policy written in YAML.

A rules file lists rules; each has conditions on what the product can observe and what to do when
they hold. Every matching rule adds its notifications; the first matching rule with a layout decides
the layout. Example — "overspenders get the spending alert on Tuesday or Wednesday evening when they
were active this week, at most once a week"::

    name: midweek_alerts
    default: {notify: schedule}          # or 'none': what users get when no rule sends
    rules:
      - id: overspender_alert
        when:
          segments: [overspender]
          weekdays: [tue, wed]
          slots: [evening]
          active_within_days: 7           # had a session in the last 7 days
        then:
          notify: [spend_alert]
          once_per_days: 7
      - id: show_budget
        when: {event_within_days: {event: budget.crossed, days: 30}}
        then: {promote: budget_view}

Conditions (all optional, all must hold): ``segments``, ``weekdays``, ``slots`` (names or
indices), ``active_within_days`` (a session observed within that many days), ``inactive_for_days``
(no session observed for at least that many days), ``event_within_days`` (an instrumented outcome
event seen within that many days), ``receptivity_above`` (the noisy receptivity signal).
Actions: ``notify`` (notification/alert ids), ``promote`` (an element moved into the first non-core
position), ``layout`` (explicit element ids for the non-core positions, in order), ``once_per_days``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from outcome_gym.errors import InputError, PolicyError, RulesFileError
from outcome_gym.policies.base import BasePolicy
from outcome_gym.scenario.distributions import StrictModel
from outcome_gym.scenario.loading import problems_from_validation_error
from outcome_gym.scenario.schema import WEEKDAYS, Identifier
from outcome_gym.scenario.yamlio import load_yaml_mapping, read_text
from outcome_gym.sim.interface import Action, Feedback, Observation, PolicyContext

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class EventWithin(StrictModel):
    """An instrumented event seen within ``days`` days."""

    event: str = Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z_]+$")
    days: float = Field(gt=0, le=3650)


class When(StrictModel):
    """Conditions of a rule (all must hold)."""

    segments: list[Identifier] | None = None
    weekdays: list[Weekday] | None = None
    slots: list[Identifier | int] | None = None
    active_within_days: float | None = Field(default=None, gt=0, le=3650)
    inactive_for_days: float | None = Field(default=None, gt=0, le=3650)
    event_within_days: EventWithin | None = None
    receptivity_above: float | None = Field(default=None, ge=-20, le=20)


class Then(StrictModel):
    """What a matching rule does."""

    notify: list[Identifier] = Field(default_factory=list)
    promote: Identifier | None = None
    layout: list[Identifier] | None = None
    once_per_days: float | None = Field(default=None, gt=0, le=3650)

    @model_validator(mode="after")
    def _check(self) -> Then:
        if self.promote is not None and self.layout is not None:
            raise ValueError("expected at most one of promote and layout, got both")
        return self


class Rule(StrictModel):
    """One rule: conditions and actions."""

    id: Identifier
    when: When = Field(default_factory=When)
    then: Then


class Default(StrictModel):
    """What users get when no rule applies."""

    notify: Literal["schedule", "none"] = "schedule"


class RulesSpec(StrictModel):
    """A rules file."""

    name: Identifier = "rules"
    description: str = Field(default="", max_length=2000)
    default: Default = Field(default_factory=Default)
    rules: list[Rule] = Field(default_factory=list, max_length=256)


def load_rules(source: str | Path | dict[str, Any]) -> RulesSpec:
    """Load and validate a rules file (or mapping); errors name file, key path and line.

    Raises:
        RulesFileError: The file cannot be read as a YAML mapping, or breaks the rules schema.
    """
    from pydantic import ValidationError

    if isinstance(source, dict):
        data, lines, file = source, {}, "<rules>"
    else:
        file = str(source)
        try:
            data, lines = load_yaml_mapping(read_text(Path(source)), file)
        except InputError as exc:
            raise exc.as_kind(RulesFileError) from None
    try:
        return RulesSpec.model_validate(data)
    except ValidationError as exc:
        raise RulesFileError(
            problems_from_validation_error(exc, data, file, lines, RulesSpec)
        ) from None


class RulesPolicy(BasePolicy):
    """A designer's rules: conditions on segment, weekday, slot and observed behaviour -> layout
    and notifications.

    When to use: to test a concrete design idea ("mid-week alerts for active overspenders") as
    written, before anyone builds a model; as a transparent reference for a learning policy.

    Args:
        rules: A rules file path, or the rules as a mapping (see the module docstring).
    """

    name = "rules"

    def __init__(self, rules: str | Path | dict[str, Any]) -> None:
        self.rules = rules

    def reset(self, context: PolicyContext, seed: np.random.SeedSequence) -> None:
        """Compile the rules against the scenario; checks every id they name."""
        super().reset(context, seed)
        self.spec_ = load_rules(self.rules) if not isinstance(self.rules, RulesSpec) else self.rules
        ctx = context
        self.eidx_ = {e: i for i, e in enumerate(ctx.element_ids)}
        self.sidx_ = {s.id: i for i, s in enumerate(ctx.scenario.population.segments)}
        self.col_ = {int(e): m for m, e in enumerate(ctx.pushed_elements)}
        self.slot_names_ = ctx.scenario.clock.names
        for rule in self.spec_.rules:
            self._check_rule(rule)
        n = ctx.n_users
        never = np.iinfo(np.int64).min // 2
        self.last_session_ = np.full(n, never, dtype=np.int64)
        self.last_event_ = {r.when.event_within_days.event: np.full(n, never, dtype=np.int64)
                            for r in self.spec_.rules if r.when.event_within_days}
        self.last_fired_ = {r.id: np.full(n, never, dtype=np.int64) for r in self.spec_.rules}
        self.layouts_ = {r.id: self._layout_of(r) for r in self.spec_.rules}

    def _check_rule(self, rule: Rule) -> None:
        def fail(msg: str) -> None:
            raise PolicyError(f"rules '{self.spec_.name}', rule '{rule.id}': {msg}")

        for s in rule.when.segments or []:
            if s not in self.sidx_:
                fail(f"expected a segment id, got '{s}' (segments: {sorted(self.sidx_)})")
        for s in rule.when.slots or []:
            if isinstance(s, str) and s not in self.slot_names_:
                fail(f"expected a slot name, got '{s}' (slots: {self.slot_names_})")
        ev = rule.when.event_within_days
        if ev and ev.event not in self.context_.instrumented:
            fail(f"event '{ev.event}' is not instrumented (the product cannot see it; "
                 f"instrumented: {list(self.context_.instrumented)})")
        for e in rule.then.notify:
            if e not in self.eidx_ or self.eidx_[e] not in self.col_:
                fail(f"expected a notification or alert id, got '{e}'")
        for e in [rule.then.promote] if rule.then.promote else rule.then.layout or []:
            if e not in self.eidx_ or self.eidx_[e] not in set(self.context_.layout_elements.tolist()):
                fail(f"expected a laid-out element id, got '{e}'")

    def _layout_of(self, rule: Rule) -> np.ndarray | None:
        ctx = self.context_
        default = np.asarray(ctx.default_layout, dtype=np.int64)
        free = np.flatnonzero(~np.asarray(ctx.core_slot))
        if rule.then.promote:
            e = self.eidx_[rule.then.promote]
            order = [e] + [x for x in default[free].tolist() if x != e]
        elif rule.then.layout:
            order = [self.eidx_[x] for x in rule.then.layout]
            order += [x for x in default[free].tolist() if x not in order]
        else:
            return None
        lay = default.copy()
        lay[free] = order[: free.size]
        return lay

    def _matches(self, rule: Rule, obs: Observation) -> np.ndarray:
        w, ctx = rule.when, self.context_
        spd = ctx.slots_per_day
        seg = np.asarray(ctx.segment)
        ok = np.asarray(obs.active, dtype=bool).copy()
        if w.segments is not None:
            ok &= np.isin(seg, [self.sidx_[s] for s in w.segments])
        if w.weekdays is not None and WEEKDAYS[obs.weekday] not in w.weekdays:
            ok[:] = False
        if w.slots is not None:
            slots = {s if isinstance(s, int) else self.slot_names_.index(s) for s in w.slots}
            if obs.slot not in slots:
                ok[:] = False
        if w.active_within_days is not None:
            ok &= obs.step - self.last_session_ <= w.active_within_days * spd
        if w.inactive_for_days is not None:
            ok &= obs.step - self.last_session_ >= w.inactive_for_days * spd
        if w.event_within_days is not None:
            last = self.last_event_[w.event_within_days.event]
            ok &= obs.step - last <= w.event_within_days.days * spd
        if w.receptivity_above is not None:
            ok &= np.asarray(obs.receptivity) > w.receptivity_above
        if rule.then.once_per_days is not None:
            ok &= obs.step - self.last_fired_[rule.id] >= rule.then.once_per_days * spd
        return ok

    def _observe(self, obs: Observation) -> None:
        # what happened in the previous step is visible now
        self.last_session_[np.asarray(obs.session, dtype=bool)] = obs.step - 1
        for event, last in self.last_event_.items():
            seen = np.asarray(obs.events.get(event, np.zeros(0)))
            if seen.size:
                last[seen > 0] = obs.step

    def act(self, observation: Observation) -> Action:
        """Apply every rule; first matching layout wins, notifications add up."""
        self._observe(observation)
        ctx = self.context_
        n = ctx.n_users
        layout = np.broadcast_to(np.asarray(ctx.default_layout, np.int64), (n, ctx.n_slots)).copy()
        laid = np.zeros(n, dtype=bool)
        notify = (self.default_notify(observation) if self.spec_.default.notify == "schedule"
                  else np.zeros((n, ctx.n_pushed), dtype=bool))
        for rule in self.spec_.rules:
            hit = self._matches(rule, observation)
            if not hit.any():
                continue
            self.last_fired_[rule.id][hit] = observation.step
            for e in rule.then.notify:
                notify[hit, self.col_[self.eidx_[e]]] = True
            lay = self.layouts_[rule.id]
            if lay is not None:
                take = hit & ~laid
                layout[take] = lay
                laid |= take
        notify &= np.asarray(observation.active, dtype=bool)[:, None]
        return Action(layout=layout, notify=notify)

    def update(self, observation: Observation, action: Action, feedback: Feedback) -> None:
        """Rules do not learn; behaviour is read from observations."""
