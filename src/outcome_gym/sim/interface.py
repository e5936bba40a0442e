"""The data that crosses the model's boundary: what a policy sees, what it returns, what a step
records. Everything here is immutable (frozen dataclasses holding read-only arrays), so a policy
cannot change the world by writing into an observation, and a record cannot change after the step.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar, overload

import numpy as np

from outcome_gym.errors import ActionError
from outcome_gym.scenario.schema import Scenario
from outcome_gym.sim._rows import row_totals


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view of an array (the caller keeps no writable alias to it)."""
    v = a.view()
    v.setflags(False)  # ``write=False`` by position: ~0.1 us less than the keyword
    return v


T = TypeVar("T")
_FLOAT64 = np.dtype(np.float64)  # a dtype compares with a dtype without converting a type


def _instance(cls: type[T], fields: dict[str, Any]) -> T:
    """The frozen dataclass ``cls(**fields)``, its ``fields`` dict (every field, by name; given
    away) made the instance's own, without calling ``__init__``.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (~0.1 us a
    field); a step builds ~45 fields of records, feedback and observations. Private to the
    package's per-step builders, whose dicts name every field: the recorder's
    (:class:`Observation`, :class:`Feedback`, :class:`StepRecord`) and
    :meth:`StepRecord.with_metrics` (checked against their classes' fields by
    tests/sim/test_recording.py), the env's action decoders (``env.spaces.ActionDecoder``,
    ``env.wrappers.variants_to_action``: :class:`Action`) and ``Product._step_valid``
    (``StepResult``; these three by tests/env/test_actions.py, which also pins this list of
    callers). Nothing is checked here, so it is not for policy or metric code, and a caller
    added elsewhere needs its objects in one of those tests.
    """
    obj = object.__new__(cls)
    object.__setattr__(obj, "__dict__", fields)
    return obj


