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

from outcome_gym.sim._jit import compiled
from outcome_gym.sim.interface import FrozenMap


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


def receptivity_signal(receptive: np.ndarray, separation: float, z: np.ndarray) -> np.ndarray:
    """The noisy receptivity score the product observes (higher = more likely receptive):
    ``float32(separation * receptive + z)`` per user, in one compiled pass (:func:`signal_rows`),
    as a new array (``Recorder.observation``, the model's only caller, makes it read-only in
    place; the tests test this function, so there is one implementation of the signal).

    Args:
        receptive: N bools, who is receptive now (the model's available users).
        separation: d' of the scenario's AUC (:func:`signal_separation`, computed once a run).
        z: N float64 standard normals (the ``instrumentation`` stream's draw).
    """
    # sized from the draw: signal_rows reads receptive and z over out's N without bounds checks
    out = np.empty(z.shape[0], dtype=np.float32)
    signal_rows(receptive, separation, z, out)
    return out


@compiled
def signal_rows(receptive, separation, z, out
                ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out[i] = float32(separation * receptive[i] + z[i])``: numpy's float64 product (with
    receptive as 1.0 or 0.0) and sum, rounded to float32 once.
    """
    for i in range(out.shape[0]):
        out[i] = separation * np.float64(receptive[i]) + z[i]


class EventPipe:
    """Delays and corrupts instrumented outcome events before the policy sees them.

    Attributes:
        ring: E x (D + 1) x N counts of the last steps (D: the longest delay); event e keeps its
            last ``delay_steps + 1`` steps in its first rows, step t at row t mod (delay + 1).
    """

    def __init__(self, specs: Sequence[EventSpec], n: int) -> None:
        self.specs = list(specs)
        self.delay = np.array([ev.delay_steps for ev in self.specs], dtype=np.int64)
        self.ring = np.zeros((len(self.specs), int(self.delay.max(initial=0)) + 1, n), np.int32)
        self.step = 0
        self._miss = np.array([ev.miss_rate for ev in self.specs], dtype=np.float64)
        self._false = np.array([ev.false_rate for ev in self.specs], dtype=np.float64)
        self._names = tuple(ev.event for ev in self.specs)

    @property
    def names(self) -> list[str]:
        """Instrumented event names in order."""
        return [ev.event for ev in self.specs]

    def pass_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What :func:`pipe_rows` reads and writes of the pipe (miss and false rates, the ring,
        the delays), for the caller whose own compiled pass runs it (the recorder's: a step's
        true events are rows of its stacked matrix, and :meth:`visible` gives what they show).
        """
        return self._miss, self._false, self.ring, self.delay

    def visible(self, step: int, seen: np.ndarray) -> FrozenMap:
        """The events visible at ``step`` once :func:`pipe_rows` wrote them into ``seen``
        (E x N int32): its read-only rows by name.
        """
        self.step = step
        seen.setflags(False)  # ``write=False`` by position: ~0.1 us less than the keyword
        # rows by index: numpy's iteration over a matrix's rows costs ~3x as much; the dict is
        # the map's own (FrozenMap._of: no copy of it)
        return FrozenMap._of({name: seen[e] for e, name in enumerate(self._names)})


@compiled
def pipe_rows(source, rows, u, miss, false, ring, delay, step, seen
              ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """What each event's users show now, per event e and user i (numpy's comparisons and ints).

    With ``true[e, i] = int32(source[rows[e], i])`` (0 for ``rows[e] < 0``):

        now = (0 if u[2e, i] < miss[e] else true[e, i]) + (u[2e + 1, i] < false[e])
        ring[e, step mod (delay[e] + 1), i] = now              (int32)
        seen[e, i] = ring[e, (step - delay[e]) mod (delay[e] + 1), i] if step >= delay[e] else 0

    (missed with ``miss[e]``, spurious with ``false[e]``, seen ``delay[e]`` steps later).
    """
    n_events, n = seen.shape
    for e in range(n_events):
        size = delay[e] + 1
        put = step % size
        r = rows[e]
        for i in range(n):
            now = np.int32(source[r, i]) if r >= 0 else np.int32(0)
            if u[2 * e, i] < miss[e]:
                now = np.int32(0)
            if u[2 * e + 1, i] < false[e]:
                now += np.int32(1)
            ring[e, put, i] = now
        if step >= delay[e]:
            get = (step - delay[e]) % size
            for i in range(n):
                seen[e, i] = ring[e, get, i]
        else:
            for i in range(n):
                seen[e, i] = 0


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`signal_rows` now (see engagement.compile_kernel;
    :func:`pipe_rows` is compiled into the recorder's pass, which calls it).
    """
    receptivity_signal(np.ones(2, bool), signal_separation(0.7), np.zeros(2))
