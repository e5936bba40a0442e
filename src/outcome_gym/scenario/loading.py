"""Loading, validating, dumping and finding scenarios.

``load_scenario`` turns a file (or a bundled name) into a frozen :class:`Scenario`, or raises a
:class:`~outcome_gym.errors.ScenarioError` listing every problem with file, key path, line, what was
expected, what was given and, for a misspelt key, the closest valid one.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from outcome_gym._io import confined
from outcome_gym.errors import Problem, ScenarioValidationError
from outcome_gym.scenario.checks import cross_check
from outcome_gym.scenario.distributions import FieldValueError
from outcome_gym.scenario.schema import EVENT_PATTERN, IDENTIFIER_PATTERN, Scenario
from outcome_gym.scenario.yamlio import (
    KeyPath,
    dump_yaml,
    format_path,
    load_yaml_mapping,
    nearest_line,
    read_text,
)

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "bundled"


def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario name -> file, sorted by name."""
    return {p.stem: p for p in sorted(BUNDLED_DIR.glob("*.yaml"))}


def looks_like_path(source: str | Path) -> bool:
    """Whether ``source`` names a file (a .yaml/.yml name or more than one path part) rather
    than a bundled scenario.
    """
    p = Path(source)
    return p.suffix in (".yaml", ".yml") or len(p.parts) > 1


def scenario_source(source: str, base_dir: Path) -> str | Path:
    """A scenario named inside a file in ``base_dir``: a bundled name as is, a path read from
    that folder (a relative path may not leave it; an absolute one is kept).

    Raises:
        ValueError: A relative path that leaves ``base_dir`` (the message says so).
    """
    return confined(Path(source), base_dir, what="scenario file") if looks_like_path(source) \
        else source


def resolve_scenario_path(name_or_path: str | Path) -> Path:
    """A path as given if it exists or looks like a path, else the bundled scenario of that name."""
    p = Path(name_or_path)
    if p.exists() or looks_like_path(p):
        return p
    bundled = bundled_scenarios()
    if str(name_or_path) in bundled:
        return bundled[str(name_or_path)]
    close = difflib.get_close_matches(str(name_or_path), list(bundled), n=1)
    raise ScenarioValidationError(
        [
            Problem(
                file=str(name_or_path),
                path="",
                message=f"expected a scenario file or a bundled name {sorted(bundled)}, got neither",
                suggestion=close[0] if close else None,
            )
        ]
    )


def load_scenario(source: str | Path) -> Scenario:
    """Load and validate a scenario from a file path or a bundled scenario name.

    Raises:
        ScenarioFileError: The file cannot be read as a YAML mapping.
        ScenarioValidationError: The content breaks the schema or a cross-check.
    """
    path = resolve_scenario_path(source)
    return parse_scenario(read_text(path), file=str(path))


def parse_scenario(text: str, file: str = "<string>") -> Scenario:
    """Validate scenario YAML text (see :func:`load_scenario`)."""
    data, lines = load_yaml_mapping(text, file)
    return validate_scenario(data, file=file, lines=lines)


def validate_scenario(
    data: dict[str, Any], file: str = "<data>", lines: dict[KeyPath, int] | None = None
) -> Scenario:
    """Validate already-parsed data into a :class:`Scenario`, reporting every problem at once."""
    lines = lines or {}
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        found = (_problem_from_error(err, data, file, lines) for err in exc.errors())
        raise ScenarioValidationError(_dedupe([p for p in found if p is not None])) from None
    found = cross_check(scenario)
    if found:
        raise ScenarioValidationError(
            [
                Problem(file=file, path=format_path(p), message=m, line=nearest_line(lines, p))
                for p, m in found
            ]
        )
    return scenario


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """Plain JSON-compatible data that :func:`validate_scenario` turns back into an equal scenario."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_unset=False)


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML text (round-trips through :func:`parse_scenario`)."""
    return dump_yaml(scenario_to_dict(scenario))


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (for editors and external validators)."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "outcome-gym scenario"
    return schema


