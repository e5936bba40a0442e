"""The result store of a sweep: one folder per run, written atomically, and the combined dataset.

::

    <out>/
      runs/<run_id>/         manifest.json (run spec, resolved scenario, versions) and either
                             summary.json + the kept *.parquet tables (finished), or
                             failed.json (error and traceback; re-run by --resume)
      runs.csv               one row per run, sorted by run id: scenario, policy, parameters,
                             one typed ``param.<key>`` column per swept key, seed, status, error,
                             flat summary metrics
      dataset/scenario=<name>/policy=<label>/part-0.parquet
                             the same rows as hive-partitioned Parquet (partition values
                             percent-encoded), with the same column types as runs.csv
      manifest.json          the experiment, axes, policies, seeds, counts, metric descriptions,
                             the tables' schema (column -> type)

docs/data.md documents every column.

A run folder is built under a temporary name and renamed into place, so a crash never leaves a
half-written run. The combined files hold nothing that depends on when, where or how fast the sweep
ran (no timestamps, host names, durations, worker counts), so a sweep that was killed and resumed
writes them byte for byte as an uninterrupted one does.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from outcome_gym._io import (
    _fresh_sibling,
    atomic_write,
    code_fingerprint,
    dumps,
    package_versions,
    read_json,
)
from outcome_gym.errors import ResultsError
from outcome_gym.metrics.flat import describe, flatten, unmeasured
from outcome_gym.metrics.summary import RunSummary
from outcome_gym.sweeps.ids import canonical

if TYPE_CHECKING:
    from collections.abc import Iterable

    from outcome_gym.sweeps.expand import Plan, RunSpec

RUNS = "runs"
DATASET = "dataset"
DEPENDENCIES = ("outcome-gym", "numpy", "pandas", "pyarrow", "mesa", "gymnasium", "pydantic",
                "networkx")
FIXED_COLUMNS = ("run_id", "scenario", "scenario_source", "policy", "policy_name", "params")
PARTITIONS = ("scenario", "policy")
"""The dataset's hive partition keys: what a researcher filters on first."""
PARAM = "param."
"""Prefix of a swept key's column (``param.population.size``): no metric name starts with it."""
ARROW_TYPES = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string(),
               "json": pa.string()}


# --- one run's folder --------------------------------------------------------------------------


def made_by(folder: Path) -> str | None:
    """The code fingerprint a run folder's manifest records (``None``: none, or unreadable)."""
    try:
        code = json.loads((folder / "manifest.json").read_text()).get("code")
    except (OSError, ValueError, AttributeError):
        return None
    return code if isinstance(code, str) else None


def is_current(dest: Path) -> bool:
    """Whether a finished run folder was made by this code (:func:`outcome_gym._io.code_fingerprint`).

    A folder from other code — an older model, or one written before manifests recorded the code —
    is run again by the executor (and replaced), never served as this code's result.
    """
    return made_by(dest) == code_fingerprint()


