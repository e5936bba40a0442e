"""Named variants: the small, discrete choice sets learning policies and RL agents pick from.

Personalizing a whole layout per user is a huge action space; products (and bandits) choose among a
few designed variants instead. From a scenario this module builds:

* **layout variants**: ``default``, then for every laid-out non-core element of the default layout
  (and every laid-out element not in it), ``promote:<id>`` — that element moved into the first
  non-core position, the others shifting down (core positions never move);
* **notification plans**: ``none``, ``default`` (the scenario's schedule at this step), and
  ``send:<id>`` for every notification or alert.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    """

    layout_names: tuple[str, ...]
    layouts: np.ndarray
    notify_names: tuple[str, ...]
    notify_send: np.ndarray
    notify_uses_default: np.ndarray

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

    def notify_for(self, choice: np.ndarray, default_notify: np.ndarray) -> np.ndarray:
        """N x M sends for N plan indices, given this step's default schedule (N x M)."""
        choice = np.asarray(choice, dtype=np.int64)
        send = self.notify_send[choice]
        return send | (default_notify & self.notify_uses_default[choice][:, None])


def build_variants(ctx: PolicyContext) -> Variants:
    """The variant sets for a scenario (deterministic order)."""
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
    m = ctx.n_pushed
    send = np.zeros((2 + m, m), dtype=bool)
    for j in range(m):
        send[2 + j, j] = True
    uses_default = np.zeros(2 + m, dtype=bool)
    uses_default[1] = True
    plan_names = ("none", "default",
                  *(f"send:{ctx.element_ids[int(e)]}" for e in ctx.pushed_elements))
    return Variants(layout_names=tuple(names), layouts=np.stack(layouts).astype(np.int64),
                    notify_names=plan_names, notify_send=send, notify_uses_default=uses_default)
