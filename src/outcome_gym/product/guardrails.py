"""Guardrails: constraints applied after the policy and before users see anything (docs/design.md, step 2).

The layer projects every action into the allowed set and counts each modification per user, by kind:

* ``core_restored`` — a core position not showing its default element is put back; a core element
  shown in a non-core position is replaced by that position's default element (``lock_core``);
* ``layout_reverted`` — while a layout's core-weighted distance from the default exceeds
  ``max_layout_distance``, differing positions are reverted to the default, bottom first;
* ``quiet_slot`` — every send in a quiet slot is dropped;
* ``notification_capped`` — sends beyond ``max_notifications_per_day`` (per user, counting what the
  guardrail let through earlier today) are dropped, keeping the first columns.

Modes: ``project`` (default: project and count), ``strict`` (raise :class:`ActionError` naming the
user and slot on the first violation — for CI of a policy that must never need correcting), ``off``
(no constraints, to show what the guardrails prevent). The scenario's ``guardrails`` section is the
default configuration; a run may override it.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np

from outcome_gym.errors import ActionError
from outcome_gym.scenario.schema import Guardrails
from outcome_gym.sim._jit import compiled, pass_array
from outcome_gym.sim.interface import Action, Observation, PolicyContext
from outcome_gym.sim.layout import layout_distance

Mode = Literal["project", "strict", "off"]
KINDS = ("core_restored", "layout_reverted", "notification_capped", "quiet_slot")
"""The kinds of modification the layer counts (step metrics ``guardrail_<kind>``)."""


def quiet_slot_indices(quiet_slots: list[str | int], slot_names: list[str]) -> set[int]:
    """The slot indices of a ``quiet_slots`` list (names or indices, validated with the scenario)."""
    return {q if isinstance(q, int) else slot_names.index(q) for q in quiet_slots}


class Guarded(NamedTuple):
    """An action after the guardrail layer, and what the layer changed to get it (a named
    tuple: built every step, ~3x cheaper than a frozen dataclass).

    Attributes:
        action: What users will see.
        matrix: Per kind in :data:`KINDS` (rows), N per-user modification counts (KINDS x N
            ``int64``; zeros when ``off``).
        sums: Per kind, the counts' K per-segment sums (KINDS x K ``float64``, read-only): the
            step record's ``guardrail_<kind>`` metrics. Sums of whole numbers, exact in any
            order: the recorder's per-segment sums of the counts, bit for bit.
    """

    action: Action
    matrix: np.ndarray
    sums: np.ndarray


class RunTables(NamedTuple):
    """:func:`project_rows`' arguments that are the same every step of a run, built at the
    layer's reset: the fields are named as its parameters, in their order after ``layout`` and
    ``notify`` (tests/product/test_guardrails.py checks), as the layer passes them positionally.

    Attributes:
        default: S default element of each slot (int64).
        core_slot: S whether each slot is core.
        core_element: E whether each element is a core slot's default.
        lock: ``lock_core``.
        restore: Whether to correct (project mode; strict mode only counts).
        weight: S each slot's weight in the layout distance (float64).
        weight_sum: Their sum.
        limit: Whether to revert layouts beyond ``max_layout_distance`` (project mode).
        bound: ``max_layout_distance`` plus :data:`DISTANCE_TOLERANCE`.
    """

    default: np.ndarray
    core_slot: np.ndarray
    core_element: np.ndarray
    lock: bool
    restore: bool
    weight: np.ndarray
    weight_sum: float
    limit: bool
    bound: float


class GuardrailLayer:
    """Projects actions into the allowed set and counts every change.

    Args:
        config: Guardrail settings (usually the scenario's).
        mode: ``project``, ``strict`` or ``off``.

    Attributes:
        owner: Who steps with the layer: the ``Product`` that last took it (one layer may
            serve many runs, one after the other), or None.
    """

    def __init__(self, config: Guardrails, mode: Mode = "project") -> None:
        if mode not in ("project", "strict", "off"):
            raise ValueError(f"expected mode project, strict or off, got {mode!r}")
        self._config = config
        self._mode: Mode = mode
        self.owner: object | None = None

    # read-only: the per-run arguments of the pass are derived from both at reset, and one
    # layer may serve many runs (the env's episodes)
    @property
    def config(self) -> Guardrails:
        """The guardrail settings."""
        return self._config

    @property
    def mode(self) -> Mode:
        """``project``, ``strict`` or ``off``."""
        return self._mode

    def reset(self, ctx: PolicyContext) -> None:
        """Prepare for a run (per-user daily send counts start at zero)."""
        self.ctx = ctx
        default = np.asarray(ctx.default_layout, dtype=np.int64)
        # writable, as the pass takes it: a read-only array is another numba signature
        core_slot = pass_array(ctx.core_slot, bool)
        core_elements = np.zeros(len(ctx.element_ids), dtype=bool)
        core_elements[default[core_slot]] = True
        # float64, C-contiguous (np.where's): what the compiled reversion reads every step
        weight = np.where(core_slot, ctx.scenario.context.core_weight, 1.0)
        self._quiet = quiet_slot_indices(self.config.quiet_slots, ctx.scenario.clock.names)
        self._sent_today = np.zeros(ctx.n_users, dtype=np.int64)
        self._day = -1
        # each user's segment, as the pass sums the counts per segment (int64: one signature)
        self._segment = np.array(ctx.segment, dtype=np.int64)
        n_segments = len(ctx.scenario.population.segments)
        self._counts_shape = (len(KINDS), ctx.n_users)  # the per-user counts' (KINDS x N)
        self._no_sums = np.zeros((len(KINDS), n_segments))  # off: read-only, every step's
        self._no_sums.setflags(write=False)
        # the pass's arguments that are the same every step of the run, built once (strict
        # mode's checks read them too): strict mode only counts (the distance it checks itself)
        strict, limit, cap = (self.mode == "strict", self.config.max_layout_distance,
                              self.config.max_notifications_per_day)
        self._tables = RunTables(
            default=default, core_slot=core_slot, core_element=core_elements,
            lock=self.config.lock_core, restore=not strict, weight=weight,
            weight_sum=float(weight.sum()), limit=limit is not None and not strict,
            bound=float(limit or 0.0) + DISTANCE_TOLERANCE)
        self._cap = -1 if cap is None else int(cap)

    def restart(self) -> None:
        """Start another run of the same context (what :meth:`reset` with it leaves, without
        building its tables again): no sends counted today.
        """
        self._sent_today[:] = 0
        self._day = -1

    def apply(self, action: Action, obs: Observation, *, own: bool = False) -> Guarded:
        """The projected action and the per-user modification counts by kind.

        ``action`` must already be valid (``Product.step`` validates it first; the package's own
        callers of ``Product._step_valid`` build it valid): the compiled counting passes index
        the scenario's tables with its element ids unchecked.

        Args:
            action: The policy's action (left as it is, unless ``own``).
            obs: The observation of this step (its day and slot).
            own: ``action`` holds fresh arrays nobody else keeps (an ``int64`` C-order layout
                and ``bool`` sends: the env's decoded or variant actions), projected in place
                instead of copied first.
        """
        mode = self._mode
        if mode == "off":
            return Guarded(action, np.zeros(self._counts_shape, dtype=np.int64), self._no_sums)
        if own:
            layout, notify = action.layout, action.notify
        else:
            layout = np.array(action.layout, dtype=np.int64, copy=True)
            notify = np.array(action.notify, dtype=bool, copy=True)
        if obs.day != self._day:
            self._day, self._sent_today[:] = obs.day, 0
        strict = mode == "strict"
        # the pass adds the sends let through to today's under a cap only
        before = self._sent_today.copy() if strict and self._cap >= 0 else None
        # every kind in one compiled pass over the rows (it writes every count); strict mode
        # only counts (the layout left as the policy chose it; the distance checked below)
        matrix = np.empty(self._counts_shape, dtype=np.int64)
        sums = np.zeros(self._no_sums.shape)
        project_rows(layout, notify, *self._tables, obs.slot in self._quiet, self._cap,
                     self._sent_today, self._segment, matrix, sums)
        sums.setflags(write=False)
        if strict:
            try:
                self._raise_first(layout, matrix, obs.slot)  # as the policy chose it
            except ActionError:
                if before is not None:  # today's sends unchanged by an action refused
                    self._sent_today[:] = before
                raise
        # projected in place when own: the action's arrays are the projected ones
        return Guarded(action if own else Action(layout=layout, notify=notify), matrix, sums)

    def _raise_first(self, layout: np.ndarray, matrix: np.ndarray, slot: int) -> None:
        """Strict mode: raise at the first violation, in the order projection would correct
        them (lock_core, the distance, the quiet slot, the daily cap), given the counts of
        ``layout`` (the policy's).
        """
        core, _, capped, quiet = matrix  # the rows, in KINDS order
        if core.any():
            t = self._tables
            cs = t.core_slot
            bad = (t.core_element[layout] & ~cs[None, :]) | (
                cs[None, :] & (layout != t.default[None, :]))
            user, at = np.argwhere(bad)[0]
            raise ActionError(f"guardrail: user {user}, slot {at}: a core element was moved "
                              f"(got element {layout[user, at]})")
        if self.config.max_layout_distance is not None:
            self._strict_distance(layout, float(self.config.max_layout_distance))
        self._strict(quiet, "sends a notification in quiet slot", slot)
        self._strict(capped, "exceeds the daily notification cap", None)

    def _strict(self, count: np.ndarray, what: str, slot: int | None) -> None:
        if count.any():
            user = int(np.flatnonzero(count)[0])
            where = f", slot {slot}" if slot is not None else ""
            raise ActionError(f"guardrail: user {user}{where} {what}")

    def _strict_distance(self, layout: np.ndarray, limit: float) -> None:
        """Raise at the first violation, in the order projection would revert (bottom slot first).

        Nothing has been reverted when the first violation is found, so it is: the bottom-most
        slot where some over-limit layout differs from the default, and the first such user.
        """
        default = self._tables.default
        dist = layout_distance(layout, np.broadcast_to(default, layout.shape), self._tables.weight)
        over = (dist > limit + DISTANCE_TOLERANCE)[:, None] & (layout != default[None, :])
        if not over.any():
            return
        k = int(np.flatnonzero(over.any(axis=0))[-1])
        user = int(np.flatnonzero(over[:, k])[0])
        raise ActionError(f"guardrail: user {user}, slot {k}: layout distance "
                          f"{dist[user]:.2f} exceeds max_layout_distance {limit}")


DISTANCE_TOLERANCE = 1e-12
"""A layout exactly at ``max_layout_distance`` is allowed (sums of weights round)."""


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`project_rows` now, with the argument types the
    layer passes (see sim.model.compile_kernels).
    """
    project_rows(np.zeros((1, 1), np.int64), np.ones((1, 1), bool), np.zeros(1, np.int64),
                 np.ones(1, bool), np.ones(1, bool), True, True, np.ones(1), 1.0, True, 0.0,
                 False, 1, np.zeros(1, np.int64), np.zeros(1, np.int64),
                 np.zeros((len(KINDS), 1), np.int64), np.zeros((len(KINDS), 1)))


@compiled
def project_rows(layout, notify, default, core_slot, core_element, lock, restore, weight,
                 weight_sum, limit, bound, quiet, cap, sent_today, segment, counts, sums
                 ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """The guardrail layer in place, in three passes over the rows (one pass with all three
    was ~6% slower at N = 1e5); ``counts`` (KINDS x N, every entry written) gets each row's
    changes by kind, and ``sums`` (KINDS x K, zeros on entry) gets their sums over the users
    of each segment (``segment[i]``: user i's): whole numbers, so the sums are exact in any
    order (numpy's ``add.reduceat`` of the counts as ``float64`` gives the same bits).

    1. ``lock_core`` (when ``lock``): ``counts[0, i]`` = the slots of row i that break it: a
       core slot k whose element is not ``default[k]``, and a non-core slot showing a core
       element (``core_element[e]``). With ``restore``, such a row is rebuilt: core slots from
       the default; free (non-core) slots filled, in slot order, with the row's non-core
       elements in the order the policy chose them; then -- if the policy left out core
       elements and so showed fewer non-core ones than there are free slots -- with the
       default's free-slot elements the row did not show, in default order. (Overwriting only
       the offending slots would show an element twice and drop another.) A distinct row stays
       distinct.
    2. The distance limit (when ``limit``): for slot k = S-1 .. 0, while sum_j weight_j
       [row_j != default_j] / weight_sum > ``bound`` and row_k != default_k, the default
       element is swapped into slot k (where it sat elsewhere, at its first position j, the
       element it displaces takes its place, so no element is shown twice);
       ``counts[1, i]`` = the slots reverted. A row within the limit stays within it (only a
       reversion changes it), so the slots below the first one found within it are not
       checked.
    3. Either the quiet slot (when ``quiet``): every send of the row dropped,
       ``counts[3, i]`` = how many; or the daily cap (when ``cap >= 0``): the sends beyond
       ``max(cap - sent_today[i], 0)``, in column order, dropped, ``counts[2, i]`` = how many,
       and the sends left added to ``sent_today[i]``.
    """
    n, s = layout.shape
    m = notify.shape[1]
    kept = np.empty(s, dtype=layout.dtype)  # a broken row's non-core elements, in slot order
    for i in range(n):
        broken = 0
        if lock:
            for k in range(s):
                e = layout[i, k]
                if core_slot[k]:
                    if e != default[k]:
                        broken += 1
                elif core_element[e]:
                    broken += 1
        if restore and broken:
            # every element stored, the count moved past the non-core ones only: no branch on
            # the element (a broken row's elements are the policy's, often random, and a branch
            # on them mispredicts: the whole pass 15.5 -> 11.4 us on random native actions at
            # N = 200)
            n_kept = 0
            for k in range(s):
                e = layout[i, k]
                kept[n_kept] = e  # (n_kept <= k < s: in bounds; a core element's is overwritten)
                n_kept += not core_element[e]
            taken = 0  # kept elements placed so far
            fill = 0  # the next default slot to draw a filler from
            for k in range(s):
                if core_slot[k]:
                    layout[i, k] = default[k]
                elif taken < n_kept:
                    layout[i, k] = kept[taken]
                    taken += 1
                else:  # the next default free-slot element not among the kept ones (the
                    # scenario check makes the default distinct: enough remain for every slot)
                    while True:
                        while core_slot[fill]:
                            fill += 1
                        e = default[fill]
                        fill += 1
                        shown = False
                        for j in range(n_kept):
                            if kept[j] == e:
                                shown = True
                                break
                        if not shown:
                            break
                    layout[i, k] = e
        counts[0, i] = broken
        if broken:  # (most rows of most steps change nothing: no store into the sums)
            sums[0, segment[i]] += broken
    for i in range(n):
        reverted = 0
        if limit:
            for k in range(s - 1, -1, -1):
                if layout[i, k] == default[k]:
                    continue
                diff = 0.0
                for j in range(s):
                    if layout[i, j] != default[j]:
                        diff += weight[j]
                if not diff / weight_sum > bound:
                    # within the limit: the row is unchanged since, so every later slot's
                    # check would sum the same weights and stop here too
                    break
                for j in range(s):
                    if layout[i, j] == default[k]:
                        layout[i, j] = layout[i, k]
                        break
                layout[i, k] = default[k]
                reverted += 1
        counts[1, i] = reverted
        if reverted:
            sums[1, segment[i]] += reverted
    for i in range(n):
        silenced = 0
        capped = 0
        if quiet:
            for j in range(m):
                if notify[i, j]:
                    notify[i, j] = False
                    silenced += 1
        elif cap >= 0:
            allowed = max(cap - sent_today[i], 0)
            rank = 0
            for j in range(m):
                if notify[i, j]:
                    rank += 1
                    if rank > allowed:
                        notify[i, j] = False
                        capped += 1
            sent_today[i] += rank - capped
        counts[2, i] = capped
        counts[3, i] = silenced
        if capped:
            sums[2, segment[i]] += capped
        if silenced:
            sums[3, segment[i]] += silenced


def make_guardrails(ctx: PolicyContext, guardrails: Any = None,
                    mode: Mode = "project") -> GuardrailLayer:
    """The guardrail layer for a run.

    Args:
        ctx: The run's policy context (its scenario's ``guardrails`` is the default config).
        guardrails: ``None`` for the scenario's config, ``False`` to switch them off, a
            :class:`Guardrails` or a mapping of overrides on top of the scenario's config.
        mode: ``project``, ``strict`` or ``off``.
    """
    base = ctx.scenario.guardrails
    if guardrails is False:
        mode = "off"
    elif isinstance(guardrails, Guardrails):
        base = guardrails
    elif isinstance(guardrails, dict):
        base = Guardrails.model_validate({**base.model_dump(), **guardrails})
    layer = GuardrailLayer(base, mode)
    layer.reset(ctx)
    return layer