class FrozenMap(Mapping[str, np.ndarray]):
    """A read-only, picklable mapping (``MappingProxyType`` cannot be pickled) of ``data``'s
    entries (a mapping, or (name, array) pairs: one dict made).
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]]) -> None:
        object.__setattr__(self, "_data", dict(data))

    @staticmethod  # (not a classmethod: no bound method made a call)
    def _of(data: dict[str, np.ndarray]) -> FrozenMap:
        """``FrozenMap(data)`` holding ``data`` itself instead of a copy: for a caller that
        builds the dict for it and keeps no reference (the event pipe's map of a step, a
        merge), without ``__init__``'s copy.
        """
        out = object.__new__(FrozenMap)
        object.__setattr__(out, "_data", data)
        return out

    def __getitem__(self, key: str) -> np.ndarray:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    # the dict's own views (read-only): iterating ~50 metrics a step without a __getitem__ each
    def keys(self) -> KeysView[str]:
        """The names (the inner dict's view)."""
        return self._data.keys()

    def values(self) -> ValuesView[np.ndarray]:
        """The arrays (the inner dict's view)."""
        return self._data.values()

    def items(self) -> ItemsView[str, np.ndarray]:
        """(name, array) pairs (the inner dict's view)."""
        return self._data.items()

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        """The array of ``key``, or ``default``."""
        return self._data.get(key, default)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FrozenMap is read-only")

    def __reduce__(self) -> tuple[type, tuple[dict[str, np.ndarray]]]:
        return (FrozenMap, (self._data,))

    def merged(self, names: Iterable[str], values: Iterable[np.ndarray]) -> FrozenMap:
        """A new map of these entries and then ``zip(names, values)`` (read-only arrays, as
        :func:`frozen_readonly` takes them), with one copy of the entries (this map's own dict
        is never shared).
        """
        data = self._data.copy()
        data.update(zip(names, values, strict=True))
        return FrozenMap._of(data)

    def __repr__(self) -> str:
        return f"FrozenMap({list(self._data)})"


class MetricRows(Mapping[str, np.ndarray]):
    """A read-only mapping of names to the rows of a few read-only matrices, in order (a step
    record's segment metrics: the recorder's table, then the product's guardrail sums; a step's
    goal events: :meth:`~outcome_gym.sim.mechanisms.goals.Goals.apply`'s block).

    The rows are views made at the first read of an entry (most env steps read none: the env
    sums the matrices, :func:`row_sums`, and the recorder reads the matrices); merging a matrix
    of new names keeps them matrices. Pickled as a :class:`FrozenMap` of its entries.

    Args:
        names: One name per row of ``matrix``, none twice (not checked: the recorder's).
        matrix: R x K float64, read-only and C-contiguous (:func:`row_sums` reduces its rows in
            place).
    """

    __slots__ = ("_data", "_matrices", "_names")

    def __new__(cls, names: Iterable[str], matrix: np.ndarray) -> MetricRows:
        """The map of ``names`` over ``matrix``'s rows, both checked (a constructor rather than
        an initialiser: :meth:`_of` builds the same object unchecked; always a ``MetricRows``,
        whatever ``cls``). The names are counted, not checked for repeats (as before: a
        repeated name's later row is the one a lookup finds).

        Raises:
            ValueError: ``matrix`` is not a read-only C-contiguous 2-D float64 matrix, or has
                another number of rows than there are names.
        """
        if not _is_row_matrix(matrix):
            raise ValueError("expected a read-only C-contiguous 2-D float64 matrix")
        names = tuple(names)
        if len(names) != matrix.shape[0]:
            raise _names_error(names, matrix)
        return MetricRows._of(names, (matrix,))

    @staticmethod  # (not a classmethod: no bound method made a call)
    def _of(names: tuple[str, ...], matrices: tuple[np.ndarray, ...]) -> MetricRows:
        """The map of ``names`` over the rows of ``matrices`` in order, without the checks of
        ``MetricRows(names, matrix)`` (~0.5 us a step): for the recorder, whose table is a row
        matrix (read-only, C-contiguous float64) of one row per name by construction
        (tests/sim/test_recording.py holds a record's map to that) and :meth:`merged`, which
        checked them. Its slots set past the read-only ``__setattr__``; no row made (``_data``
        stays unset until :meth:`_rows` makes them: one slot fewer to set, ~0.1 us, as most maps
        read none).
        """
        out = object.__new__(MetricRows)
        setattr_ = object.__setattr__
        setattr_(out, "_names", names)
        setattr_(out, "_matrices", matrices)
        return out

    @property
    def names(self) -> tuple[str, ...]:
        """The names, in row order."""
        return self._names

    @property
    def matrices(self) -> tuple[np.ndarray, ...]:
        """The matrices whose rows the entries are, in order."""
        return self._matrices

    def _rows(self) -> dict[str, np.ndarray]:
        """Name -> row, built at the first call (into the ``_data`` slot, unset before)."""
        try:
            return self._data
        except AttributeError:
            rows = [row for m in self._matrices for row in m]
            data = dict(zip(self._names, rows, strict=True))
            object.__setattr__(self, "_data", data)
            return data

    def __getitem__(self, key: str) -> np.ndarray:
        return self._rows()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def keys(self) -> KeysView[str]:
        """The names (a dict's view)."""
        return self._rows().keys()

    def values(self) -> ValuesView[np.ndarray]:
        """The rows (a dict's view)."""
        return self._rows().values()

    def items(self) -> ItemsView[str, np.ndarray]:
        """(name, row) pairs (a dict's view)."""
        return self._rows().items()

    def __contains__(self, key: object) -> bool:
        return key in self._rows()

    def get(self, key: str, default: Any = None) -> Any:
        """The row of ``key``, or ``default``."""
        return self._rows().get(key, default)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("MetricRows is read-only")

    def __reduce__(self) -> tuple[type, tuple[dict[str, np.ndarray]]]:
        return (FrozenMap, (self._rows(),))

    def merged(self, names: Iterable[str], values: Iterable[np.ndarray]) -> Mapping[str, np.ndarray]:
        """These entries and then ``zip(names, values)`` (read-only arrays): a
        :class:`MetricRows` when ``values`` is a read-only C-contiguous float64 matrix of new
        names, otherwise a :class:`FrozenMap`.
        """
        names = tuple(names)
        if isinstance(values, np.ndarray) and _is_row_matrix(values):
            joined = _joined(self._names, names)
            if joined is not None:
                if len(names) != values.shape[0]:  # the new matrix's names, however many
                    raise _names_error(names, values)
                return MetricRows._of(joined, (*self._matrices, values))
        return FrozenMap(self._rows()).merged(names, values)

    def __repr__(self) -> str:
        return f"MetricRows({list(self._names)})"


def _names_error(names: tuple[str, ...], matrix: np.ndarray) -> ValueError:
    """The error of a :class:`MetricRows` matrix with another number of rows than ``names``
    (every name shown).
    """
    return ValueError(f"expected {matrix.shape[0]} names, got {names}")


def _is_row_matrix(m: np.ndarray) -> bool:
    """Whether ``m`` can be a :class:`MetricRows` matrix: 2-D, float64 (what :func:`row_sums`'
    compiled sums take), read-only (its rows are the entries) and C-contiguous (row_sums
    reduces each row as a contiguous run: another order sums otherwise).
    """
    flags = m.flags
    return (m.ndim == 2 and m.dtype == _FLOAT64 and not flags.writeable
            and flags.c_contiguous)


_last_join: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...] | None] = ((), (), ())
"""The last :func:`_joined` answer and the two tuples it was for: process-wide (every model,
env and thread of the process shares it). That is safe: it holds the two tuples, so their ids
cannot be reused by other tuples while it does, and it is read and replaced as one tuple, so a
thread never sees one call's names with another's answer. Several products merging in turn in
one process only miss it (the answer is then computed, as without it); it keeps the last two
name tuples alive (a few hundred bytes)."""


