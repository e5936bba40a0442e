"""Where a study's fast version lands over many seed sets: the evidence behind its test's bounds.

The tests in ``tests/studies/`` run each study's ``FAST`` version on one seed set and assert that
its numbers lie in bounds set from many *other* seed sets (each test's docstring gives the ranges).
When a mechanism changes, those ranges move; this script re-measures them instead of guessing::

    .venv/bin/python experiments/bounds.py trap --sets 20 --workers 2
    .venv/bin/python experiments/bounds.py frontier --sets 20 --first 1000 --step 1000 --json out.json

It runs the fast version with ``first_seed`` = FIRST, FIRST + STEP, ... (never the test's own seed
set unless asked), and prints, per fact row and number, the minimum, median and maximum over the
sets, and how often each status came out. Run folders are cached in ``--runs`` (default
``results/_scratch/_runs``), so a second call with more sets only runs the new ones.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from outcome_gym.studies import default_params, run_study, study_module

HELD_APART = 1_000_000  # offset of a set's held-apart seeds (frontier's test_first_seed)


def measure(name: str, sets: int, first: int, step: int, workers: int, runs_dir: Path
            ) -> list[dict[str, object]]:
    """The fast version's facts on ``sets`` seed sets: one record per (set, fact row)."""
    mod = study_module(name)
    base = default_params(name, fast=True)
    records: list[dict[str, object]] = []
    for i in range(sets):
        seeds = {"first_seed": first + i * step}
        if "test_first_seed" in mod.Params.model_fields:  # held-apart seeds move with the set
            seeds["test_first_seed"] = HELD_APART + first + i * step
        params = mod.Params(**{**base.model_dump(), **seeds})
        result = run_study(mod, params, workers=workers, runs_dir=runs_dir)
        for f in result.facts:
            records.append({"first_seed": params.first_seed, "fact": f.fact, "scope": f.scope,
                            "status": f.status, "values": f.values})
        print(f"set {i + 1}/{sets} (first_seed {params.first_seed}) done", file=sys.stderr)
    return records


def summarise(records: list[dict[str, object]]) -> list[str]:
    """Lines: per row and value, min / median / max over the sets; per row, status counts."""
    by_row: dict[tuple[str, str], list[dict[str, object]]] = defaultdict(list)
    for r in records:
        by_row[(str(r["fact"]), str(r["scope"]))].append(r)
    lines = []
    for (fact, scope), rows in by_row.items():
        counts: dict[str, int] = defaultdict(int)
        for r in rows:
            counts[str(r["status"])] += 1
        lines.append(f"{fact} [{scope}]: " + ", ".join(f"{k} {v}/{len(rows)}"
                                                         for k, v in sorted(counts.items())))
        keys = sorted({k for r in rows for k in r["values"]})  # type: ignore[attr-defined]
        for k in keys:
            vals = [float(r["values"][k]) for r in rows  # type: ignore[index]
                    if k in r["values"] and math.isfinite(float(r["values"][k]))]  # type: ignore[index,operator]
            if vals:
                lines.append(f"    {k:<36} min {min(vals):+.4g}  median "
                             f"{statistics.median(vals):+.4g}  max {max(vals):+.4g}  (n={len(vals)})")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Measure a study's fast version over seed sets and print the ranges."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("study", help="study name (experiments/studies/NAME.py)")
    ap.add_argument("--sets", type=int, default=20, help="seed sets (default 20)")
    ap.add_argument("--first", type=int, default=1000, help="first seed of the first set")
    ap.add_argument("--step", type=int, default=10, help="first-seed step between sets")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--runs", type=Path, default=Path("results/_scratch/_runs"),
                    help="run-folder cache")
    ap.add_argument("--json", type=Path, help="also write every record here")
    args = ap.parse_args(argv)
    records = measure(args.study, args.sets, args.first, args.step, args.workers, args.runs)
    print("\n".join(summarise(records)))
    if args.json:
        args.json.write_text(json.dumps(records, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
