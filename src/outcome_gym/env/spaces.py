"""The environment's native spaces and the conversions between them and the simulator's types.

Observation (a ``Dict`` of ``float32`` ``Box`` arrays, N users; only what a product can observe,
never hidden state):

=============== ========= ===================================================================
key             shape     meaning (previous step unless noted)
=============== ========= ===================================================================
``active``      N         1 while the user has not churned (now)
``session``     N         1 if the user had a session
``minutes``     N         time in app
``clicks``      N x E     engagements per element (capped at 32767, as the simulator logs them)
``delivered``   N x M     notifications delivered
``opened``      N x M     notifications opened
``receptivity`` N         noisy receptivity score for now (unbounded: signal plus N(0, 1))
``events``      N x V     instrumented outcome events now visible (only when V > 0)
``layout``      N x S     layout each user had, as laid-out element indices (see below)
``segment``     N x K     one-hot segment label
``slot``        D         one-hot time slot of the day (now)
``weekday``     7         one-hot weekday, Monday first (now)
=============== ========= ===================================================================

Action (a ``Dict``): ``layout`` is ``MultiDiscrete`` of shape N x S whose values index the L
laid-out elements (``context.layout_elements``; index ``i`` means element
``layout_elements[i]``), so every member of the space is a layout the simulator accepts;
``notify`` is ``MultiBinary`` of shape N x M (send notification column m to user n now; for a
product with no notifications, M = 0, an N x 0 ``int8`` ``Box``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from outcome_gym.errors import ActionError
from outcome_gym.sim._jit import compiled
from outcome_gym.sim._rows import pairwise_sum, row_totals
from outcome_gym.sim.interface import Action, Observation, PolicyContext, _instance

CLICK_CAP = float(np.iinfo(np.int16).max)
N_WEEKDAYS = 7
PER_USER_KEYS = ("active", "session", "minutes", "clicks", "delivered", "opened", "receptivity",
                 "events")
"""The native keys with one row per user, in the order :func:`user_columns` (the summary
encoder's strided writer) and :func:`flat_rows` (the flat encoder's) write them (``events`` only
when the product instruments outcome events)."""
FLAT_KEYS = (*PER_USER_KEYS, "layout", "segment", "slot", "weekday")
"""The native keys in the order :func:`flat_rows` takes their starts in the flat vector."""


def per_user_widths(ctx: PolicyContext) -> tuple[int, ...]:
    """Each of :data:`PER_USER_KEYS`' columns per user: 1, 1, 1, E, M, M, 1, V (``events``: V
    instrumented events, 0 when none).
    """
    e, m = len(ctx.element_ids), ctx.n_pushed
    return (1, 1, 1, e, m, m, 1, len(ctx.instrumented))


def layout_lookup(ctx: PolicyContext) -> np.ndarray:
    """Element index -> laid-out index (``-1`` for elements that cannot be laid out).

    Args:
        ctx: The run's policy context.

    Returns:
        An E array of int64.
    """
    local = np.full(len(ctx.element_ids), -1, dtype=np.int64)
    local[np.asarray(ctx.layout_elements, dtype=np.int64)] = np.arange(
        len(ctx.layout_elements), dtype=np.int64
    )
    return local


def _box(shape: tuple[int, ...], low: float, high: float) -> spaces.Box:
    return spaces.Box(low=low, high=high, shape=shape, dtype=np.float32)


def observation_space(ctx: PolicyContext) -> spaces.Dict:
    """The native observation space of a population (see the module docstring).

    Args:
        ctx: The run's policy context.

    Returns:
        A ``Dict`` of ``float32`` ``Box`` spaces.
    """
    n, s, m = ctx.n_users, ctx.n_slots, ctx.n_pushed
    e, n_lay = len(ctx.element_ids), len(ctx.layout_elements)
    k = len(ctx.scenario.population.segments)
    inf = float(np.inf)
    parts: dict[str, spaces.Space[Any]] = {
        "active": _box((n,), 0.0, 1.0),
        "session": _box((n,), 0.0, 1.0),
        "minutes": _box((n,), 0.0, inf),
        "clicks": _box((n, e), 0.0, CLICK_CAP),
        "delivered": _box((n, m), 0.0, 1.0),
        "opened": _box((n, m), 0.0, 1.0),
        "receptivity": _box((n,), -inf, inf),
        "layout": _box((n, s), 0.0, float(n_lay - 1)),
        "segment": _box((n, k), 0.0, 1.0),
        "slot": _box((ctx.slots_per_day,), 0.0, 1.0),
        "weekday": _box((N_WEEKDAYS,), 0.0, 1.0),
    }
    if ctx.instrumented:
        parts["events"] = _box((n, len(ctx.instrumented)), 0.0, inf)
    return spaces.Dict(parts)


def _one_hot(index: np.ndarray | int, size: int) -> np.ndarray:
    return np.eye(size, dtype=np.float32)[np.asarray(index, dtype=np.int64)]


def encode_observation(
    obs: Observation, ctx: PolicyContext, lookup: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The native observation of an :class:`Observation`: fresh ``float32`` arrays every call.

    Args:
        obs: The simulator's observation.
        ctx: The run's policy context.
        lookup: :func:`layout_lookup` of ``ctx`` (computed when omitted).

    Returns:
        A dict matching :func:`observation_space`.
    """
    return ObservationEncoder(ctx, lookup)(obs)


