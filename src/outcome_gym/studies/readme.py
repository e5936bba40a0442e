"""``results/README.md``: one table of every stylized fact, built from the studies' ``facts.json``.

The table is regenerated from what the studies wrote, never edited by hand, so it cannot disagree
with the numbers next to it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from outcome_gym._io import atomic_write
from outcome_gym.studies.spec import STUDIES

HEADER = """# Results: does outcome-gym reproduce what is known?

Each row is one stylized fact or claim of `docs/calibration.md` as one experiment of `experiments/`
tested it: what the literature says, the criterion fixed before the run, what outcome-gym produced
(mean with a 95% interval over seeds; lifts are paired against the reference on the same seeds),
pass or fail, and the command that regenerates it. Where a fact is not reproduced the row says so
and names the mechanism that is missing or what differs. No scenario was tuned to make a number
appear; every parameter is inside docs/calibration.md's ranges (the scenario files cite their rows).
One calibration target is missed and has its own row: the realised open rate of a notification.

This file is written by `outcome-gym experiment` from `results/<study>/facts.json`; each study's
folder also has its `report.md`, tables (CSV) and figures. Regenerate everything with
`make experiments` (about {minutes} on 2 cores).
"""


def _fact_key(fact: dict[str, Any]) -> tuple[int, str]:
    m = re.match(r"\s*(\d+)", str(fact.get("fact", "")))
    return (int(m.group(1)) if m else 99, str(fact.get("fact", "")))


def collect(results_dir: Path) -> list[dict[str, Any]]:
    """Every fact of every study folder under ``results_dir``, with its study and command."""
    rows = []
    for name in STUDIES:
        path = results_dir / name / "facts.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        for fact in data["facts"]:
            rows.append({**fact, "study": name, "command": data["command"]})
    rows.sort(key=_fact_key)
    return rows


def render(rows: list[dict[str, Any]], minutes: str = "12 minutes") -> str:
    """The README text."""
    from outcome_gym.report.tables import md_table  # report/ sits above studies/

    head = ["fact", "where", "literature", "criterion", "outcome-gym produced", "result",
            "why (mechanism), caveats", "regenerate"]
    cells = [[r["fact"], r["scope"], r["literature"], r["criterion"], r["produced"],
              f"**{r['status']}**", r.get("explanation", ""), f"`{r['command']}`"] for r in rows]
    lines = [HEADER.replace("{minutes}", minutes), "", md_table(head, cells)]
    missing = [n for n in STUDIES if not any(r["study"] == n for r in rows)]
    if missing:
        lines += ["", f"Not yet run here: {', '.join(missing)}."]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines += ["", "Totals: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".", ""]
    return "\n".join(lines)


def write_readme(results_dir: str | Path, minutes: str = "12 minutes") -> Path:
    """Write ``results_dir/README.md`` (atomically) from the studies found there.

    Raises:
        ResultsError: The file cannot be written.
    """
    results_dir = Path(results_dir)
    return atomic_write(results_dir / "README.md", render(collect(results_dir), minutes), "README")
