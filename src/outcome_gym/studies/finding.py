"""Finding study modules: a name or a study file -> the module, importable in every worker.

Studies live outside the library, in a *studies folder* (default ``experiments/studies/`` under
the current directory; ``$OUTCOME_GYM_STUDIES`` or ``--studies-dir`` name another). The folder is
a Python package: its parent goes on ``sys.path`` and a study is imported by the stable name
``<folder>.<study>`` (``studies.trap``), never loaded from a file path. Spawn workers receive the
parent's ``sys.path``, so they import the same module by the same name — which is what lets a
study's policies (``studies.timing:AlertTiming``) and run functions
(``studies.fragmentation:run_layout_bandit``) be named as text and rebuilt in a worker.

Nothing in ``outcome_gym`` imports a study module except through :func:`study_module`.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from pathlib import Path

from outcome_gym.errors import Problem, StudyFileError
from outcome_gym.studies.protocol import Study, check_study

ENV = "OUTCOME_GYM_STUDIES"
DEFAULT_DIR = Path("experiments") / "studies"


def studies_dir(directory: str | Path | None = None) -> Path:
    """The studies folder: ``directory``, else ``$OUTCOME_GYM_STUDIES``, else ./experiments/studies."""
    if directory is not None:
        return Path(directory)
    env = os.environ.get(ENV)
    return Path(env) if env else DEFAULT_DIR


def study_names(directory: str | Path | None = None) -> list[str]:
    """The studies in the folder (every ``<name>.py`` not starting with ``_``), sorted."""
    d = studies_dir(directory)
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.py") if not p.name.startswith("_"))


def _unknown(name: str, d: Path) -> StudyFileError:
    names = study_names(d)
    if not names:
        return StudyFileError.one(
            f"no study {name!r}: no studies folder {d} (run from the project root, or name one "
            f"with --studies-dir or ${ENV})", path="study")
    close = difflib.get_close_matches(name, names, n=1)
    return StudyFileError.one(f"no study {name!r} in {d}; expected one of {', '.join(names)}",
                              path="study", suggestion=close[0] if close else None)


def _import_root(d: Path) -> tuple[str, str]:
    """Put the folder's parent on ``sys.path``; return ``(package name, that parent)``."""
    package, root = d.resolve().name, str(d.resolve().parent)
    if not package.isidentifier() or package in sys.stdlib_module_names:
        raise StudyFileError.one(
            f"expected a studies folder named like a Python package that is not a standard "
            f"module, got {package!r} (rename the folder)", file=str(d))
    if root not in sys.path:
        sys.path.insert(0, root)
        importlib.invalidate_caches()
    return package, root


def study_module(name: str, directory: str | Path | None = None) -> Study:
    """The study ``name`` of the studies folder, imported as ``<folder>.<name>`` and checked.

    Raises:
        StudyFileError: No such study (one line, with the closest name), a folder that cannot
            be a package, a package of that name already imported from elsewhere, or a module
            that lacks what :class:`~outcome_gym.studies.protocol.Study` needs.
    """
    d = studies_dir(directory)
    if not name.isidentifier() or not (d / f"{name}.py").is_file():
        raise _unknown(name, d)
    package, _root = _import_root(d)
    module = importlib.import_module(f"{package}.{name}")
    where = Path(module.__file__ or "").resolve().parent
    if where != d.resolve():
        raise StudyFileError([Problem(
            file=str(d / f"{name}.py"), path="",
            message=f"expected module {package}.{name} from {d.resolve()}, but that name is "
                    f"already taken by {where} (rename one of the folders, or give this one an "
                    f"__init__.py)")])
    return check_study(module, name)
