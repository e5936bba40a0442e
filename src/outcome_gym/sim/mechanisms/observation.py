"""What the product can observe (docs/design.md, step 10): behaviour logs, a noisy receptivity signal, and
only the instrumented outcome events, late and noisy.

Receptivity signal: the true state (available now) is hidden. The policy sees
``z = d' * receptive + N(0, 1)`` with ``d' = sqrt(2) * Phi^-1(AUC)``, which gives exactly the
scenario's AUC for telling receptive from not (katevas2017: about 0.7).

Instrumented events (``<goal>.<event>``) enter a ring buffer and are seen ``delay_steps`` later; a
real event is missed with ``miss_rate``, and a spurious one appears with ``false_rate`` per
user-step.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


@dataclass(frozen=True)
class EventSpec:
    """How one instrumented event reaches the product (the scenario's ``instrumentation``).

    Attributes:
        event: '<goal>.<event>'.
        delay_steps: Steps before the product sees it.
        miss_rate: Chance a real event is missed.
        false_rate: Chance of a spurious event per user-step.
    """

    event: str
    delay_steps: int
    miss_rate: float
    false_rate: float


@functools.lru_cache(maxsize=64)
def signal_separation(auc: float) -> float:
    """D' of an equal-variance Gaussian signal with the given AUC (a run's AUC never changes:
    computed once, not every step).
    """
    if auc >= 1.0:
        return 12.0
    return float(np.sqrt(2.0) * NormalDist().inv_cdf(auc))


def receptivity_signal(receptive: np.ndarray, auc: float, z: np.ndarray) -> np.ndarray:
    """Noisy receptivity score (higher = more likely receptive). ``z`` is N standard normals."""
    return (signal_separation(auc) * receptive + z).astype(np.float32)


class EventPipe:
    """Delays and corrupts instrumented outcome events before the policy sees them."""

    def __init__(self, specs: Sequence[EventSpec], n: int) -> None:
        self.specs = list(specs)
        self.buffers = [np.zeros((ev.delay_steps + 1, n), dtype=np.int32) for ev in self.specs]
        self.step = 0
        # per event (a column): the rates, compared with all events' uniforms at once
        self._miss = np.array([[ev.miss_rate] for ev in self.specs], dtype=np.float64)
        self._false = np.array([[ev.false_rate] for ev in self.specs], dtype=np.float64)

    @property
    def names(self) -> list[str]:
        """Instrumented event names in order."""
        return [ev.event for ev in self.specs]

    def push(
        self, step: int, events: dict[str, np.ndarray], u: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Record this step's true events; return what becomes visible now.

        Args:
            step: Current step.
            events: True per-user counts keyed '<goal>.<event>'.
            u: (2 x n_events) x N uniforms from the ``instrumentation`` stream.
        """
        self.step = step
        seen: dict[str, np.ndarray] = {}
        if not self.specs:
            return seen
        # every event at once (row i: event i), the same elementwise numbers as one at a time
        true = np.zeros((len(self.specs), u.shape[1]), np.int32)
        for i, spec in enumerate(self.specs):
            count = events.get(spec.event)
            if count is not None:
                true[i] = count  # the int32 cast astype makes
        now = np.where(u[0::2] < self._miss, 0, true)  # missed (u[2i])
        now += (u[1::2] < self._false).astype(np.int32)  # spurious (u[2i + 1])
        for i, (spec, buf) in enumerate(zip(self.specs, self.buffers, strict=True)):
            buf[step % buf.shape[0]] = now[i]
            out = (
                buf[(step - spec.delay_steps) % buf.shape[0]].copy()
                if step >= spec.delay_steps
                else np.zeros(buf.shape[1], np.int32)
            )
            out.setflags(write=False)
            seen[spec.event] = out
        return seen