class ObservationEncoder:
    """:func:`encode_observation` with everything static about the run built once.

    The segment one-hot (N x K), the slot and weekday one-hot tables and the layout lookup never
    change during a run, so an env builds them at construction and each step only converts the
    step's arrays (every returned array is still a fresh ``float32`` array, never a view).

    Args:
        ctx: The run's policy context.
        lookup: :func:`layout_lookup` of ``ctx`` (computed when omitted).
    """

    def __init__(self, ctx: PolicyContext, lookup: np.ndarray | None = None) -> None:
        self.ctx = ctx
        self.lookup = layout_lookup(ctx) if lookup is None else lookup
        # the laid-out indices as float32 (small integers, exact): one gather a step, no astype
        self._lookup32 = self.lookup.astype(np.float32)
        k = len(ctx.scenario.population.segments)
        self._segment = _one_hot(ctx.segment, k)
        self._slots = np.eye(ctx.slots_per_day, dtype=np.float32)
        self._weekdays = np.eye(N_WEEKDAYS, dtype=np.float32)
        # V x N: the visible events' rows gathered for the compiled writers (refilled each call)
        self._events = np.zeros((len(ctx.instrumented), ctx.n_users), dtype=np.int32)

    def write_per_user(self, obs: Observation, out: np.ndarray, at: np.ndarray,
                       stride: np.ndarray) -> None:
        """Write the per-user keys (:data:`PER_USER_KEYS`) of ``obs`` at their ``float32``
        values into ``out`` (1-D, ``float32`` or ``float64``): key c's entry j of user i at
        ``at[c] + i * stride[c] + j`` (:func:`user_columns`).
        """
        user_columns(out, at, stride, obs.active, obs.session, obs.minutes, obs.clicks,
                     obs.delivered, obs.opened, obs.receptivity, self.events(obs))

    def events(self, obs: Observation) -> np.ndarray:
        """The instrumented events now visible as one V x N ``int32`` matrix, in
        ``ctx.instrumented`` order (this encoder's buffer, refilled by each call).
        """
        buf = self._events
        seen = obs.events
        for v, name in enumerate(self.ctx.instrumented):
            buf[v] = seen[name]
        return buf

    def __call__(self, obs: Observation) -> dict[str, np.ndarray]:
        """The native observation of ``obs`` (see :func:`encode_observation`)."""
        # astype copies (a fresh array even where the simulator's is float32 already); what
        # columns() built this call is fresh float32 already
        return {key: a if built else a.astype(np.float32)
                for key, a, built in self.columns(obs)}

    def columns(self, obs: Observation) -> list[tuple[str, np.ndarray, bool]]:
        """Every native key's values before the cast to ``float32``: the one conversion of an
        observation, which :meth:`__call__` casts (the flat and summary encoders write their own:
        ``flat_rows``, ``user_columns``).

        Returns:
            ``(key, array, built)`` in the native dict's order; ``built`` marks a fresh
            ``float32`` array made by this call. The others are NOT copies: the simulator's own
            live arrays (this step's observation, which the simulator keeps and reads) and this
            encoder's static tables (the segment one-hot, and rows of the slot and weekday
            one-hot tables as views). Read them only, and copy what you keep (:meth:`__call__`
            and :class:`FlatEncoder` copy them when casting); writing into one would change the
            simulation or every later observation.
        """
        cols = [
            ("active", obs.active, False),
            ("session", obs.session, False),
            ("minutes", obs.minutes, False),
            ("clicks", obs.clicks, False),
            ("delivered", obs.delivered, False),
            ("opened", obs.opened, False),
            ("receptivity", obs.receptivity, False),
            ("layout", self._lookup32[obs.layout], True),
            ("segment", self._segment, False),
            ("slot", self._slots[obs.slot], False),
            ("weekday", self._weekdays[obs.weekday], False),
        ]
        ctx = self.ctx
        if ctx.instrumented:
            events = np.empty((ctx.n_users, len(ctx.instrumented)), dtype=np.float32)
            for v, name in enumerate(ctx.instrumented):
                events[:, v] = obs.events[name]
            cols.append(("events", events, True))
        return cols


