"""Named variants: the small, discrete choice sets learning policies and RL agents pick from.

Personalizing a whole layout per user is a huge action space; products (and bandits) choose among a
few designed variants instead. From a scenario this module builds:

* **layout variants**: ``default``, then for every laid-out non-core element of the default layout
  (and every laid-out element not in it), ``promote:<id>`` — that element moved into the first
  non-core position, the others shifting down (core positions never move);
* **notification plans**: ``none``, ``default`` (the scenario's schedule at this step), and
  ``send:<id>`` for every notification or alert — or, for a plan held for a whole day
  (``day_plans=True``), ``send:<id>@<slot>`` for every notification and every slot that is not
  quiet (a day's plan sends once, in its slot, rather than at every step of the day).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outcome_gym.product.guardrails import quiet_slot_indices
from outcome_gym.sim.interface import PolicyContext


@dataclass(frozen=True)
class Variants:
    """The variant sets of one scenario.

    Attributes:
        layout_names: A_L names; ``layouts[a]`` is the S element indices of variant a.
        layouts: A_L x S.
        notify_names: A_N names.
        notify_send: A_N x M bools of what each plan sends besides the schedule.
        notify_uses_default: A_N bools, True for the plan that follows the default schedule.
        notify_slot: A_N slot in which each plan sends what it sends besides the schedule (-1:
            every slot); None means -1 for every plan.
    """

    layout_names: tuple[str, ...]
    layouts: np.ndarray
    notify_names: tuple[str, ...]
    notify_send: np.ndarray
    notify_uses_default: np.ndarray
    notify_slot: np.ndarray | None = None

    @property
    def n_layouts(self) -> int:
        """A_L."""
        return len(self.layout_names)

    @property
    def n_notify(self) -> int:
        """A_N."""
        return len(self.notify_names)

    def layout_for(self, choice: np.ndarray) -> np.ndarray:
        """N x S layouts for N variant indices."""
        return self.layouts[np.asarray(choice, dtype=np.int64)]

    def notify_for(self, choice: np.ndarray, default_notify: np.ndarray,
                   slot: int | None = None) -> np.ndarray:
        """N x M sends for N plan indices, given this step's default schedule (N x M) and slot.

        A plan bound to a slot (``send:<id>@<slot>``) sends only in that slot; ``slot=None``
        treats every plan as unbound.
        """
        choice = np.asarray(choice, dtype=np.int64)
        send = self.notify_send[choice]
        if self.notify_slot is not None and slot is not None:
            bound = self.notify_slot[choice]
            send = send & ((bound < 0) | (bound == slot))[:, None]
        return send | (default_notify & self.notify_uses_default[choice][:, None])


def _open_slots(ctx: PolicyContext) -> list[int]:
    """Slots that are not quiet (a send in a quiet slot is always dropped by the guardrails)."""
    quiet = quiet_slot_indices(ctx.scenario.guardrails.quiet_slots, ctx.scenario.clock.names)
    return [s for s in range(ctx.slots_per_day) if s not in quiet]


def build_variants(ctx: PolicyContext, day_plans: bool = False) -> Variants:
    """The variant sets for a scenario (deterministic order).

    Args:
        ctx: The run's context.
        day_plans: Notification plans held for a day: ``send:<id>@<slot>`` per open slot instead
            of ``send:<id>`` (which would send at every step the plan is held).
    """
    default = np.asarray(ctx.default_layout, dtype=np.int64)
    free = np.flatnonzero(~np.asarray(ctx.core_slot))
    names, layouts = ["default"], [default.copy()]
    if free.size:
        candidates = [int(e) for e in default[free]] + [
            int(e) for e in ctx.layout_elements if int(e) not in set(default.tolist())]
        for e in candidates:
            lay = default.copy()
            order = [e] + [x for x in default[free].tolist() if x != e]
            lay[free] = order[: free.size]
            if not any((lay == other).all() for other in layouts):
                names.append(f"promote:{ctx.element_ids[e]}")
                layouts.append(lay)
    pushed = [ctx.element_ids[int(e)] for e in ctx.pushed_elements]
    slots: list[int] = _open_slots(ctx) if day_plans else [-1]
    slot_names = ctx.scenario.clock.names
    plans = [(j, s) for j in range(len(pushed)) for s in slots]
    send = np.zeros((2 + len(plans), len(pushed)), dtype=bool)
    for i, (j, _) in enumerate(plans):
        send[2 + i, j] = True
    uses_default = np.zeros(2 + len(plans), dtype=bool)
    uses_default[1] = True

    def plan_name(j: int, s: int) -> str:
        if s < 0:
            return f"send:{pushed[j]}"
        return f"send:{pushed[j]}@{slot_names[s]}"

    plan_names = ("none", "default", *(plan_name(j, s) for j, s in plans))
    bound = np.array([-1, -1, *(s for _, s in plans)], dtype=np.int64)
    return Variants(layout_names=tuple(names), layouts=np.stack(layouts).astype(np.int64),
                    notify_names=plan_names, notify_send=send, notify_uses_default=uses_default,
                    notify_slot=bound if day_plans else None)
