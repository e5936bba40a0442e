"""``Product``: the personalized product around one simulated population — the one way to run a
policy's action.

A step is validate -> guard -> advance (docs/design.md section 4, steps 1-2): the policy's action is
checked (shapes, dtypes, element indices), projected into the allowed set by the guardrail layer
(which counts every change), and only then shown to the users by
:meth:`SimulationModel.advance <outcome_gym.sim.model.SimulationModel.advance>`. The guardrail
counts travel on the :class:`StepResult`: per user in ``guardrail_counts`` and as per-segment sums
``guardrail_<kind>`` in the record's ``segment_metrics``, beside the model's own metrics (the
guardrail layer's pass sums them per segment as it counts).

The runner (:func:`outcome_gym.runner.run`), the Gymnasium env
(:class:`outcome_gym.env.PersonalizationEnv`) and the conformance check
(:func:`outcome_gym.testing.check_policy`) all step through :meth:`Product.step`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from outcome_gym.product.guardrails import KINDS, GuardrailLayer, Mode, make_guardrails
from outcome_gym.scenario.schema import Scenario
from outcome_gym.sim.interface import (
    Action,
    Feedback,
    Observation,
    PolicyContext,
    StepRecord,
    _instance,
    validate_action,
)
from outcome_gym.sim.model import Prebuilt, SimulationModel

GUARDRAIL_METRICS = tuple(f"guardrail_{k}" for k in KINDS)
"""The record's per-segment sums of the guardrail counts, in :data:`KINDS` order."""


@dataclass(frozen=True)
class StepResult:
    """What one product step did.

    Attributes:
        action: What users saw (the policy's action after guardrails).
        record: The step's record, with ``guardrail_<kind>`` per-segment sums in
            ``segment_metrics``.
        guardrail_matrix: Per kind (:data:`~outcome_gym.product.guardrails.KINDS`, rows), N
            per-user counts of what the guardrail layer changed (KINDS x N; zeros with
            guardrails off).
    """

    action: Action
    record: StepRecord
    guardrail_matrix: np.ndarray

    @property
    def guardrail_counts(self) -> Mapping[str, np.ndarray]:
        """Per kind, the N per-user counts (the rows of :attr:`guardrail_matrix`)."""
        return dict(zip(KINDS, self.guardrail_matrix, strict=True))

    @property
    def feedback(self) -> Feedback:
        """The per-user feedback for a learning policy (``record.feedback``)."""
        return self.record.feedback


class Product:
    """One population under one seed, behind the guardrail layer.

    Args:
        scenario: A validated scenario, or a :class:`~outcome_gym.sim.model.Prebuilt` of one
            (built once for many products: the env's resets).
        seed: The run's root seed.
        guardrails: ``None`` (the scenario's), ``False`` (off), or overrides (see
            :func:`~outcome_gym.product.guardrails.make_guardrails`); or a
            :class:`~outcome_gym.product.guardrails.GuardrailLayer` of a product of the same
            scenario and users, restarted and used in its own mode: one layer for many runs, as
            the Gymnasium env's episodes have (the layer then belongs to the newest product:
            an older one's step raises ``RuntimeError``).
        guardrail_mode: ``project`` (correct and count), ``strict`` (raise ``ActionError`` on the
            first violation) or ``off``; with a layer given, its mode or the default.
        mesa_agents: Create Mesa agent views of the users (off by default: runs do not need them).
        users: Simulate these users and their teammates only (``SimulationModel``'s ``users``).
    """

    def __init__(
        self,
        scenario: Scenario | Prebuilt,
        seed: int,
        *,
        guardrails: Any = None,
        guardrail_mode: Mode = "project",
        mesa_agents: bool = False,
        users: Any = None,
    ) -> None:
        self.model = SimulationModel(scenario, seed, mesa_agents=mesa_agents, users=users)
        self.guardrails: GuardrailLayer = self._guardrail_layer(guardrails, guardrail_mode)

    def _guardrail_layer(self, guardrails: Any, mode: Mode) -> GuardrailLayer:
        """The layer ``guardrails`` asks for (see the class docstring): a layer given is
        restarted (its tables are the context's, which no seed changes), else one is built.

        Raises:
            ValueError: A layer given was built for another scenario, or for users of other
                segments, or ``mode`` (not the default) is not its mode.
        """
        ctx = self.model.context
        if not isinstance(guardrails, GuardrailLayer):
            layer = make_guardrails(ctx, guardrails, mode)
        else:
            layer = guardrails
            built = layer.ctx  # its tables: the scenario's and the users' segments
            if built.scenario is not ctx.scenario or built.n_users != ctx.n_users \
                    or not np.array_equal(built.segment, ctx.segment):
                raise ValueError("expected a guardrail layer of a product of the same scenario "
                                 "and users")
            if mode != "project" and mode != layer.mode:
                raise ValueError(f"guardrail_mode {mode!r} given with a guardrail layer of "
                                 f"mode {layer.mode!r}")
            layer.restart()
        layer.owner = self  # the product whose steps it counts (see _step_valid)
        return layer

    @property
    def context(self) -> PolicyContext:
        """What a policy may know before the run."""
        return self.model.context

    @property
    def t(self) -> int:
        """The current step."""
        return self.model.t

    @property
    def done(self) -> bool:
        """True once the horizon is reached."""
        return self.model.done

    def observe(self) -> Observation:
        """What the product observes now (the same object until the next step)."""
        return self.model.observe()

    def step(self, action: Action, *, who: str = "policy") -> StepResult:
        """Validate ``action``, pass it through the guardrails and advance one time slot.

        Args:
            action: The policy's decision for every user.
            who: Names the decider in error messages.

        Raises:
            ActionError: The action has the wrong type, shape, dtype or element index (naming the
                user and slot), or breaks a guardrail in ``strict`` mode.
            RuntimeError: The product's guardrail layer was given to a newer product.
        """
        validate_action(action, self.model.context, who, self.model.t)
        return self._step_valid(action, own=False)

    def _step_valid(self, action: Action, *, own: bool) -> StepResult:
        """:meth:`step` of an action known to be valid, without validating it again.

        Only for this package's own callers that build ``action`` valid by construction (the
        env's decoded native action, a variant action from the scenario's variant tables): the
        guardrails' compiled passes index the scenario's tables with its element ids unchecked.

        Args:
            action: The action, valid.
            own: ``action``'s arrays are fresh, ``int64`` and ``bool``, and kept by nobody else
                (what those callers build): the guardrails project them in place
                (``GuardrailLayer.apply``).

        Raises:
            ActionError: ``action`` breaks a guardrail in ``strict`` mode.
            RuntimeError: The product's guardrail layer was given to a newer product.
        """
        layer = self.guardrails
        if layer.owner is not self:  # its counts (today's sends) are now a newer product's
            raise RuntimeError("this product's guardrail layer was given to a newer product, "
                               "which alone may step")
        guarded = layer.apply(action, self.model.observe(), own=own)
        # valid (validated by step, or built valid by the caller); the guardrails' projection
        # keeps it valid (defaults swapped in)
        record = self.model.advance(guarded.action, checked=True)
        # the four counts' K per-segment sums: rows of one read-only matrix, beside the
        # record's read-only metrics
        # (its three fields set without the frozen dataclass's __init__, ~0.1 us a field)
        return _instance(StepResult, {
            "action": guarded.action,
            "record": record.with_metrics(GUARDRAIL_METRICS, guarded.sums),
            "guardrail_matrix": guarded.matrix,
        })
