"""The sensitivity report: report.md, the tables (CSV and JSON) and one figure.

Written into a folder claimed for ``sensitivity`` output (``_io.claim_dir``), every file through
``_io.atomic_write``, so a killed write never leaves a half file and a re-run replaces only its own
files (the run folders in ``runs/`` are kept and reused).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outcome_gym._io import atomic_write, claim_dir, dumps
from outcome_gym.report.figures import pyplot, save_png
from outcome_gym.report.style import color

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from outcome_gym.sensitivity import SensitivityResult

TOP = 8
"""Parameters listed per response in report.md (every one is in indices.csv)."""


def _key(method: str) -> tuple[str, str]:
    return ("mu_star", "mu_star_conf") if method == "morris" else ("ST", "ST_conf")


def figure(res: SensitivityResult) -> Figure | None:
    """Per policy (rows) and lift response (columns): the top parameters' mu* (or ST) with intervals."""
    table = res.indices
    if table.empty:
        return None
    lifts = [r for r in dict.fromkeys(table["response"]) if r.startswith("lift:")]
    policies = list(dict.fromkeys(table["policy"]))
    if not lifts:
        return None
    plt = pyplot()
    key, conf = _key(res.design.method)
    names = [f.name for f in res.design.factors]
    fig, axes = plt.subplots(len(policies), len(lifts), squeeze=False,
                             figsize=(4.2 * len(lifts), 0.32 * min(TOP, len(names)) + 1.6
                                      * len(policies) + 1))
    for r, policy in enumerate(policies):
        for c, resp in enumerate(lifts):
            ax = axes[r][c]
            sub = table[(table["policy"] == policy) & (table["response"] == resp)].head(TOP)
            sub = sub.iloc[::-1]
            ys = np.arange(len(sub))
            ax.barh(ys, 100 * sub[key], xerr=100 * sub[conf], capsize=2,
                    color=[color(names.index(p)) for p in sub["parameter"]])
            if res.design.method == "sobol":
                ax.plot(100 * sub["S1"], ys, "k|", markersize=10, label="S1")
            ax.set_yticks(ys, sub["parameter"], fontsize=8)
            ax.set_title(f"{policy}\n{resp.removeprefix('lift:')}", fontsize=9)
            unit = "mu* (percentage points of lift)" if key == "mu_star" else "ST (x100)"
            ax.set_xlabel(unit, fontsize=8)
    fig.suptitle(f"{res.scenario.name}: what moves each policy's lift vs {res.reference} "
                 f"({res.design.method}, bars: 95% intervals)", fontsize=10)
    fig.tight_layout()
    return fig


def _md_table(df: pd.DataFrame) -> list[str]:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(_cell(row[c]) for c in cols) + " |")
    return lines


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def summary(res: SensitivityResult, command: str = "") -> dict[str, Any]:
    """Every number behind the report (JSON-ready)."""
    return {
        "scenario": res.scenario.name, "command": command, "method": res.design.method,
        "size": res.design.size, "points": len(res.design.points),
        "population": res.scenario.population.size,
        "horizon_days": res.scenario.clock.horizon_days, "seeds": res.seeds,
        "reference": res.reference, "policies": [p.display for p in res.policies],
        "parameters": [{"name": f.name, "path": f.entry.path, "low": f.low, "high": f.high,
                        "how": f.entry.how, "source": f.entry.source} for f in res.design.factors],
        "shares": res.shares.to_dict(orient="records"),
        "indices": res.indices.to_dict(orient="records"), "notes": res.notes,
        "timing": res.timing,
    }


