"""Named variants: the small, discrete choice sets learning policies and RL agents pick from.

Personalizing a whole layout per user is a huge action space; products (and bandits) choose among a
few designed variants instead. From a scenario this module builds:

* **layout variants**: ``default``, then for every laid-out non-core element of the default layout
  (and every laid-out element not in it), ``promote:<id>`` — that element moved into the first
  non-core position, the others shifting down (core positions never move);
* **notification plans** chosen per step: ``none``, ``default`` (the scenario's schedule at this
  step), and ``send:<id>`` for every notification or alert;
* **day plans** (``day_plans=True``: a plan held for a whole day), in one of three families:

  - ``local`` (the default): the schedule and its neighbours one edit away that add no
    (notification, slot) pair — ``none``, ``default`` (the schedule), ``default-<a>@<s>`` (the
    schedule without its pair (a, s)) for every distinct pair of the schedule in a slot that is
    not quiet, and ``default-<a>@<s>+<b>@<t>`` (that pair replaced by (b, t)) for every pair
    (b, t) in an open slot the schedule does not use; a schedule with no pair gets the one-send
    plans ``default+<b>@<t>`` instead;
  - ``grow``: ``local`` plus ``default+<b>@<t>`` (the schedule plus one send) while the
    schedule's pairs leave room under ``max_notifications_per_day``;
  - ``single`` (the family before issue #15's third pass): ``none``, ``default`` and
    ``send:<id>@<slot>`` (only ``<id>``, once, in ``<slot>``; the schedule's sends dropped).

  A day plan sends only in the slot it names; ``default`` and its neighbours follow the schedule
  (weekdays, periods, segments) in every other respect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outcome_gym.product.guardrails import quiet_slot_indices
from outcome_gym.sim._jit import compiled
from outcome_gym.sim.interface import PolicyContext
from outcome_gym.sim.world import resolve_schedule

#: Day-plan families (see the module docstring).
PLAN_FAMILIES = ("local", "grow", "single")


@dataclass(frozen=True)
class Variants:
    """The variant sets of one scenario.

    Attributes:
        layout_names: A_L names; ``layouts[a]`` is the S element indices of variant a.
        layouts: A_L x S.
        notify_names: A_N names.
        notify_send: A_N x M bools of what each plan sends besides the schedule, at every step
            (step plans; all False for day plans, which use ``notify_add``).
        notify_uses_default: A_N bools, True for the plans that follow the default schedule.
        notify_add: A_N x D x M bools (D slots a day): what each day plan sends besides the
            schedule in each slot; None for step plans.
        notify_drop: A_N x D x M bools: the scheduled sends a day plan leaves out in each slot;
            None for step plans.
    """

    layout_names: tuple[str, ...]
    layouts: np.ndarray
    notify_names: tuple[str, ...]
    notify_send: np.ndarray
    notify_uses_default: np.ndarray
    notify_add: np.ndarray | None = None
    notify_drop: np.ndarray | None = None

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

        A day plan sends what it adds only in its slot and leaves out the scheduled sends it
        drops only in theirs: ``add[plan, slot] | (schedule & uses_default[plan] &
        ~drop[plan, slot])``.

        Raises:
            IndexError: A plan index outside ``[0, n_notify)``.
            ValueError: Day plans without the step's ``slot`` (a day plan's sends depend on it).
        """
        choice = np.asarray(choice, dtype=np.int64)
        if choice.size and (choice.min() < 0 or choice.max() >= self.n_notify):
            raise IndexError(f"a plan index outside [0, {self.n_notify})")
        keep = default_notify & self.notify_uses_default[choice][:, None]
        if self.notify_add is None or self.notify_drop is None:
            return self.notify_send[choice] | keep
        if slot is None:
            raise ValueError("day plans need the step's slot")
        return self.notify_add[choice, slot] | (keep & ~self.notify_drop[choice, slot])

    def step_rows(self, choice: np.ndarray, group: np.ndarray, default_notify: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray] | None:
        """:meth:`layout_for` and :meth:`notify_for` of step plans for every user at once, each
        user i choosing with chooser ``g = group[i]``: layout variant ``choice[2g]`` and step plan
        ``choice[2g + 1]``.

        Args:
            choice: 2G ``int64``, per chooser a layout variant then a step plan (a variant
                action as it is: ``VariantActions``' ``MultiDiscrete``).
            group: N chooser indices, each in ``[0, G)``: a precondition, not checked (the
                compiled pass reads ``choice[2g]`` unchecked; the env builds ``group`` with
                ``env.wrappers.choosers``, the same G as ``choice``).
            default_notify: N x M booleans, this step's default schedule.

        Returns:
            N x S ``int64`` layouts and N x M sends (fresh arrays), or ``None`` when some index of
            ``choice`` is out of range (nothing is built then).

        Raises:
            ValueError: These are day plans (their sends depend on the slot), or ``choice`` is not
                one vector of an even length (e.g. the former G x 2 pairs).
        """
        if self.notify_add is not None:
            raise ValueError("day plans need the step's slot")
        if choice.ndim != 1 or choice.shape[0] % 2:
            raise ValueError(f"expected a vector of 2G variant indices (per chooser a layout "
                             f"variant then a step plan), got shape {choice.shape}")
        n = group.shape[0]
        layout = np.empty((n, self.layouts.shape[1]), dtype=np.int64)
        notify = np.empty((n, self.notify_send.shape[1]), dtype=bool)
        if variant_rows(choice, group, self.layouts, self.notify_send, self.notify_uses_default,
                        np.ascontiguousarray(default_notify, dtype=bool), layout, notify):
            return layout, notify
        return None


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`variant_rows` now, with the argument types the
    env passes (see sim.model.compile_kernels).
    """
    one = np.zeros(1, np.int64)
    variant_rows(np.zeros(2, np.int64), one, np.zeros((1, 1), np.int64),
                 np.zeros((1, 1), bool), np.ones(1, bool), np.ones((1, 1), bool),
                 np.empty((1, 1), np.int64), np.empty((1, 1), bool))


@compiled
def variant_rows(choice, group, layouts, send, uses_default, default_notify, layout, notify
                 ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Every user's layout and sends from the choosers' variant and step-plan indices.

    User i takes chooser ``g = group[i]``'s layout variant ``a = choice[2g]`` and plan
    ``p = choice[2g + 1]``: ``layout[i] = layouts[a]`` and ``notify[i, j] = send[p, j] |
    (default_notify[i, j] & uses_default[p])`` (what the plan sends besides the schedule, and
    the schedule's sends when the plan follows it).

    Returns:
        False, with nothing written, when some chooser's ``a`` is not in ``[0, A_L)`` or ``p`` not
        in ``[0, A_N)``; else True.
    """
    n_layouts = layouts.shape[0]
    n_plans = send.shape[0]
    for g in range(choice.shape[0] // 2):
        if not (0 <= choice[2 * g] < n_layouts and 0 <= choice[2 * g + 1] < n_plans):
            return False
    s = layouts.shape[1]
    m = send.shape[1]
    for i in range(group.shape[0]):
        g = group[i]
        a = choice[2 * g]
        p = choice[2 * g + 1]
        for k in range(s):
            layout[i, k] = layouts[a, k]
        follows = uses_default[p]
        for j in range(m):
            notify[i, j] = send[p, j] or (follows and default_notify[i, j])
    return True


def _open_slots(ctx: PolicyContext) -> list[int]:
    """Slots that are not quiet (a send in a quiet slot is always dropped by the guardrails)."""
    quiet = quiet_slot_indices(ctx.scenario.guardrails.quiet_slots, ctx.scenario.clock.names)
    return [s for s in range(ctx.slots_per_day) if s not in quiet]


def schedule_pairs(ctx: PolicyContext) -> list[tuple[int, int]]:
    """The distinct (notification column, slot) pairs of the default schedule, in its order."""
    sends = resolve_schedule(ctx.scenario, ctx.pushed_elements)
    return list(dict.fromkeys((s.column, s.slot) for s in sends))


def _layout_variants(ctx: PolicyContext) -> tuple[list[str], list[np.ndarray]]:
    """``default`` and ``promote:<id>`` layouts (duplicates of an earlier layout left out)."""
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
    return names, layouts


Edit = tuple[str, tuple[int, int] | None, tuple[int, int] | None, bool]


def _day_plan_edits(ctx: PolicyContext, family: str) -> list[Edit]:
    """Each day plan after ``none`` and ``default``.

    Returns:
        (name, added pair, dropped pair, follows the schedule) per plan; a pair is
        (notification column, slot).
    """
    pushed = [ctx.element_ids[int(e)] for e in ctx.pushed_elements]
    slot_names = ctx.scenario.clock.names
    open_slots = _open_slots(ctx)

    def at(pair: tuple[int, int]) -> str:
        return f"{pushed[pair[0]]}@{slot_names[pair[1]]}"

    everywhere = [(m, s) for m in range(len(pushed)) for s in open_slots]
    if family == "single":
        return [(f"send:{at(p)}", p, None, False) for p in everywhere]
    # the schedule's pairs that are ever sent (a send in a quiet slot is always dropped)
    pairs = [p for p in schedule_pairs(ctx) if p[1] in open_slots]
    free = [p for p in everywhere if p not in pairs]
    added = [(f"default+{at(p)}", p, None, True) for p in free]
    if not pairs:  # an empty schedule's neighbours are its one-send plans
        return added
    edits: list[Edit] = [(f"default-{at(d)}", None, d, True) for d in pairs]
    edits += [(f"default-{at(d)}+{at(p)}", p, d, True) for d in pairs for p in free]
    cap = ctx.scenario.guardrails.max_notifications_per_day
    if family == "grow" and (cap is None or len(pairs) < cap):  # beyond the cap: dropped
        edits += added
    return edits


def build_variants(ctx: PolicyContext, day_plans: bool = False,
                   family: str = "local") -> Variants:
    """The variant sets for a scenario (deterministic order).

    Args:
        ctx: The run's context.
        day_plans: Notification plans held for a day, bound to a slot (see the module
            docstring), instead of ``send:<id>`` (which would send at every step it is held).
        family: The day-plan family, ``local``, ``grow`` or ``single`` (ignored for step plans).
    """
    if family not in PLAN_FAMILIES:
        raise ValueError(f"expected family one of {', '.join(PLAN_FAMILIES)}, got {family!r}")
    names, layouts = _layout_variants(ctx)
    n_pushed = int(ctx.pushed_elements.shape[0])
    layout_kw = {"layout_names": tuple(names), "layouts": np.stack(layouts).astype(np.int64)}
    if not day_plans:
        pushed = [ctx.element_ids[int(e)] for e in ctx.pushed_elements]
        send = np.zeros((2 + n_pushed, n_pushed), dtype=bool)
        send[2:] = np.eye(n_pushed, dtype=bool)
        uses_default = np.zeros(2 + n_pushed, dtype=bool)
        uses_default[1] = True
        return Variants(**layout_kw, notify_names=("none", "default", *(f"send:{p}" for p in pushed)),
                        notify_send=send, notify_uses_default=uses_default)
    edits = _day_plan_edits(ctx, family)
    n_plans = 2 + len(edits)
    add = np.zeros((n_plans, ctx.slots_per_day, n_pushed), dtype=bool)
    drop = np.zeros_like(add)
    uses_default = np.zeros(n_plans, dtype=bool)
    uses_default[1] = True
    for i, (_, added, dropped, follows) in enumerate(edits, start=2):
        if added is not None:
            add[i, added[1], added[0]] = True
        if dropped is not None:
            drop[i, dropped[1], dropped[0]] = True
        uses_default[i] = follows
    return Variants(**layout_kw, notify_names=("none", "default", *(e[0] for e in edits)),
                    notify_send=np.zeros((n_plans, n_pushed), dtype=bool),
                    notify_uses_default=uses_default, notify_add=add, notify_drop=drop)
