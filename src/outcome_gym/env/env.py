"""``PersonalizationEnv``: one synthetic population as a Gymnasium environment.

The run loop of :func:`outcome_gym.runner.run` with the policy outside: ``reset`` builds a fresh
:class:`~outcome_gym.product.Product` (a model from the env's ``np_random``, on the compiled world
the env built once, :class:`~outcome_gym.sim.model.Prebuilt`; the env's one guardrail layer,
restarted: its tables are the scenario's and the settings', the same for every seed; rebuilt
when ``guardrails`` or ``guardrail_mode`` changed, which each reset reads);
``step`` decodes the native action and hands it to ``Product.step`` (validate -> guard -> advance).

* reward: the mean over all N users of the objective's per-user reward (churned users count 0);
* terminated: every user has churned; truncated: the scenario's horizon is reached;
* info: the step record's per-segment metrics summed over segments, as plain floats (the
  ``guardrail_<kind>`` entries count what the guardrail layer changed), plus the clock.

Seeding follows Gymnasium: ``reset(seed=s)`` reseeds ``np_random``, and each reset draws the
model's integer seed from it, so ``reset(seed=s)`` then ``reset()`` gives a reproducible sequence of
distinct populations. ``reset(options={"model_seed": k})`` runs the population that
``outcome_gym.runner.run(scenario, seed=k)`` would (common random numbers with the runner).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.error import ResetNeeded

from outcome_gym.env.spaces import (
    ActionDecoder,
    ObservationEncoder,
    action_space,
    any_true,
    layout_lookup,
    observation_space,
)
from outcome_gym.product import Product
from outcome_gym.product.guardrails import GuardrailLayer, Mode
from outcome_gym.product.objectives import make_objective
from outcome_gym.product.variants import Variants, build_variants
from outcome_gym.scenario import Scenario, load_scenario
from outcome_gym.scenario.overrides import size_overrides, with_overrides
from outcome_gym.scenario.schema import WEEKDAYS
from outcome_gym.sim._rows import pairwise_sum
from outcome_gym.sim.interface import (
    Action,
    Observation,
    PolicyContext,
    StepRecord,
    row_sums,
)
from outcome_gym.sim.model import Prebuilt, SimulationModel

MAX_MODEL_SEED = 2**63 - 1
_NOT_STARTED = "call reset() before step()"


def resolve_scenario(
    scenario: str | Path | Scenario,
    population: int | None = None,
    horizon_days: int | None = None,
) -> Scenario:
    """A scenario from a bundled name, a path or an object, with optional overrides.

    Args:
        scenario: A bundled scenario name, a path to a scenario file, or a :class:`Scenario`.
        population: Replaces ``population.size`` (small populations train faster).
        horizon_days: Replaces ``clock.horizon_days``.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: The file cannot be read, or an override breaks the schema.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return with_overrides(sc, size_overrides(population, horizon_days),
                          file=f"<scenario '{sc.name}' with env overrides>")


