"""Build hook: ship the README's example files inside the wheel (everything else: pyproject.toml).

The files stay where the README names them in the repository (``examples/``,
``experiments/sweeps/``, ``experiments/studies/``); building copies them into the package as
``outcome_gym/_examples/`` so ``outcome-gym examples DIR`` works from an installed wheel.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONTENTS = ("examples/designer_worlds", "examples/ci", "examples/third_party_policy",
            "examples/rl", "experiments/sweeps", "experiments/studies")


class BuildPyWithExamples(build_py):
    """build_py, then the example files into build/lib/outcome_gym/_examples/."""

    def run(self) -> None:
        """Build the package, then copy CONTENTS beside it."""
        super().run()
        root = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "outcome_gym" / "_examples"
        skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*")
        for rel in CONTENTS:
            if (root / rel).is_dir():
                shutil.rmtree(target / rel, ignore_errors=True)
                shutil.copytree(root / rel, target / rel, ignore=skip)


setup(cmdclass={"build_py": BuildPyWithExamples})
