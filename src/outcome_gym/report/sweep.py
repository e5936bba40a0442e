"""The sweep report: figures, report.md and a self-contained report.html.

Per scenario:

* **metric vs parameter**, one figure per swept axis: engagement, each outcome spec, trust and the
  context-failure rate against the axis's values, one line per policy. A point is the mean over the
  other axes and seeds; its bar is a 95% Student-t interval over seeds (the per-seed means over the
  other axes are the sample). A policy the axis does not apply to (an axis scoped to another
  policy) is drawn as a dashed band: its mean and interval over everything it ran.
* **engagement-vs-outcome frontier**: for each outcome spec, engagement index (x) against the
  outcome (y), one point per parameter point per policy with 95% intervals over seeds on both axes;
  a policy's points are joined in axis order when one axis varies.

A metric of a segment with no users at a point (docs/verdicts.md, rule ``no-users``) is missing
from the dataset there, not 0: its cell reads *not measured*, its figures leave the point out and
say so, and a mean over other axes that include such points is over the measured ones only
(marked †).

Everything is read from the sweep folder (``manifest.json`` and ``dataset/``), so a report can be
drawn again at any time without running anything.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outcome_gym._io import atomic_dir, atomic_write, claim_dir, safe_name
from outcome_gym.analysis.stats import t_interval
from outcome_gym.errors import ResultsError
from outcome_gym.report.figures import empty_panel, pyplot, save_png
from outcome_gym.report.style import color
from outcome_gym.report.tables import md_table
from outcome_gym.sweeps.store import axis_kind, read_dataset

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CONTEXT_METRICS = ("wellbeing.trust", "fragmentation.context_failure_rate")
MAX_LABELLED_POINTS = 12
NOT_MEASURED = "not measured (no users)"
"""A cell whose segment has no users at every run it averages (the dataset holds no value)."""
FRONTIER = "engagement vs outcome frontier"
PARTIAL = "†"
"""Marks a mean over other axes that left out points where the segment has no users."""


interval = t_interval  # the sweep report's name for it


def _fmt(mean: float, low: float, high: float) -> str:
    if not math.isfinite(mean):
        return "–"
    if not math.isfinite(low):
        return f"{mean:.4g}"
    return f"{mean:.4g} [{low:.4g}, {high:.4g}]"


def _short(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 24 else text[:21] + "..."


class SweepData:
    """A finished sweep read back: manifest, rows, axes and metric descriptions."""

    def __init__(self, sweep_dir: str | Path) -> None:
        self.dir = Path(sweep_dir)
        path = self.dir / "manifest.json"
        if not path.is_file():
            raise ResultsError(f"{sweep_dir}: no manifest.json (is this a sweep folder?)")
        try:
            self.manifest = json.loads(path.read_text())
        except ValueError as exc:
            raise ResultsError(f"{path}: not valid JSON: {exc}") from exc
        self.df = read_dataset(self.dir)
        self.ok = self.df[self.df["status"] == "ok"]
        self.axes: list[dict[str, Any]] = self.manifest["axes"]
        self.labels = [p["label"] for p in self.manifest["policies"]]
        self.name = self.manifest["experiment"]["name"]

    def axis_values(self, axis: dict[str, Any]) -> list[Any]:
        """The axis's values as they appear in the dataset's column, in the file's order."""
        kind = axis_kind(tuple(axis["values"]))
        if kind == "json":
            return [json.dumps(v, sort_keys=True) for v in axis["values"]]
        return list(axis["values"])

    def numeric(self, axis: dict[str, Any]) -> bool:
        """Whether the axis's values are numbers (plotted at their values)."""
        return axis_kind(tuple(axis["values"])) in ("int", "float")

    def metrics(self, scenario: str) -> list[str]:
        """The metrics to draw for a scenario: engagement, outcomes, trust, context failures."""
        info = self.manifest["metrics"].get(scenario, {})
        outcomes = [m for m, i in info.items() if i["family"] == "outcome"]
        return ["engagement.index", *outcomes, *[m for m in CONTEXT_METRICS if m in info]]

    def label(self, scenario: str, metric: str) -> str:
        """A metric's label with the direction that counts as better."""
        i = self.manifest["metrics"].get(scenario, {}).get(metric, {})
        better = {"increase": " (higher is better)", "decrease": " (lower is better)"}
        return f"{i.get('label', metric)}{better.get(i.get('direction', ''), '')}"