class PersonalizationEnv(gym.Env[dict[str, np.ndarray], dict[str, np.ndarray]]):
    """A population of synthetic users under a personalization policy that is the agent.

    Args:
        scenario: A bundled scenario name, a path to a scenario file, or a :class:`Scenario`.
        objective: ``engagement``, ``outcome`` or ``mixed`` (or any registered objective).
        objective_params: Parameters of the objective, e.g. ``{"weight": 0.5}`` for ``mixed``.
        population: Override of ``population.size``.
        horizon_days: Override of ``clock.horizon_days``.
        guardrails: ``None`` for the scenario's guardrails, ``False`` to switch them off, or
            overrides (a mapping or a ``Guardrails``).
        guardrail_mode: ``project`` (correct and count) or ``strict`` (raise ``ActionError`` on
            the first violation). Both are attributes of the env, read at each reset.
        render_mode: ``None``, ``"ansi"`` (:meth:`render` returns a text frame: the clock, each
            segment's engagement and goal progress so far, the layout most users see) or
            ``"rgb_array"`` (an H x W x 3 image: one row of coloured slots per user, up to 64
            users, by the element laid out there; users who churned are grey).

    Raises:
        ScenarioError: The scenario cannot be loaded or an override is invalid.
        PolicyError: Unknown objective or bad objective parameters.
        ValueError: An unknown ``render_mode``.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 - Gymnasium's class attribute
        "render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        scenario: str | Path | Scenario = "productivity_tool",
        objective: str = "outcome",
        objective_params: dict[str, Any] | None = None,
        population: int | None = None,
        horizon_days: int | None = None,
        guardrails: Any = None,
        guardrail_mode: Mode = "project",
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"expected render_mode None or one of "
                             f"{self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.scenario = resolve_scenario(scenario, population, horizon_days)
        self.objective = objective
        self.objective_params = dict(objective_params or {})
        self.guardrails = guardrails
        self.guardrail_mode = guardrail_mode
        # the compiled world and its arrays, and the guardrail layer, the same for every
        # episode's product (see _new_product)
        self._built: Prebuilt | None = None
        self._guardrail_layer: GuardrailLayer | None = None
        self._guardrail_settings: tuple[Any, Mode] | None = None  # the layer's, as they were
        # Segments are allocated deterministically, so any seed's context is every seed's context;
        # building the product once also checks the guardrail overrides (fail fast).
        self.context: PolicyContext = self._new_product(0).context
        make_objective(objective, self.context, **self.objective_params)  # fail fast
        self._lookup = layout_lookup(self.context)
        # the static parts of every observation (segment one-hot, clock tables), built once
        self._native = ObservationEncoder(self.context, self._lookup)
        self._encoder: Callable[[Observation], Any] = self._native
        self._decoder = ActionDecoder(self.context)
        self._variants: Variants | None = None
        self.observation_space = observation_space(self.context)
        self.action_space = action_space(self.context)
        self._product: Product | None = None
        self._objective: Any = None
        self._ended = False
        self.model_seed: int | None = None
        self.last_record: StepRecord | None = None

    # --- Gymnasium API ----------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Start a new episode with a fresh population.

        Args:
            seed: Reseeds ``np_random`` (Gymnasium convention); the model's seed is drawn from it.
            options: ``{"model_seed": k}`` runs the population of runner seed ``k`` instead.

        Returns:
            The first observation (the native dict; within a call of an observation wrapper that
            lent its encoder, see :meth:`_encode_with`, that wrapper's observation) and an info
            dict with the clock and ``model_seed``.
        """
        super().reset(seed=seed)
        options = dict(options or {})
        model_seed = options.pop("model_seed", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; known: ['model_seed']")
        if model_seed is None:
            model_seed = int(self.np_random.integers(0, MAX_MODEL_SEED))
        self.model_seed = int(model_seed)
        self._product = product = self._new_product(self.model_seed)
        self._objective = make_objective(self.objective, product.context, **self.objective_params)
        self._ended = False
        self.last_record = None
        obs = product.observe()
        return self._encoder(obs), {**self._clock(obs), "model_seed": self.model_seed}

    def step(
        self, action: dict[str, np.ndarray]
    ) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Apply ``action`` for every user for one time slot.

        Args:
            action: ``{"layout": N x S laid-out element indices, "notify": N x M 0/1}``.

        Returns:
            Observation (as :meth:`reset` returns it), mean per-user reward, terminated,
            truncated, info.

        Raises:
            ActionError: The action has the wrong type, shape, dtype or an out-of-range element
                (naming the user and slot), or breaks a guardrail in ``strict`` mode.
            ResetNeeded: The episode has not started or has ended.
        """
        product = self._require_started()
        where = f"{type(self).__name__} at step {product.model.t}"
        decoded = self._decoder(action, where)
        # decode_action checked shapes and ranges and mapped to laid-out elements: the product
        # need not validate the simulator action again
        return self._advance(product, decoded, valid=True)

    def step_action(self, action: Action) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """:meth:`step` with a simulator :class:`Action` (element indices, booleans) instead of
        the native dict, skipping the native encoding and :func:`decode_action`; the product
        validates ``action`` (:meth:`Product.step <outcome_gym.product.Product.step>`).

        Args:
            action: What every user is to see (before guardrails).

        Raises:
            ActionError: See :meth:`step`.
            ResetNeeded: The episode has not started or has ended.
        """
        return self._advance(self._require_started(), action)

    def _step_valid(self, action: Action) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """:meth:`step_action` of an action valid by construction, not validated again.

        Only for this package's wrappers that build the action from the scenario's own tables
        (:class:`~outcome_gym.env.wrappers.VariantActions`): an invalid action here would reach
        the guardrails' and the simulator's unchecked indexing. Its arrays must be fresh
        (``int64`` layout, ``bool`` sends) and kept by nobody else: the guardrails project
        them in place.

        Raises:
            ActionError: The action breaks a guardrail in ``strict`` mode.
            ResetNeeded: The episode has not started or has ended.
        """
        return self._advance(self._require_started(), action, valid=True)

    def render(self) -> str | np.ndarray | None:  # type: ignore[override]
        """The current state as ``render_mode`` asks (``None`` without a render mode).

        Raises:
            ResetNeeded: No episode has started.
        """
        if self.render_mode is None:
            gym.logger.warn("render() without a render_mode; pass render_mode='ansi' or "
                            "'rgb_array' to the environment")
            return None
        model = self._require_model()
        return render_ansi(model) if self.render_mode == "ansi" else render_rgb(model)

    # --- helpers for wrappers and policies ------------------------------------------------

    @property
    def variants(self) -> Variants:
        """The scenario's named layout variants and notification plans."""
        if self._variants is None:
            self._variants = build_variants(self.context)
        return self._variants

    @property
    def model(self) -> SimulationModel:
        """The current episode's simulation model (read it, do not step it)."""
        return self._require_model()

    def default_notify(self) -> np.ndarray:
        """N x M booleans: the scenario's default notification schedule at the current step."""
        return self._schedule_now().copy()

    def _schedule_now(self) -> np.ndarray:
        """:meth:`default_notify`, read-only and shared by every episode (``World.schedule_at``:
        the env's users are its world's whole population; read it, do not keep it).
        """
        m = self._require_model()
        return m.world.schedule_at(m.t)

    def layout_index(self, layout: np.ndarray) -> np.ndarray:
        """Element indices -> the laid-out indices the action space uses.

        Args:
            layout: Element indices (any shape), all laid-out elements.

        Returns:
            The same shape of int64 indices into ``context.layout_elements``.
        """
        return self._lookup[np.asarray(layout, dtype=np.int64)]

    # --- internals ---------------------------------------------------------------------------

    def _new_product(self, seed: int) -> Product:
        """A product of :attr:`scenario` and ``seed`` on what every episode's product shares
        whatever its seed, built once: the compiled world and the arrays the passes read
        (:class:`~outcome_gym.sim.model.Prebuilt`; the product then builds only what its seed
        draws, and runs as one built from the scenario does), and the guardrail layer (its
        tables are the scenario's and its settings'; each product restarts it). Both are rebuilt
        if :attr:`scenario` was replaced, the layer also if :attr:`guardrails` or
        :attr:`guardrail_mode` changed (even in place): each reset reads them.
        """
        if self._built is None or self._built.scenario is not self.scenario:
            self._built, self._guardrail_layer = Prebuilt.of(self.scenario), None
        settings = (self.guardrails, self.guardrail_mode)
        if self._guardrail_layer is not None and settings == self._guardrail_settings:
            return Product(self._built, seed, guardrails=self._guardrail_layer)
        product = Product(self._built, seed, guardrails=self.guardrails,
                          guardrail_mode=self.guardrail_mode)
        # a copy: overrides changed in place then compare unequal
        self._guardrail_layer, self._guardrail_settings = product.guardrails, copy.deepcopy(settings)
        return product

    # no nested call between them: both run every step (the wrappers', the env's)
    def _require_model(self) -> SimulationModel:
        product = self._product
        if product is None:
            raise ResetNeeded(_NOT_STARTED)
        return product.model

    def _require_started(self) -> Product:
        product = self._product
        if product is None:
            raise ResetNeeded(_NOT_STARTED)
        if self._ended:
            raise ResetNeeded("the episode has ended; call reset() before step()")
        return product

    @property
    def _native_encoder(self) -> ObservationEncoder:
        """The encoder of the native observation (what :meth:`step` returns by default)."""
        return self._native

    def _encode_with(self, encoder: Callable[[Observation], Any] | None) -> None:
        """Have :meth:`reset` and :meth:`step` return ``encoder(observation)`` of the simulator's
        observation instead of the native dict (``None``: the native dict again).

        Private: the env then returns something other than its ``observation_space``. Only for
        this package's observation wrappers that replace the whole observation with a function
        of it (:class:`~outcome_gym.env.wrappers.SegmentSummary`,
        :class:`~outcome_gym.env.wrappers.NativeFlatten`), and only when nothing between them and
        this env reads the observation: around their own call down to this env they set their
        encoder, and restore ``None`` after, so the native arrays they would read once and drop
        are never built, while this env called directly still returns what its
        ``observation_space`` says.
        """
        self._encoder = self._native if encoder is None else encoder

    def _advance(
        self, product: Product, action: Action, valid: bool = False
    ) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """One step of ``product`` (the episode's, started) under ``action``: validated by the
        product unless ``valid`` (built valid).
        """
        if valid:  # built here or by a wrapper of this package: fresh arrays, projected in place
            record = product._step_valid(action, own=True).record
        else:
            record = product.step(action, who=type(self).__name__).record
        self.last_record = record
        reward = mean_reward(self._objective(record.feedback))
        obs = product.observe()
        # every user churned (one compiled call: np.logical_or.reduce cost ~1 us more)
        terminated = not any_true(obs.active)
        truncated = product.done and not terminated
        self._ended = terminated or truncated
        return self._encoder(obs), reward, terminated, truncated, self._info(record)

    @staticmethod
    def _clock(obs: Observation) -> dict[str, Any]:
        return {"step": obs.step, "day": obs.day, "slot": obs.slot, "weekday": obs.weekday}

    @staticmethod
    def _info(record: StepRecord) -> StepInfo:
        info = StepInfo(step=record.step, day=record.day, slot=record.slot,
                        weekday=record.weekday)
        # every metric has K per-segment values (StepRecord): summed as rows of the matrices
        # the record holds them in (the same sums as per metric), into the info after the clock
        row_sums(record.segment_metrics, info)
        return info


_ATOMIC = frozenset({float, int, bool, str, type(None)})
_FLOAT64 = np.dtype(np.float64)  # a dtype compares with a dtype without converting a type


class StepInfo(dict):  # type: ignore[type-arg]
    """The info :meth:`PersonalizationEnv.step` returns: a ``dict`` of numbers (the clock and
    the metrics' totals), whose deep copy does not recurse into its numbers.

    Stable-Baselines3's ``DummyVecEnv`` deep-copies every step's infos; for ~50 float entries
    ``copy.deepcopy`` of a plain dict took ~22 us a step (about 0.45 s of a 20k-step PPO run),
    this one ~6 us. Entries added later that are not numbers or strings (a ``Monitor``'s
    ``episode`` dict) are deep-copied as usual.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> StepInfo:
        atomic = _ATOMIC
        return StepInfo({key: value if type(value) in atomic else copy.deepcopy(value, memo)
                         for key, value in self.items()})


def mean_reward(rewards: Any) -> float:
    """``float(np.mean(rewards))``: the env's reward, the mean of the per-user rewards.

    For a non-empty, writable, C-contiguous 1-D float64 array (what the built-in objectives
    return) it is computed as ``np.mean`` does it -- numpy's pairwise sum from the identity,
    divided by N -- by one compiled call (:func:`~outcome_gym.sim._rows.pairwise_sum`: the same
    bits); anything else goes through ``np.mean`` itself. In a step, ``np.add.reduce`` of the
    200 rewards cost ~5 us (numpy's reduction set-up on cold caches), the compiled sum ~2 us.
    """
    # carray (C-contiguous and writable): a read-only or strided vector would compile the pass
    # a second signature on first use; such rewards are rare (custom objectives), np.mean serves
    if type(rewards) is np.ndarray and rewards.dtype == _FLOAT64 and rewards.ndim == 1 \
            and rewards.flags.carray and rewards.shape[0]:
        n = rewards.shape[0]
        # float(): the pass's plain-Python body (NUMBA_DISABLE_JIT=1) returns np.float64
        return float((0.0 + pairwise_sum(rewards, 0, n)) / n)
    return float(np.mean(rewards))


RENDER_USERS = 64
CELL = 6


def render_ansi(model: SimulationModel) -> str:
    """A short text frame: clock, per-segment engagement and progress so far, the common layout."""
    w = model.world
    t = min(model.t, w.n_steps - 1)
    day, slot, weekday = w.time_of(t)
    when = (f"step {model.t}/{w.n_steps}  day {day + 1}/{w.n_steps // w.slots_per_day} "
            f"({WEEKDAYS[weekday].capitalize()})  slot {slot + 1}/{w.slots_per_day}")
    lines = [f"{model.scenario.name}  {when}" + ("  (over)" if model.done else "")]
    lines.append(f"{'segment':<14}{'active':>9}{'sessions':>10}{'clicks':>8}{'minutes':>9}"
                 f"{'progress':>10}   per user so far")
    seg, k = model.pop.segment, len(w.segment_ids)
    n_seg = np.bincount(seg, minlength=k)
    active = np.bincount(seg, weights=model.pop.active, minlength=k)

    def mean(name: str) -> np.ndarray:
        total = model.totals.get(name)
        if total is None:
            return np.zeros(k)
        return np.bincount(seg, weights=total, minlength=k) / np.maximum(n_seg, 1)

    cols = [mean(n) for n in ("sessions", "clicks", "minutes", "goal_progress")]
    for i, name in enumerate(w.segment_ids):
        lines.append(f"{name:<14}{f'{int(active[i])}/{n_seg[i]}':>9}{cols[0][i]:>10.1f}"
                     f"{cols[1][i]:>8.1f}{cols[2][i]:>9.0f}{cols[3][i]:>10.2f}")
    layouts, counts = np.unique(np.asarray(model.recorder.last.layout), axis=0,
                                return_counts=True)
    top = layouts[int(np.argmax(counts))]
    share = counts.max() / max(counts.sum(), 1)
    lines.append(f"layout of {share:.0%} of users: " + " | ".join(w.element_ids[e] for e in top))
    return "\n".join(lines) + "\n"


def render_rgb(model: SimulationModel) -> np.ndarray:
    """An image of the layouts: one row per user (up to 64), one coloured cell per slot."""
    layout = np.asarray(model.recorder.last.layout)[:RENDER_USERS]
    active = np.asarray(model.pop.active)[:RENDER_USERS]
    n_el = len(model.world.element_ids)
    hues = np.linspace(0.0, 1.0, max(n_el, 1), endpoint=False)
    palette = np.stack([0.5 + 0.45 * np.cos(2 * np.pi * (hues + off)) for off in (0, 1 / 3, 2 / 3)],
                       axis=1)
    colours = (palette[layout] * 255).astype(np.uint8)  # users x slots x 3
    colours[~active] = 128
    return np.repeat(np.repeat(colours, CELL, axis=0), CELL, axis=1)