def _joined(own: tuple[str, ...], names: tuple[str, ...]) -> tuple[str, ...] | None:
    """``own + names`` when ``names`` are new (none twice, none of ``own``), else None.

    The answer for the last two tuples asked about is kept, process-wide (:data:`_last_join`;
    for the same objects: a product step merges the recorder's names with the guardrails'
    every step, and two sets of ~55 names cost ~1 us to build).
    """
    global _last_join
    last = _last_join
    if last[0] is own and last[1] is names:
        return last[2]
    new = len(set(names)) == len(names) and set(own).isdisjoint(names)
    joined = own + names if new else None
    _last_join = (own, names, joined)
    return joined


_Into = TypeVar("_Into", bound=dict[str, Any])


@overload
def row_sums(metrics: Mapping[str, np.ndarray], into: None = None) -> dict[str, float]: ...


@overload
def row_sums(metrics: Mapping[str, np.ndarray], into: _Into) -> _Into: ...


def row_sums(metrics: Mapping[str, np.ndarray],
             into: dict[str, Any] | None = None) -> dict[str, Any]:
    """Each entry's sum (``np.add.reduce`` of its K values), by name in the mapping's order:
    into ``into`` after its own entries (returned), or a new dict.

    Of a :class:`MetricRows`, its matrices' rows reduced in place (no row made; the same bits:
    each row is reduced as it would be in a matrix of all the entries, :func:`row_totals`); of
    another mapping, of its entries stacked.
    """
    out = {} if into is None else into
    if isinstance(metrics, MetricRows):
        sums = np.empty(len(metrics._names))  # np.add.reduce(m, axis=1)'s bits, compiled
        if not row_totals(metrics._matrices, sums):  # rows of more than 128 segments
            sums = np.concatenate([np.add.reduce(m, axis=1) for m in metrics._matrices])
        out.update(zip(metrics._names, sums.tolist(), strict=True))
        return out
    values = metrics.values()
    totals = np.add.reduce(np.concatenate(tuple(values)).reshape(len(values), -1), axis=1)
    out.update(zip(metrics.keys(), totals.tolist(), strict=True))
    return out


