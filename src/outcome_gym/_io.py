"""The one way outcome-gym writes JSON, Parquet and result folders, and reads package versions.

Run folders, sweep stores and baselines all go through these, so the same data gives the same
bytes wherever it is written (sorted keys, two-space indent, zstd Parquet without the index).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import shutil
import tempfile
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
    raise TypeError(f"not JSON-serializable: {type(o).__name__}")


def dumps(obj: Any) -> str:
    """JSON with sorted keys, two-space indent and a final newline (numpy scalars unwrapped)."""
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
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
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