def _per_seed(rows: pd.DataFrame, metric: str) -> np.ndarray:
    return rows.groupby("seed")[metric].mean().to_numpy()


def column(axis: dict[str, Any]) -> str:
    """The dataset column of a swept axis (``param.<key>``; the bare key in older sweeps)."""
    return str(axis.get("column", axis["key"]))


def _applies(rows: pd.DataFrame, key: str) -> bool:
    return bool(rows[key].notna().any())


def _cell(rows: pd.DataFrame, metric: str) -> dict[str, Any]:
    """Mean, interval and n over seeds of ``rows``; ``runs`` and how many had no value
    (``unmeasured``: the metric's segment has no users there).
    """
    mean, low, high, n = interval(_per_seed(rows, metric)) if len(rows) else (
        math.nan, math.nan, math.nan, 0)
    return {"mean": mean, "low": low, "high": high, "n": n, "runs": len(rows),
            "unmeasured": int(rows[metric].isna().sum())}


def not_measured(stat: dict[str, Any]) -> bool:
    """Whether a cell of :func:`axis_stats` has runs but no value in any (no users)."""
    return bool(stat["runs"]) and stat["unmeasured"] == stat["runs"]


def axis_stats(data: SweepData, scenario: str, axis: dict[str, Any], metric: str
               ) -> list[dict[str, Any]]:
    """Mean and 95% interval over seeds of ``metric`` per policy and axis value.

    Each cell also counts its ``runs`` and those without a value (``unmeasured``: the metric's
    segment has no users at that point); the means are over the runs with a value.
    """
    sub = data.ok[data.ok["scenario"] == scenario]
    out = []
    for label in data.labels:
        rows = sub[sub["policy"] == label]
        if rows.empty:
            continue
        if not _applies(rows, column(axis)):
            out.append({"policy": label, "value": None, **_cell(rows, metric)})
            continue
        for value in data.axis_values(axis):
            at = rows[rows[column(axis)] == value]
            out.append({"policy": label, "value": value, **_cell(at, metric)})
    return out


def _positions(data: SweepData, axis: dict[str, Any]) -> tuple[dict[Any, float], list[str]]:
    values = data.axis_values(axis)
    if data.numeric(axis):
        return {v: float(v) for v in values}, []
    return {v: float(i) for i, v in enumerate(values)}, [_short(v) for v in axis["values"]]


