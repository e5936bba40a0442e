"""Mesa, imported without its side effect on the process.

``import mesa`` runs ``mesa.batchrunner``, which calls
``multiprocessing.set_start_method("spawn", force=True)`` for the whole process: a user's script
without a ``__main__`` guard, or a Gymnasium ``AsyncVectorEnv``, would break merely because it
imported outcome-gym. We import Mesa here, once, and put the start method back as it was. Every
pool outcome-gym starts names its context explicitly, so nothing here relies on either method.
"""

from __future__ import annotations

import multiprocessing

_before = multiprocessing.get_start_method(allow_none=True)
import mesa  # noqa: E402  (the import whose side effect is undone below)

multiprocessing.set_start_method(_before, force=True)

__all__ = ["mesa"]
