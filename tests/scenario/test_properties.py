"""Property tests: generated valid scenarios load and round-trip; mutated ones fail with a typed error.

Hypothesis runs derandomized (the same examples every run) so that CI never flakes; the example
counts keep this file to a few seconds.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from outcome_gym.errors import ScenarioError, ScenarioValidationError
from outcome_gym.scenario import dump_scenario, load_scenario, parse_scenario, validate_scenario
from outcome_gym.scenario.checks import GOAL_BOUNDS, GOAL_PARAM_KEYS, SEGMENT_BOUNDS
from outcome_gym.scenario.schema import (
    GOAL_EVENTS,
    OUTCOME_METRICS,
    WEEKDAYS,
    ContextEvents,
    UserModel,
)

from .helpers import FIXTURE

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)


def unique_ids(n_min: int, n_max: int) -> st.SearchStrategy[list[str]]:
    """Distinct identifiers (a numeric suffix keeps them distinct without rejection sampling)."""
    return st.lists(identifiers, min_size=n_min, max_size=n_max).map(
        lambda names: [f"{name}{i}" for i, name in enumerate(names)]
    )


def number(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def pair(lo: float, hi: float) -> st.SearchStrategy[tuple[float, float]]:
    """Two ordered numbers within [lo, hi]."""
    return st.tuples(number(lo, hi), number(lo, hi)).map(sorted).map(tuple)


@st.composite
def param(draw: st.DrawFn, lo: float, hi: float) -> Any:
    """A per-user parameter whose every value lies in [lo, hi]: a number or any distribution."""
    form = draw(
        st.sampled_from(
            ["number", "int", "fixed", "uniform", "normal", "lognormal", "beta", "categorical"]
        )
    )
    event(f"param: {form}")
    if form == "number":
        return draw(number(lo, hi))
    if form == "int":
        return draw(st.integers(math.ceil(lo), math.floor(hi)))
    if form == "fixed":
        return {"dist": "fixed", "value": draw(number(lo, hi))}
    if form == "uniform":
        low, high = draw(pair(lo, hi))
        return {"dist": "uniform", "low": low, "high": high}
    if form == "normal":
        low, high = draw(pair(lo, hi))
        return {
            "dist": "normal",
            "mean": draw(number(lo, hi)),
            "sd": draw(number(0, hi - lo)),
            "low": low,
            "high": high,
        }
    if form == "lognormal":
        low, high = draw(pair(max(lo, 0.0), hi))
        out = {
            "dist": "lognormal",
            "median": draw(number(max(lo, 0.01), hi)),
            "sigma": draw(number(0, 2)),
            "high": high,
        }
        if low > 0 or draw(st.booleans()):
            out["low"] = low
        return out
    if form == "beta":
        low, high = draw(pair(lo, hi))
        return {
            "dist": "beta",
            "a": draw(number(0.1, 10)),
            "b": draw(number(0.1, 10)),
            "low": low,
            "high": high,
        }
    values = draw(st.lists(number(lo, hi), min_size=1, max_size=4))
    weights = draw(st.lists(st.integers(1, 9), min_size=len(values), max_size=len(values)))
    return {"dist": "categorical", "values": values, "probs": [w / sum(weights) for w in weights]}


@st.composite
def goals(draw: st.DrawFn) -> list[dict[str, Any]]:
    kinds = draw(st.lists(st.sampled_from(["tasks", "budget", "practice"]), min_size=1, max_size=4))
    ids = draw(unique_ids(len(kinds), len(kinds)))
    out: list[dict[str, Any]] = []
    for kind, gid in zip(kinds, ids, strict=True):
        goal: dict[str, Any] = {"kind": kind, "id": gid}
        for key in GOAL_PARAM_KEYS[kind]:
            if draw(st.booleans()):
                goal[key] = draw(param(*GOAL_BOUNDS[key]))
        if kind == "tasks" and draw(st.booleans()):
            goal["max_pending"] = draw(st.integers(1, 16))
        if kind == "budget":
            window = draw(st.integers(2, 60))
            goal["window_days"] = window
            goal["act_by_day"] = draw(st.integers(1, window - 1))
            goal["daily_noise"] = draw(number(0, 3))
            goal["adjustment"] = draw(number(0, 1))
        out.append(goal)
    return out


def _explicit_defaults(draw: st.DrawFn, model: type[BaseModel]) -> dict[str, Any]:
    defaults = model().model_dump(mode="json", by_alias=True)
    keys = draw(st.lists(st.sampled_from(sorted(defaults)), max_size=3, unique=True))
    return {k: defaults[k] for k in keys}


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A valid scenario as plain data, exercising every section."""
    slots = draw(st.integers(1, 6))
    clock: dict[str, Any] = {"horizon_days": draw(st.integers(1, 60)), "slots_per_day": slots}
    slot_names = None
    if draw(st.booleans()):
        slot_names = draw(unique_ids(slots, slots))
        clock["slot_names"] = slot_names
    clock["start_weekday"] = draw(st.sampled_from(WEEKDAYS))
    slot_refs = st.integers(0, slots - 1) | (
        st.sampled_from(slot_names) if slot_names else st.nothing()
    )

    the_goals = draw(goals())
    goal_ids = [g["id"] for g in the_goals]
    kind_of = {g["id"]: g["kind"] for g in the_goals}

    n_laid, n_pushed = draw(st.integers(1, 6)), draw(st.integers(0, 3))
    ids = draw(unique_ids(n_laid + n_pushed, n_laid + n_pushed))
    channels = draw(unique_ids(1, 2)) if n_pushed else []
    elements = []
    for i, eid in enumerate(ids):
        pushed = i >= n_laid
        element: dict[str, Any] = {
            "id": eid,
            "kind": draw(
                st.sampled_from(
                    ["notification", "alert"]
                    if pushed
                    else ["navigation", "workflow", "content", "gamification"]
                )
            ),
            "appeal": draw(number(-5, 5)),
            "attention_cost": draw(number(0, 240)),
        }
        if goal_ids and draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(goal_ids), max_size=2, unique=True))
            element["value"] = {g: draw(number(-1, 1)) for g in chosen}
        if pushed:
            element["channel"] = draw(st.sampled_from(channels))
        elif draw(st.booleans()):
            element["core"] = draw(st.booleans())
        elements.append(element)
    laid = ids[:n_laid]
    layout = draw(st.permutations(laid))

    n_segments = draw(st.integers(1, 4))
    seg_ids = draw(unique_ids(n_segments, n_segments))
    weights = draw(st.lists(st.integers(1, 20), min_size=n_segments, max_size=n_segments))
    segments = []
    for sid, w in zip(seg_ids, weights, strict=True):
        seg_goals = draw(st.lists(st.sampled_from(goal_ids), unique=True, max_size=len(goal_ids)))
        segment: dict[str, Any] = {
            "id": sid,
            "share": w / sum(weights),
            "goals": seg_goals,
            "attention_budget": draw(param(*SEGMENT_BOUNDS["attention_budget"])),
            "availability": {
                "slot": draw(st.lists(number(0, 1), min_size=slots, max_size=slots)),
            },
        }
        if draw(st.booleans()):
            segment["availability"]["weekday"] = draw(
                st.lists(number(0, 1), min_size=7, max_size=7)
            )
            segment["availability"]["scale"] = draw(param(0, 1))
        for key in draw(
            st.lists(
                st.sampled_from(sorted(set(SEGMENT_BOUNDS) - {"attention_budget", "devices"})),
                max_size=4,
                unique=True,
            )
        ):
            segment[key] = draw(param(*SEGMENT_BOUNDS[key]))
        if draw(st.booleans()):
            segment["devices"] = draw(
                st.integers(1, 4)
                | st.builds(
                    lambda v: {"dist": "categorical", "values": v, "probs": [1 / len(v)] * len(v)},
                    st.lists(st.integers(1, 4), min_size=1, max_size=2, unique=True),
                )
            )
        overrides = draw(st.lists(st.sampled_from(goal_ids), unique=True, max_size=2))
        if overrides:
            segment["goal_params"] = {
                g: {k: draw(param(*GOAL_BOUNDS[k])) for k in GOAL_PARAM_KEYS[kind_of[g]][:1]}
                for g in overrides
            }
        segments.append(segment)

    outcomes = []
    for i in range(draw(st.integers(0, 4))):
        g = draw(st.sampled_from(goal_ids))
        outcome: dict[str, Any] = {
            "id": f"outcome_{i}",
            "segment": draw(st.sampled_from(seg_ids)),
            "goal": g,
            "metric": draw(st.sampled_from(sorted(OUTCOME_METRICS[kind_of[g]]))),
            "threshold": draw(number(0, 1)),
        }
        if draw(st.booleans()):
            start = draw(st.integers(0, clock["horizon_days"] - 1))
            outcome["window"] = {
                "start_day": start,
                "end_day": draw(st.integers(start + 1, start + 30)),
            }
        outcomes.append(outcome)
    for seg in {o["segment"] for o in outcomes}:  # one primary spec per target segment
        next(o for o in outcomes if o["segment"] == seg)["primary"] = True

    events = [
        {
            "event": f"{g}.{draw(st.sampled_from(GOAL_EVENTS[kind_of[g]]))}",
            "delay_steps": draw(st.integers(0, 10)),
            "miss_rate": draw(number(0, 1)),
        }
        for g in draw(st.lists(st.sampled_from(goal_ids), max_size=3))
    ]

    schedule = []
    for eid in ids[n_laid:]:
        period = draw(st.integers(1, 7))
        entry: dict[str, Any] = {
            "element": eid,
            "slot": draw(slot_refs),
            "period_days": period,
            "on_day": draw(st.integers(0, period - 1)),
        }
        if draw(st.booleans()):
            entry["weekdays"] = draw(
                st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True)
            )
        if draw(st.booleans()):
            entry["segments"] = draw(st.lists(st.sampled_from(seg_ids), min_size=1, unique=True))
        schedule.append(entry)

    data: dict[str, Any] = {
        "name": draw(identifiers),
        "description": draw(st.text(max_size=40)),
        "clock": clock,
        "product": {
            "elements": elements,
            "channels": [{"id": c} for c in channels],
            "layout": {"default": layout},
            "schedule": schedule,
        },
        "population": {
            "size": draw(st.integers(1, 5000)),
            "segments": segments,
            "team": {"size": draw(param(1, 20))},
        },
        "goals": the_goals,
        "outcomes": outcomes,
        "instrumentation": {"events": events, "receptivity_auc": draw(number(0.5, 1))},
        "guardrails": {
            "lock_core": draw(st.booleans()),
            "max_notifications_per_day": draw(st.none() | st.integers(0, 10)),
            "quiet_slots": draw(st.lists(slot_refs, max_size=2)),
            "max_layout_distance": draw(st.none() | number(0, 1)),
        },
        # Mechanism parameters change as the simulator grows: write a few of today's keys out
        # explicitly, at their defaults, rather than pinning names here.
        "context": _explicit_defaults(draw, ContextEvents),
        "user_model": _explicit_defaults(draw, UserModel),
    }
    return data


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# --- valid scenarios ---------------------------------------------------------------------------


