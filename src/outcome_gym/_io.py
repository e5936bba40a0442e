"""The one way outcome-gym writes JSON, Parquet, result folders and report files.

It also reads package versions.

Run folders, sweep stores, baselines and reports all go through these, so the same data gives the
same bytes wherever it is written (sorted keys, two-space indent, zstd Parquet without the index,
UTF-8 text with Unix line ends), and a reader never sees a half-written folder or file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from outcome_gym.errors import ResultsError


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if dataclasses.is_dataclass(o) and not isinstance(o, type):  # e.g. a RunSummary
        return dataclasses.asdict(o)
    raise TypeError(f"not JSON-serializable: {type(o).__name__}")


def json_ready(obj: Any) -> Any:
    """``obj`` with every float finite (NaN and infinities become ``null``) and numpy scalars
    unwrapped: strict JSON that any reader accepts.
    """
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj: Any) -> str:
    """JSON with sorted keys, two-space indent and a final newline.

    Numpy scalars are unwrapped and dataclasses written as their fields.
    """
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"


def confined(path: Path, base_dir: Path, *, what: str = "file") -> Path:
    """``path`` resolved against ``base_dir``, refusing a relative path that leaves the folder.

    A file named inside another file (a rules file in a sweep, a scenario in a contract) is read
    relative to that file's folder; an absolute path is the user's explicit choice and is kept.

    Raises:
        ValueError: A relative path whose normalised form (``..`` and symlinks resolved) lies
            outside ``base_dir``.
    """
    if path.is_absolute():
        return path
    base = base_dir.resolve()
    target = (base / path).resolve()
    if not target.is_relative_to(base):
        raise ValueError(f"expected a {what} inside {base} (a relative path may not leave the "
                         f"folder of the file that names it; give an absolute path to read one "
                         f"elsewhere), got '{path}'")
    return base / path


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file written by outcome-gym (a run's summary, a failure record).

    Raises:
        ResultsError: The file cannot be read or is not JSON.
    """
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """A table as Parquet bytes (zstd, no index)."""
    buf = io.BytesIO()
    write_parquet(df, buf)
    return buf.getvalue()


def write_parquet(df: pd.DataFrame, path: Path | io.BytesIO) -> None:
    """Write a table as Parquet (the same bytes as :func:`parquet_bytes`)."""
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, compression="zstd")


@functools.cache
def code_fingerprint() -> str:
    """A digest of this package's Python source: which code produced a run.

    Run folders are named by what was run (scenario, policy, parameters, seed), not by the code
    that ran it; each run's manifest records this digest, and the executor runs a finished folder
    again when it came from other code (a changed mechanism must not be served from old runs).
    """
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed version of each package ('not installed' if absent), looked up once a process."""
    return {name: _version(name) for name in names}


MARKER = ".outcome-gym"
"""The small JSON file (``{"kind": ..., "files": [...]}``) that marks a folder outcome-gym wrote.