def metric_vs_axis(data: SweepData, scenario: str, axis: dict[str, Any]) -> Figure:
    """One panel per metric: the metric against the axis's values, a line per policy."""
    plt = pyplot()
    metrics = data.metrics(scenario)
    cols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.6 * cols, 3.5 * nrows), squeeze=False)
    pos, ticks = _positions(data, axis)
    xs = list(pos.values())
    for ax, metric in zip(axes.flat, metrics, strict=False):
        stats = axis_stats(data, scenario, axis, metric)
        if all(not_measured(s) for s in stats if s["runs"]):
            empty_panel(ax, f"{data.label(scenario, metric)}\n{NOT_MEASURED}: its segment has no "
                            "users at any point", fontsize=8)
            continue
        gaps = _unmeasured_values(data, axis, stats)
        for value, _ in gaps:  # a gap in the line, marked where the point would be
            ax.axvline(pos[value], color="lightgrey", ls=":", lw=1)
        if gaps:
            shown = ", ".join(_short(v) for _, v in gaps)
            ax.text(0.5, 0.02, f"{NOT_MEASURED} at {axis['key']} = {shown}", fontsize=6,
                    transform=ax.transAxes, ha="center", va="bottom", color="dimgrey")
        for k, label in enumerate(data.labels):
            mine = [s for s in stats if s["policy"] == label]
            shade = color(k)
            if len(mine) == 1 and mine[0]["value"] is None:
                s = mine[0]
                if not math.isfinite(s["mean"]):
                    continue
                ax.axhline(s["mean"], color=shade, ls="--", lw=1.2, label=f"{label} (not swept)")
                if math.isfinite(s["low"]):
                    ax.axhspan(s["low"], s["high"], color=shade, alpha=0.12)
                continue
            pts = [s for s in mine if math.isfinite(s["mean"])]
            if not pts:
                continue
            x = np.array([pos[s["value"]] for s in pts])
            y = np.array([s["mean"] for s in pts])
            lo = np.array([s["low"] for s in pts])
            hi = np.array([s["high"] for s in pts])
            err = np.nan_to_num(np.vstack([y - lo, hi - y]))
            ax.errorbar(x, y, yerr=err, fmt="o-", color=shade, capsize=3, lw=1.4, ms=4,
                        label=label)
        ax.set_title(data.label(scenario, metric), fontsize=8)
        ax.set_xlabel(axis["key"], fontsize=7)
        if ticks:
            ax.set_xticks(xs, ticks, rotation=20, ha="right", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{scenario}: metrics vs {axis['key']} (mean, 95% interval over seeds)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def _unmeasured_values(data: SweepData, axis: dict[str, Any], stats: list[dict[str, Any]]
                       ) -> list[tuple[Any, Any]]:
    """(dataset value, file value) of each axis value, in the file's order, at which some
    policy's cell is not measured.
    """
    gaps = {s["value"] for s in stats if s["value"] is not None and not_measured(s)}
    return [(value, shown) for value, shown in zip(data.axis_values(axis), axis["values"],
                                                   strict=True) if value in gaps]


def frontier_points(data: SweepData, scenario: str, outcome: str) -> list[dict[str, Any]]:
    """Per policy and parameter point: engagement and outcome means with intervals over seeds."""
    sub = data.ok[data.ok["scenario"] == scenario]
    keys = [column(a) for a in data.axes]
    names = {column(a): a["key"] for a in data.axes}
    out = []
    for label in data.labels:
        rows = sub[sub["policy"] == label]
        if rows.empty:
            continue
        swept = [k for k in keys if _applies(rows, k) and rows[k].nunique() > 1]
        groups = rows.groupby(swept, dropna=False, sort=True) if swept else [((), rows)]
        for values, g in groups:
            vals = values if isinstance(values, tuple) else (values,)
            ex, exl, exh, n = interval(_per_seed(g, "engagement.index"))
            oy, oyl, oyh, _ = interval(_per_seed(g, outcome))
            out.append({"policy": label,
                        "values": dict(zip([names[k] for k in swept], vals, strict=True)),
                        "x": ex, "x_low": exl, "x_high": exh, "y": oy, "y_low": oyl,
                        "y_high": oyh, "n": n})
    return out


def frontier_gaps(points: list[dict[str, Any]]) -> list[str]:
    """The parameter points of :func:`frontier_points` whose outcome is not measured (its
    segment has no users there), as ``key=value, ...`` text, in order, each once.
    """
    gaps = [", ".join(f"{k}={_short(v)}" for k, v in p["values"].items()) or "every point"
            for p in points if math.isfinite(p["x"]) and not math.isfinite(p["y"])]
    return list(dict.fromkeys(gaps))


def _err(mean: float, low: float, high: float) -> list[list[float]]:
    if not math.isfinite(low):
        return [[0.0], [0.0]]
    return [[mean - low], [high - mean]]


def frontier(data: SweepData, scenario: str) -> Figure:
    """Engagement index vs each outcome spec: one point per parameter point, per policy."""
    plt = pyplot()
    outcomes = [m for m in data.metrics(scenario) if m.startswith("outcome.")] or [
        "wellbeing.goal_progress"]
    fig, axes = plt.subplots(1, len(outcomes), figsize=(5.2 * len(outcomes), 4.4), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        pts = frontier_points(data, scenario, outcome)
        gaps = frontier_gaps(pts)
        if not any(math.isfinite(p["y"]) for p in pts):
            empty_panel(ax, f"{outcome}\n{NOT_MEASURED}: its segment has no users at any point",
                        fontsize=8)
            continue
        if gaps:
            ax.text(0.5, 0.02, f"{NOT_MEASURED} at " + "; ".join(gaps), fontsize=6, wrap=True,
                    transform=ax.transAxes, ha="center", va="bottom", color="dimgrey")
        for k, label in enumerate(data.labels):
            mine = [p for p in pts if p["policy"] == label and math.isfinite(p["x"])
                    and math.isfinite(p["y"])]
            if not mine:
                continue
            shade = color(k)
            for p in mine:
                ax.errorbar(p["x"], p["y"], xerr=_err(p["x"], p["x_low"], p["x_high"]),
                            yerr=_err(p["y"], p["y_low"], p["y_high"]), fmt="o", color=shade,
                            capsize=2, ms=4)
            swept = list(mine[0]["values"])
            if swept:  # join the points along the first axis, one line per value of the others
                lines: dict[str, list[dict[str, Any]]] = {}
                for p in mine:
                    rest = json.dumps([str(p["values"][k]) for k in swept[1:]])
                    lines.setdefault(rest, []).append(p)
                for line in lines.values():
                    ax.plot([p["x"] for p in line], [p["y"] for p in line], "-", color=shade,
                            lw=1, alpha=0.8)
            if len(mine) <= MAX_LABELLED_POINTS and swept:
                for p in mine:
                    text = ", ".join(_short(v) for v in p["values"].values())
                    ax.annotate(text, (p["x"], p["y"]), textcoords="offset points",
                                xytext=(4, 4), fontsize=6, color=shade)
            ax.plot([], [], "o-", color=shade, label=label)
        ax.set_xlabel("engagement index (per user)")
        ax.set_ylabel(data.label(scenario, outcome), fontsize=8)
        ax.set_title(outcome, fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"{scenario}: engagement vs outcome, one point per parameter point "
                 "(95% intervals over seeds)", fontsize=10)
    fig.tight_layout()
    return fig


def draw_figures(data: SweepData, out_dir: Path) -> list[tuple[str, str, Path]]:
    """Every figure as PNG: (scenario, title, path)."""
    figures = []
    for scenario in sorted(set(data.ok["scenario"])):
        figures.append((scenario, FRONTIER,
                        save_png(frontier(data, scenario), out_dir / f"{scenario}__frontier.png")))
        for axis in data.axes:
            if len(axis["values"]) < 2:
                continue
            name = f"{scenario}__{safe_name(axis['key'])}.png"
            figures.append((scenario, f"metrics vs {axis['key']}",
                            save_png(metric_vs_axis(data, scenario, axis), out_dir / name)))
    return figures


def axis_table(data: SweepData, scenario: str, axis: dict[str, Any]) -> tuple[list[str],
                                                                              list[list[str]]]:
    """Rows per policy and axis value: seeds, then each metric's mean [95% interval]."""
    metrics = data.metrics(scenario)
    stats = {m: axis_stats(data, scenario, axis, m) for m in metrics}
    head = ["policy", axis["key"], "seeds", *metrics]
    rows = []
    for i, s in enumerate(stats[metrics[0]]):
        value = "(not swept)" if s["value"] is None else _short(s["value"])
        rows.append([s["policy"], value, str(s["n"]), *[_cell_text(stats[m][i]) for m in metrics]])
    return head, rows


def _cell_text(stat: dict[str, Any]) -> str:
    if not_measured(stat):
        return NOT_MEASURED
    text = _fmt(stat["mean"], stat["low"], stat["high"])
    return text + PARTIAL if stat["unmeasured"] else text


def _table_notes(rows: list[list[str]]) -> list[str]:
    """What the table's *not measured* cells and † marks mean, when it has any."""
    cells = [c for row in rows for c in row[3:]]
    notes = []
    if NOT_MEASURED in cells:
        notes.append(f"*{NOT_MEASURED}*: the metric's segment has no users at that point, so the "
                     "run has no value for it (its 0s would be no data; docs/verdicts.md, rule "
                     "`no-users`).")
    if any(c.endswith(PARTIAL) for c in cells):
        notes.append(f"{PARTIAL} over the points where the metric's segment has users only: at "
                     "the others (an axis averaged over) it has none.")
    return notes


def _frontier_notes(data: SweepData, scenario: str) -> list[str]:
    """The outcomes left off the frontier at some points (their segment has no users there)."""
    outcomes = [m for m in data.metrics(scenario) if m.startswith("outcome.")]
    notes = []
    for outcome in outcomes:
        gaps = frontier_gaps(frontier_points(data, scenario, outcome))
        if gaps:
            notes.append(f"`{outcome}` is not measured at " + "; ".join(gaps) + ": its "
                         "segment has no users there, so those points are left off its frontier.")
    return notes


def _setup_tables(data: SweepData) -> list[tuple[str, list[str], list[list[str]]]]:
    m = data.manifest
    axes = [[a["key"], "grid" if a["group"] is None else f"zip {a['group']}",
             a["label"] or ("every policy" if a["param"] else "scenario"),
             ", ".join(_short(v) for v in a["values"])] for a in m["axes"]]
    pols = [[p["label"], p["name"], json.dumps(p["params"], sort_keys=True)]
            for p in m["policies"]]
    out = [("Policies", ["label", "policy", "parameters"], pols)]
    if axes:
        out.insert(0, ("Swept axes", ["key", "kind", "applies to", "values"], axes))
    return out


def _failures(data: SweepData) -> list[list[str]]:
    bad = data.df[data.df["status"] != "ok"]
    return [[r.run_id, r.scenario, r.policy, str(r.seed), str(r.error or r.status).splitlines()[0]]
            for r in bad.itertuples()]


def _intro(data: SweepData) -> list[str]:
    m = data.manifest
    c = m["counts"]
    seeds = m["seeds"]
    return [
        f"{c['runs']} runs ({c['points']} parameter points x {len(m['policies'])} policies x "
        f"{len(seeds)} seeds" + (f", {c['merged']} identical runs merged" if c["merged"] else "")
        + f"): {c['ok']} finished, {c['failed']} failed" + (f", {c['missing']} missing"
                                                             if c["missing"] else "") + ".",
        "Each point is the mean over the other axes and the seeds; intervals are 95% Student-t "
        "intervals over seeds (the per-seed means are the sample).",
    ]


def render_markdown(data: SweepData, figures: list[tuple[str, str, Path]]) -> str:
    """The report as markdown, figures linked relative to it."""
    m = data.manifest
    out = [f"# Sweep `{data.name}`", ""]
    if m["experiment"]["description"]:
        out += [m["experiment"]["description"].strip(), ""]
    out += [*_intro(data), ""]
    for title, head, rows in _setup_tables(data):
        out += [f"## {title}", "", md_table(head, rows), ""]
    for scenario in sorted(set(data.ok["scenario"])):
        for sc, title, path in figures:
            if sc != scenario:
                continue
            out += [f"## {scenario}: {title}", "", f"![{title}](figures/{path.name})", ""]
            axis = next((a for a in data.axes if title == f"metrics vs {a['key']}"), None)
            if axis is not None:
                head, rows = axis_table(data, scenario, axis)
                out += [md_table(head, rows), ""]
                out += [line for note in _table_notes(rows) for line in (note, "")]
            elif title == FRONTIER:
                out += [line for note in _frontier_notes(data, scenario) for line in (note, "")]
    failures = _failures(data)
    if failures:
        out += ["## Failed runs", "", "Tracebacks are in `runs/<run_id>/failed.json`; "
                "`outcome-gym sweep FILE --resume` runs them again.", "",
                md_table(["run_id", "scenario", "policy", "seed", "error"], failures), ""]
    return "\n".join(out)



def write_sweep_report(sweep_dir: str | Path, out: str | Path | None = None, *,
                       overwrite: bool = False) -> Path:
    """Write ``report.md``, ``report.html`` and ``figures/*.png`` (default: SWEEP_DIR/report).

    The report folder must be new, empty, or an earlier report with ``overwrite``. Each file is
    written atomically and ``figures/`` is replaced as a whole; anything else in the report
    folder is left alone.

    Raises:
        ResultsError: ``sweep_dir`` is not a finished sweep folder, the report folder may not be
            written, or a file cannot be written.
    """
    data = SweepData(sweep_dir)
    if data.ok.empty:
        raise ResultsError(f"{sweep_dir}: no finished runs to report on")
    dest = Path(out) if out is not None else data.dir / "report"
    claim_dir(dest, "report", overwrite=overwrite)
    with atomic_dir(dest / "figures", "report figures", kind="figures", overwrite=True) as tmp:
        drawn = draw_figures(data, tmp)
    figures = [(scenario, title, dest / "figures" / path.name) for scenario, title, path in drawn]
    from outcome_gym.report.render import markdown_page

    text = render_markdown(data, figures)  # report.html is the same text, converted
    atomic_write(dest / "report.md", text)
    atomic_write(dest / "report.html", markdown_page(text, data.name, dest))
    return dest


__all__ = ["SweepData", "axis_stats", "frontier_points", "interval", "write_sweep_report"]