@SETTINGS
@given(scenarios())
def test_generated_scenario_loads_and_round_trips(data: dict[str, Any]) -> None:
    scenario = parse_scenario(_yaml(data), file="generated.yaml")
    assert scenario == validate_scenario(data)
    assert parse_scenario(dump_scenario(scenario)) == scenario


# --- mutations that must be rejected -----------------------------------------------------------


def _nodes(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) in the data, depth first."""
    out = [(path, data)]
    if isinstance(data, dict):
        for k, v in data.items():
            out.extend(_nodes(v, (*path, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(_nodes(v, (*path, i)))
    return out


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _delete(data: Any, path: tuple[Any, ...]) -> None:
    for part in path[:-1]:
        data = data[part]
    del data[path[-1]]


REQUIRED = [
    ("name",),
    ("clock",),
    ("clock", "horizon_days"),
    ("product",),
    ("product", "elements", 0, "id"),
    ("product", "elements", 0, "kind"),
    ("product", "elements", 0, "appeal"),
    ("product", "layout"),
    ("product", "layout", "default"),
    ("population", "size"),
    ("population", "segments", 0, "share"),
    ("population", "segments", 0, "attention_budget"),
    ("population", "segments", 0, "availability"),
    ("population", "segments", 0, "availability", "slot"),
    ("goals", 0, "kind"),
    ("goals", 0, "id"),
]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


MUTATIONS = [
    "drop_required",
    "unknown_key",
    "number_to_text",
    "break_reference",
    "negative_share",
    "nan",
    "inf",
]


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """A valid scenario with one mutation of the given kind, which makes it invalid."""
    data = copy.deepcopy(draw(scenarios()))
    nodes = _nodes(data)
    numbers = [p for p, v in nodes if p and _is_number(v)]
    if kind == "drop_required":
        _delete(data, draw(st.sampled_from(REQUIRED)))
    elif kind == "unknown_key":
        mappings = [p for p, v in nodes if isinstance(v, dict)]
        where = draw(st.sampled_from(mappings))
        _set(data, (*where, "zz_unknown_key"), 1)
    elif kind == "number_to_text":
        _set(
            data,
            draw(st.sampled_from(numbers)),
            draw(st.sampled_from(["abc", "1", "", "0.5", "yes"])),
        )
    elif kind == "break_reference":
        refs: list[tuple[Any, ...]] = [("product", "layout", "default", 0)]
        refs += [
            ("outcomes", i, key)
            for i in range(len(data["outcomes"]))
            for key in ("segment", "goal")
        ]
        refs += [
            ("product", "schedule", i, "element") for i in range(len(data["product"]["schedule"]))
        ]
        refs += [
            ("instrumentation", "events", i, "event")
            for i in range(len(data["instrumentation"]["events"]))
        ]
        refs += [
            ("population", "segments", 0, "goals", i)
            for i in range(len(data["population"]["segments"][0]["goals"]))
        ]
        ref = draw(st.sampled_from(refs))
        _set(data, ref, "zz_missing.completed" if ref[-1] == "event" else "zz_missing")
    elif kind == "negative_share":
        i = draw(st.integers(0, len(data["population"]["segments"]) - 1))
        data["population"]["segments"][i]["share"] = -draw(number(0.001, 1))
    else:
        # Every number in a scenario must be finite, wherever it is.
        _set(data, draw(st.sampled_from(numbers)), math.nan if kind == "nan" else -math.inf)
    return data


@pytest.mark.parametrize("kind", MUTATIONS)
@settings(SETTINGS, max_examples=20)
@given(data=st.data())
def test_mutated_scenario_is_rejected_with_a_typed_error(kind: str, data: st.DataObject) -> None:
    data = data.draw(mutated(kind))
    text = _yaml(data)
    with pytest.raises(ScenarioValidationError) as info:
        parse_scenario(text, file="mutated.yaml")
    problems = info.value.problems
    assert problems, kind
    for problem in problems:
        assert problem.file == "mutated.yaml"
        assert problem.path, (kind, str(problem))
        assert problem.line is not None, (kind, str(problem))
        assert "\n" not in str(problem)
        assert "Input should" not in problem.message
    # Plain data (no YAML) is rejected the same way.
    with pytest.raises(ScenarioValidationError):
        validate_scenario(data)


# --- anything at all: a typed error or a scenario, never another exception ----------------------

junk = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@SETTINGS
@given(scenarios(), st.data())
def test_junk_anywhere_never_escapes_as_another_exception(
    data: dict[str, Any], draw: st.DataObject
) -> None:
    data = copy.deepcopy(data)
    paths = [p for p, _ in _nodes(data) if p]
    where = draw.draw(st.sampled_from(paths))
    _set(data, where, draw.draw(junk))
    try:
        parse_scenario(_yaml(data), file="junk.yaml")
    except ScenarioError as exc:
        assert exc.problems
        assert all("\n" not in str(p) for p in exc.problems)


@settings(SETTINGS, max_examples=150)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_is_a_scenario_error(text: str) -> None:
    with pytest.raises(ScenarioError):
        parse_scenario(text, file="text.yaml")


@settings(SETTINGS, max_examples=60)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_on_disk_are_a_scenario_error(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    path = tmp_path_factory.mktemp("bytes") / "raw.yaml"
    path.write_bytes(raw)
    with pytest.raises(ScenarioError):
        load_scenario(path)


@settings(SETTINGS, max_examples=60)
@given(st.data())
def test_fixture_lines_deleted_or_duplicated_never_crash(draw: st.DataObject) -> None:
    lines = FIXTURE.read_text(encoding="utf-8").splitlines(keepends=True)
    i = draw.draw(st.integers(0, len(lines) - 1))
    op = draw.draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "truncate"]))
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, lines[i])
    elif op == "indent":
        lines[i] = "  " + lines[i]
    elif op == "dedent":
        lines[i] = lines[i].lstrip()
    else:
        lines[i] = lines[i][: len(lines[i]) // 2] + "\n"
    try:
        parse_scenario("".join(lines), file="edited.yaml")
    except ScenarioError as exc:
        assert exc.problems
