"""Which version of a study's files produced a result: content hashes and the last commit.

A study's criteria are written in its module and its parameters in its YAML file *before* the run;
recording both files' git blob hashes (and the last commit that touched them, and whether the
working copy differs from it) in ``facts.json`` lets a reader check that the criterion in the
results is the one committed before the numbers existed (``git log --find-object=<hash>``).
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any


def blob_hash(path: Path) -> str:
    """The file's git blob hash (``git hash-object``), computed without git."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def file_source(path: Path) -> dict[str, Any]:
    """``{"file", "blob", "commit", "committed"}`` of one study file.

    ``commit`` is the last commit that touched the file (``None`` outside a git checkout) and
    ``committed`` whether the file's content is exactly what that commit holds.
    """
    path = Path(path).resolve()
    cwd = path.parent
    commit = _git(["log", "-1", "--format=%H", "--", path.name], cwd) or None
    head_blob = _git(["rev-parse", f"{commit}:./{path.name}"], cwd) if commit else None
    blob = blob_hash(path)
    return {"file": path.name, "blob": blob, "commit": commit,
            "committed": bool(head_blob) and head_blob == blob}


def study_source(module_file: str | Path) -> list[dict[str, Any]]:
    """The sources of a study: its module and, when there is one, its YAML file beside it."""
    py = Path(module_file)
    files = [py] + [p for p in (py.with_suffix(".yaml"),) if p.is_file()]
    return [file_source(p) for p in files]
