"""A policy to run: the one :class:`PolicySpec` and the one policy-text grammar.

Every place that names a policy — ``--policy``/``--policies`` on the command line, a sweep file, a
CI contract, a study — goes through this module, so the same text means the same thing everywhere::

    name                                   a registered or entry-point policy
    name:key=value,key=value               ... with parameters (values read as YAML scalars)
    package.module:Attribute               a class or factory importable in every worker
    package.module:Attribute:key=value     ... with parameters
    path/to/policy.yaml                    a file {policy, params, label} (command line only)

After a registered name, text after the colon is parameters (``random:keep_core`` is a parameter
without a value, an error); after any other name, text without ``=`` names an attribute, so
``my_module:MyPolicy`` and ``rules:file=a.yaml`` read as written.

Resolve, check, then build. :meth:`PolicySpec.check` resolves the name (a ``module:Attribute``
must be a policy class; see :mod:`outcome_gym.policies.registry`) and checks every parameter
against the policy's signature — its name (with a did-you-mean) and, where the parameter is
annotated, whether the value can be read as that type (``epsilon=abc`` for a ``float``) — without
calling anything the reference names. Only :meth:`PolicySpec.build` constructs the policy, with
the values as given (the type check validates, it does not convert).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ConfigDict, Field, field_validator, model_validator

from outcome_gym.errors import InputError, PolicySpecError, Problem
from outcome_gym.scenario.distributions import StrictModel
from outcome_gym.scenario.yamlio import KeyPath, format_path


def plain_value(value: Any, where: str) -> None:
    """Refuse what a run id cannot hold: NaN/inf, dates, sets, non-text keys."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected finite numbers{where}, got {value}")
        return
    if isinstance(value, list):
        for item in value:
            plain_value(item, where)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"expected text keys{where}, got {k!r}")
            plain_value(v, where)
        return
    raise ValueError(
        f"expected numbers, text, booleans, lists or mappings{where}, got {type(value).__name__} "
        f"{value!r}"
    )


def _split(text: str) -> tuple[str, str]:
    """``(policy name, parameter text)`` of a policy reference."""
    head, sep, rest = text.partition(":")
    if not sep:
        return head.strip(), ""
    if not rest.strip():
        raise ValueError(f"expected key=value parameters or an attribute after ':', got {text!r}")
    from outcome_gym.policies.registry import names

    first, sep2, more = rest.partition(":")
    if "=" not in first and head.strip() not in names():  # package.module:Attribute[:k=v,...]
        if not first.strip():
            raise ValueError(f"expected 'name:key=value,...' or 'module:Attribute', got {text!r}")
        return f"{head.strip()}:{first.strip()}", more if sep2 else ""
    return head.strip(), rest


