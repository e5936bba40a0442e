"""The comparison report: summary.json, runs/daily CSVs, report.md and a self-contained HTML."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from outcome_gym._io import atomic_dir, atomic_write, claim_dir, dumps, json_ready
from outcome_gym.report.figures import draw_all, png_img
from outcome_gym.report.style import PAGE_END, page_start
from outcome_gym.report.tables import html_table, md_table

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


def _section_rows(cmp: Comparison, label: str, family: str) -> list[list[str]]:
    by = cmp.stats[label]
    return [_row(cmp.info[m].label, st) for m, st in by.items() if cmp.info[m].family == family]


def _correlation(cmp: Comparison) -> str:
    """', appeal-value correlation of the elements -0.74' (empty when it is undefined)."""
    from outcome_gym.scenario.generate import appeal_value_correlation

    rho = appeal_value_correlation(cmp.scenario.product.elements)
    return "" if rho is None else f", appeal-value correlation of the elements {rho:+.2f}"


def render_markdown(cmp: Comparison, figures: dict[str, Path]) -> str:
    """The report as markdown (figures linked relative to the report)."""
    sc = cmp.scenario
    out = [f"# {sc.name}: policies compared against `{cmp.reference}`", ""]
    out += [f"{sc.description}", ""] if sc.description else []
    out += [f"{len(cmp.seeds)} paired seeds ({cmp.seeds[0]}–{cmp.seeds[-1]}), "
            f"{sc.population.size} users, {sc.clock.horizon_days} days{_correlation(cmp)}. "
            "Intervals are 95% paired bootstrap intervals over seeds; verdicts follow the rules in "
            "`outcome_gym.analysis.verdict`.", "", "## Summary", ""]
    out += [f"- {line}" for line in headline_lines(cmp)] + [""]
    rows = [[lab, v.verdict, "yes" if v.coherence_flag else "no", "; ".join(v.reasons)]
            for lab, v in cmp.verdicts.items()]
    out += [md_table(["policy", "verdict", "coherence flag", "why"], rows), ""]
    for name in ("trap_quadrant", "outcomes", "timeseries", "attention", "fragmentation"):
        if name in figures:
            out += [f"![{name}](figures/{figures[name].name})", ""]
    for label in cmp.stats:
        out += [f"## {label} vs {cmp.reference}", ""]
        for title, family in SECTIONS:
            rows = _section_rows(cmp, label, family)
            if rows:
                out += [f"### {title}", "", md_table(HEAD, rows), ""]
    return "\n".join(out)


def render_html(cmp: Comparison, figures: dict[str, Path]) -> str:
    """A single self-contained HTML page (figures embedded as base64 PNG; opens offline)."""
    sc = cmp.scenario
    parts = [page_start(sc.name),
             f"<h1>{html.escape(sc.name)}: policies compared against "
             f"<code>{html.escape(cmp.reference)}</code></h1>",
             f"<p>{len(cmp.seeds)} paired seeds, {sc.population.size} users, "
             f"{sc.clock.horizon_days} days{html.escape(_correlation(cmp))}; 95% paired bootstrap "
             "intervals.</p><h2>Summary</h2><ul>"]
    for line in headline_lines(cmp):
        verdict = line.rsplit("→ ", 1)[-1].split(" ")[0]
        parts.append(f"<li class='{html.escape(verdict)}'>{html.escape(line)}</li>")
    parts.append("</ul>")
    rows = [[lab, v.verdict, "yes" if v.coherence_flag else "no", "; ".join(v.reasons)]
            for lab, v in cmp.verdicts.items()]
    parts.append(html_table(["policy", "verdict", "coherence flag", "why"], rows))
    for name, path in figures.items():
        parts.append(f"<h3>{html.escape(name)}</h3>" + png_img(path, name))
    for label in cmp.stats:
        parts.append(f"<h2>{html.escape(label)} vs {html.escape(cmp.reference)}</h2>")
        for title, family in SECTIONS:
            rows = _section_rows(cmp, label, family)
            if rows:
                parts.append(f"<h3>{html.escape(title)}</h3>" + html_table(HEAD, rows))
    parts.append(PAGE_END)
    return "\n".join(parts)


def write_report(cmp: Comparison, out: Path, *, overwrite: bool = False) -> Path:
    """Write summary.json, runs.csv, daily.csv, report.md, report.html and figures/*.png.

    ``out`` must be new, empty, or an earlier comparison folder with ``overwrite``. Each file is
    written atomically and ``figures/`` is replaced as a whole; anything else in ``out`` (the
    comparison's ``runs/``) is left alone.

    Raises:
        ResultsError: ``out`` may not be written (see :func:`outcome_gym._io.check_out_dir`) or a
            file cannot be written.
    """
    claim_dir(out, "compare", overwrite=overwrite)
    with atomic_dir(out / "figures", "report figures", kind="figures", overwrite=True) as tmp:
        drawn = draw_all(cmp, tmp)
    figures = {name: out / "figures" / path.name for name, path in drawn.items()}
    summary = cmp.summary()
    summary["headline"] = headline_lines(cmp)
    atomic_write(out / "summary.json", dumps(json_ready(summary)))
    atomic_write(out / "runs.csv", cmp.runs.to_csv(index=False))
    atomic_write(out / "daily.csv", cmp.daily.to_csv(index=False))
    atomic_write(out / "report.md", render_markdown(cmp, figures))
    atomic_write(out / "report.html", render_html(cmp, figures))
    return out