def run_state(dest: Path, keep: list[str]) -> str | None:
    """``ok`` (summary and every kept table present), ``failed`` or ``None`` (not run)."""
    if (dest / "summary.json").is_file():
        if all((dest / f"{t}.parquet").is_file() for t in keep):
            return "ok"
        return None  # finished under a smaller `keep`: run again for the missing tables
    if (dest / "failed.json").is_file():
        return "failed"
    return None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def write_run(dest: Path, files: dict[str, bytes]) -> bool:
    """Write a run folder atomically: a temporary folder renamed into place.

    A finished copy already in place that holds every file being written (the same run executed
    twice, e.g. rescheduled by Dask after its worker died) is kept: runs are deterministic, so both
    copies are identical. Anything else in place (a failure record, a copy with fewer tables) is
    replaced.

    Returns:
        True if this call put the folder in place, False if a finished copy was kept.

    Raises:
        ResultsError: The folder cannot be written.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _fresh_sibling(dest, os.mkdir)  # the user's umask, not mkdtemp's 0700
    try:
        for name, data in sorted(files.items()):
            with open(tmp / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        _fsync_dir(tmp)
        placed = _place(tmp, dest, [n for n in files if n != "failed.json"])
        _fsync_dir(dest.parent)
        return placed
    except OSError as exc:
        raise ResultsError(f"cannot write run folder {dest}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _place(tmp: Path, dest: Path, names: list[str]) -> bool:
    for _ in range(5):
        try:
            os.rename(tmp, dest)  # atomic; fails if dest exists and is not empty
            return True
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR):
                raise
        if ((dest / "summary.json").is_file() and all((dest / n).is_file() for n in names)
                and made_by(dest) == made_by(tmp)):
            return False  # the same run by the same code: identical, keep it
        aside = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(dest, aside)
        except FileNotFoundError:
            continue  # someone else moved it; try again
        shutil.rmtree(aside, ignore_errors=True)
    raise OSError(errno.EEXIST, f"{dest} keeps reappearing (another writer?)")


def failure_files(manifest: dict[str, Any], error: str, trace: str) -> dict[str, bytes]:
    """The files of a failure record."""
    return {"manifest.json": dumps(manifest).encode(),
            "failed.json": dumps({"error": error, "traceback": trace}).encode()}


def clean_temporaries(runs_dir: Path, run_ids: Iterable[str] | None = None) -> int:
    """Remove temporary folders left by writers that were killed; return how many.

    Args:
        runs_dir: The sweep's ``runs/`` folder.
        run_ids: Only these runs' temporaries (``.<run_id>.tmp-*``, ``.<run_id>.old-*``): after a
            broken pool, the runs its workers were writing; None for every temporary.
    """
    if not runs_dir.is_dir():
        return 0
    owners = None if run_ids is None else {f".{r}" for r in run_ids}
    n = 0
    for p in runs_dir.iterdir():
        stem, sep, _ = p.name.partition(".tmp-") if ".tmp-" in p.name else p.name.partition(".old-")
        if not (p.name.startswith(".") and sep) or (owners is not None and stem not in owners):
            continue
        shutil.rmtree(p, ignore_errors=True)
        n += 1
    return n


# --- the combined dataset ----------------------------------------------------------------------


def axis_kind(values: tuple[Any, ...]) -> str:
    """How an axis's column is typed: ``int``, ``float``, ``bool``, ``str`` or ``json`` (text)."""
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float"
    if all(isinstance(v, str) for v in values):
        return "str"
    return "json"


def _axis_column(kind: str, values: list[Any]) -> pd.Series:
    if kind == "int":
        return pd.Series(values, dtype="Int64")
    if kind == "float":
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    if kind == "bool":
        return pd.Series(values, dtype="boolean")
    if kind == "str":
        return pd.Series(values, dtype=object)
    return pd.Series([None if v is None else json.dumps(v, sort_keys=True) for v in values],
                     dtype=object)


def param_column(key: str) -> str:
    """The dataset column of a swept key."""
    return PARAM + key


def collect(plan: Plan, out: Path) -> pd.DataFrame:
    """One row per planned run, sorted by run id, read from the run folders."""
    runs_dir = out / RUNS
    rows: list[dict[str, Any]] = []
    ordered: list[RunSpec] = sorted(plan.runs, key=lambda r: r.run_id)
    for run in ordered:
        dest = runs_dir / run.run_id
        state = run_state(dest, plan.keep)
        row: dict[str, Any] = {"run_id": run.run_id, "scenario": run.scenario,
                               "scenario_source": run.source, "policy": run.label,
                               "policy_name": run.policy, "params": canonical(run.params),
                               "seed": run.seed, "status": state or "missing", "error": None}
        if state == "ok":
            scenario = plan.base_scenario(run)
            summary = RunSummary.from_dict(read_json(dest / "summary.json"), scenario)
            metrics = flatten(scenario, summary)
            # a segment with no users at this point has 0s for want of users: missing, not data
            metrics.update(dict.fromkeys(unmeasured(summary), math.nan))
            clash = [m for m in metrics if m.startswith(PARAM) or m in row]
            if clash:  # a summary's extra metric named like a fixed or parameter column
                raise ResultsError(f"run {run.run_id}: metric name(s) {clash} clash with the "
                                   f"dataset's fixed or {PARAM}* columns")
            row.update(metrics)
        elif state == "failed":
            row["error"] = str(read_json(dest / "failed.json").get("error", ""))
        rows.append(row)
    df = pd.DataFrame(rows)
    head = list(FIXED_COLUMNS)
    for a in plan.axes:
        values = [r.values.get(a.key) for r in ordered]
        df[param_column(a.key)] = _axis_column(axis_kind(a.values), values).set_axis(df.index)
    axis_cols = [param_column(a.key) for a in plan.axes]
    rest = [c for c in df.columns if c not in head and c not in axis_cols
            and c not in ("seed", "status", "error")]
    df = df[[*head, *axis_cols, "seed", "status", "error", *rest]]
    for col in rest:
        df[col] = df[col].astype("float64")
    return df