Only a folder holding it (or, from before the marker existed, the files its kind always writes)
is ever replaced, and only the entries it lists are deleted.
"""

# Output folders written before the marker existed, recognised by the files their kind always has.
_LEGACY: dict[str, Any] = {
    "run": lambda p: (p / "manifest.json").is_file() and (p / "steps.parquet").is_file(),
    "study": lambda p: (p / "facts.json").is_file() and (p / "report.md").is_file(),
    "results": lambda p: (p / "_runs").is_dir() or ((p / "README.md").is_file() and (
        p / "README.md").read_text(errors="replace").startswith("# Results: does outcome-gym")),
    "sweep": lambda p: (p / ".lock").is_file() or ((p / "manifest.json").is_file()
    and (p / "runs").is_dir()),
    "compare": lambda p: (p / "report.md").is_file() and (p / "summary.json").is_file(),
    "report": lambda p: (p / "report.md").is_file() and (p / "report.html").is_file(),
    "figures": lambda p: all(e.suffix == ".png" for e in p.iterdir()),
}


def _marker(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("kind"), str) else None


def check_out_dir(out: str | Path, kind: str, *, overwrite: bool = False) -> bool:
    """Check that ``kind`` output may be written to folder ``out``; True if it holds output.

    ``out`` may be missing, an empty folder, or an earlier output of the same kind (replaced only
    with ``overwrite``). Anything else is refused: a file, a non-empty folder outcome-gym did not
    write, another kind of output. Nothing is written.

    Raises:
        ResultsError: ``out`` may not be written, with one line naming it.
    """
    out = Path(out)
    if not out.exists() and not out.is_symlink():
        return False
    if not out.is_dir():
        raise ResultsError(f"{out} is a file, not a folder; name a new or empty folder")
    try:
        entries = [e for e in out.iterdir() if e.name != MARKER]
    except OSError as exc:
        raise ResultsError(f"cannot read folder {out}: {exc}") from exc
    marker = _marker(out)
    own = marker["kind"] if marker else None
    if own is None and not entries:
        return False
    if own is None and kind in _LEGACY and _LEGACY[kind](out):
        own = kind
    if own is None:
        raise ResultsError(f"refusing to write into {out}: it is not empty and not an outcome-gym "
                           "output folder; name a new or empty folder")
    if own != kind:
        raise ResultsError(f"refusing to write into {out}: it holds outcome-gym {own} output, "
                           f"not {kind} output")
    if not overwrite:
        raise ResultsError(f"{out} holds an earlier outcome-gym {kind} output; pass --overwrite "
                           "(overwrite=True) to replace it")
    return True


def claim_dir(out: str | Path, kind: str, *, overwrite: bool = False) -> Path:
    """Make ``out`` a ``kind`` output folder (checked by :func:`check_out_dir`, then marked).

    For a folder a command fills piece by piece (a comparison, a sweep, a results root, a
    report): only its own files are written in it afterwards.

    Raises:
        ResultsError: ``out`` may not be written (see :func:`check_out_dir`).
    """
    out = Path(out)
    check_out_dir(out, kind, overwrite=overwrite)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if _marker(out) is None:
            _write_marker(out, kind, None)
    except OSError as exc:
        raise ResultsError(f"cannot write to {out}: {exc}") from exc
    return out


def _write_marker(folder: Path, kind: str, files: list[str] | None) -> None:
    data: dict[str, Any] = {"kind": kind}
    if files is not None:
        data["files"] = sorted(files)
    (folder / MARKER).write_text(dumps(data), encoding="utf-8")


@contextlib.contextmanager
def atomic_dir(out: str | Path, what: str = "results", *, kind: str = "output",
               overwrite: bool = False) -> Iterator[Path]:
    """A fresh folder to write ``kind`` output into; it becomes ``out`` when the block succeeds.

    ``out`` must be new, empty, or an earlier ``kind`` output with ``overwrite`` (see
    :func:`check_out_dir`); the check comes before the block runs. A new ``out`` is written beside
    it and renamed into place, so a reader sees it whole or not at all. An existing ``out`` is
    filled inside: the folder is written in ``out/.outcome-gym.tmp-*``, then the entries the
    earlier output listed in its marker (or, for one from before markers, those being written
    again) are replaced; nothing else in ``out`` is touched. A failed write leaves ``out`` as it
    was (a failure while replacing may leave a part of it). Folders get the user's umask.

    Raises:
        ResultsError: ``out`` may not be written, or cannot be (the temporary folder is removed).
    """
    out = Path(out)
    check_out_dir(out, kind, overwrite=overwrite)
    existing = out.is_dir()
    try:
        tmp = _fresh_sibling(out / "outcome-gym" if existing else out, os.mkdir)
    except OSError as exc:
        raise ResultsError(f"cannot write {what} to {out}: {exc}") from exc
    try:
        yield tmp
        names = [e.name for e in tmp.iterdir()]
        if existing:
            marker = _marker(out)
            old = marker.get("files", names) if marker else names
            for name in set(old) | set(names):
                if name == MARKER or "/" in name or name in ("", ".", ".."):
                    continue
                target = out / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
            for name in names:
                os.replace(tmp / name, out / name)
            tmp.rmdir()
            _write_marker(out, kind, names)
        else:
            _write_marker(tmp, kind, names)
            os.replace(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ResultsError(f"cannot write {what} to {out}: {exc}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write(path: str | Path, data: str | bytes, what: str = "report") -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` through a file beside it renamed into place.

    A reader sees the old file or the new one, never a part; a failed write leaves the old file.

    Raises:
        ResultsError: The file cannot be written (the temporary file is removed).
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        tmp = _fresh_sibling(path, lambda t: open(t, "xb").close())
    except OSError as exc:
        raise ResultsError(f"cannot write {what} to {path}: {exc}") from exc
    try:
        tmp.write_bytes(raw)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ResultsError(f"cannot write {what} to {path}: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _fresh_sibling(path: Path, create: Any) -> Path:
    """A new hidden ``.<name>.tmp-<random>`` beside ``path``, made by ``create(tmp)``.

    Made by name (``os.mkdir``, ``open(..., "x")``) rather than ``tempfile``, so it gets the
    permissions the user's umask gives any new file or folder, not ``tempfile``'s private 0700.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".{path.name}.tmp-{secrets.token_hex(6)}"
        try:
            create(tmp)
        except FileExistsError:  # pragma: no cover - a 48-bit name already taken
            continue
        return tmp


def safe_name(text: str) -> str:
    """A name from user input (a policy label, a sweep key) made safe as a file or folder name."""
    cleaned = re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("._")
    return cleaned[:80] or "unnamed"
