"""``outcome-gym examples DIR``: copy the files the README's journeys use out of the package.

The wheel carries them as package data (``outcome_gym/_examples/``, put there by setup.py's build
step from the repository's ``examples/`` and ``experiments/``); a source checkout or an editable
install reads them from the repository itself. They are copied with the repository's layout, so
the README's commands run unchanged from DIR::

    DIR/examples/designer_worlds/     two designer-written scenario files
    DIR/examples/ci/                  a CI contract, its baseline and the team policy it checks
    DIR/examples/third_party_policy/  a policy package registered through an entry point
    DIR/examples/rl/                  Stable-Baselines3 training scripts
    DIR/experiments/sweeps/           the example sweep
    DIR/experiments/studies/          the studies behind results/README.md
"""

from __future__ import annotations

import shutil
from pathlib import Path

from outcome_gym._io import atomic_dir
from outcome_gym.errors import ResultsError

CONTENTS = ("examples/designer_worlds", "examples/ci", "examples/third_party_policy",
            "examples/rl", "experiments/sweeps", "experiments/studies")
"""What is shipped and copied, as paths relative to the repository (and to DIR)."""

SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*")


def source_root() -> Path:
    """The folder holding ``examples/`` and ``experiments/``: the package data, else the checkout.

    Raises:
        ResultsError: Neither holds them (a wheel built without the build step).
    """
    here = Path(__file__).resolve().parent
    for root in (here / "_examples", here.parents[1]):
        if all((root / c).is_dir() for c in CONTENTS):
            return root
    raise ResultsError(f"the example files are not installed with this copy of outcome-gym "
                       f"(looked in {here / '_examples'} and {here.parents[1]})")


def copy_examples(dest: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the example files into ``dest``; return the top-level folders written.

    ``dest`` must be new, empty, or an earlier ``examples`` output (replaced with ``overwrite``),
    like every output folder (:func:`outcome_gym._io.atomic_dir`); the copy appears whole or not
    at all.

    Raises:
        ResultsError: ``dest`` may not be written, or the example files are missing.
    """
    root = source_root()
    dest = Path(dest)
    with atomic_dir(dest, "examples", kind="examples", overwrite=overwrite) as tmp:
        for rel in CONTENTS:
            shutil.copytree(root / rel, tmp / rel, ignore=SKIP)
    return [dest / top for top in sorted({c.split("/")[0] for c in CONTENTS})]


def next_steps(dest: Path) -> list[str]:
    """What to run next, from inside ``dest``."""
    return [f"example files written to {dest}/ (examples/, experiments/); from there:",
            "  outcome-gym validate examples/designer_worlds/fitness_coach.yaml",
            "  outcome-gym compare examples/designer_worlds/fitness_coach.yaml "
            "--policies static,engagement_bandit,outcome_bandit --seeds 10",
            "  outcome-gym sweep experiments/sweeps/example_sweep.yaml --dry-run",
            "  outcome-gym study trap --fast"]


__all__ = ["CONTENTS", "copy_examples", "next_steps", "source_root"]
