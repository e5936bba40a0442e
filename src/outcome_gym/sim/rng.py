"""One child stream of the run's seed per mechanism.

Stream k is child k of the seed, i.e. ``SeedSequence(seed, spawn_key=(k,))`` (what
``SeedSequence(seed).spawn`` gives as its k-th child; no root sequence is built), k its name's index
in the fixed order of :data:`STREAMS`, made at its first use, so each mechanism's stream depends only
on the run's seed and its own name — never on worker count, hash order, what other mechanisms drew
or which streams were made. Exogenous streams (population, arrivals, availability, context) draw the
same number of values every step whatever the policy does, so the same seed gives the same
population and the same exogenous events under every policy (common random numbers).

Every per-user draw is a fixed-shape array over all N users of the scenario, so user *i*'s numbers
depend only on (seed, stream, *i*, step). A model may therefore simulate a subset of the users
(:class:`Rows`; a story's replay of one user's team, docs/who-is-harmed.md): it still draws over
all N users and keeps its rows, so each simulated user gets exactly the numbers of the full run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

STREAMS = (
    "population",  # who the users are (exogenous)
    "team",  # who works with whom (exogenous)
    "arrivals",  # task arrivals and daily spending (exogenous)
    "availability",  # time and context to act (exogenous)
    "context",  # device switches, shared screens, support contacts (exogenous)
    "notifications",  # opens and opt-outs (endogenous)
    "sessions",  # session starts (endogenous)
    "choice",  # in-session choices (endogenous)
    "churn",  # quitting (endogenous)
    "instrumentation",  # what the product observes: receptivity signal, event noise
    "policy",  # handed to the policy's reset()
    "metrics",  # sampling for diversity metrics (appended last: earlier streams are unchanged)
    "tray",  # response delay of each delivered notification (endogenous; appended last)
)


_INDEX = {name: k for k, name in enumerate(STREAMS)}


@dataclass(frozen=True, eq=False)  # eq=False: compared and hashed by identity (as generators)
class Streams:
    """The named generators of one run (PCG64), each made at its first use: stream k of
    :data:`STREAMS` is numpy's child k of the root ``SeedSequence(seed)``, which is
    ``SeedSequence(seed, spawn_key=(k,))`` (what the root's ``spawn`` gives as its k-th child).

    Why at first use: a child's ``PCG64`` costs ~12 us, and no run draws from ``policy`` (a
    policy is handed :meth:`policy_seed`); nothing drawn depends on when a stream was made.
    """

    seed: int
    # not an init field: a copy with another seed (dataclasses.replace) makes its own generators
    _made: dict[str, np.random.Generator] = field(init=False, default_factory=dict, repr=False)

    def __getitem__(self, name: str) -> np.random.Generator:
        rng = self._made.get(name)
        if rng is None:
            rng = self._made[name] = np.random.Generator(np.random.PCG64(
                np.random.SeedSequence(self.seed, spawn_key=(_INDEX[name],))))
        return rng

    @property
    def generators(self) -> dict[str, np.random.Generator]:
        """Every stream by name, in :data:`STREAMS` order (made now where not yet)."""
        return {name: self[name] for name in STREAMS}

    def policy_seed(self) -> np.random.SeedSequence:
        """A SeedSequence for the policy (so it can spawn its own children)."""
        return np.random.SeedSequence(self.seed, spawn_key=(STREAMS.index("policy"), 1))


@dataclass(frozen=True, eq=False)  # eq=False: compared and hashed by identity (it holds an array)
class Rows:
    """Which of the scenario's users a model simulates: all N, or a subset (sorted indices).

    Draw sites draw over :attr:`n_all` users and pass the draw through :meth:`keep`, so a subset's
    users get the numbers they get in the full run (per-user common random numbers).

    Attributes:
        n_all: N, the scenario's users (the shape of every per-user draw).
        index: The simulated users' indices among them, sorted; ``None``: all of them.
    """

    n_all: int
    index: np.ndarray | None = None
    # reused draw buffers (see uniform's ``reuse``), keyed by stream and shape; scratch, so never
    # pickled (a copy's streams are new objects: the old keys would only carry dead buffers)
    _scratch: dict[tuple[int, tuple[int, ...]], np.ndarray] = field(
        default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, object]:
        return {"n_all": self.n_all, "index": self.index}

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in (*state.items(), ("_scratch", {})):
            object.__setattr__(self, name, value)  # frozen: set as dataclasses' own __init__ does

    @property
    def n(self) -> int:
        """Users simulated."""
        return self.n_all if self.index is None else int(self.index.shape[0])

    @property
    def ids(self) -> np.ndarray:
        """The simulated users' indices among all N (``arange(N)`` for all)."""
        return np.arange(self.n_all) if self.index is None else self.index

    def keep(self, draw: np.ndarray, axis: int = 0) -> np.ndarray:
        """The simulated users' entries of a draw over all N users (user axis ``axis``); the
        draw itself when every user is simulated.
        """
        if self.index is None:
            return draw
        self._check_axis(draw.shape, axis)
        return np.take(draw, self.index, axis=axis)

    def _check_axis(self, shape: tuple[int, ...], axis: int) -> None:
        if shape[axis] != self.n_all:
            raise ValueError(f"expected a draw with {self.n_all} users on axis {axis}, "
                             f"got shape {shape}")

    def uniform(self, rng: np.random.Generator, shape: tuple[int, ...],
                axis: int = 0, *, reuse: bool = False) -> np.ndarray:
        """``keep(rng.random(shape), axis)`` (``shape`` has N at ``axis``) without drawing the
        entries of users who are not simulated, where that is cheaper.

        A float64 uniform takes exactly one 64-bit output of the generator, so the stream is
        advanced past the others (``PCG64.advance``) and ends where the full draw ends: the same
        numbers, for a cost that does not grow with N. Where that would not hold (a generator other
        than PCG64, or one holding a buffered 32-bit half that ``advance`` would drop) it draws
        for everyone instead.

        ``reuse``: with every user simulated, draw into a buffer kept for this stream and shape
        (the same numbers: ``Generator.random(out=...)`` fills in the same order). The array is
        overwritten by the next such draw, so only a site that reads its draw within the step may
        ask. Why: a fresh array of N x k floats above glibc's mmap threshold (32 MiB, about
        N = 300,000 for the choice draw) is new pages every step, and at N = 1e6 faulting them in
        cost more than drawing the numbers.
        """
        if self.index is None:
            if not reuse:
                return rng.random(shape)
            key = (id(rng), tuple(shape))
            buf = self._scratch.get(key)
            if buf is None:
                buf = self._scratch[key] = np.empty(shape)
            rng.random(out=buf)
            return buf
        self._check_axis(shape, axis)
        lead, tail = int(math.prod(shape[:axis])), int(math.prod(shape[axis + 1:]))
        runs = self._runs
        bits, parts, at = rng.bit_generator, [], 0
        if lead * tail == 0 or lead * len(runs) > MAX_RUNS or not _skips_exactly(bits):
            # an empty draw (the event noise of a product that instruments no events: 0 x N),
            # which takes no numbers and leaves no pieces to join; many scattered users (one draw
            # is cheaper); or a generator whose advance would not land where the full draw does:
            # draw for everyone
            return self.keep(rng.random(shape), axis)
        for block in range(lead):
            for first, length in runs:
                start = (block * self.n_all + first) * tail
                if start > at:
                    bits.advance(start - at)
                parts.append(rng.random(length * tail))
                at = start + length * tail
        end = lead * self.n_all * tail
        if end > at:
            bits.advance(end - at)
        return np.concatenate(parts).reshape((*shape[:axis], self.n, *shape[axis + 1:]))

    @cached_property
    def _runs(self) -> list[tuple[int, int]]:
        """(first user, length) of each run of consecutive simulated users."""
        assert self.index is not None
        cut = np.flatnonzero(np.diff(self.index) != 1) + 1
        first = self.index[np.concatenate([[0], cut])]
        length = np.diff(np.concatenate([[0], cut, [self.index.shape[0]]]))
        return list(zip(first.tolist(), length.tolist(), strict=True))


