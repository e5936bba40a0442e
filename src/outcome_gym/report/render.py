"""The comparison report: summary.json, runs/daily CSVs, report.md and a self-contained HTML."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

from markdown_it import MarkdownIt

from outcome_gym._io import atomic_dir, atomic_write, claim_dir, dumps, json_ready
from outcome_gym.report.figures import draw_all
from outcome_gym.report.harm import harm_markdown, story_figures
from outcome_gym.report.style import PAGE_END, page_start
from outcome_gym.report.tables import md_table

if TYPE_CHECKING:
    from markdown_it.token import Token

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


def _num(x: float) -> str:
    return f"{x:.4g}"


def fmt_lift(st: PairedStat) -> str:
    """'+31% [+24%, +38%]', or the absolute difference when the reference mean is 0."""
    if st.lift is None:
        return f"{st.diff:+.3g} [{st.diff_low:+.3g}, {st.diff_high:+.3g}] (abs.)"
    if st.lift_low is None or st.lift_high is None:
        return f"{st.lift:+.1%} [unbounded]"
    return f"{st.lift:+.1%} [{st.lift_low:+.1%}, {st.lift_high:+.1%}]"


def fmt_effect(st: PairedStat) -> str:
    """'+4.1% [+2.0%, +6.2%] (0.412 → 0.429, +0.017)': relative and absolute, with the baseline."""
    return (f"{fmt_lift(st)} ({_num(st.ref_mean)} → {_num(st.pol_mean)}, "
            f"{st.diff:+.3g})")


def time_in_app(cmp: Comparison, label: str) -> str:
    """'time in app 6.2 → 6.5 min/user/day' (reference → policy)."""
    st = cmp.stats[label].get("engagement.minutes")
    if st is None:
        return ""
    return (f"time in app {st.ref_mean / cmp.days:.1f} → {st.pol_mean / cmp.days:.1f} "
            "min/user/day")


def _call(cmp: Comparison, label: str, metric: str) -> dict[str, object]:
    return cmp.verdicts[label].metrics.get(metric, {})


NO_USERS = "not measured (no users in its segment)"
"""What a report prints for a metric of a segment with no users, in place of its 0s."""


def _p_text(call: dict[str, object]) -> str:
    if not call or call.get("p") is None:
        return ""
    if call.get("role") == "engagement":
        return f"p {float(call['p']):.2g}"  # type: ignore[arg-type]
    return f"p_adj {float(call['p_adj']):.2g}"  # type: ignore[arg-type]


def verdict_text(cmp: Comparison, label: str) -> str:
    """'trap (rule trap: engagement up beyond its margin while ...)', with seeds needed."""
    v = cmp.verdicts[label]
    need = (f"; a decision needs about {v.seeds_needed} seeds"
            if v.verdict == "inconclusive" and v.seeds_needed is not None else "")
    return f"{v.verdict} (rule {v.rule}: {v.rule_text}{need})"


def headline_lines(cmp: Comparison) -> list[str]:
    """One plain-language line per policy: engagement, time in app, every outcome, the verdict."""
    lines = []
    for label, by in cmp.stats.items():
        v = cmp.verdicts[label]
        eng = by["engagement.index"]
        minutes = time_in_app(cmp, label)
        parts = [f"engagement index {fmt_effect(eng)}, {_p_text(_call(cmp, label, 'engagement.index'))}"
                 + (f"; {minutes}" if minutes else "")]
        for m, info in cmp.info.items():
            if info.family == "outcome":
                call = _call(cmp, label, m)
                role = f" [{call['role']}]" if call else ""
                parts.append(f"{info.label}{role} {fmt_effect(by[m])}, {_p_text(call)}"
                             if cmp.measured(m) else f"{info.label}{role} {NO_USERS}")
        flag = " (coherence flag: " + "; ".join(r for r in v.reasons if "consisten" in r
                                                 or "failure" in r) + ")" if v.coherence_flag else ""
        lines.append(f"{label}: " + "; ".join(parts) + f" → {verdict_text(cmp, label)}{flag}")
    return lines + [f"warning: {w}" for w in cmp.warnings]


def _row(label: str, st: PairedStat, measured: bool = True) -> list[str]:
    if not measured:
        return [label, "—", "—", "—", NO_USERS, "—", "—", str(st.n)]
    return [label, _num(st.ref_mean), _num(st.pol_mean), f"{st.diff:+.4g}", fmt_lift(st),
            f"{st.effect_size:+.2f}", f"{st.p_value:.3g}", str(st.n)]


HEAD = ["metric", "reference", "policy", "difference", "lift [95% CI]", "d_z", "p", "seeds"]
VERDICT_HEAD = ["metric", "role", "reference", "policy", "difference", "lift [95% CI]", "p",
                "p (Holm)", "margin", "class", "why not significant"]


def verdict_rows(cmp: Comparison, label: str) -> list[list[str]]:
    """The metrics the verdict reads: engagement and every outcome spec, with their classes."""
    rows = []
    for m, call in cmp.verdicts[label].metrics.items():
        st = cmp.stats[label][m]
        role = str(call["role"]) + (f" ({call['segment']})" if call.get("segment") else "")
        name = cmp.info[m].label if m in cmp.info else m
        if call["p"] is None:  # a spec of a segment with no users (rule no-users)
            rows.append([name, role, "—", "—", "—", "—", "—", "—",
                         f"±{float(call['margin']):.0%}", str(call["cls"]), str(call["note"])])  # type: ignore[arg-type]
            continue
        holm_p = "—" if call["role"] == "engagement" else f"{float(call['p_adj']):.3g}"  # type: ignore[arg-type]
        rows.append([name, role, _num(st.ref_mean),
                     _num(st.pol_mean), f"{st.diff:+.4g}", fmt_lift(st), f"{st.p_value:.3g}",
                     holm_p, f"±{float(call['margin']):.0%}", str(call["cls"]),  # type: ignore[arg-type]
                     str(call["note"]) or "—"])
    return rows


def _verdict_table_rows(cmp: Comparison) -> list[list[str]]:
    return [[lab, v.verdict, v.rule, v.rule_text,
             str(v.seeds_needed) if v.verdict == "inconclusive" and v.seeds_needed else "—",
             "yes" if v.coherence_flag else "no"]
            for lab, v in cmp.verdicts.items()]


VERDICTS_HEAD = ["policy", "verdict", "rule", "why", "seeds needed", "coherence flag"]


def _section_rows(cmp: Comparison, label: str, family: str) -> list[list[str]]:
    by = cmp.stats[label]
    return [_row(cmp.info[m].label, st, cmp.measured(m)) for m, st in by.items()
            if cmp.info[m].family == family]


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
            "Seeds are the unit: differences are paired by seed, intervals are 95% paired Student-t "
            "(Fieller for lifts), p the paired t-test, Holm-adjusted across the outcome specs; "
            f"margins: engagement ±{sc.verdict.engagement_margin:.0%}, each spec's own; verdicts "
            "follow the rules of docs/verdicts.md.", "", "## Summary", ""]
    out += [f"- {line}" for line in headline_lines(cmp)] + [""]
    out += [md_table(VERDICTS_HEAD, _verdict_table_rows(cmp), align=True), ""]
    for name in ("trap_quadrant", "outcomes", "engagement", "timeseries", "attention",
                 "fragmentation"):
        if name in figures:
            out += [f"![{name}](figures/{figures[name].name})", ""]
    for label in cmp.stats:
        out += [f"## {label} vs {cmp.reference}", "", f"Verdict: {verdict_text(cmp, label)}.", "",
                "### What the verdict reads", "",
                md_table(VERDICT_HEAD, verdict_rows(cmp, label), align=True), ""]
        for title, family in SECTIONS:
            rows = _section_rows(cmp, label, family)
            if rows:
                out += [f"### {title}", "", md_table(HEAD, rows, align=True), ""]
        out += harm_markdown(cmp, label, figures)
    return "\n".join(out)


def _embed_images(tokens: list[Token], base: Path) -> None:
    """Replace every image's relative ``src`` by its PNG inlined as a data URI (works offline)."""
    for tok in tokens:
        for child in tok.children or ():
            if child.type == "image":
                src = str(child.attrGet("src") or "")
                if not src.startswith("data:"):
                    data = base64.b64encode((base / src).read_bytes()).decode("ascii")
                    child.attrSet("src", f"data:image/png;base64,{data}")


