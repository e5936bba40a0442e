"""A study's result folder and the table of every stylized fact (``results/README.md``).

:func:`write_study` writes what a study returned (:class:`~outcome_gym.studies.StudyResult`) into
``results/<study>/``: ``facts.json``, one CSV per table, ``figures/*.png`` and ``report.md``.
:func:`write_readme` builds ``results/README.md`` from the ``facts.json`` of every study folder,
never by hand, so it cannot disagree with the numbers next to it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from outcome_gym._io import atomic_dir, atomic_write, dumps, package_versions
from outcome_gym.report.figures import save_png
from outcome_gym.report.tables import md_table
from outcome_gym.studies.base import StudyResult


def _md_table(df: pd.DataFrame, floatfmt: str = "{:.4g}") -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return floatfmt.format(v) if math.isfinite(v) else "n/a"
        return str(v)

    return md_table(df.columns, [[cell(v) for v in row] for row in df.itertuples(index=False)])


def render_report(result: StudyResult) -> str:
    """The study's ``report.md``."""
    lines = [f"# {result.title}", "", f"Regenerate with `{result.command}`.", ""]
    for note in result.notes:
        lines += [note, ""]
    lines += ["## Facts", ""]
    for f in result.facts:
        lines += [f"- **{f.fact} — {f.scope}: {f.status}.** {f.produced}. "
                  f"Criterion: {f.criterion}. Literature: {f.literature}."
                  + (f" {f.explanation}" if f.explanation else "")]
    lines.append("")
    for name in result.figures:
        lines += [f"![{name}](figures/{name}.png)", ""]
    for name, df in result.tables.items():
        lines += [f"## {name}", "", _md_table(df), ""]
    lines += ["## Parameters", "", "```json", dumps(result.params).strip(), "```", ""]
    return "\n".join(lines)


def write_study(result: StudyResult, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``facts.json``, the tables, figures and ``report.md`` into ``out`` (atomically).

    ``out`` must be new, empty, or an earlier study folder with ``overwrite``.

    Raises:
        ResultsError: The folder may not be written (see :func:`outcome_gym._io.check_out_dir`)
            or cannot be.
    """
    with atomic_dir(out, "study results", kind="study", overwrite=overwrite) as tmp:
        payload = {
            "study": result.name,
            "title": result.title,
            "command": result.command,
            "params": result.params,
            "facts": [asdict(f) for f in result.facts],
            "versions": package_versions(("outcome-gym", "numpy", "mesa")),
        }
        (tmp / "facts.json").write_text(dumps(payload))
        for name, df in result.tables.items():
            df.to_csv(tmp / f"{name}.csv", index=False, float_format="%.6g")
        for name, fig in result.figures.items():
            save_png(fig, tmp / "figures" / f"{name}.png", tight=True)
        (tmp / "report.md").write_text(render_report(result))
    return Path(out)


HEADER = """# Results: does outcome-gym reproduce what is known?

Each row is one stylized fact or claim of `docs/calibration.md` as one study of
`experiments/studies/` tested it: what the literature says, the criterion fixed before the run,
what outcome-gym produced (mean with a 95% interval over seeds; lifts are paired against the
reference on the same seeds), pass or fail, and the command that regenerates it. Where a fact is
not reproduced the row says so and names the mechanism that is missing or what differs. Every
parameter is inside docs/calibration.md's ranges (the scenario files cite their rows). One scenario
was changed while a study was being written: productivity_tool's default layout was reordered in
the commit that added the trap study (focus mode 4th, feed 6th; the scenario file says so), a design
choice, not a calibrated number. One calibration target is missed and has its own row: the
realised open rate of a notification.

This file is written by `outcome-gym study` from `results/<study>/facts.json`; each study's
folder also has its `report.md`, tables (CSV) and figures. Regenerate everything with
`make experiments` (about {minutes} on 2 cores).
"""


def _fact_key(fact: dict[str, Any]) -> tuple[int, str]:
    m = re.match(r"\s*(\d+)", str(fact.get("fact", "")))
    return (int(m.group(1)) if m else 99, str(fact.get("fact", "")))


def collect(results_dir: Path) -> list[dict[str, Any]]:
    """Every fact of every study folder under ``results_dir``, with its study and command."""
    rows = []
    for path in sorted(results_dir.glob("*/facts.json")):
        data = json.loads(path.read_text())
        for fact in data["facts"]:
            rows.append({**fact, "study": data.get("study", path.parent.name),
                         "command": data["command"]})
    rows.sort(key=_fact_key)
    return rows


def render(rows: list[dict[str, Any]], minutes: str = "12 minutes",
           studies: Sequence[str] = ()) -> str:
    """The README text (``studies``: every study there is, to name those not yet run)."""
    head = ["fact", "where", "literature", "criterion", "outcome-gym produced", "result",
            "why (mechanism), caveats", "regenerate"]
    cells = [[r["fact"], r["scope"], r["literature"], r["criterion"], r["produced"],
              f"**{r['status']}**", r.get("explanation", ""), f"`{r['command']}`"] for r in rows]
    lines = [HEADER.replace("{minutes}", minutes), "", md_table(head, cells)]
    missing = [n for n in studies if not any(r["study"] == n for r in rows)]
    if missing:
        lines += ["", f"Not yet run here: {', '.join(missing)}."]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines += ["", "Totals: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".", ""]
    return "\n".join(lines)


def write_readme(results_dir: str | Path, minutes: str = "12 minutes",
                 studies: Sequence[str] = ()) -> Path:
    """Write ``results_dir/README.md`` (atomically) from the studies' folders found there.

    Raises:
        ResultsError: The file cannot be written.
    """
    results_dir = Path(results_dir)
    text = render(collect(results_dir), minutes, studies)
    return atomic_write(results_dir / "README.md", text, "README")
