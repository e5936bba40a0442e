"""Wrappers that let standard RL libraries train out of the box.

* :class:`VariantActions`: the action becomes ``MultiDiscrete`` of length 2G, per chooser a layout
  variant and a notification plan from :mod:`outcome_gym.product.variants` (chooser ``g`` picks
  with elements ``2g`` and ``2g + 1``). A chooser is a user (``per="user"``, G = N), a segment
  (``per="segment"``: everyone in a segment gets the same variant, as a product team ships to a
  segment) or the whole population (``per="all"``);
* observation flattening is Gymnasium's own :class:`gymnasium.wrappers.FlattenObservation`
  (:class:`NativeFlatten`: with the env writing the flat vector itself, the same numbers);
* :class:`SegmentSummary`: the observation becomes one short vector of per-segment means (what a
  product's dashboard shows per target segment) plus the clock and the episode's progress, instead
  of every user's raw arrays (docs/rl.md: why);
* :class:`TargetedOutcomeReward`: the reward counts each instrumented outcome event only for the
  users of the segment whose outcome spec it serves (the env's ``outcome`` objective counts it for
  every user; docs/rl.md: why this matters for RL);
* :func:`make_flat_env` builds them around a :class:`PersonalizationEnv` (the entry point of
  ``outcome_gym/PersonalizationVariants-v0`` and the other variant ids).

:func:`variants_to_action` and :func:`summary_observation` are the same
mappings as plain functions, for policies that replay a trained agent outside the env
(:class:`~outcome_gym.policies.sb3.SB3Policy`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import FlattenObservation

from outcome_gym.env.env import PersonalizationEnv
from outcome_gym.env.spaces import (
    N_WEEKDAYS,
    PER_USER_KEYS,
    FlatEncoder,
    ObservationEncoder,
    encode_action,
    per_user_widths,
)
from outcome_gym.errors import ActionError
from outcome_gym.product.objectives import spec_event
from outcome_gym.product.variants import Variants
from outcome_gym.scenario import Scenario
from outcome_gym.sim.interface import Action, Observation, PolicyContext, _instance

PER = ("user", "segment", "all")
OBSERVATIONS = ("flat", "summary")
REWARDS = ("objective", "targeted")


def choosers(ctx: PolicyContext, per: str = "user") -> tuple[np.ndarray, int]:
    """Which chooser decides for each user, and how many choosers there are.

    Args:
        ctx: The run's policy context.
        per: ``user``, ``segment`` or ``all``.

    Returns:
        N chooser indices and G.
    """
    if per == "user":
        return np.arange(ctx.n_users), ctx.n_users
    if per == "segment":
        return np.asarray(ctx.segment, dtype=np.int64), len(ctx.scenario.population.segments)
    if per == "all":
        return np.zeros(ctx.n_users, dtype=np.int64), 1
    raise ValueError(f"expected per to be one of {PER}, got {per!r}")


def variant_action_space(variants: Variants, n_choosers: int) -> spaces.MultiDiscrete:
    """``MultiDiscrete`` of length 2G: ``[layout_0, plan_0, layout_1, plan_1, ...]``.

    Args:
        variants: The scenario's variant sets.
        n_choosers: G (N users, K segments, or 1).

    Returns:
        The action space.
    """
    return spaces.MultiDiscrete(np.tile([variants.n_layouts, variants.n_notify], n_choosers))


def _cast_choice(a: np.ndarray, n_choosers: int, where: str) -> np.ndarray:
    """A variant action that is not already the 2G ``int64`` indices :meth:`Variants.step_rows
    <outcome_gym.product.variants.Variants.step_rows>` takes (what ``MultiDiscrete`` samples,
    taken as it is by :func:`variants_to_action`), its shape and dtype checked (not its ranges)
    and cast.

    Args:
        a: The variant action as an array (``np.asarray`` of what the agent gave).
        n_choosers: G, the number of choosers (:func:`choosers`).
        where: Who and when, for error messages.

    Returns:
        The 2G indices as a fresh ``int64`` vector.

    Raises:
        ActionError: Wrong shape or a dtype other than integers.
    """
    if a.shape != (2 * n_choosers,):
        raise ActionError(f"{where}: expected a variant action of shape {(2 * n_choosers,)}, "
                          f"got {a.shape}")
    if a.dtype.kind not in "iu":  # np.issubdtype(a.dtype, np.integer), without its wrapper
        raise ActionError(f"{where}: expected integer variant indices, got dtype {a.dtype}")
    return a.astype(np.int64)


_INT64 = np.dtype(np.int64)  # a dtype compares with a dtype without converting a type


def _raise_out_of_range(choice: np.ndarray, variants: Variants, where: str, unit: str) -> None:
    """Raise the :class:`ActionError` of the first chooser with an index out of range (layout
    variants checked before plans).
    """
    pairs = choice.reshape(-1, 2)
    for col, size, what in ((0, variants.n_layouts, "layout variant"),
                            (1, variants.n_notify, "notification plan")):
        bad = (pairs[:, col] < 0) | (pairs[:, col] >= size)
        if bad.any():
            user = int(np.flatnonzero(bad)[0])
            raise ActionError(f"{where}: {unit} {user}: expected a {what} index in [0, {size}), "
                              f"got {pairs[user, col]}")


def variants_to_action(
    action: Any, variants: Variants, ctx: PolicyContext, default_notify: np.ndarray,
    where: str = "action", per: str = "user", groups: tuple[np.ndarray, int] | None = None,
) -> Action:
    """A simulator :class:`Action` (element indices) from a variant action.

    Args:
        action: 2N integers (see :func:`variant_action_space`).
        variants: The scenario's variant sets.
        ctx: The run's policy context.
        default_notify: N x M, the scenario's default schedule at this step.
        where: Who and when, for error messages.
        per: Who chooses: ``user``, ``segment`` or ``all``.
        groups: :func:`choosers` of ``ctx`` and ``per`` (computed when omitted).

    Returns:
        The layouts and sends the chosen variants and plans stand for (fresh arrays).

    Raises:
        ActionError: Wrong shape, dtype, or an index out of range (naming the chooser).
    """
    group, n_groups = choosers(ctx, per) if groups is None else groups
    choice = np.asarray(action)
    if choice.shape != (2 * n_groups,) or choice.dtype != _INT64:  # else taken as it is
        choice = _cast_choice(choice, n_groups, where)
    # the ranges checked and both arrays built in one compiled pass (Variants.step_rows)
    rows = variants.step_rows(choice, group, default_notify)
    if rows is None:
        _raise_out_of_range(choice, variants, where, per)
    assert rows is not None
    # the two fields of a frozen dataclass set without its __init__ (the fresh arrays just built)
    return _instance(Action, {"layout": rows[0], "notify": rows[1]})


def personalization_env(env: gym.Env, wrapper: str) -> PersonalizationEnv:
    """The :class:`PersonalizationEnv` under ``env``'s wrappers, which ``wrapper`` needs.

    Raises:
        TypeError: ``env.unwrapped`` is not a :class:`PersonalizationEnv`.
    """
    base = env.unwrapped
    if not isinstance(base, PersonalizationEnv):
        raise TypeError(f"{wrapper} wraps a PersonalizationEnv, got {type(base).__name__}")
    return base


class VariantActions(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """Per user, pick one of a few named layout variants and notification plans.

    The action space is ``MultiDiscrete`` of length 2N (see :func:`variant_action_space`); the
    variant names are in ``self.variants``. Wraps a :class:`PersonalizationEnv` (possibly already
    wrapped, e.g. by :class:`~gymnasium.wrappers.FlattenObservation`).

    Args:
        env: The environment whose ``unwrapped`` is a :class:`PersonalizationEnv`.
        per: Who chooses a variant: each ``user``, each ``segment`` or ``all`` users together.

    Raises:
        TypeError: ``env.unwrapped`` is not a :class:`PersonalizationEnv`.
    """

    def __init__(self, env: gym.Env, per: str = "user") -> None:
        gym.utils.RecordConstructorArgs.__init__(self, per=per)
        gym.ActionWrapper.__init__(self, env)
        self.base = base = personalization_env(env, "VariantActions")
        self.variants: Variants = base.variants
        self.per = per
        self._groups = choosers(base.context, per)  # static: who decides for whom
        self.action_space = variant_action_space(self.variants, self._groups[1])

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Step with a variant action.

        Directly around the :class:`PersonalizationEnv`, the simulator action goes to the env as
        it is (the native dict :meth:`action` returns decodes to the same action); with another
        wrapper in between, through that wrapper.
        """
        if self.env is self.base:
            # built from the scenario's variant tables (step_rows checked the indices):
            # valid by construction, not re-validated
            return self.base._step_valid(self._simulator_action(action))
        return self.env.step(self.action(action))

    def action(self, action: Any) -> dict[str, np.ndarray]:
        """The native action (laid-out indices, 0/1 sends) for a variant action.

        Args:
            action: 2N integers, per user a layout variant and a notification plan.

        Returns:
            The native action of the wrapped env.

        Raises:
            ActionError: Wrong shape, dtype, or an index out of range (naming the user).
        """
        return encode_action(self._simulator_action(action), self.base.context)

    def _simulator_action(self, action: Any) -> Action:
        """The layouts (element indices) and sends a variant action stands for.

        Raises:
            ActionError: See :meth:`action`.
            ResetNeeded: No episode has started.
        """
        base = self.base
        t = base._require_model().t
        # the env's own schedule (read only): one place says whose schedule it is
        return variants_to_action(action, self.variants, base.context, base._schedule_now(),
                                  f"VariantActions at step {t}", self.per, self._groups)