class FlatEncoder:
    """``gymnasium.spaces.flatten(space, encoder(obs))`` without the dict: the same ``float32``
    values written straight into one fresh vector by one compiled pass (:func:`flat_rows`),
    each key at its place in the flattened space.

    Args:
        encoder: The env's native observation encoder.
        space: The native observation space (Gymnasium's ``Dict`` orders its keys; each key is
            flattened in C order).
    """

    def __init__(self, encoder: ObservationEncoder, space: spaces.Dict) -> None:
        self.encoder = encoder
        self.offsets: dict[str, tuple[int, int]] = {}
        start = 0
        for key, sub in space.spaces.items():
            size = int(np.prod(sub.shape))
            self.offsets[key] = (start, start + size)
            start += size
        self.size = start
        # each key's start in the vector, in flat_rows' order (events: an empty block when
        # absent)
        self._at = np.array([self.offsets.get(key, (0, 0))[0] for key in FLAT_KEYS],
                            dtype=np.int64)
        self._segment = encoder._segment

    def __call__(self, obs: Observation) -> np.ndarray:
        """The flattened native observation of ``obs``."""
        out = np.empty(self.size, dtype=np.float32)
        enc = self.encoder
        flat_rows(out, self._at, obs.active, obs.session, obs.minutes, obs.clicks, obs.delivered,
                  obs.opened, obs.receptivity, enc.events(obs), obs.layout, enc._lookup32,
                  self._segment, obs.slot, enc.ctx.slots_per_day, obs.weekday)
        return out