def scenario_hash(scenario: Scenario) -> str:
    """A short stable digest of the resolved scenario (used in manifests and run ids)."""
    import hashlib

    blob = json.dumps(scenario_to_dict(scenario), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# --- turning pydantic errors into readable problems -------------------------------------------


def problems_from_validation_error(exc: ValidationError, data: Any, file: str,
                                   lines: dict[KeyPath, int],
                                   root: type[BaseModel] | None = None) -> list[Problem]:
    """Readable problems (file, key path, line, expected vs given) from a pydantic error.

    ``root`` is the model that was validated (for 'did you mean' suggestions; default Scenario).
    """
    found = (_problem_from_error(err, data, file, lines, root or Scenario) for err in exc.errors())
    return _dedupe([p for p in found if p is not None])


def _data_path(loc: tuple[Any, ...], data: Any, absent_ok: bool) -> KeyPath:
    """Keep the parts of a pydantic location that exist in the data (drops union/tag names).

    With ``absent_ok`` the last part is kept even when the data lacks it (a missing key).
    """
    path: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            path.append(part)
            node = node[part]
        elif absent_ok and isinstance(node, dict) and isinstance(part, str) and loc[-1] == part:
            path.append(part)  # a missing or unknown key: name it although it is absent
            node = None
    return tuple(path)


def _given(value: Any) -> str:
    text = repr(value)
    if isinstance(value, dict):
        text = "a mapping"
    elif isinstance(value, list):
        text = f"a list of {len(value)}"
    elif isinstance(value, bool):
        text = f"boolean {value}"
    elif isinstance(value, str):
        text = f"text {value[:60]!r}"
    elif value is None:
        text = "nothing (null)"
    elif isinstance(value, datetime.date):
        text = f"a date {value.isoformat()}"
    elif isinstance(value, bytes):
        text = "binary data"
    elif isinstance(value, set | frozenset):
        text = "a set"
    return text if len(text) <= 80 else text[:77] + "..."


IDENTIFIER_HELP = (
    "an identifier (lower-case letters, digits and '_', starting with a letter, "
    "at most 48 characters)"
)
# pydantic error type -> what was expected ({...} filled from the error's context).
_EXPECTED: dict[str, str] = {
    "greater_than": "a number > {gt}",
    "greater_than_equal": "a number >= {ge}",
    "less_than": "a number < {lt}",
    "less_than_equal": "a number <= {le}",
    "too_short": "at least {min_length} item(s)",
    "too_long": "at most {max_length} item(s)",
    "string_too_short": "at least {min_length} character(s)",
    "string_too_long": "at most {max_length} character(s)",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dict_type": "a mapping",
    "list_type": "a list",
    "string_type": "text",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "finite_number": "a finite number",
}


def _expected(err: Any) -> str | None:
    """What a pydantic error expected, as 'expected X' (None when its own message is kept)."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    loc = tuple(err["loc"])
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        if pattern == IDENTIFIER_PATTERN:
            return f"expected {IDENTIFIER_HELP}"
        if pattern == EVENT_PATTERN:
            return "expected '<goal id>.<event>' such as 'work.completed'"
        return f"expected text matching {pattern}"
    if kind in ("model_type", "model_attributes_type") and any(
        isinstance(part, str) and part.startswith("tagged-union[") for part in loc
    ):
        return "expected a distribution mapping ({dist: ...})"
    if kind in _EXPECTED:
        # 1.0 -> 1 so that limits read as written in the schema
        nums = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in ctx.items()}
        try:
            return "expected " + _EXPECTED[kind].format(**nums)
        except (KeyError, IndexError, ValueError):
            return None
    return None


def _problem_from_error(err: Any, data: Any, file: str, lines: dict[KeyPath, int],
                        root: type[BaseModel] = Scenario) -> Problem | None:
    loc = tuple(err["loc"])
    kind = err["type"]
    given = err.get("input")
    if "float" in loc and isinstance(given, dict):
        return None  # a distribution mapping was given: the plain-number branch is noise
    if (
        isinstance(given, int | float)
        and not isinstance(given, bool)
        and loc
        and str(loc[-1]).startswith("tagged-union[")
    ):
        return None  # a number was given: the distribution-mapping branch is noise
    error = (err.get("ctx") or {}).get("error")
    if isinstance(error, FieldValueError):
        loc = (*loc, error.field)  # a model-level check that blames one of its keys
    path = _data_path(loc, data, absent_ok=kind in ("missing", "extra_forbidden"))
    suggestion = None
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else str(loc[-1])
        allowed = _allowed_keys(path[:-1], data, root)
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        suggestion = close[0] if close else None
        message = f"unknown key '{key}' (expected one of: {', '.join(sorted(allowed)) or 'none'})"
    elif kind == "missing":
        message = "expected this key, got nothing (it is required)"
    elif kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        close = difflib.get_close_matches(str(ctx.get("tag")), tags, n=1)
        suggestion = close[0] if close else None
        message = (
            f"expected {str(ctx.get('discriminator', 'tag')).strip(chr(39))} to be one of "
            f"{', '.join(tags)}, got {ctx.get('tag')!r}"
        )
    elif kind == "union_tag_not_found":
        tag = str(err.get("ctx", {}).get("discriminator")).strip("'")
        message = f"expected a '{tag}' key, got none"
    elif kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        close = difflib.get_close_matches(str(given), options, n=1) if options else []
        suggestion = close[0] if close else None
        message = f"expected one of {', '.join(options)}, got {_given(given)}"
    elif (expected := _expected(err)) is not None:
        message = f"{expected}, got {_given(given)}"
    else:
        msg = err["msg"]
        msg = msg.replace("Input should be", "expected").replace("Value error, ", "")
        message = msg if "got" in msg else f"{msg}, got {_given(given)}"
    return Problem(
        file=file,
        path=format_path(path),
        message=message,
        line=nearest_line(lines, path),
        suggestion=suggestion,
    )


def _dedupe(problems: list[Problem]) -> list[Problem]:
    """Unions report one error per member; merge them into one problem per path."""
    by_path: dict[str, list[Problem]] = {}
    for p in problems:
        by_path.setdefault(p.path, []).append(p)
    out: list[Problem] = []
    for group in by_path.values():
        if len(group) == 1:
            out.extend(group)
            continue
        messages = list(dict.fromkeys(g.message for g in group))
        parts = [m.rsplit(", got ", 1) for m in messages]
        if all(len(p) == 2 and p[0].startswith("expected ") for p in parts) and (
            len({p[1] for p in parts}) == 1
        ):
            # 'expected A, got G' + 'expected B, got G' -> 'expected A or B, got G'
            wanted = " or ".join(p[0].removeprefix("expected ") for p in parts)
            messages = [f"expected {wanted}, got {parts[0][1]}"]
        out.append(
            Problem(
                file=group[0].file,
                path=group[0].path,
                line=group[0].line,
                suggestion=next((g.suggestion for g in group if g.suggestion), None),
                message="; or ".join(messages),
            )
        )
    return out


# --- which keys are allowed at a path (for 'did you mean') -------------------------------------


def _unwrap(tp: Any) -> list[Any]:
    """Split Annotated/Union wrappers into the plain member types."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return [m for a in typing.get_args(tp) for m in _unwrap(a)]
    return [tp]


@cache
def _hints(model: type[BaseModel]) -> dict[str, Any]:
    return {(f.alias or name): f.annotation for name, f in model.model_fields.items()}


def _step(types_: list[Any], part: str | int) -> list[Any]:
    """The types found one key (or index) below values of ``types_``."""
    out: list[Any] = []
    for tp in types_:
        origin = typing.get_origin(tp)
        if isinstance(part, int) and origin is list:
            out.extend(_unwrap(typing.get_args(tp)[0]))
        elif isinstance(part, str) and origin is dict:
            out.extend(_unwrap(typing.get_args(tp)[1]))
        elif (
            isinstance(part, str)
            and isinstance(tp, type)
            and issubclass(tp, BaseModel)
            and part in _hints(tp)
        ):
            out.extend(_unwrap(_hints(tp)[part]))
    return out


def _allowed_keys(parent: KeyPath, data: Any, root: type[BaseModel] = Scenario) -> list[str]:
    """Keys the schema allows at ``parent`` (follows the data to pick tagged union members)."""
    current: list[Any] = [root]
    node = data
    for part in parent:
        node = node[part] if isinstance(node, dict | list) else None
        current = _pick_by_tag(_step(current, part), node)
    keys: set[str] = set()
    for tp in current:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            keys.update(_hints(tp))
    return sorted(keys)


def _pick_by_tag(models: list[Any], node: Any) -> list[Any]:
    """Among union members, keep those whose ``dist``/``kind`` tag matches the data."""
    if not isinstance(node, dict):
        return models
    for tag in ("dist", "kind"):
        if tag in node:
            keep = []
            for m in models:
                if isinstance(m, type) and issubclass(m, BaseModel) and tag in m.model_fields:
                    args = typing.get_args(m.model_fields[tag].annotation)
                    if node[tag] in args:
                        keep.append(m)
            if keep:
                return keep
    return models