def _mark_verdicts(tokens: list[Token]) -> None:
    """Give each summary bullet ending in '→ <verdict> (...)' the verdict as its CSS class."""
    for i, tok in enumerate(tokens):
        if tok.type != "list_item_open":
            continue
        text = next((t.content for t in tokens[i + 1:] if t.type == "inline"), "")
        if "→ " in text:
            tok.attrSet("class", text.rsplit("→ ", 1)[-1].split(" ")[0])


def markdown_page(text: str, title: str, base: Path) -> str:
    """A report's markdown as one self-contained HTML page, converted by markdown-it-py.

    CommonMark plus tables; raw HTML in the text (a scenario's description, a policy label) is
    escaped, never passed through. Images linked relative to ``base`` are embedded as base64 PNG.
    """
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    _embed_images(tokens, base)
    _mark_verdicts(tokens)
    return page_start(title) + md.renderer.render(tokens, md.options, {}) + PAGE_END


def render_html(cmp: Comparison, figures: dict[str, Path], base: Path,
                text: str | None = None) -> str:
    """The report as a single self-contained HTML page: :func:`render_markdown`, converted.

    ``text`` is that markdown when the caller has it already. Figures the markdown does not link
    are appended, so the page holds every figure drawn.
    """
    text = render_markdown(cmp, figures) if text is None else text
    rest = [f"![{name}](figures/{path.name})" for name, path in figures.items()
            if f"(figures/{path.name})" not in text]
    if rest:
        text += "\n## More figures\n\n" + "\n\n".join(rest) + "\n"
    return markdown_page(text, cmp.scenario.name, base)


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
        drawn.update(story_figures(cmp, tmp))
    figures = {name: out / "figures" / path.name for name, path in drawn.items()}
    summary = cmp.summary()
    summary["headline"] = headline_lines(cmp)
    atomic_write(out / "summary.json", dumps(json_ready(summary)))
    atomic_write(out / "runs.csv", cmp.runs.to_csv(index=False))
    atomic_write(out / "daily.csv", cmp.daily.to_csv(index=False))
    text = render_markdown(cmp, figures)
    atomic_write(out / "report.md", text)
    atomic_write(out / "report.html", render_html(cmp, figures, out, text))
    return out
