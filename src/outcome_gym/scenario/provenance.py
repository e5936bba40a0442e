"""Where every user parameter's default comes from, and the range it could plausibly take.

One row per user parameter — every field of :class:`~outcome_gym.scenario.schema.UserModel` and
:class:`~outcome_gym.scenario.schema.ContextEvents`, and every per-user ``Param`` of
:class:`~outcome_gym.scenario.schema.Segment`. A row holds the parameter's scenario path, its
plausible range, a source key of docs/calibration.md (the key table is in docs/model.md) or
``guess``, and a one-line note. The default is never written here: :func:`default_of` reads it from
the schema, so the table cannot drift from the code. ``tests/scenario/test_provenance.py`` checks that
every schema field has a row, that each range lies in the field's validated domain and contains the
default, and that each source key exists; ``outcome-gym params`` prints the table and the
provenance section of docs/calibration.md is generated from it.

Global coefficients (``user_model.*``, ``context.*``) are varied by their value. Per-segment
parameters (``population.segments.*.<name>``) are distributions over users that differ by
segment and scenario, so their range is a *factor* that multiplies every user's value in every
segment (:func:`scale_param`: ``X' = f·X``, i.e. a lognormal's median and clip bounds, a beta's
``low``/``high``, a categorical's values are all multiplied by ``f``; the shape is kept).

Adding a parameter is one line in :data:`ENTRIES`::

    _row("user_model.trust_memory", 0.5, 0.95, "recsim_lts", "memory of the satisfaction state"),
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

from outcome_gym.scenario.checks import SEGMENT_BOUNDS
from outcome_gym.scenario.distributions import Param
from outcome_gym.scenario.schema import ContextEvents, Scenario, Segment, UserModel

GUESS = "guess"
SEGMENT_PREFIX = "population.segments.*."
SECTIONS: dict[str, type[BaseModel]] = {"user_model": UserModel, "context": ContextEvents}


@dataclass(frozen=True)
class Entry:
    """One user parameter's provenance.

    Attributes:
        path: Scenario path: ``user_model.<field>``, ``context.<field>`` or
            ``population.segments.*.<field>`` (every segment).
        low: Lower end of the plausible range (a factor for per-segment parameters); ``None``
            for a parameter that cannot be varied by a number (it is then never sampled).
        high: Upper end (``None`` with ``low``).
        source: A source key (docs/model.md key table) or ``guess``.
        note: One line: what the default and the range rest on.
    """

    path: str
    low: float | None
    high: float | None
    source: str
    note: str

    @property
    def has_range(self) -> bool:
        """True when the parameter can be varied (sensitivity analysis samples it)."""
        return self.low is not None and self.high is not None

    @property
    def name(self) -> str:
        """The short name a user types (``open_base``, ``context.base_failure``, ``susceptibility``)."""
        if self.scaled:
            return self.field
        return self.field if self.path.startswith("user_model.") else self.path

    @property
    def field(self) -> str:
        """The schema field's name."""
        return self.path.rsplit(".", 1)[1]

    @property
    def scaled(self) -> bool:
        """True for a per-segment parameter, whose range is a factor on every user's value."""
        return self.path.startswith(SEGMENT_PREFIX)

    @property
    def integer(self) -> bool:
        """True when the field takes whole numbers (sampled values are rounded)."""
        return not self.scaled and _model(self).model_fields[self.field].annotation is int

    @property
    def how(self) -> str:
        """How a sampled value is applied to a scenario."""
        return "factor on every user's value" if self.scaled else "value"


def _row(path: str, low: float | None, high: float | None, source: str, note: str) -> Entry:
    return Entry(path, None if low is None else float(low), None if high is None else float(high),
                 source, note)


_U, _C, _S = "user_model.", "context.", SEGMENT_PREFIX