def parse_params(items: list[str] | str, where: str = "") -> dict[str, Any]:
    """``key=value`` items (a list, or text separated by commas) as a mapping of YAML scalars.

    Raises:
        ValueError: An item without ``=`` or without a key.
    """
    parts = items.split(",") if isinstance(items, str) else items
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in parts)):
        key, eq, raw = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"expected key=value policy parameters, got {item!r}{where}")
        try:
            params[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            params[key.strip()] = raw  # unparsable as YAML: keep the text as given
    return params


def _text_mapping(text: str) -> dict[str, Any]:
    """A policy reference as the mapping ``{policy, params, label}`` (see the module docstring).

    Raises:
        ValueError: Malformed text (a parameter without ``=``, an empty attribute).
    """
    name, params_text = _split(text)
    if not name:
        raise ValueError(f"expected a policy name, got {text!r}")
    return {"policy": name, "params": parse_params(params_text, f" in {text!r}"),
            "label": text.strip()}


def split_policy_list(text: str) -> list[str]:
    """Policy references from a comma-separated list (``static,random:keep_core=true,epsilon=0.1``).

    A comma starts a new policy unless the chunk after it is a further ``key=value`` of the
    previous policy (it has ``=`` and no ``:``); ``;`` may separate parameters too.
    """
    parts: list[str] = []
    for chunk in text.split(","):
        if parts and "=" in chunk and ":" not in chunk and ":" in parts[-1]:
            parts[-1] += "," + chunk.strip()
        elif chunk.strip():
            parts.append(chunk.strip())
    return [p.replace(";", ",") for p in parts]


class PolicySpec(StrictModel):
    """A policy to run: its name, constructor parameters and the label it has in tables.

    Written as text (``random``, ``random:keep_core=false``, ``my_pkg.policies:MyPolicy``) or as
    a mapping ``{policy, params, label}`` in sweep and contract files.
    """

    model_config = ConfigDict(frozen=True)

    policy: str = Field(
        min_length=1, max_length=300,
        description="Registry name, entry-point name or 'package.module:Attribute'.",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Constructor parameters.")
    label: str | None = Field(
        default=None, min_length=1, max_length=120, pattern=r"^[^\n\r\t]+$",
        description="Name in tables and figures (default: the policy and its parameters).",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            return _text_mapping(data)
        return data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        # the text form ("name" or "name:key=value,...") is accepted too (see _from_text)
        mapping = handler(core_schema)
        text = {"type": "string", "minLength": 1, "maxLength": 2000,
                "description": "'name' or 'name:key=value,...' (see docs/policies.md)."}
        return {"anyOf": [text, mapping]}

    @field_validator("params")
    @classmethod
    def _plain(cls, value: dict[str, Any]) -> dict[str, Any]:
        plain_value(value, " in params")
        return value

    @property
    def display(self) -> str:
        """The label, or ``name`` / ``name:key=value,...`` when none was given."""
        if self.label:
            return self.label
        if not self.params:
            return self.policy
        return self.policy + ":" + ",".join(f"{k}={v}" for k, v in self.params.items())

    def factory(self) -> Callable[..., Any]:
        """The class or factory the name resolves to.

        Raises:
            PolicySpecError: Unknown name (with the closest known names), or an import failure.
        """
        from outcome_gym.policies.registry import resolve

        return resolve(self.policy)

    def problems(self) -> list[tuple[KeyPath, str]]:
        """Every problem of this spec, each with its key path inside the spec; nothing is called.

        ``("policy",)`` for a name that does not resolve to a policy, ``("params", key)`` for a
        parameter the policy does not take or a value its annotation cannot read.
        """
        try:
            factory = self.factory()
        except PolicySpecError as exc:
            return [(("policy",), p.message) for p in exc.problems]
        return param_problems(self.policy, factory, self.params)

    def located(self, file: str, where: KeyPath,
                line: Callable[[KeyPath], int | None]) -> list[Problem]:
        """:meth:`problems` as problems of a file, the spec sitting at key path ``where``."""
        return [Problem(file=file, path=format_path(where + rel), message=msg,
                        line=line(where + rel)) for rel, msg in self.problems()]

    def check(self) -> None:
        """Resolve the name and check every parameter against the policy's signature.

        Nothing the reference names is called; a ``module:Attribute`` module is imported.

        Raises:
            PolicySpecError: Unknown policy, a reference that is not a policy class, a parameter
                the policy does not take (naming the valid keys and the closest one), or a value
                that cannot be read as the parameter's annotated type; one line each.
        """
        problems = self.problems()
        if problems:
            raise PolicySpecError([Problem(file="", path="", message=m) for _, m in problems])

    def resolved(self, scenario: Any, base_dir: Path | None = None) -> PolicySpec:
        """This spec as a planned run carries it, checked against ``scenario`` before any run.

        A policy class may define ``resolve_params(params, scenario, base_dir) -> params``
        (classmethod): it checks what only the scenario can tell (the ids a rules file names) and
        makes the parameters self-contained (a file's content instead of its path), so the run's
        content-addressed id follows the content. Others are returned unchanged.

        Raises:
            InputError: What the policy's ``resolve_params`` refuses (e.g. a RulesFileError).
        """
        hook = getattr(self.factory(), "resolve_params", None)
        if hook is None:
            return self
        params = hook(dict(self.params), scenario, base_dir)
        return self if params == self.params else self.model_copy(update={"params": params})

    def build(self) -> Any:
        """A fresh policy object (checked first, then constructed with the values as given).

        Raises:
            PolicySpecError: As :meth:`check`, or the constructor rejected a value.
        """
        from outcome_gym.policies.registry import make

        return make(self.policy, **self.params)  # make checks as check() does, then builds


def _signature(factory: Callable[..., Any]) -> inspect.Signature | None:
    """The factory's signature with its annotations evaluated where possible (never calls it)."""
    try:
        return inspect.signature(factory, eval_str=True)
    except Exception:  # an annotation that does not evaluate (TYPE_CHECKING imports, ...)
        try:
            return inspect.signature(factory)
        except (TypeError, ValueError):  # a builtin or C callable without a signature
            return None


@dataclass(frozen=True)
class DeclaredParam:
    """One parameter a policy declares (from its signature, never by calling it).

    Attributes:
        name: The keyword.
        annotation: Its annotation as text (``float``, ``str | None``, ...; empty if none).
        default: Its default, or None when it has none (``required`` says which).
        required: It has no default.
    """

    name: str
    annotation: str
    default: Any
    required: bool


def declared_parameters(name: str) -> list[DeclaredParam]:
    """The keyword parameters policy ``name`` declares (forms are generated from them).

    Raises:
        PolicySpecError: An unknown policy name (with the closest one).
    """
    from outcome_gym.policies.registry import resolve

    sig = _signature(resolve(name))
    if sig is None:
        return []
    out = []
    for p in sig.parameters.values():
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) or p.name == "self":
            continue
        shown = "" if p.annotation is p.empty else (
            p.annotation if isinstance(p.annotation, str) else inspect.formatannotation(p.annotation))
        required = p.default is p.empty
        out.append(DeclaredParam(p.name, shown, None if required else p.default, required))
    return out


@functools.lru_cache(maxsize=256)
def _adapter(annotation: Any) -> Any:
    """A pydantic TypeAdapter for ``annotation``, or None when pydantic cannot check it."""
    from pydantic import ConfigDict, TypeAdapter

    try:
        return TypeAdapter(annotation, config=ConfigDict(coerce_numbers_to_str=True))
    except Exception:  # an arbitrary class, a forward reference, a config-carrying model, ...
        try:
            return TypeAdapter(annotation)
        except Exception:
            return None


def _type_problem(name: str, key: str, annotation: Any, value: Any) -> str | None:
    """Why ``value`` cannot be read as ``annotation``, or None (also when it cannot be checked)."""
    from pydantic import ValidationError

    if annotation is inspect.Parameter.empty or isinstance(annotation, str):
        return None
    try:
        adapter = _adapter(annotation)
    except TypeError:  # unhashable annotation
        adapter = None
    if adapter is None:
        return None
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        why = "; ".join(e["msg"] for e in exc.errors()[:2])
        shown = inspect.formatannotation(annotation)
        return (f"policy '{name}': parameter '{key}' expects {shown}, got {value!r} "
                f"({why})")
    except Exception:  # a validator of the annotation's own raised: leave it to the constructor
        return None
    return None


def param_problems(name: str, factory: Callable[..., Any],
                   params: dict[str, Any]) -> list[tuple[KeyPath, str]]:
    """Parameters ``factory`` does not accept, or whose value its annotation cannot read.

    Only plain values (as from text or YAML) are type-checked; the factory is never called, and
    the values are not converted. A factory taking ``**kwargs`` accepts every name.
    """
    sig = _signature(factory)
    if sig is None:
        return []
    out: list[tuple[KeyPath, str]] = [(("params", k), m) for k, m in
                                      _unknown_names(name, sig, params)]
    for key, value in params.items():
        param = sig.parameters.get(key)
        if param is None or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        try:
            plain_value(value, "")
        except ValueError:
            continue  # an object given from Python: its type is the caller's business
        msg = _type_problem(name, key, param.annotation, value)
        if msg:
            out.append((("params", key), msg))
    return out


def _unknown_names(name: str, sig: inspect.Signature,
                   params: dict[str, Any]) -> list[tuple[str, str]]:
    """``(key, message)`` for each parameter ``sig`` does not accept (none with ``**kwargs``)."""
    accepted = [p.name for p in sig.parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return []
    out = []
    for key in params:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            valid = ", ".join(accepted) if accepted else "none"
            out.append((key, f"policy '{name}' takes no parameter '{key}'; valid keys: "
                             f"{valid}{hint}"))
    return out


def parse_policy(source: str | PolicySpec | dict[str, Any]) -> PolicySpec:
    """A :class:`PolicySpec` from text, a YAML file ``{policy, params, label}``, or a mapping.

    Raises:
        PolicySpecError: Malformed text, or a file that is not such a mapping.
    """
    if isinstance(source, PolicySpec):
        return source
    if isinstance(source, str) and Path(source).suffix in (".yaml", ".yml") and Path(source).is_file():
        return _from_file(Path(source))
    from pydantic import ValidationError

    try:
        return PolicySpec.model_validate(source)
    except ValidationError as exc:
        msgs = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise PolicySpecError.one(f"policy {source!r}: {msgs}") from None


def _from_file(path: Path) -> PolicySpec:
    from pydantic import ValidationError

    from outcome_gym.scenario.loading import problems_from_validation_error
    from outcome_gym.scenario.yamlio import load_yaml_mapping, read_text

    try:
        data, lines = load_yaml_mapping(read_text(path), str(path))
    except InputError as exc:
        raise exc.as_kind(PolicySpecError) from None
    data.setdefault("label", path.stem)
    try:
        return PolicySpec.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, data, str(path), lines, root=PolicySpec)
        raise PolicySpecError(problems) from None