def frozen_readonly(d: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    """:func:`frozen_map` of arrays the caller made read-only already (not checked one by one:
    for the per-step records, whose ~50 metrics are rows of one read-only matrix).
    """
    return FrozenMap(d)


def frozen_map(d: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    """A read-only mapping of read-only arrays (arrays already read-only are kept as they are:
    re-wrapping a record's metrics, as the product does every step, costs no new views).
    """
    return FrozenMap({k: v if isinstance(v, np.ndarray) and not v.flags.writeable
                      else readonly(np.asarray(v)) for k, v in d.items()})


@dataclass(frozen=True)
class PolicyContext:
    """What a policy may know before the run: the product and its users' public labels.

    Attributes:
        scenario: The resolved scenario (product, segments, outcome specs, guardrail config).
        n_users: N.
        element_ids: All element ids (index = element index used in layouts).
        layout_elements: Indices of elements that may be laid out.
        pushed_elements: Element index of each notification column (M).
        default_layout: S element indices.
        core_slot: S bools, positions holding a core element in the default.
        segment: N segment index of each user (a targeting label the product knows).
        instrumented: Names of the outcome events the product observes.
    """

    scenario: Scenario
    n_users: int
    element_ids: tuple[str, ...]
    layout_elements: np.ndarray
    pushed_elements: np.ndarray
    default_layout: np.ndarray
    core_slot: np.ndarray
    segment: np.ndarray
    instrumented: tuple[str, ...]
    slots_per_day: int
    n_steps: int

    @property
    def n_slots(self) -> int:
        """S."""
        return int(self.default_layout.shape[0])

    @property
    def n_pushed(self) -> int:
        """M."""
        return int(self.pushed_elements.shape[0])

    @cached_property
    def pushed_column(self) -> dict[int, int]:
        """Element index -> its notification column (the inverse of :attr:`pushed_elements`)."""
        return {int(e): m for m, e in enumerate(self.pushed_elements)}

    @cached_property
    def layout_allowed(self) -> np.ndarray:
        """E bools: the element may be laid out (built once per context, read every step)."""
        allowed = np.zeros(len(self.element_ids), dtype=bool)
        allowed[self.layout_elements] = True
        allowed.setflags(write=False)
        return allowed


@dataclass(frozen=True)
class Observation:
    """What the product can observe at the start of a step (behaviour of the previous step).

    Its arrays are read-only (the previous step's behaviour is the run's record too), and a
    reader must not make them writable: that rests on convention, as most own their memory
    (``setflags(write=True)`` would succeed; see :class:`~outcome_gym.sim.recording.Last`).
    Only the first observation's arrays (the zeros before any step) cannot be reopened.

    Attributes:
        step, day, slot, weekday: The clock now.
        active: N users still using the product.
        session: N users who had a session in the previous step.
        clicks: N x E engagements per element in the previous step.
        minutes: N time in app in the previous step.
        delivered, opened: N x M notifications delivered and opened in the previous step.
        receptivity: N noisy receptivity score for now (AUC from the scenario).
        events: Instrumented outcome events now visible, keyed '<goal>.<event>' (N counts).
        layout: N x S layout each user had in the previous step.
    """

    step: int
    day: int
    slot: int
    weekday: int
    active: np.ndarray
    session: np.ndarray
    clicks: np.ndarray
    minutes: np.ndarray
    delivered: np.ndarray
    opened: np.ndarray
    receptivity: np.ndarray
    events: Mapping[str, np.ndarray]
    layout: np.ndarray


@dataclass(frozen=True)
class Action:
    """A decision for every user this step.

    What the guardrail layer changed travels on the product's step result
    (:class:`outcome_gym.product.StepResult`), not on the policy's action.

    Attributes:
        layout: N x S element indices (each a laid-out element).
        notify: N x M bools, send notification m to user n now.
    """

    layout: np.ndarray
    notify: np.ndarray


def validate_action(
    action: Action, ctx: PolicyContext, policy: str = "policy", step: int = 0
) -> Action:
    """Check shapes, dtypes and ranges; raise :class:`ActionError` naming the user and slot."""
    if not isinstance(action, Action):
        raise ActionError(
            f"{policy} at step {step}: expected an Action, got {type(action).__name__}"
        )
    lay, note = np.asarray(action.layout), np.asarray(action.notify)
    want_l, want_n = (ctx.n_users, ctx.n_slots), (ctx.n_users, ctx.n_pushed)
    if lay.shape != want_l:
        raise ActionError(
            f"{policy} at step {step}: expected layout of shape {want_l}, got {lay.shape}"
        )
    if note.shape != want_n:
        raise ActionError(
            f"{policy} at step {step}: expected notify of shape {want_n}, got {note.shape}"
        )
    if not np.issubdtype(lay.dtype, np.integer):
        raise ActionError(f"{policy} at step {step}: expected integer layout, got {lay.dtype}")
    if note.dtype != np.bool_:
        raise ActionError(f"{policy} at step {step}: expected boolean notify, got {note.dtype}")
    allowed = ctx.layout_allowed
    in_range = (lay >= 0) & (lay < allowed.shape[0])
    ok = in_range & allowed[np.where(in_range, lay, 0)]
    if not ok.all():
        n, s = np.argwhere(~ok)[0]
        raise ActionError(
            f"{policy} at step {step}: user {n}, slot {s}: expected a laid-out "
            f"element index, got {lay[n, s]}"
        )
    return action


@dataclass(frozen=True)
class Feedback:
    """Per-user signals a learning policy receives after a step (all observable by the product)."""

    clicks: np.ndarray
    minutes: np.ndarray
    sessions: np.ndarray
    opens: np.ndarray
    events: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class StepRecord:
    """Everything a step produced that metrics may read.

    Attributes:
        step, day, slot, weekday: When.
        segment_metrics: Metric name -> K per-segment sums (or means where named ``*_mean``).
        position_clicks, position_views: S, clicks and scans per layout position.
        element_clicks: E engagements per element (laid out or opened notifications).
        feedback: The per-user feedback for learning policies.
    """

    step: int
    day: int
    slot: int
    weekday: int
    segment_metrics: Mapping[str, np.ndarray]
    position_clicks: np.ndarray
    position_views: np.ndarray
    element_clicks: np.ndarray
    feedback: Feedback

    def with_metrics(self, names: Iterable[str], rows: Iterable[np.ndarray]) -> StepRecord:
        """This record with more segment metrics after its own (``zip(names, rows)``: K
        read-only arrays each); everything else is the same objects.
        """
        metrics = self.segment_metrics
        # (the types themselves: isinstance of an abstract Mapping's subclass asks its ABC)
        own = metrics if type(metrics) in (MetricRows, FrozenMap) else FrozenMap(metrics)
        fields = self.__dict__.copy()
        fields["segment_metrics"] = own.merged(names, rows)
        return _instance(StepRecord, fields)
