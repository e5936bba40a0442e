"""Cross-checks a scenario needs beyond per-field types: references, sums and limits.

Each check yields ``(key path, message)`` pairs; :func:`cross_check` runs them all so that every
problem in a file is reported at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator

from outcome_gym.scenario.distributions import Categorical, param_support
from outcome_gym.scenario.schema import GOAL_EVENTS, OUTCOME_METRICS, Scenario
from outcome_gym.scenario.yamlio import KeyPath

Found = Iterator[tuple[KeyPath, str]]

MAX_USER_STEPS = 5_000_000_000
GOAL_PARAM_KEYS = {
    "tasks": ("arrival_rate", "deadline_days", "effort"),
    "budget": ("spend_ratio", "effort", "drift"),
    "practice": ("effort",),
}
# Parameters that must stay inside a range for every user (path inside a segment -> bounds).
SEGMENT_BOUNDS: dict[str, tuple[float, float]] = {
    "attention_budget": (0.0, 24 * 60.0),
    "susceptibility": (0.0, 10.0),
    "goal_weight": (0.0, 10.0),
    "session_propensity": (0.0, 48.0),
    "habit_days": (1.0, 10_000.0),
    "fatigue_rate": (0.0, 1.0),
    "fatigue_recovery": (0.0, 1.0),
    "channel_trust": (0.0, 1.0),
    "trust": (0.0, 1.0),
    "devices": (1.0, 4.0),
    "churn_sensitivity": (0.0, 100.0),
    "outside_rate": (0.0, 10.0),
}
GOAL_BOUNDS: dict[str, tuple[float, float]] = {
    "arrival_rate": (0.0, 50.0),
    "deadline_days": (0.01, 366.0),
    "effort": (0.01, 100.0),
    "spend_ratio": (0.0, 10.0),
    "drift": (-0.5, 0.5),  # log-rate per day: exp(0.5 * 30) would be absurd already
}


def expected_ref(what: str, got: str, options: Iterable[str]) -> str:
    """'expected a <what>, got '<got>' (one of: ...)', plus the closest option for a typo."""
    names = list(dict.fromkeys(options)) if isinstance(options, list | dict) else sorted(options)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    article = "an" if what[0] in "aeiou" else "a"
    close = difflib.get_close_matches(got, names, n=1, cutoff=0.7)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"expected {article} {what}, got '{got}' (one of: {shown or 'none defined'}){hint}"


def _bounded(value: object, lo: float, hi: float) -> str | None:
    vlo, vhi = param_support(value)  # type: ignore[arg-type]
    if isinstance(value, int | float) and not lo <= value <= hi:
        return f"expected a value within [{lo:g}, {hi:g}], got {value:g}"
    if vlo < lo or vhi > hi:
        return (
            f"expected values within [{lo:g}, {hi:g}] for every user, got a distribution "
            f"reaching [{vlo:g}, {vhi:g}] (add low/high clipping or narrow it)"
        )
    return None


def _elements(s: Scenario) -> Found:
    ids = [e.id for e in s.product.elements]
    goals = {g.id for g in s.goals}
    channels = {c.id for c in s.product.channels}
    seen: set[str] = set()
    for i, e in enumerate(s.product.elements):
        path = ("product", "elements", i)
        if e.id in seen:
            yield (*path, "id"), f"expected unique element ids, got '{e.id}' twice"
        seen.add(e.id)
        for g in e.value:
            if g not in goals:
                yield (*path, "value", g), expected_ref("goal id", g, goals)
        if e.pushed and e.channel is None:
            yield (*path, "channel"), f"expected a channel for a {e.kind}, got none"
        if e.channel is not None and e.channel not in channels:
            yield (
                (*path, "channel"),
                expected_ref("channel id", e.channel, channels),
            )
        if e.pushed and e.core:
            yield (*path, "core"), f"expected core only on laid-out elements, got a core {e.kind}"
    del ids


def _layout(s: Scenario) -> Found:
    by_id = {e.id: e for e in s.product.elements}
    default = s.product.layout.default
    if len(set(default)) != len(default):
        yield ("product", "layout", "default"), "expected each element at most once in the layout"
    for k, eid in enumerate(default):
        path = ("product", "layout", "default", k)
        if eid not in by_id:
            yield path, expected_ref("element id", eid, by_id)
        elif by_id[eid].pushed:
            yield path, f"expected a laid-out element, got {by_id[eid].kind} '{eid}'"
    for i, e in enumerate(s.product.elements):
        if e.core and e.id not in default:
            yield (
                ("product", "elements", i, "core"),
                (f"expected core element '{e.id}' to have a place in layout.default, got none"),
            )
    if not any(not e.pushed for e in s.product.elements):
        yield ("product", "elements"), "expected at least one laid-out element"


def _schedule(s: Scenario) -> Found:
    by_id = {e.id: e for e in s.product.elements}
    segs = {g.id for g in s.population.segments}
    for i, n in enumerate(s.product.schedule):
        path = ("product", "schedule", i)
        if n.element not in by_id:
            yield (*path, "element"), expected_ref("element id", n.element, by_id)
        elif not by_id[n.element].pushed:
            yield (
                (*path, "element"),
                (f"expected a notification or alert, got {by_id[n.element].kind} '{n.element}'"),
            )
        yield from _slot_ref(s, n.slot, (*path, "slot"))
        for j, seg in enumerate(n.segments or []):
            if seg not in segs:
                yield (*path, "segments", j), expected_ref("segment id", seg, segs)


def _slot_ref(s: Scenario, slot: str | int, path: KeyPath) -> Found:
    names = s.clock.names
    if isinstance(slot, int):
        if not 0 <= slot < s.clock.slots_per_day:
            yield path, f"expected a slot index in [0, {s.clock.slots_per_day - 1}], got {slot}"
    elif slot not in names:
        yield path, expected_ref("slot name", slot, names)


def _population(s: Scenario) -> Found:
    segs = s.population.segments
    total = sum(g.share for g in segs)
    if abs(total - 1.0) > 1e-6:
        yield ("population", "segments"), f"expected segment shares summing to 1, got {total:.6g}"
    goals = {g.id: g for g in s.goals}
    seen: set[str] = set()
    for i, seg in enumerate(segs):
        path = ("population", "segments", i)
        if seg.id in seen:
            yield (*path, "id"), f"expected unique segment ids, got '{seg.id}' twice"
        seen.add(seg.id)
        if len(seg.availability.slot) != s.clock.slots_per_day:
            yield (
                (*path, "availability", "slot"),
                (
                    f"expected {s.clock.slots_per_day} values (one per slot), "
                    f"got {len(seg.availability.slot)}"
                ),
            )
        for j, g in enumerate(seg.goals):
            if g not in goals:
                yield (*path, "goals", j), expected_ref("goal id", g, goals)
        for key, (lo, hi) in SEGMENT_BOUNDS.items():
            msg = _bounded(getattr(seg, key), lo, hi)
            if msg:
                yield (*path, key), msg
        yield from _goal_params(seg.goal_params, goals, path)
    size_msg = _bounded(s.population.team.size, 1.0, 1000.0)
    if size_msg:
        yield ("population", "team", "size"), size_msg
    steps = s.clock.n_steps * s.population.size
    if steps > MAX_USER_STEPS:
        yield (
            ("population", "size"),
            (f"expected population x steps <= {MAX_USER_STEPS:.0e}, got {steps:.3g}"),
        )


def _goal_params(overrides: dict, goals: dict, path: KeyPath) -> Found:
    for gid, params in overrides.items():
        gpath = (*path, "goal_params", gid)
        if gid not in goals:
            yield gpath, expected_ref("goal id", gid, goals)
            continue
        allowed = GOAL_PARAM_KEYS[goals[gid].kind]
        for key, val in params.items():
            if key not in allowed:
                yield (
                    (*gpath, key),
                    (f"expected one of {list(allowed)} for a {goals[gid].kind} goal, got '{key}'"),
                )
            elif msg := _bounded(val, *GOAL_BOUNDS[key]):
                yield (*gpath, key), msg


def _goals(s: Scenario) -> Found:
    seen: set[str] = set()
    for i, g in enumerate(s.goals):
        if g.id in seen:
            yield ("goals", i, "id"), f"expected unique goal ids, got '{g.id}' twice"
        seen.add(g.id)
        for key in GOAL_PARAM_KEYS[g.kind]:
            if msg := _bounded(getattr(g, key), *GOAL_BOUNDS[key]):
                yield ("goals", i, key), msg


def _outcomes(s: Scenario) -> Found:
    segs = {g.id for g in s.population.segments}
    goals = {g.id: g for g in s.goals}
    # the days the run reaches: horizon_steps can end it before horizon_days, and a window that
    # opens after its last day would measure nothing (every value 0, a verdict on no data)
    days = -(-s.clock.n_steps // s.clock.slots_per_day)
    cut = (f", as horizon_steps {s.clock.n_steps} at {s.clock.slots_per_day} slots a day cuts it"
           if days < s.clock.horizon_days else "")
    for i, o in enumerate(s.outcomes):
        path = ("outcomes", i)
        if o.segment not in segs:
            yield (*path, "segment"), expected_ref("segment id", o.segment, segs)
        if o.goal not in goals:
            yield (*path, "goal"), expected_ref("goal id", o.goal, goals)
            continue
        metrics = OUTCOME_METRICS[goals[o.goal].kind]
        if o.metric not in metrics:
            yield (
                (*path, "metric"),
                (
                    f"expected one of {list(metrics)} for a "
                    f"{goals[o.goal].kind} goal, got '{o.metric}'"
                ),
            )
        if o.window.start_day >= days:
            yield (*path, "window", "start_day"), \
                f"expected a day before the horizon ({days}{cut}), got {o.window.start_day}"


def _primary(s: Scenario) -> Found:
    """Exactly one primary spec in each segment with several specs (docs/verdicts.md)."""
    by_segment: dict[str, list[int]] = {}
    for i, o in enumerate(s.outcomes):
        by_segment.setdefault(o.segment, []).append(i)
    for seg, idx in by_segment.items():
        if len(idx) < 2:
            continue
        marked = [i for i in idx if s.outcomes[i].primary]
        names = ", ".join(s.outcomes[i].id for i in idx)
        if not marked:
            yield (("outcomes", idx[0], "primary"),
                   f"expected exactly one primary outcome spec for segment '{seg}', got none "
                   f"among {names} (add 'primary: true' to the one a win is judged on)")
        elif len(marked) > 1:
            yield (("outcomes", marked[1], "primary"),
                   f"expected exactly one primary outcome spec for segment '{seg}', got "
                   f"{len(marked)}: {', '.join(s.outcomes[i].id for i in marked)} (keep "
                   "'primary: true' on one)")


def _instrumentation(s: Scenario) -> Found:
    goals = {g.id: g for g in s.goals}
    for i, ev in enumerate(s.instrumentation.events):
        gid, _, name = ev.event.partition(".")
        path = ("instrumentation", "events", i, "event")
        if gid not in goals:
            yield path, expected_ref("goal id before the '.'", gid, goals)
        elif name not in GOAL_EVENTS[goals[gid].kind]:
            yield (
                path,
                (
                    f"expected one of {list(GOAL_EVENTS[goals[gid].kind])} for a "
                    f"{goals[gid].kind} goal, got '{name}'"
                ),
            )


def _guardrails(s: Scenario) -> Found:
    for i, slot in enumerate(s.guardrails.quiet_slots):
        yield from _slot_ref(s, slot, ("guardrails", "quiet_slots", i))


def _channels(s: Scenario) -> Found:
    seen: set[str] = set()
    for i, c in enumerate(s.product.channels):
        if c.id in seen:
            yield (
                ("product", "channels", i, "id"),
                f"expected unique channel ids, got '{c.id}' twice",
            )
        seen.add(c.id)


def _devices(s: Scenario) -> Found:
    for i, seg in enumerate(s.population.segments):
        d = seg.devices
        vals = d.values if isinstance(d, Categorical) else None
        if vals is not None and any(v != int(v) for v in vals):
            yield ("population", "segments", i, "devices"), "expected whole numbers of devices"


CHECKS = (
    _elements,
    _channels,
    _layout,
    _schedule,
    _goals,
    _population,
    _outcomes,
    _primary,
    _instrumentation,
    _guardrails,
    _devices,
)


def cross_check(s: Scenario) -> list[tuple[KeyPath, str]]:
    """Run every cross-check and return all problems found (empty when consistent)."""
    return [found for check in CHECKS for found in check(s)]