ENTRIES: tuple[Entry, ...] = (
    # choice and position
    _row(_U + "no_click_mass", 0.5, 2.0, "recsim", "logit no-click mass; range: calibration row"),
    _row(_U + "cascade_continue", 0.65, 0.9, "recsim", "cascade continue; range: calibration row"),
    _row(_U + "position_exponent", -1.5, 0.0, "trecs", "rank^alpha; range: calibration row "
         "(position bias contested, schultheiss2018)"),
    # notifications (open logit, wear, opt-out)
    _row(_U + "open_base", -1.75, -1.1, "pielot2018", "fitted: open rate 0.20 at 1-1.7/day with the tray "
         "(calibration.md, Fits); range: rates 0.15-0.25 (was -1.6, realised 8.5% without a tray, "
         "issue #14); range a guess"),
    _row(_U + "open_relevance", 0.5, 3.0, GUESS, "open logit weight on relevance"),
    _row(_U + "open_receptive", 0.3, 2.0, GUESS, "open logit weight on receptivity (katevas2017 "
         "gives the signal, not the weight)"),
    _row(_U + "open_fatigue", 0.3, 2.0, GUESS, "open logit weight on fatigue"),
    _row(_U + "open_wear", 0.2, 1.5, GUESS, "template wear (yancey2020 gives the direction)"),
    _row(_U + "open_trust", 0.3, 2.0, GUESS, "open logit weight on channel trust"),
    _row(_U + "wear_recovery", 0.1, 0.6, GUESS, "wear shed per day (yancey2020: direction)"),
    _row(_U + "optout_base", 0.0001, 0.002, GUESS, "opt-out hazard per delivery (pinterest2018: "
         "direction)"),
    _row(_U + "optout_volume", 0.5, 2.0, GUESS, "opt-out exponent on volume (linkedin: direction)"),
    # sessions and the two selves
    _row(_U + "session_habit", 0.5, 3.0, GUESS, "session start weight on habit"),
    _row(_U + "session_need", 0.1, 1.5, GUESS, "session start weight on pending goals"),
    _row(_U + "habit_utility", 0.3, 2.0, GUESS, "utility weight on habit (kleinberg2024: form)"),
    _row(_U + "goal_utility", 1.0, 4.0, GUESS, "utility weight on goal value (kleinberg2024: form)"),
    _row(_U + "fatigue_utility", 0.1, 1.5, GUESS, "utility weight on fatigue"),
    _row(_U + "appeal_utility", 3.0, 4.3, "allcott2022", "impulse weight fitted to 31% "
         "self-control-driven use (calibration.md); range: shares 0.27-0.35"),
    _row(_U + "residue", 0.05, 0.4, GUESS, "focus lost per distraction (mark2005: direction)"),
    _row(_U + "residue_carry", 0.2, 0.8, GUESS, "residue carried per slot (mark2005: direction)"),
    _row(_U + "breakpoint_multiplier", 0.3, 0.8, "iqbal_bailey", "direction V, size D; range: "
         "calibration row"),
    _row(_U + "resumption_minutes", 5 / 60, 0.5, "altmann2007", "15 s lag; range 5-30 s"),
    _row(_U + "max_engagements", 4, 16, GUESS, "engagements per session cap"),
    _row(_U + "need_met_exit", 0.4, 0.9, GUESS, "chance to leave once the need is met"),
    _row(_U + "habit_fade", 0.0, 0.03, GUESS, "daily fade after 2+ missed days (lally2010: one "
         "missed day does not matter)"),
    # layout memory (sim/mechanisms/memory.py): cockburn2007's form, every size a guess
    _row(_U + "memory_max", 0.5, 1.0, "cockburn2007", "largest expertise; form from the source, "
         "value a guess"),
    _row(_U + "memory_fade", 0.0, 0.2, GUESS, "practice forgotten per day"),
    _row(_U + "search_seconds", 0.1, 0.5, "cockburn2007", "novice linear search per position; "
         "value a guess"),
    _row(_U + "decision_seconds", 0.05, 0.3, "cockburn2007", "Hick-Hyman time per bit; value a "
         "guess"),
    _row(_U + "pointing_seconds", 0.05, 0.3, "cockburn2007", "Fitts time per bit; value a guess"),
    # notification tray (mechanisms/notifications.py)
    _row(_U + "tray_delay_median_minutes", 1.0, 30.0, "pielot2014", "'typically viewed within "
         "minutes'; the number a guess"),
    _row(_U + "tray_delay_sigma", 1.0, 2.5, GUESS, "a tail of hours (mehrotra2016: variation)"),
    _row(_U + "tray_expiry_hours", 6.0, 72.0, GUESS, "an unattended notification leaves the tray"),
    # trust and churn
    _row(_U + "trust_gain", 0.01, 0.1, GUESS, "trust per useful session"),
    _row(_U + "trust_waste", 0.0005, 0.005, GUESS, "trust lost per wasted minute"),
    _row(_U + "trust_overload", 0.002, 0.03, GUESS, "trust lost per send over the free count"),
    _row(_U + "channel_trust_gain", 0.005, 0.05, GUESS, "per useful open (meta2022: months)"),
    _row(_U + "channel_trust_loss", 0.0005, 0.005, GUESS, "per ignored delivery"),
    _row(_U + "overload_free", 1, 6, GUESS, "daily sends before overload"),
    _row(_U + "churn_trust", 0.1, 0.5, GUESS, "trust below which churn rises"),
    _row(_U + "churn_rate", 0.01, 0.1, GUESS, "daily churn hazard at 0 trust"),
    _row(_U + "trust_memory", 0.85, 0.98, "recsim_lts", "daily discount of past experience; form "
         "from recsim's long-term satisfaction, value a guess"),
    _row(_U + "churn_base", 0.0008, 0.0024, "recurly2023", "fitted: 3.95% voluntary churn a month "
         "(industry benchmark); range: 2.4-7% a month"),
    # context failures: no published effect size (docs/calibration.md mechanism 9)
    _row(_C + "device_switch_per_day", 0.1, 1.0, GUESS, "google2012: 90% switch screens (S); "
         "rate a guess"),
    _row(_C + "colleague_share_per_day", 0.02, 0.3, GUESS, "shared screens per day"),
    _row(_C + "support_contact_per_day", 0.005, 0.05, GUESS, "support contacts per day"),
    _row(_C + "base_failure", 0.01, 0.15, GUESS, "failure at zero layout distance"),
    _row(_C + "distance_sensitivity", 0.5, 3.0, GUESS, "failure rise with distance (polson1986: "
         "direction)"),
    _row(_C + "core_weight", 1.0, 8.0, GUESS, "weight of core elements in the distance"),
    _row(_C + "failure_minutes", 1.0, 6.0, GUESS, "minutes lost per failure"),
    _row(_C + "failure_trust_cost", 0.005, 0.05, GUESS, "trust lost per failure"),
    # per-segment distributions: the range is a factor on every user's value
    _row(_S + "attention_budget", 0.5, 1.5, GUESS, "minutes/day per scenario; factor a guess"),
    _row(_S + "susceptibility", 0.6, 1.4, "allcott2022", "impulsive share 0.31 (0.2-0.4) -> "
         "+-35%; the level is fitted through appeal_utility"),
    _row(_S + "goal_weight", 0.6, 1.4, GUESS, "reflective weight (kleinberg2024: form)"),
    _row(_S + "session_propensity", 0.5, 1.5, GUESS, "self-initiated sessions per day"),
    _row(_S + "habit_days", 0.5, 2.0, "lally2010", "median 66 (18-254); buyalskaya2023: speed "
         "depends on the behaviour"),
    _row(_S + "fatigue_rate", 0.5, 2.0, GUESS, "fatigue per notification"),
    _row(_S + "fatigue_recovery", 0.5, 1.5, GUESS, "fatigue shed per day"),
    _row(_S + "channel_trust", 0.5, 1.5, GUESS, "initial channel trust"),
    _row(_S + "trust", 0.6, 1.4, GUESS, "initial product trust"),
    _row(_S + "devices", None, None, GUESS, "whole devices per user (google2012: multi-screen); "
         "a factor would break whole numbers, so not varied"),
    _row(_S + "churn_sensitivity", 0.5, 2.0, GUESS, "multiplier on the churn hazard"),
    _row(_S + "outside_rate", 0.25, 2.5, GUESS, "goal progress per unused attention minute "
         "outside the app (about a fifth of a goal-serving app minute)"),
)
"""The registry: one row per user parameter (module docstring)."""


