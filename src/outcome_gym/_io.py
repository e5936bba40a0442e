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
import io
import json
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


def dumps(obj: Any) -> str:
    """JSON with sorted keys, two-space indent and a final newline.

    Numpy scalars are unwrapped and dataclasses written as their fields.
    """
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """A table as Parquet bytes (zstd, no index)."""
    buf = io.BytesIO()
    write_parquet(df, buf)
    return buf.getvalue()


def write_parquet(df: pd.DataFrame, path: Path | io.BytesIO) -> None:
    """Write a table as Parquet (the same bytes as :func:`parquet_bytes`)."""
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, compression="zstd")


@functools.cache
def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed version of each package ('not installed' if absent), looked up once a process."""
    return {name: _version(name) for name in names}


@contextlib.contextmanager
def atomic_dir(out: str | Path, what: str = "results") -> Iterator[Path]:
    """A fresh folder beside ``out`` to write into; it replaces ``out`` when the block succeeds.

    A reader never sees a half-written ``out``: the folder appears whole or not at all, and a
    failed write leaves the previous ``out`` in place.

    Raises:
        ResultsError: The folder cannot be written (the temporary folder is removed).
    """
    out = Path(out)
    try:
        tmp = _fresh_sibling(out, os.mkdir)
    except OSError as exc:
        raise ResultsError(f"cannot write {what} to {out}: {exc}") from exc
    try:
        yield tmp
        if out.exists():
            shutil.rmtree(out)
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