def schema(plan: Plan, df: pd.DataFrame) -> pa.Schema:
    """The Arrow type of every column, the one both runs.csv and dataset/ are read with.

    Text: string; ``seed``: int64; a swept key: by :func:`axis_kind` (a JSON text column for
    mixed values); metrics: float64. No pandas metadata is attached, so pandas reads the Parquet
    as it reads the CSV: an int64 column with empty cells (a key swept for another policy only)
    becomes float64 in both.
    """
    kinds = {param_column(a.key): axis_kind(a.values) for a in plan.axes}
    fields = []
    for col in df.columns:
        if col in kinds:
            typ = ARROW_TYPES[kinds[col]]
        elif col == "seed":
            typ = pa.int64()
        elif col in (*FIXED_COLUMNS, "status", "error"):
            typ = pa.string()
        else:
            typ = pa.float64()
        fields.append(pa.field(col, typ))
    return pa.schema(fields)


def schema_record(sch: pa.Schema) -> list[dict[str, str]]:
    """The schema as ``[{"name", "type"}]`` in column order (the manifest's ``schema``)."""
    return [{"name": f.name, "type": str(f.type)} for f in sch]


def partition_dir(values: tuple[str, ...]) -> str:
    """``scenario=<s>/policy=<p>``, each value percent-encoded (``:``, ``=``, ``/`` in labels)."""
    return "/".join(f"{k}={quote(v, safe='')}" for k, v in zip(PARTITIONS, values, strict=True))