# Per-user keys the summary averages within each segment, in this order (``events`` last, only
# when the product instruments outcome events).
SUMMARY_KEYS = PER_USER_KEYS[:-1]


def segment_means(ctx: PolicyContext) -> np.ndarray:
    """K x N weights that turn per-user columns into per-segment means (built once per run).

    Args:
        ctx: The run's policy context.

    Returns:
        ``W`` with ``W[k, i] = 1 / n_k`` when user ``i`` is in segment ``k`` (0 otherwise), so
        ``W @ X`` is the K x F table of segment means of an N x F matrix ``X``. A segment with no
        users has a zero row (its means read 0).
    """
    k = len(ctx.scenario.population.segments)
    seg = np.asarray(ctx.segment, dtype=np.int64)
    w = np.zeros((k, ctx.n_users), dtype=np.float64)
    w[seg, np.arange(ctx.n_users)] = 1.0
    counts = w.sum(axis=1, keepdims=True)
    return np.divide(w, counts, out=np.zeros_like(w), where=counts > 0)


def summary_size(ctx: PolicyContext) -> int:
    """Length of :func:`summary_observation`: K x F segment means, D + 7 clock entries, progress."""
    k = len(ctx.scenario.population.segments)
    return k * sum(per_user_widths(ctx)) + ctx.slots_per_day + N_WEEKDAYS + 1