@compiled
def user_columns(out, at, stride, active, session, minutes, clicks, delivered, opened,
                 receptivity, events
                 ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """The native observation's per-user keys at their ``float32`` values, written into ``out``.

    Key c of :data:`PER_USER_KEYS` (``active``, ``session``, ``minutes``: N; ``clicks``: N x E;
    ``delivered``, ``opened``: N x M; ``receptivity``: N; ``events``: given V x N) puts user
    i's entry j at ``out[at[c] + i * stride[c] + j]`` as ``float32(value)`` -- what ``astype``
    gives (booleans 0/1, small integers exact, float32 as it is, int32 counts rounded to
    nearest) -- stored in ``out``'s dtype (a float64 ``out`` holds the float32 value exactly).

    :func:`flat_rows` writes the same keys with the same values, each as one block (stride =
    its width) through views the compiler vectorises; a change of a key or of the conversion
    here is one there too (tests hold each to an independent reference: by hand and the summary
    encoder's tests here, Gymnasium's ``flatten`` there).
    """
    # each key's start and stride as locals: the stores into ``out`` could alias ``at`` and
    # ``stride`` as far as the compiler knows, so reading them in the loop reloads them
    a0, a1, a2, a3, a4, a5, a6, a7 = at[0], at[1], at[2], at[3], at[4], at[5], at[6], at[7]
    s0, s1, s2, s3 = stride[0], stride[1], stride[2], stride[3]
    s4, s5, s6, s7 = stride[4], stride[5], stride[6], stride[7]
    e, m, v_n = clicks.shape[1], delivered.shape[1], events.shape[0]
    for i in range(active.shape[0]):
        out[a0 + i * s0] = np.float32(active[i])
        out[a1 + i * s1] = np.float32(session[i])
        out[a2 + i * s2] = np.float32(minutes[i])
        row = a3 + i * s3
        for j in range(e):
            out[row + j] = np.float32(clicks[i, j])
        row = a4 + i * s4
        for j in range(m):
            out[row + j] = np.float32(delivered[i, j])
        row = a5 + i * s5
        for j in range(m):
            out[row + j] = np.float32(opened[i, j])
        out[a6 + i * s6] = np.float32(receptivity[i])
        row = a7 + i * s7
        for v in range(v_n):
            out[row + v] = np.float32(events[v, i])


@compiled
def flat_rows(out, at, active, session, minutes, clicks, delivered, opened, receptivity, events,
              layout, lookup, segment, slot, n_slots, weekday
              ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """The whole flattened native observation into ``out`` (``float32``): each key of
    :data:`FLAT_KEYS` as one block from its start ``at[c]``, in C order: the per-user keys at
    their ``float32`` values (as :func:`user_columns` gives them; ``events`` given V x N, its
    block N x V), ``layout`` (N x S, each element's laid-out index ``lookup[e]``), the N x K
    segment one-hot (copied), the slot one-hot (``n_slots`` entries, 1 at ``slot``) and the
    weekday one-hot (7 entries, 1 at ``weekday``).

    Each block is written through a view of it (:func:`_put`, :func:`_put_rows`), which the
    compiler vectorises, where :func:`user_columns` (the summary encoder's strided writer of the
    same per-user keys and values: a change there is one here) stores each entry indexed from
    ``out`` itself: the whole flat encoder 9.3-10.9 -> 6.2-6.5 us a call at N = 200 (hot loop).
    """
    _put(out, at[0], active)
    _put(out, at[1], session)
    _put(out, at[2], minutes)
    _put_rows(out, at[3], clicks)
    _put_rows(out, at[4], delivered)
    _put_rows(out, at[5], opened)
    _put(out, at[6], receptivity)
    n_events, n = events.shape
    block = out[at[7]:at[7] + n * n_events].reshape((n, n_events))
    for v in range(n_events):
        for i in range(n):
            block[i, v] = np.float32(events[v, i])
    n, s = layout.shape
    block = out[at[8]:at[8] + n * s].reshape((n, s))
    for i in range(n):
        for k in range(s):
            block[i, k] = lookup[layout[i, k]]
    _put_rows(out, at[9], segment)
    for d in range(n_slots):
        out[at[10] + d] = 1.0 if d == slot else 0.0
    for d in range(N_WEEKDAYS):
        out[at[11] + d] = 1.0 if d == weekday else 0.0


@compiled.inlined
def _put(out, start, x
         ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out[start:start + x.size] = x`` at ``float32`` (``astype``'s values) for a vector
    ``x``, through a view of the block.
    """
    block = out[start:start + x.shape[0]]
    for i in range(x.shape[0]):
        block[i] = np.float32(x[i])


@compiled.inlined
def _put_rows(out, start, x
              ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out[start:start + x.size] = x.ravel()`` at ``float32`` (``astype``'s values) for an
    R x C array ``x``, through an R x C view of the block.
    """
    rows, cols = x.shape
    block = out[start:start + rows * cols].reshape((rows, cols))
    for i in range(rows):
        for j in range(cols):
            block[i, j] = np.float32(x[i, j])


@compiled
def any_true(flags
             ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Whether any entry of the 1-D bool array ``flags`` is True (``np.any``; False when empty):
    the env's ``terminated`` is ``not any_true(obs.active)``.
    """
    for i in range(flags.shape[0]):  # noqa: SIM110 - a loop numba compiles (no generator)
        if flags[i]:
            return True
    return False


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`flat_rows`, :func:`user_columns`,
    :func:`decode_rows` and :func:`any_true` now, with the argument types an env passes
    (read-only observation arrays; see sim.model.compile_kernels), the info's per-segment sums
    (``sim._rows.row_totals``: a record's read-only matrix, and a product's record's two; ~0.3 s
    and ~0.13 s cold, an env's only, so not in a model's warm-up that ``make run`` pays) and
    the reward's mean (``sim._rows.pairwise_sum`` of a float64 vector).
    """
    def ro(a: np.ndarray) -> np.ndarray:
        a.setflags(write=False)
        return a

    one = ro(np.zeros(1, bool))
    args = (np.zeros(8, np.int64), np.zeros(8, np.int64), one, one, ro(np.zeros(1, np.float32)),
            ro(np.zeros((1, 1), np.int16)), ro(np.zeros((1, 1), bool)),
            ro(np.zeros((1, 1), bool)), ro(np.zeros(1, np.float32)),
            np.zeros((1, 1), np.int32))
    for out in (np.zeros(8, np.float32), np.zeros(8)):
        user_columns(out, *args)
    # what Gymnasium's spaces sample: int64 layouts, int8 (MultiBinary) or bool notify
    for notify in (np.zeros((1, 1), np.int8), np.zeros((1, 1), bool)):
        decode_rows(np.zeros((1, 1), np.int64), notify, np.zeros(1, np.int64),
                    np.empty((1, 1), np.int64), np.empty((1, 1), bool))
    flat_rows(np.zeros(32, np.float32), np.zeros(len(FLAT_KEYS), np.int64), *args[2:],
              ro(np.zeros((1, 1), np.int16)), np.zeros(1, np.float32),
              np.zeros((1, 1), np.float32), 0, 1, 0)
    matrix = ro(np.zeros((1, 1)))
    row_totals((matrix,), np.empty(1))
    row_totals((matrix, matrix), np.empty(2))
    pairwise_sum(np.zeros(1), 0, 1)  # the reward's mean (env.mean_reward)
    any_true(one)  # the observation's read-only ``active``


def action_space(ctx: PolicyContext) -> spaces.Dict:
    """The native action space: ``layout`` (laid-out element indices) and ``notify`` (0/1).

    Args:
        ctx: The run's policy context.

    Returns:
        ``Dict(layout=MultiDiscrete(N x S), notify=MultiBinary(N x M))``; for a product with no
        notifications or alerts (M = 0), ``notify`` is an N x 0 ``int8`` ``Box`` instead (what
        :func:`encode_action` returns then; ``MultiBinary`` refuses a zero count).
    """
    n, s, m = ctx.n_users, ctx.n_slots, ctx.n_pushed
    nvec = np.full((n, s), len(ctx.layout_elements), dtype=np.int64)
    notify = spaces.MultiBinary((n, m)) if m else spaces.Box(0, 1, (n, 0), dtype=np.int8)
    return spaces.Dict({"layout": spaces.MultiDiscrete(nvec), "notify": notify})


def encode_action(action: Action, ctx: PolicyContext, lookup: np.ndarray | None = None) -> dict:
    """The native action of a simulator :class:`Action` (the inverse of :func:`decode_action`).

    Args:
        action: An action with element indices in ``layout`` and booleans in ``notify``.
        ctx: The run's policy context.
        lookup: :func:`layout_lookup` of ``ctx`` (computed when omitted).

    Returns:
        ``{"layout": N x S int64 laid-out indices, "notify": N x M int8}``.
    """
    lookup = layout_lookup(ctx) if lookup is None else lookup
    return {
        "layout": lookup[np.asarray(action.layout, dtype=np.int64)],
        "notify": np.asarray(action.notify, dtype=np.int8).copy(),
    }


def decode_action(action: Any, ctx: PolicyContext, where: str = "action") -> Action:
    """Check a native action and turn it into a simulator :class:`Action`.

    Args:
        action: A mapping with ``layout`` (N x S integers in ``[0, L)``) and ``notify`` (N x M of
            0/1 or booleans).
        ctx: The run's policy context.
        where: Who and when, for error messages (e.g. ``"PersonalizationEnv at step 3"``).

    Returns:
        The action with element indices in ``layout`` and booleans in ``notify``.

    Raises:
        ActionError: Wrong type, shape, dtype or range, naming the user and slot (or notification
            column) of the first bad element.
    """
    return ActionDecoder(ctx)(action, where)


class ActionDecoder:
    """:func:`decode_action` with the run's static tables built once (what an env holds).

    Args:
        ctx: The run's policy context.
    """

    def __init__(self, ctx: PolicyContext) -> None:
        self.layout_shape = (ctx.n_users, ctx.n_slots)
        self.notify_shape = (ctx.n_users, ctx.n_pushed)
        self.n_laid_out = len(ctx.layout_elements)
        self._elements = np.asarray(ctx.layout_elements, dtype=np.int64)

    def __call__(self, action: Any, where: str = "action") -> Action:
        """The simulator action of a native ``action`` (see :func:`decode_action`)."""
        if not isinstance(action, Mapping) or len(action) != 2 or "layout" not in action \
                or "notify" not in action:
            got = sorted(action) if isinstance(action, Mapping) else type(action).__name__
            raise ActionError(f"{where}: expected a dict with keys 'layout' and 'notify', "
                              f"got {got}")
        layout, notify = np.asarray(action["layout"]), np.asarray(action["notify"])
        if layout.shape != self.layout_shape or notify.shape != self.notify_shape:
            _check_shape(layout, self.layout_shape, "layout", where)
            _check_shape(notify, self.notify_shape, "notify", where)
        # dtype kinds here (np.issubdtype, without its wrapper); the ranges checked while the
        # action is built, in one compiled pass: only a bad action pays for naming its element
        if layout.dtype.kind in "iu" and notify.dtype.kind in "biu":
            out_layout = np.empty(self.layout_shape, dtype=np.int64)
            out_notify = np.empty(self.notify_shape, dtype=bool)
            if decode_rows(layout, notify, self._elements, out_layout, out_notify):
                # the frozen dataclass's two fields set without its __init__ (fresh arrays)
                return _instance(Action, {"layout": out_layout, "notify": out_notify})
        self._raise_first_error(layout, notify, where)
        raise AssertionError("unreachable")  # pragma: no cover - the line above raised

    def _raise_first_error(self, layout: np.ndarray, notify: np.ndarray, where: str) -> None:
        """Raise the :class:`ActionError` naming what is wrong with an action of the right
        shapes: the layout's dtype, its first element out of range (user, slot), then the
        notify's dtype, its first entry that is not 0 or 1 (user, column).
        """
        n_lay = self.n_laid_out
        if layout.dtype.kind not in "iu":
            raise ActionError(f"{where}: expected an integer layout, got dtype {layout.dtype}")
        if layout.size and (layout.min() < 0 or layout.max() >= n_lay):
            user, slot = np.argwhere((layout < 0) | (layout >= n_lay))[0]
            raise ActionError(
                f"{where}: user {user}, slot {slot}: expected a laid-out element index in "
                f"[0, {n_lay}), got {layout[user, slot]}"
            )
        if notify.dtype.kind not in "biu":
            raise ActionError(f"{where}: expected 0/1 or boolean notify, got dtype "
                              f"{notify.dtype}")
        user, col = np.argwhere((notify != 0) & (notify != 1))[0]
        raise ActionError(f"{where}: user {user}, notification {col}: expected 0 or 1, got "
                          f"{notify[user, col]}")


@compiled
def decode_rows(layout, notify, elements, out_layout, out_notify
                ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """A native action as the simulator's: ``out_layout[i, k] = elements[layout[i, k]]`` (the
    laid-out index as an element index) and ``out_notify[i, j] = notify[i, j] != 0``.

    Returns:
        False as soon as a layout value is not in ``[0, L)`` or a notify value is not 0 or 1
        (the outputs are then partly written); else True.
    """
    n_laid_out = elements.shape[0]
    for i in range(layout.shape[0]):
        for k in range(layout.shape[1]):
            v = layout[i, k]
            if v < 0 or v >= n_laid_out:
                return False
            out_layout[i, k] = elements[v]
    for i in range(notify.shape[0]):
        for j in range(notify.shape[1]):
            b = notify[i, j]
            if b != 0 and b != 1:
                return False
            out_notify[i, j] = b != 0
    return True


def _check_shape(a: np.ndarray, want: tuple[int, ...], name: str, where: str) -> None:
    if a.shape != want:
        raise ActionError(f"{where}: expected {name} of shape {want}, got {a.shape}")