def _model(entry: Entry) -> type[BaseModel]:
    if entry.scaled:
        return Segment
    return SECTIONS[entry.path.split(".", 1)[0]]


def segment_param_fields() -> list[str]:
    """The per-user ``Param`` fields of a segment (the ones that take a distribution)."""
    return [n for n, f in Segment.model_fields.items() if f.annotation == Param]


def schema_paths() -> list[str]:
    """Every path the registry must cover, read from the schema."""
    paths = [f"{sec}.{name}" for sec, model in SECTIONS.items() for name in model.model_fields]
    return paths + [SEGMENT_PREFIX + n for n in segment_param_fields()]


def default_of(entry: Entry) -> Any:
    """The schema's default (``None`` for a per-segment field every scenario must give)."""
    info = _model(entry).model_fields[entry.field]
    if info.is_required():
        return None
    value = info.get_default(call_default_factory=True)
    return value.model_dump(mode="json", by_alias=True) if isinstance(value, BaseModel) else value


def sampled_default(entry: Entry) -> float:
    """The value of the varied quantity at the default: the schema default, or factor 1."""
    return 1.0 if entry.scaled else float(default_of(entry))


def domain(entry: Entry) -> tuple[float, float, bool, bool]:
    """The validated domain of the varied quantity: ``(low, high, low_open, high_open)``.

    For a global field it is read from the schema's constraints; for a per-segment factor it is
    ``(0, inf)`` (the scaled scenario is checked against the per-user bounds when it is built).
    """
    if entry.scaled:
        return 0.0, math.inf, True, True
    lo, hi, lo_open, hi_open = -math.inf, math.inf, False, False
    for m in _model(entry).model_fields[entry.field].metadata:
        if isinstance(m, Ge):
            lo = float(m.ge)
        elif isinstance(m, Gt):
            lo, lo_open = float(m.gt), True
        elif isinstance(m, Le):
            hi = float(m.le)
        elif isinstance(m, Lt):
            hi, hi_open = float(m.lt), True
    return lo, hi, lo_open, hi_open


