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

Every id a rule names is checked against the scenario before any run (:func:`rules_problems`,
called by :meth:`RulesPolicy.resolve_params` when a run is planned and by ``outcome-gym validate
RULES --scenario S``), each problem with the file, line, key path and the closest valid id. Core
elements cannot be promoted or laid out: the rules reorder only the non-core positions and the
``lock_core`` guardrail keeps core elements where they are, so such a rule would be undone on every
step. A rules file named by a relative path is read relative to the folder of the file that names
it (a sweep or contract file) and may not leave that folder; the run then carries the rules'
content, not the path, so its content-addressed run id changes when the rules do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from outcome_gym._io import confined
from outcome_gym.errors import InputError, Problem, RulesFileError
from outcome_gym.policies.base import BasePolicy
from outcome_gym.scenario.checks import expected_ref
from outcome_gym.scenario.distributions import StrictModel
from outcome_gym.scenario.loading import problems_from_validation_error
from outcome_gym.scenario.schema import PUSHED_KINDS, WEEKDAYS, Identifier, Scenario
from outcome_gym.scenario.yamlio import (
    KeyPath,
    format_path,
    load_yaml_mapping,
    nearest_line,
    read_text,
)
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


def read_rules(source: str | Path | dict[str, Any]) -> tuple[RulesSpec, str, dict[KeyPath, int]]:
    """Load and validate a rules file (or mapping): the rules, the file's name and its line map.

    Raises:
        RulesFileError: The file cannot be read as a YAML mapping, or breaks the rules schema
            (every problem, with file, key path and line).
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
        return RulesSpec.model_validate(data), file, lines
    except ValidationError as exc:
        raise RulesFileError(
            problems_from_validation_error(exc, data, file, lines, RulesSpec)
        ) from None


def load_rules(source: str | Path | dict[str, Any]) -> RulesSpec:
    """Load and validate a rules file (or mapping); errors name file, key path and line.

    Raises:
        RulesFileError: As :func:`read_rules`.
    """
    return read_rules(source)[0]


def rules_problems(spec: RulesSpec, scenario: Scenario, file: str = "<rules>",
                   lines: dict[KeyPath, int] | None = None) -> list[Problem]:
    """Every id the rules name that ``scenario`` does not have, or that they may not move.

    Checks segments, slot names, instrumented events, notification ids, and promoted or laid-out
    elements (which must be non-core elements of the layout); each problem has the file, line, key
    path and the closest valid id.
    """
    lines = lines or {}
    elements = {e.id: e for e in scenario.product.elements}
    laid = list(scenario.product.layout.default)
    pushed = [e.id for e in scenario.product.elements if e.kind in PUSHED_KINDS]
    found: list[Problem] = []

    def bad(path: KeyPath, message: str) -> None:
        found.append(Problem(file=file, path=format_path(path), message=message,
                             line=nearest_line(lines, path)))

    for i, rule in enumerate(spec.rules):
        at: KeyPath = ("rules", i)
        for j, seg in enumerate(rule.when.segments or []):
            if seg not in scenario.segment_index():
                bad((*at, "when", "segments", j),
                    expected_ref("segment id", seg, list(scenario.segment_index())))
        for j, slot in enumerate(rule.when.slots or []):
            names = scenario.clock.names
            if isinstance(slot, str) and slot not in names:
                bad((*at, "when", "slots", j), expected_ref("slot name", slot, list(names)))
            elif isinstance(slot, int) and not 0 <= slot < len(names):
                bad((*at, "when", "slots", j),
                    f"expected a slot index 0..{len(names) - 1}, got {slot}")
        ev = rule.when.event_within_days
        seen = [e.event for e in scenario.instrumentation.events]
        if ev is not None and ev.event not in seen:
            bad((*at, "when", "event_within_days", "event"),
                expected_ref("instrumented event (the product sees only these)", ev.event, seen))
        for j, e in enumerate(rule.then.notify):
            if e not in pushed:
                bad((*at, "then", "notify", j), expected_ref("notification or alert id", e, pushed))
        targets = ([((*at, "then", "promote"), rule.then.promote)] if rule.then.promote else
                   [((*at, "then", "layout", j), e) for j, e in enumerate(rule.then.layout or [])])
        free = [e for e in laid if not elements[e].core]
        for path, e in targets:
            if e not in laid:
                bad(path, expected_ref("non-core element of the layout", e, free))
            elif elements[e].core:
                bad(path, f"expected a non-core element, got core element '{e}': the rules "
                          "reorder only the non-core positions and guardrails.lock_core keeps "
                          "core elements in place, so this would be undone on every step "
                          f"(non-core elements: {', '.join(free) or 'none'})")
    return found


class RulesPolicy(BasePolicy):
    """A designer's rules: conditions on segment, weekday, slot and observed behaviour -> layout
    and notifications.

    When to use: to test a concrete design idea ("mid-week alerts for active overspenders") as
    written, before anyone builds a model; as a transparent reference for a learning policy.

    Args:
        rules: A rules file path, or the rules as a mapping (see the module docstring).
    """

    name = "rules"
    # every condition reads the user's own segment, observations and receptivity signal, and every
    # memory (last session, event, firing) is kept per user: no user's action depends on another's
    treats_users_apart = True

    def __init__(self, rules: str | Path | dict[str, Any]) -> None:
        self.rules = rules

    @classmethod
    def resolve_params(cls, params: dict[str, Any], scenario: Scenario,
                       base_dir: Path | None = None) -> dict[str, Any]:
        """The parameters a planned run carries: the rules' content, checked against ``scenario``.

        Called before any run (``RunTask.make``). A relative path is read from ``base_dir`` (the
        folder of the file that names it) and may not leave it; ``None`` reads it from the
        working directory, as given on the command line.

        Raises:
            RulesFileError: The file is missing, unreadable, escapes ``base_dir``, breaks the rules
                schema, or names ids the scenario does not have (every problem, with line).
        """
        rules = params.get("rules")
        if isinstance(rules, str | Path):
            path = Path(rules)
            if base_dir is not None:
                try:
                    path = confined(path, base_dir, what="rules file")
                except ValueError as exc:
                    raise RulesFileError.one(str(exc), path="rules") from None
            spec, file, lines = read_rules(path)
        elif isinstance(rules, dict):
            spec, file, lines = read_rules(rules)
        else:
            return params  # a wrong type is the signature check's to report
        problems = rules_problems(spec, scenario, file, lines)
        if problems:
            raise RulesFileError(problems)
        return {**params, "rules": spec.model_dump(mode="json")}

    def reset(self, context: PolicyContext, seed: np.random.SeedSequence) -> None:
        """Compile the rules against the scenario; checks every id they name.

        Raises:
            RulesFileError: As :meth:`resolve_params`.
        """
        super().reset(context, seed)
        ctx = context
        if isinstance(self.rules, RulesSpec):
            self.spec_, file, lines = self.rules, "<rules>", {}
        else:
            self.spec_, file, lines = read_rules(self.rules)
        problems = rules_problems(self.spec_, ctx.scenario, file, lines)
        if problems:
            raise RulesFileError(problems)
        self.eidx_ = {e: i for i, e in enumerate(ctx.element_ids)}
        self.sidx_ = {s.id: i for i, s in enumerate(ctx.scenario.population.segments)}
        self.col_ = ctx.pushed_column
        self.slot_names_ = ctx.scenario.clock.names
        n = ctx.n_users
        never = np.iinfo(np.int64).min // 2
        self.last_session_ = np.full(n, never, dtype=np.int64)
        self.last_event_ = {r.when.event_within_days.event: np.full(n, never, dtype=np.int64)
                            for r in self.spec_.rules if r.when.event_within_days}
        self.last_fired_ = {r.id: np.full(n, never, dtype=np.int64) for r in self.spec_.rules}
        self.layouts_ = {r.id: self._layout_of(r) for r in self.spec_.rules}

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
        layout = self.default_layout()
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
