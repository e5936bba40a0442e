"""The comparison report: summary.json, runs.csv, report.md and a self-contained report.html."""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outcome_gym.report.figures import draw_all

if TYPE_CHECKING:
    from outcome_gym.analysis.stats import PairedStat
    from outcome_gym.compare import Comparison

SECTIONS = (
    ("Engagement", "engagement"),
    ("Outcomes (per the scenario's outcome specs)", "outcome"),
    ("Attention", "attention"),
    ("Fragmentation", "fragmentation"),
    ("Wellbeing", "wellbeing"),
    ("Guardrail modifications (per user)", "guardrails"),
)


def fmt_lift(st: PairedStat) -> str:
    """'+31% [24%, 38%]', or the absolute difference when the reference mean is 0."""
    if st.lift is None:
        return f"{st.diff:+.3g} [{st.diff_low:+.3g}, {st.diff_high:+.3g}] (abs.)"
    if st.lift_low is None or st.lift_high is None:
        return f"{st.lift:+.0%}"
    return f"{st.lift:+.0%} [{st.lift_low:+.0%}, {st.lift_high:+.0%}]"


def headline_lines(cmp: Comparison) -> list[str]:
    """One plain-language line per policy: engagement and every outcome, then the verdict."""
    lines = []
    for label, by in cmp.stats.items():
        v = cmp.verdicts[label]
        parts = [f"engagement {fmt_lift(by['engagement.index'])}"]
        for m, info in cmp.info.items():
            if info.family == "outcome":
                parts.append(f"{info.label} {fmt_lift(by[m])}")
        flag = " (coherence flag: " + "; ".join(r for r in v.reasons if "consisten" in r
                                                 or "failure" in r) + ")" if v.coherence_flag else ""
        lines.append(f"{label}: " + ", ".join(parts) + f" → {v.verdict}{flag}")
    return lines + [f"warning: {w}" for w in cmp.warnings]


def _row(label: str, st: PairedStat) -> list[str]:
    return [label, f"{st.ref_mean:.4g}", f"{st.pol_mean:.4g}", fmt_lift(st),
            f"{st.effect_size:+.2f}", f"{st.p_value:.3g}", str(st.n)]


HEAD = ["metric", "reference", "policy", "lift [95% CI]", "d_z", "p", "seeds"]


def _md_table(rows: list[list[str]], head: list[str]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _section_rows(cmp: Comparison, label: str, family: str) -> list[list[str]]:
    by = cmp.stats[label]
    return [_row(cmp.info[m].label, st) for m, st in by.items() if cmp.info[m].family == family]


def render_markdown(cmp: Comparison, figures: dict[str, Path]) -> str:
    """The report as markdown (figures linked relative to the report)."""
    sc = cmp.scenario
    out = [f"# {sc.name}: policies compared against `{cmp.reference}`", ""]
    out += [f"{sc.description}", ""] if sc.description else []
    out += [f"{len(cmp.seeds)} paired seeds ({cmp.seeds[0]}–{cmp.seeds[-1]}), "
            f"{sc.population.size} users, {sc.clock.horizon_days} days. Intervals are 95% paired "
            "bootstrap intervals over seeds; verdicts follow the rules in "
            "`outcome_gym.analysis.verdict`.", "", "## Summary", ""]
    out += [f"- {line}" for line in headline_lines(cmp)] + [""]
    rows = [[lab, v.verdict, "yes" if v.coherence_flag else "no", "; ".join(v.reasons)]
            for lab, v in cmp.verdicts.items()]
    out += [_md_table(rows, ["policy", "verdict", "coherence flag", "why"]), ""]
    for name in ("trap_quadrant", "outcomes", "timeseries", "attention", "fragmentation"):
        if name in figures:
            out += [f"![{name}](figures/{figures[name].name})", ""]
    for label in cmp.stats:
        out += [f"## {label} vs {cmp.reference}", ""]
        for title, family in SECTIONS:
            rows = _section_rows(cmp, label, family)
            if rows:
                out += [f"### {title}", "", _md_table(rows, HEAD), ""]
    return "\n".join(out)


def _html_table(rows: list[list[str]], head: list[str]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;
padding:3px 8px;font-size:13px;text-align:left}th{background:#f3f3f3}img{max-width:100%}
.trap{color:#b00020;font-weight:bold}.harm{color:#b00020}.aligned,.quiet{color:#1b7f3b}"""


def render_html(cmp: Comparison, figures: dict[str, Path]) -> str:
    """A single self-contained HTML page (figures embedded as base64 PNG; opens offline)."""
    sc = cmp.scenario
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(sc.name)}"
             f"</title><style>{CSS}</style></head><body>",
             f"<h1>{html.escape(sc.name)}: policies compared against "
             f"<code>{html.escape(cmp.reference)}</code></h1>",
             f"<p>{len(cmp.seeds)} paired seeds, {sc.population.size} users, "
             f"{sc.clock.horizon_days} days; 95% paired bootstrap intervals.</p><h2>Summary</h2><ul>"]
    for line in headline_lines(cmp):
        verdict = line.rsplit("→ ", 1)[-1].split(" ")[0]
        parts.append(f"<li class='{html.escape(verdict)}'>{html.escape(line)}</li>")
    parts.append("</ul>")
    rows = [[lab, v.verdict, "yes" if v.coherence_flag else "no", "; ".join(v.reasons)]
            for lab, v in cmp.verdicts.items()]
    parts.append(_html_table(rows, ["policy", "verdict", "coherence flag", "why"]))
    for name, path in figures.items():
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        parts.append(f"<h3>{html.escape(name)}</h3><img alt='{html.escape(name)}' "
                     f"src='data:image/png;base64,{data}'>")
    for label in cmp.stats:
        parts.append(f"<h2>{html.escape(label)} vs {html.escape(cmp.reference)}</h2>")
        for title, family in SECTIONS:
            rows = _section_rows(cmp, label, family)
            if rows:
                parts.append(f"<h3>{html.escape(title)}</h3>" + _html_table(rows, HEAD))
    parts.append("</body></html>")
    return "\n".join(parts)


def _clean(obj: Any) -> Any:
    """JSON-ready: floats finite (NaN/inf never written), numpy scalars unwrapped."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_report(cmp: Comparison, out: Path) -> Path:
    """Write summary.json, runs.csv, daily.csv, report.md, report.html and figures/*.png."""
    out.mkdir(parents=True, exist_ok=True)
    figures = draw_all(cmp, out / "figures")
    summary = cmp.summary()
    summary["headline"] = headline_lines(cmp)
    (out / "summary.json").write_text(json.dumps(_clean(summary), indent=2, sort_keys=True) + "\n")
    cmp.runs.to_csv(out / "runs.csv", index=False)
    cmp.daily.to_csv(out / "daily.csv", index=False)
    (out / "report.md").write_text(render_markdown(cmp, figures))
    (out / "report.html").write_text(render_html(cmp, figures))
    return out