def markdown(res: SensitivityResult, command: str, has_figure: bool) -> str:
    """report.md."""
    d, t = res.design, res.timing
    key, conf = _key(d.method)
    lines = [f"# Sensitivity: {res.scenario.name} ({d.method})", ""]
    if command:
        lines += ["```", command, "```", ""]
    size_word = "trajectories" if d.method == "morris" else "base sample N"
    lines += [
        f"- {len(d.factors)} user parameters varied over the ranges of the provenance registry "
        f"(`outcome-gym params`); {size_word} {d.size} -> {len(d.points)} points.",
        f"- Each point: {', '.join(p.display for p in res.policies)} on seeds "
        f"{res.seeds[0]}..{res.seeds[-1]} ({len(res.seeds)} paired seeds, the same at every "
        f"point), {res.scenario.population.size} users, {res.scenario.clock.horizon_days} days; "
        f"lift and verdict against `{res.reference}` by the paired comparison of "
        "`outcome-gym compare`.",
        f"- {t.get('runs', 0)} runs ({t.get('ran', 0)} run now, {t.get('skipped', 0)} reused) in "
        f"{t.get('seconds', 0)} s with {t.get('workers', 1)} worker(s).", "",
        "## Share of the parameter space in which each verdict holds", "",
    ]
    shares = res.shares.pivot(index="policy", columns="verdict", values="share")
    shares = shares[[c for c in res.shares["verdict"].unique()]].reset_index()
    lines += _md_table(shares.map(lambda v: f"{v:.0%}" if isinstance(v, float) else v))
    lines += ["", ("Morris points lie on a 4-level grid of each range, so the share is of that grid "
                   "(ends weigh more than in a uniform draw); Sobol points fill the box uniformly.")
              if d.method == "morris" else "Sobol points fill the box uniformly.", ""]
    if has_figure:
        lines += ["![sensitivity](sensitivity.png)", ""]
    lines += [f"## Which parameters move each response ({key}, top {TOP})", "",
              "A response is a policy's relative lift vs the reference on a metric, or "
              "`verdict:<v>` (1 where that verdict holds). "
              + ("mu*: mean absolute elementary effect, i.e. the change of the response across the "
                 "parameter's whole range, linearly extrapolated (a lift of 0.10 = 10 points); "
                 "mu_star_conf: its 95% bootstrap half-width; sigma: spread of the effects "
                 "(interactions or curvature); mu: their signed mean (the direction, when the "
                 "effects agree in sign)." if d.method == "morris" else
                 "S1: first-order share of the response's variance; ST: total share, with "
                 "interactions; _conf: 95% bootstrap half-widths."), ""]
    for (policy, resp), g in res.indices.groupby(["policy", "response"], sort=False):
        lines += [f"### {policy}: {resp}", ""]
        cols = ["parameter", key, conf] + (["sigma", "mu"] if d.method == "morris"
                                           else ["S1", "S1_conf"])
        lines += [*_md_table(g[cols].head(TOP)), ""]
    if res.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in res.notes] + [""]
    lines += ["## Parameters and ranges", ""]
    lines += _md_table(pd.DataFrame([{"parameter": f.name, "low": f.low, "high": f.high,
                                      "applied as": f.entry.how, "source": f.entry.source}
                                     for f in d.factors]))
    lines += ["", "Tables: `indices.csv`, `shares.csv`, `points.csv` (the sampled values), "
              "`responses.csv` and `verdicts.csv` (per point and policy); every number in "
              "`summary.json`.", ""]
    return "\n".join(lines)


def write_sensitivity_report(res: SensitivityResult, out: str | Path, *, command: str = "",
                             overwrite: bool = False) -> Path:
    """Write report.md, summary.json, the CSV tables and sensitivity.png into ``out``."""
    out = claim_dir(Path(out), "sensitivity", overwrite=overwrite)
    fig = figure(res)
    if fig is not None:
        save_png(fig, out / "sensitivity.png", tight=True)
    atomic_write(out / "summary.json", dumps(_clean(summary(res, command))))
    atomic_write(out / "indices.csv", res.indices.to_csv(index=False))
    atomic_write(out / "shares.csv", res.shares.to_csv(index=False))
    atomic_write(out / "points.csv", res.points_table().to_csv(index=False))
    atomic_write(out / "responses.csv", res.responses.to_csv(index=False))
    atomic_write(out / "verdicts.csv", res.verdicts.to_csv(index=False))
    atomic_write(out / "report.md", markdown(res, command, fig is not None))
    return out


def _clean(obj: Any) -> Any:
    """NaN -> None, numpy scalars -> Python (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


__all__ = ["figure", "markdown", "summary", "write_sensitivity_report"]