def summary_observation(
    native: dict[str, np.ndarray], ctx: PolicyContext, step: int, weights: np.ndarray
) -> np.ndarray:
    """The summary vector of a native observation (see :class:`SegmentSummary`).

    Args:
        native: A native observation (:func:`~outcome_gym.env.spaces.encode_observation`).
        ctx: The run's policy context.
        step: The clock's step now (``0 .. n_steps``), for the episode's progress.
        weights: :func:`segment_means` of ``ctx``.

    Returns:
        ``float32`` of length :func:`summary_size`: segment-major means of ``active``,
        ``session``, ``minutes``, ``clicks`` (E), ``delivered`` (M), ``opened`` (M),
        ``receptivity``, ``events`` (V), then the slot and weekday one-hots and
        ``step / n_steps``.
    """
    cols = [native[key] for key in SUMMARY_KEYS]
    if ctx.instrumented:
        cols.append(native["events"])
    return summarize(cols, native["slot"], native["weekday"], step / max(ctx.n_steps, 1),
                     weights)


def summarize(cols: list[np.ndarray], slot: np.ndarray, weekday: np.ndarray, progress: float,
              weights: np.ndarray) -> np.ndarray:
    """The summary vector of per-user columns (:func:`summary_observation`).

    Args:
        cols: The per-user columns in :data:`SUMMARY_KEYS` order (then ``events``), N or N x F_j
            each, of values a ``float32`` holds exactly (the native observation's).
        slot, weekday: The clock's one-hots (``float32``).
        progress: ``step / n_steps``.
        weights: :func:`segment_means` (K x N).

    Returns:
        ``float32``: the K x F segment means row by row, the one-hots, the progress.
    """
    n = weights.shape[1]
    per_user = np.concatenate([c.reshape(n, -1) for c in cols], axis=1, dtype=np.float64)
    return summary_of(per_user, slot, weekday, progress, weights)


