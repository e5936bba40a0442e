"""Mesa, imported without its side effect on the process; and a ``mesa.Model`` base whose
random generators are made at their first use.

``import mesa`` runs ``mesa.batchrunner``, which calls
``multiprocessing.set_start_method("spawn", force=True)`` for the whole process: a user's script
without a ``__main__`` guard, or a Gymnasium ``AsyncVectorEnv``, would break merely because it
imported outcome-gym. We import Mesa here, once, and put the start method back as it was. Every
pool outcome-gym starts names its context explicitly, so nothing here relies on either method.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

import numpy as np

_before = multiprocessing.get_start_method(allow_none=True)
import mesa  # noqa: E402  (the import whose side effect is undone below)

multiprocessing.set_start_method(_before, force=True)

__all__ = ["LazyModel", "mesa"]

_LAZY = frozenset({"rng", "_rng", "random", "_seed", "_agents", "_agents_by_type",
                   "_all_agents"})
"""What ``mesa.Model.__init__`` sets besides the step counter: made at the first read of one."""

_EAGER = ("running", "steps", "_user_step", "step")
"""What ``mesa.Model.__init__`` sets that a run reads and writes: set at construction."""


class LazyModel(mesa.Model):
    """A ``mesa.Model`` whose own generators (``rng``, ``random``) and agent registry are made
    by ``mesa.Model.__init__`` at the first read of any of them (:data:`_LAZY`).

    Why: those cost ~30 us a model (a ``SeedSequence``, a ``PCG64``, a ``random.Random`` seeded
    twice, an ``AgentSet``), and a Gymnasium env builds a model at every reset without reading
    them. What they hold does not depend on when they are made (nothing draws from them before
    their first read), so a model reads the same numbers either way (tested).
    """

    def _start_mesa(self, entropy: int, spawn_key: tuple[int, ...]) -> None:
        """What ``mesa.Model.__init__(rng=np.random.default_rng(np.random.SeedSequence(entropy,
        spawn_key=spawn_key)))`` sets that a run uses (its step counter and step wrapper, as
        Mesa sets them); the rest waits for its first read.
        """
        self.running = True
        self.steps = 0
        self._user_step = self.step
        self.step = self._wrapped_step
        self._mesa_rng = (entropy, spawn_key)

    def __getattr__(self, name: str) -> Any:
        # only reached when ``name`` is not set: one of _LAZY before Mesa's init has run
        pending = self.__dict__.get("_mesa_rng")
        if name not in _LAZY or pending is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        kept = {key: self.__dict__[key] for key in _EAGER}
        del self.__dict__["_mesa_rng"]
        entropy, spawn_key = pending
        mesa.Model.__init__(self, rng=np.random.default_rng(
            np.random.SeedSequence(entropy, spawn_key=spawn_key)))
        self.__dict__.update(kept)  # the run's counter and the step wrapper as they were
        return self.__dict__[name]
