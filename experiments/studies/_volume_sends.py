"""What the volume study sends: one fixed order of (template, slot) sends, best first.

A helper module of ``studies.volume`` (a leading ``_``: not a study itself). Volume ``k`` sends the
first ``k`` of the order every day (:func:`schedule`), so the arms are nested.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from outcome_gym.scenario.schema import Scenario


def default_templates(sc: Scenario) -> list[str]:
    """Pushed elements, most valuable first (summed goal value, then appeal, then file order)."""
    pushed = [(i, e) for i, e in enumerate(sc.product.elements) if e.pushed]
    pushed.sort(key=lambda ie: (-sum(ie[1].value.values()), -ie[1].appeal, ie[0]))
    return [e.id for _i, e in pushed]


def _slot_names(sc: Scenario) -> list[str]:
    names = sc.clock.slot_names
    return list(names) if names is not None else [str(s) for s in range(sc.clock.slots_per_day)]


def default_slots(sc: Scenario) -> list[str]:
    """Non-quiet slots, most receptive first: share-weighted mean availability of each slot."""
    names = _slot_names(sc)
    quiet = {names[q] if isinstance(q, int) else q for q in sc.guardrails.quiet_slots}
    score = np.zeros(len(names))
    for seg in sc.population.segments:
        score += seg.share * float(np.mean(seg.availability.weekday)) * np.asarray(
            seg.availability.slot, dtype=np.float64)
    order = sorted(range(len(names)), key=lambda s: (-score[s], s))
    return [names[s] for s in order if names[s] not in quiet]


def send_order(templates: Sequence[str], slots: Sequence[str]) -> list[tuple[str, str]]:
    """Every (template, slot) pair once, best first, each template used once before any twice.

    Round ``r`` sends template ``(i + r) mod T`` at slot ``i``: round 0 puts the best template at
    the best slot, the second-best at the second slot, and so on.
    """
    t = len(templates)
    return [(templates[(i + r) % t], slots[i]) for r in range(t) for i in range(len(slots))]


def schedule(order: Sequence[tuple[str, str]], k: int) -> list[dict[str, str]]:
    """The product's daily schedule at volume ``k``: the first ``k`` sends of ``order``.

    Raises:
        ValueError: ``k`` is larger than the number of distinct (template, slot) sends.
    """
    if k > len(order):
        raise ValueError(f"expected at most {len(order)} sends a day (templates x non-quiet "
                         f"slots), got {k}")
    return [{"element": e, "slot": s} for e, s in order[:k]]