def summary_of(per_user: np.ndarray, slot: np.ndarray, weekday: np.ndarray, progress: float,
               weights: np.ndarray) -> np.ndarray:
    """The one computation of the summary vector from the N x F ``float64`` per-user matrix
    (:func:`summarize`, :class:`SummaryEncoder`): the K x F segment means ``weights @
    per_user`` rounded to ``float32`` row by row, then the one-hots and the progress.
    """
    means = weights @ per_user  # K x F
    kf, d = means.size, slot.shape[0]
    out = np.empty(kf + d + weekday.shape[0] + 1, dtype=np.float32)
    out[:kf] = means.ravel()  # rounded to float32 as astype would
    out[kf:kf + d] = slot
    out[kf + d:-1] = weekday
    out[-1] = progress
    return out


class SummaryEncoder:
    """The summary vector straight from the simulator's :class:`Observation`.

    The same numbers as :func:`summary_observation` of the native observation (the same
    :func:`summary_of`, of the per-user columns at the native observation's float32 values,
    written by one compiled pass: :meth:`ObservationEncoder.write_per_user
    <outcome_gym.env.spaces.ObservationEncoder.write_per_user>`), without building the native
    arrays it would read once and drop. A :class:`SegmentSummary` lends it to its
    :class:`PersonalizationEnv` for each step and reset (see :class:`_EncodedByTheEnv`).

    Args:
        native: The env's native observation encoder.
        weights: :func:`segment_means` of its context.
    """

    def __init__(self, native: ObservationEncoder, weights: np.ndarray) -> None:
        ctx = native.ctx
        self.native = native
        self.weights = weights
        widths = per_user_widths(ctx)
        width = sum(widths)
        self._per_user = np.empty((ctx.n_users, width))  # scratch, every step
        self._flat = self._per_user.reshape(-1)  # the same memory, as user_columns writes it
        # each key's first column (SUMMARY_KEYS, then events); every key a row `width` long
        self._at = np.cumsum((0, *widths[:-1]), dtype=np.int64)
        self._stride = np.full(len(self._at), width, dtype=np.int64)
        self._progress_scale = max(ctx.n_steps, 1)

    def __call__(self, obs: Observation) -> np.ndarray:
        """The summary vector of ``obs`` (the clock's step ``obs.step``)."""
        native = self.native
        native.write_per_user(obs, self._flat, self._at, self._stride)
        return summary_of(self._per_user, native._slots[obs.slot], native._weekdays[obs.weekday],
                          obs.step / self._progress_scale, self.weights)


class _EncodedByTheEnv:
    """For an observation wrapper over a :class:`PersonalizationEnv` whose observation is a
    function of the simulator's: in its own :meth:`step` and :meth:`reset` it lends the env
    ``_env_encoder`` (``PersonalizationEnv._encode_with``), so the env returns the wrapper's
    observation itself, and the native arrays it would only read once are never built. Only for
    the call: the env stepped directly (or checked with Gymnasium's ``check_env``) returns its
    native observation.

    Only when every wrapper between this one and the env hands the observation up unchanged
    (:data:`_PASS_THROUGH`: this package's action and reward wrappers): any other wrapper there
    (Gymnasium's ``PassiveEnvChecker`` that ``gym.make`` adds, a user's own observation wrapper)
    is given the native dict and this wrapper's ``observation`` maps what it returns (the plain
    path; ``_env_encoder`` is then ``None``).
    """

    base: PersonalizationEnv
    env: gym.Env
    _env_encoder: Any
    observation: Callable[[Any], Any]  # the wrapper's own, of what the wrapped env returns

    def _lend_if_safe(self, make: Callable[[], Any]) -> None:
        """Set ``_env_encoder`` to ``make()`` when the env's own observation reaches this
        wrapper unchanged, else to ``None`` (``make`` not called: it may not fit the wrapped
        env's observation space).
        """
        self._env_encoder = make() if _passes_observation_through(self.env, self.base) else None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[Any, dict[str, Any]]:
        """Reset the env, which returns this wrapper's observation for this call (when lent)."""
        encoder = self._env_encoder
        if encoder is None:
            obs, info = self.env.reset(seed=seed, options=options)
            return self.observation(obs), info
        base = self.base
        base._encode_with(encoder)
        try:
            obs, info = self.env.reset(seed=seed, options=options)
        finally:
            base._encode_with(None)
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Step the env, which returns this wrapper's observation for this call (when lent)."""
        encoder = self._env_encoder
        if encoder is None:
            obs, reward, terminated, truncated, info = self.env.step(action)
            return self.observation(obs), reward, terminated, truncated, info
        base = self.base
        base._encode_with(encoder)
        try:
            return self.env.step(action)
        finally:
            base._encode_with(None)