def _write_dataset(df: pd.DataFrame, sch: pa.Schema, dest: Path) -> None:
    """dataset/ as hive-partitioned Parquet, built beside ``dest`` and renamed into place."""
    table = pa.Table.from_pandas(df, schema=sch, preserve_index=False).replace_schema_metadata(None)
    table = table.drop_columns(list(PARTITIONS))
    tmp = dest.with_name(f".{dest.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        keys = list(zip(*(df[k].astype(str).to_numpy() for k in PARTITIONS), strict=True))
        for values in sorted(set(keys)):
            part = tmp / partition_dir(values)
            part.mkdir(parents=True)
            mask = pa.array([k == values for k in keys])
            pq.write_table(table.filter(mask), part / "part-0.parquet", compression="zstd")
        if dest.exists():
            aside = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
            os.rename(dest, aside)
            shutil.rmtree(aside, ignore_errors=True)
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sweep_manifest(plan: Plan, df: pd.DataFrame, sch: pa.Schema) -> dict[str, Any]:
    """The combined manifest: what was swept and what came out (no times, hosts or paths)."""
    exp = plan.file.experiment
    counts = {"points": plan.n_points, "runs": len(plan.runs), "merged": plan.merged,
              **{s: int((df["status"] == s).sum()) for s in ("ok", "failed", "missing")}}
    metric_cols = [c for c in df.columns if "." in c and not c.startswith(PARAM)]
    metrics: dict[str, dict[str, Any]] = {}
    for source, sc in plan.scenarios.items():
        names = {r.scenario for r in plan.runs if r.source == source}
        info = {}
        for m in metric_cols:
            try:
                i = describe(sc, m)
            except StopIteration:  # an outcome of another scenario
                continue
            info[m] = {"family": i.family, "direction": i.direction, "label": i.label,
                       "segment": i.segment, "threshold": i.threshold}
        for name in sorted(names):
            metrics[name] = info
    return {
        "experiment": {"name": exp.name, "description": exp.description,
                       "file_sha256": plan.file.sha256,
                       "definition": exp.model_dump(mode="json")},
        "scenarios": [{"source": s, "name": sc.name} for s, sc in plan.scenarios.items()],
        "axes": [{"key": a.key, "column": param_column(a.key), "group": a.group,
                  "param": a.param, "label": a.label, "values": list(a.values)}
                 for a in plan.axes],
        "policies": [{"label": p.display, "name": p.policy, "params": p.params}
                     for p in plan.policies],
        "seeds": plan.seeds,
        "keep": ["summary", *plan.keep],
        "counts": counts,
        "columns": {"fixed": list(FIXED_COLUMNS),
                    "axes": [param_column(a.key) for a in plan.axes], "metrics": metric_cols},
        "schema": schema_record(sch),
        "partitioning": list(PARTITIONS),
        "metrics": metrics,
        "versions": package_versions(DEPENDENCIES),
        "python": sys.version.split()[0],
    }


def combine(plan: Plan, out: Path) -> pd.DataFrame:
    """Write runs.csv, dataset/ and manifest.json from the run folders; return the rows."""
    df = collect(plan, out)
    sch = schema(plan, df)
    atomic_write(out / "runs.csv", df.to_csv(index=False, lineterminator="\n"), "runs.csv")
    try:
        _write_dataset(df, sch, out / DATASET)
    except OSError as exc:
        raise ResultsError(f"cannot write {out / DATASET}: {exc}") from exc
    atomic_write(out / "manifest.json", dumps(sweep_manifest(plan, df, sch)), "sweep manifest")
    return df


def _manifest_schema(sweep_dir: Path) -> list[dict[str, str]]:
    try:
        found = json.loads((sweep_dir / "manifest.json").read_text()).get("schema")
    except (OSError, ValueError, AttributeError):
        return []
    return found if isinstance(found, list) else []


def read_dataset(sweep_dir: str | Path) -> pd.DataFrame:
    """The combined dataset of a sweep folder as one DataFrame, sorted by run id.

    The partition columns come back as text (pandas alone makes them categories), in the
    column order of runs.csv: the same dtypes :func:`read_runs_csv` gives.
    """
    path = Path(sweep_dir) / DATASET
    if not path.is_dir():
        raise ResultsError(f"{sweep_dir}: no {DATASET}/ folder (is this a finished sweep?)")
    # a sweep written before the policy partition has scenario=<name>/ folders only
    keys = PARTITIONS if any(path.glob("*=*/*=*")) else PARTITIONS[:1]
    part = ds.partitioning(pa.schema([(k, pa.string()) for k in keys]), flavor="hive")
    try:
        table = ds.dataset(path, format="parquet", partitioning=part).to_table()
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc
    df = table.to_pandas()
    order = [c["name"] for c in _manifest_schema(Path(sweep_dir)) if c.get("name") in df.columns]
    if len(order) == len(df.columns):
        df = df[order]
    return df.sort_values("run_id", kind="stable").reset_index(drop=True)


def read_runs_csv(sweep_dir: str | Path) -> pd.DataFrame:
    """runs.csv read with the manifest's schema: text columns stay text (an empty ``error``
    column, a label like ``1``), so the dtypes are those of :func:`read_dataset`.
    """
    sweep_dir = Path(sweep_dir)
    text = [c["name"] for c in _manifest_schema(sweep_dir) if c.get("type") == "string"]
    try:
        return pd.read_csv(sweep_dir / "runs.csv", dtype=dict.fromkeys(text, str))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"cannot read {sweep_dir / 'runs.csv'}: {exc}") from exc


__all__ = [
    "DATASET",
    "PARAM",
    "PARTITIONS",
    "RUNS",
    "axis_kind",
    "clean_temporaries",
    "collect",
    "combine",
    "failure_files",
    "param_column",
    "read_dataset",
    "read_runs_csv",
    "run_state",
    "schema",
    "sweep_manifest",
    "write_run",
]