def _skips_exactly(bits: np.random.BitGenerator) -> bool:
    """Whether ``advance(k)`` skips exactly the k 64-bit outputs k float64 uniforms would use:
    PCG64 (and DXSM) count ``advance`` in outputs, and only with no buffered 32-bit half (a
    float32 or 32-bit integer draw leaves one, which ``advance`` would drop).
    """
    return isinstance(bits, np.random.PCG64 | np.random.PCG64DXSM) and \
        not bits.state.get("has_uint32", 0)


def skip_uniforms(rng: np.random.Generator, out: np.ndarray, exact: bool | None = None) -> bool:
    """Move ``rng`` past ``out.size`` float64 uniforms nobody reads, to where drawing them would
    leave it: advanced past them where that is exact (:func:`_skips_exactly`), else drawn into
    ``out`` (a float64 buffer the caller may overwrite; C-contiguous).

    The rule :meth:`Rows.uniform` follows for the users it does not simulate, for a caller
    whose draw turned out not to be needed (the recorder's divergence sample).

    Args:
        rng: The generator.
        out: The buffer (its size: how many uniforms).
        exact: Whether advancing is exact, when the caller knows it from an earlier call's
            answer (None: checked here, which reads the generator's state as a dict, ~1.5 us).
            The answer holds for as long as only float64 draws take from the stream (a 32-bit
            draw can leave the buffered half that makes it False), e.g. the recorder's
            ``metrics`` stream.

    Returns:
        Whether the stream was advanced (exact), for the caller's next call.
    """
    bits = rng.bit_generator
    if exact is None:
        exact = _skips_exactly(bits)
    if exact:
        bits.advance(out.size)
    else:
        rng.random(out=out)
    return exact


MAX_RUNS = 64
"""Above this many runs of consecutive users in a draw, :meth:`Rows.uniform` draws for all N."""


def make_streams(seed: int) -> Streams:
    """Spawn the child streams of a run from its root seed.

    Args:
        seed: A non-negative integer; the only source of randomness in the run.

    Returns:
        The named generators (PCG64), one per entry of :data:`STREAMS` (each made at its first
        use: :class:`Streams`).
    """
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"expected a non-negative integer seed, got {seed!r}")
    return Streams(seed=int(seed))