def _passes_observation_through(env: gym.Env, base: PersonalizationEnv) -> bool:
    """Whether every wrapper from ``env`` down to ``base`` is one that returns the observation
    it is given, unchanged, from both ``reset`` and ``step`` (exactly one of :data:`_PASS_THROUGH`:
    a subclass may override either).
    """
    while env is not base:
        if type(env) not in _PASS_THROUGH:
            return False
        env = env.env  # a wrapper: its unwrapped is base, further down
    return True


class SegmentSummary(_EncodedByTheEnv, gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Observe per-segment means, the clock and the episode's progress instead of every user.

    The native observation holds every user's arrays (6,611 numbers for 200 users of
    ``productivity_tool``). An agent that chooses one variant per segment (or for everyone) cannot
    act on one user's row, and a network over thousands of noisy inputs learns slowly. The summary
    keeps what a product's dashboard shows per target segment (the
    share still active, sessions, minutes, clicks per element, notifications delivered and opened,
    mean receptivity, the outcome events seen) and adds ``step / n_steps``, so the value function
    can tell how much of the episode is left (without it the time limit makes the state
    non-Markov). Nothing hidden is added: every entry is a mean of the native observation.

    Wraps a :class:`PersonalizationEnv` with its native ``Dict`` observation (possibly with
    other wrappers around it). With only :class:`VariantActions` and
    :class:`TargetedOutcomeReward` in between, in its own :meth:`step` and :meth:`reset` it has
    that env return the summary itself (:class:`SummaryEncoder`: the same numbers, without the
    native arrays it would only average; see :class:`_EncodedByTheEnv`); otherwise
    :meth:`observation` summarises the native observation it is given.

    Args:
        env: The environment whose ``unwrapped`` is a :class:`PersonalizationEnv`.

    Raises:
        TypeError: ``env.unwrapped`` is not a :class:`PersonalizationEnv`.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        self.base = base = personalization_env(env, "SegmentSummary")
        self.weights = segment_means(base.context)
        size = summary_size(base.context)
        # means of bounded and unbounded entries (minutes, receptivity, events) alike
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)
        self._lend_if_safe(lambda: SummaryEncoder(base._native_encoder, self.weights))

    def observation(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """The summary vector of a native observation (at the env's current step)."""
        return summary_observation(observation, self.base.context, self.base.model.t,
                                   self.weights)


class NativeFlatten(_EncodedByTheEnv, FlattenObservation):
    """Gymnasium's :class:`~gymnasium.wrappers.FlattenObservation` of a
    :class:`PersonalizationEnv`'s observation (possibly with other wrappers around it). With
    only :class:`VariantActions` and :class:`TargetedOutcomeReward` in between, the env writes
    the flat vector itself in this wrapper's :meth:`step` and :meth:`reset`
    (:class:`~outcome_gym.env.spaces.FlatEncoder`: the same numbers as ``spaces.flatten`` of the
    native observation, without its per-key copies; see :class:`_EncodedByTheEnv`); otherwise
    Gymnasium's ``observation`` flattens what the wrapped env returns.

    Args:
        env: The environment whose ``unwrapped`` is a :class:`PersonalizationEnv`.

    Raises:
        TypeError: ``env.unwrapped`` is not a :class:`PersonalizationEnv`.
    """

    def __init__(self, env: gym.Env) -> None:
        FlattenObservation.__init__(self, env)
        self.base = base = personalization_env(env, "NativeFlatten")
        self._lend_if_safe(lambda: FlatEncoder(base._native_encoder, env.observation_space))


def targeted_weights(ctx: PolicyContext) -> np.ndarray:
    """N x V reward weights: +1 (or -1 for ``failed``) where user i is in the segment of an
    outcome spec whose metric instrumented event v moves, 0 elsewhere.

    Args:
        ctx: The run's policy context.

    Returns:
        float64 N x V (V = ``len(ctx.instrumented)``); several specs of one segment that share an
        event count it once, as the ``outcome`` objective does.
    """
    seg_ids = [s.id for s in ctx.scenario.population.segments]
    seg = np.asarray(ctx.segment, dtype=np.int64)
    w = np.zeros((ctx.n_users, len(ctx.instrumented)), dtype=np.float64)
    for spec in ctx.scenario.outcomes:
        event, weight = spec_event(spec)
        if event not in ctx.instrumented:
            continue  # an outcome the product does not instrument cannot be rewarded
        users = seg == seg_ids.index(spec.segment)
        w[users, ctx.instrumented.index(event)] = weight
    return w


class TargetedOutcomeReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Reward the outcome events of the segments the outcome specs name, and no others.

    The ``outcome`` objective (:mod:`outcome_gym.product.objectives`) adds +1 for an instrumented
    event behind any outcome spec, whoever had it: in ``productivity_tool`` the newcomers' practice
    spec makes every professional's practice count as much as a professional's on-time task, so an
    agent maximising it promotes ``tips`` for the professionals and lowers their on-time completions
    (docs/rl.md: measured). This wrapper keeps the same events, weights and delays but credits an
    event only to users of the segment of a spec that uses it (the segment is a label the product
    knows): ``reward = mean_i sum_v W[i, v] * events[i, v]`` with ``W`` from
    :func:`targeted_weights`. Nothing hidden is used.

    Args:
        env: An environment whose ``unwrapped`` is a :class:`PersonalizationEnv`.

    Raises:
        TypeError: ``env.unwrapped`` is not a :class:`PersonalizationEnv`.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        self.base = base = personalization_env(env, "TargetedOutcomeReward")
        self.weights = targeted_weights(base.context)
        self._events = np.zeros_like(self.weights)  # reused every step

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Step the env and replace its reward with the targeted outcome reward."""
        obs, _, terminated, truncated, info = self.env.step(action)
        record = self.base.last_record
        assert record is not None  # a step just ran
        events = record.feedback.events
        for v, name in enumerate(self.base.context.instrumented):
            self._events[:, v] = events[name]
        reward = float(np.einsum("nv,nv->", self.weights, self._events) / self.base.context.n_users)
        return obs, reward, terminated, truncated, info


_PASS_THROUGH: frozenset[type] = frozenset({VariantActions, TargetedOutcomeReward})
"""The wrappers that hand the env's observation up unchanged (``reset`` as Gymnasium's, ``step``
returning the wrapped env's): an observation wrapper above only these may lend the env its
encoder (:class:`_EncodedByTheEnv`)."""


def make_flat_env(
    scenario: str | Path | Scenario = "productivity_tool",
    objective: str = "outcome",
    *,
    variants: bool = True,
    per: str = "user",
    observation: str = "flat",
    reward: str = "objective",
    **env_kwargs: Any,
) -> gym.Env:
    """A :class:`PersonalizationEnv` with a flat observation and (by default) variant actions.

    Args:
        scenario: A bundled scenario name, a path, or a :class:`Scenario`.
        objective: ``engagement``, ``outcome`` or ``mixed``.
        variants: Wrap with :class:`VariantActions` (``MultiDiscrete`` actions, what SB3 needs).
        per: Who chooses a variant (see :class:`VariantActions`).
        observation: ``flat`` (every user's arrays, flattened) or ``summary`` (per-segment means
            and the clock, :class:`SegmentSummary`).
        reward: ``objective`` (the env's objective) or ``targeted`` (only with objective
            ``outcome``: :class:`TargetedOutcomeReward`).
        **env_kwargs: Further :class:`PersonalizationEnv` arguments (``objective_params``,
            ``population``, ``horizon_days``, ``guardrails``, ``guardrail_mode``).

    Returns:
        ``NativeFlatten(VariantActions(PersonalizationEnv(...)))`` (a ``FlattenObservation``), or
        ``SegmentSummary(VariantActions(PersonalizationEnv(...)))`` for the summary.

    Raises:
        ValueError: An unknown ``observation`` or ``reward``, or ``targeted`` with another
            objective.
    """
    if observation not in OBSERVATIONS:
        raise ValueError(f"expected observation to be one of {OBSERVATIONS}, got {observation!r}")
    if reward not in REWARDS:
        raise ValueError(f"expected reward to be one of {REWARDS}, got {reward!r}")
    if reward == "targeted" and objective != "outcome":
        raise ValueError(f"reward 'targeted' re-weights the outcome objective's events; got "
                         f"objective {objective!r}")
    env: gym.Env = PersonalizationEnv(scenario, objective, **env_kwargs)
    if reward == "targeted":
        env = TargetedOutcomeReward(env)
    if variants:
        env = VariantActions(env, per=per)
    return SegmentSummary(env) if observation == "summary" else NativeFlatten(env)
