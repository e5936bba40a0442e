"""The studio's form tables <-> a scenario's data (plain dicts, as ``yaml.safe_load`` gives them).

Each table edits one list of the scenario (elements, segments, outcome specs, the notification
schedule): one row per item, one column per field the designer changes. A cell holds a number, a
flag, a name, or YAML text for a field that may be a distribution or a list (``15``,
``{dist: lognormal, median: 20, sigma: 0.3}``, ``[mon, wed]``). Fields the table does not show are
kept from the item in the same row; an empty cell removes the field (its default applies). The
result is validated by the CLI's own check (:mod:`outcome_gym.studio.draft`), so a table never
needs rules of its own.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Literal

import yaml

Kind = Literal["text", "number", "int", "bool", "yaml"]


@dataclass(frozen=True)
class Table:
    """One editable list of the scenario.

    Attributes:
        path: Keys from the document's root to the list.
        columns: (field, kind) per column, in order.
        goal_values: Add one ``value.<goal>`` number column per goal (elements only).
    """

    path: tuple[str, ...]
    columns: tuple[tuple[str, Kind], ...]
    goal_values: bool = False


TABLES: dict[str, Table] = {
    "elements": Table(("product", "elements"), (
        ("id", "text"), ("kind", "text"), ("appeal", "number"), ("attention_cost", "number"),
        ("core", "bool"), ("channel", "text")), goal_values=True),
    "segments": Table(("population", "segments"), (
        ("id", "text"), ("share", "number"), ("goals", "yaml"), ("attention_budget", "yaml"),
        ("susceptibility", "yaml"), ("goal_weight", "yaml"))),
    "outcomes": Table(("outcomes",), (
        ("id", "text"), ("segment", "text"), ("goal", "text"), ("metric", "text"),
        ("threshold", "number"), ("primary", "bool"))),
    "schedule": Table(("product", "schedule"), (
        ("element", "text"), ("slot", "yaml"), ("weekdays", "yaml"), ("period_days", "int"),
        ("on_day", "int"), ("segments", "yaml"))),
}


def dump(data: dict[str, Any]) -> str:
    """The scenario's data as YAML text (the order of keys kept; short lists inline)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100,
                          default_flow_style=None)


def load(text: str) -> dict[str, Any] | None:
    """The data of a YAML text, or None when it is not a YAML mapping (the check says why)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _get(data: dict[str, Any], path: tuple[str, ...]) -> list[Any]:
    node: Any = data
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, list) else []


def goal_ids(data: dict[str, Any]) -> list[str]:
    """The ids of the scenario's goals, in order."""
    return [g["id"] for g in _get(data, ("goals",)) if isinstance(g, dict) and "id" in g]


def columns(name: str, data: dict[str, Any]) -> list[tuple[str, Kind]]:
    """The columns of table ``name`` for this scenario."""
    table = TABLES[name]
    cols = list(table.columns)
    if table.goal_values:
        cols += [(f"value.{g}", "number") for g in goal_ids(data)]
    return cols


def _cell(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind == "yaml":
        return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip() \
            .removesuffix("...").strip()
    return value


def rows(name: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of table ``name``: one per item, one cell per column."""
    out = []
    for item in _get(data, TABLES[name].path):
        item = item if isinstance(item, dict) else {}
        row = {}
        for col, kind in columns(name, data):
            if col.startswith("value."):
                value = (item.get("value") or {}).get(col.removeprefix("value."))
            else:
                value = item.get(col)
            row[col] = _cell(value, kind)
        out.append(row)
    return out


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _parse(value: Any, kind: Kind) -> Any:
    """A cell's value for the document (YAML text parsed; an integral float made an int)."""
    if kind == "yaml" and isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value  # kept as text: the check reports it with its key path
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "number" and isinstance(value, float) and value.is_integer():
        return int(value) if abs(value) < 2**53 else value
    if kind == "bool" and not isinstance(value, bool):
        return bool(value)
    return value


def with_rows(name: str, data: dict[str, Any], new_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of ``data`` whose table ``name`` holds ``new_rows``.

    Row ``i`` keeps the fields the table does not show from the item at index ``i``; an empty
    cell removes its field; a row whose cells are all empty is dropped.
    """
    table = TABLES[name]
    out = copy.deepcopy(data)
    old = _get(data, table.path)
    items = []
    for i, row in enumerate(new_rows):
        if all(_empty(v) for v in row.values()):
            continue
        item = copy.deepcopy(old[i]) if i < len(old) and isinstance(old[i], dict) else {}
        for col, kind in columns(name, data):
            value = row.get(col)
            if col.startswith("value."):
                goals = dict(item.get("value") or {})
                goal = col.removeprefix("value.")
                if _empty(value):
                    goals.pop(goal, None)
                else:
                    goals[goal] = _parse(value, kind)
                if goals:
                    item["value"] = goals
                else:
                    item.pop("value", None)
            elif _empty(value):
                item.pop(col, None)
            else:
                item[col] = _parse(value, kind)
        items.append(item)
    node = out
    for key in table.path[:-1]:
        node = node.setdefault(key, {})
    node[table.path[-1]] = items
    return out


GUARDRAILS: tuple[tuple[str, Kind], ...] = (
    ("lock_core", "bool"), ("max_notifications_per_day", "int"), ("quiet_slots", "yaml"),
    ("max_layout_distance", "number"))
"""The guardrail fields the page edits (the rest of ``guardrails`` is kept)."""


def with_guardrails(data: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with the guardrail fields set (None or empty removes one)."""
    out = copy.deepcopy(data)
    g = dict(out.get("guardrails") or {})
    for key, kind in GUARDRAILS:
        if key not in values:
            continue
        if _empty(values[key]):
            g.pop(key, None)
        else:
            g[key] = _parse(values[key], kind)
    out["guardrails"] = g
    return out


def with_value(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of ``data`` with one scalar set at ``path`` (e.g. population.size)."""
    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return out


def policy_spec(name: str, values: dict[str, Any], defaults: dict[str, Any]) -> str:
    """The CLI's text for a policy with the parameters that differ from their defaults.

    ``policy_spec("outcome_bandit", {"levers": "layout", "epsilon": 0.1}, {"epsilon": 0.1, ...})``
    is ``outcome_bandit:levers=layout``; the CLI's own parser then checks every value.
    """
    changed = {k: v for k, v in values.items()
               if not _empty(v) and (k not in defaults or v != defaults[k])}
    if not changed:
        return name
    text = ",".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}"
                    for k, v in changed.items())
    return f"{name}:{text}"