def in_domain(entry: Entry, value: float) -> bool:
    """True when ``value`` lies in the varied quantity's validated domain."""
    lo, hi, lo_open, hi_open = domain(entry)
    above = value > lo if lo_open else value >= lo
    below = value < hi if hi_open else value <= hi
    return above and below


def per_user_bounds(entry: Entry) -> tuple[float, float] | None:
    """The bounds every user's value must respect (per-segment parameters only)."""
    return SEGMENT_BOUNDS.get(entry.field) if entry.scaled else None


REGISTRY: dict[str, Entry] = {e.name: e for e in ENTRIES}
"""Short name -> entry (``outcome-gym sensitivity --params`` takes these names)."""


def lookup(name: str) -> Entry:
    """The entry for a short name or a full path.

    Raises:
        KeyError: No such parameter; the message suggests the closest name.
    """
    by_path = {e.path: e for e in ENTRIES}
    if name in REGISTRY or name in by_path:
        return REGISTRY.get(name) or by_path[name]
    close = difflib.get_close_matches(name, list(REGISTRY) + list(by_path), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise KeyError(f"no user parameter '{name}' (see `outcome-gym params`){hint}")


_SCALED_KEYS = {"fixed": ("value",), "uniform": ("low", "high"), "beta": ("low", "high"),
                "normal": ("mean", "sd", "low", "high"), "lognormal": ("median", "low", "high"),
                "categorical": ("values",)}


def scale_param(value: Any, factor: float) -> Any:
    """A per-user parameter (number or distribution mapping) with every user's value times ``factor``.

    ``X' = f·X``: location, spread and clip bounds scale together, so the shape is unchanged.
    """
    if isinstance(value, int | float):
        return float(value) * factor
    out = dict(value)
    for key in _SCALED_KEYS[out["dist"]]:
        if out.get(key) is None:
            continue
        v = out[key]
        out[key] = [x * factor for x in v] if isinstance(v, list) else v * factor
    return out


def overrides_for(entry: Entry, value: float, scenario_data: dict[str, Any]) -> dict[str, Any]:
    """The ``with_overrides`` keys that set ``entry`` to ``value`` in a scenario (as plain data).

    Args:
        entry: The parameter.
        value: Its sampled value (a factor for a per-segment parameter).
        scenario_data: The scenario as plain data (``scenario_to_dict``), read for the segments.
    """
    if not entry.scaled:
        return {entry.path: round(value) if entry.integer else float(value)}
    out = {}
    for seg in scenario_data["population"]["segments"]:
        current = seg.get(entry.field)
        if current is None:
            current = default_of(entry)
        out[f"population.segments.{seg['id']}.{entry.field}"] = scale_param(current, value)
    return out


def table_rows(scenario: Scenario | None = None) -> list[dict[str, Any]]:
    """One row per parameter: name, path, default, range, how it is applied, source and note.

    With ``scenario``, ``default`` is that scenario's value (per segment for a segment parameter).
    """
    rows = []
    for e in ENTRIES:
        default: Any = default_of(e)
        if scenario is not None:
            default = _scenario_value(e, scenario)
        rows.append({"name": e.name, "path": e.path, "default": default, "low": e.low,
                     "high": e.high, "how": e.how, "source": e.source, "note": e.note})
    return rows


def _scenario_value(entry: Entry, scenario: Scenario) -> Any:
    if not entry.scaled:
        section = getattr(scenario, entry.path.split(".", 1)[0])
        return getattr(section, entry.field)
    out = {}
    for seg in scenario.population.segments:
        v = getattr(seg, entry.field)
        out[seg.id] = v.model_dump(mode="json", by_alias=True) if isinstance(v, BaseModel) else v
    return out


DOC_START = "<!-- provenance table: generated by outcome_gym.scenario.provenance.markdown_table -->"
DOC_END = "<!-- end of provenance table -->"


def markdown_table() -> str:
    """The provenance table of docs/calibration.md (a test checks the doc holds exactly this)."""
    lines = [DOC_START, "", "| parameter | path | default | plausible range | source | note |",
             "|---|---|---|---|---|---|"]
    for r in table_rows():
        d = r["default"]
        shown = ("per scenario" if d is None else f"{d['dist']} (see schema)"
                 if isinstance(d, dict) else f"{d:g}" if isinstance(d, float) else str(d))
        rng = "—" if r["low"] is None else f"{r['low']:.4g} – {r['high']:.4g}"
        if r["how"] != "value" and r["low"] is not None:
            rng = f"× {rng} (factor)"
        lines.append(f"| `{r['name']}` | `{r['path']}` | {shown} | {rng} | {r['source']} | "
                     f"{r['note']} |")
    return "\n".join([*lines, "", DOC_END])


__all__ = [
    "DOC_END",
    "DOC_START",
    "ENTRIES",
    "GUESS",
    "REGISTRY",
    "Entry",
    "default_of",
    "domain",
    "in_domain",
    "lookup",
    "markdown_table",
    "overrides_for",
    "sampled_default",
    "scale_param",
    "schema_paths",
    "segment_param_fields",
    "table_rows",
]
