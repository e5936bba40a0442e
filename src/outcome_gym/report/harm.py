"""The report's "Who is harmed" section (docs/who-is-harmed.md): per policy, the shares and
quantiles of the per-user effects with the placebo's share beside them, the harm rules that held
on held-apart seeds, and the story of the most harmed user of the primary outcome.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from outcome_gym._io import safe_name
from outcome_gym.report.tables import md_table

if TYPE_CHECKING:
    from outcome_gym.compare import Comparison

HEAD = ["metric", "segment", "worse off", "placebo worse off", "better off", "unchanged",
        "p10", "p25", "median", "p75", "mean"]


def _cell(stats: dict[str, dict[str, float]], stat: str, pct: bool) -> str:
    s = stats.get(stat)
    if s is None or not math.isfinite(s["mean"]):
        return "—"
    f = (lambda x: f"{x:.0%}") if pct else (lambda x: f"{x:+.3g}")
    if not (math.isfinite(s["low"]) and math.isfinite(s["high"])):
        return f(s["mean"])
    return f"{f(s['mean'])} [{f(s['low'])}, {f(s['high'])}]"


def effect_rows(cmp: Comparison, label: str) -> list[list[str]]:
    """One row per metric x segment of ``label``'s per-user effects (95% intervals over seeds)."""
    assert cmp.harm is not None
    d = cmp.harm.as_dict()["effects"]
    mine, placebo = d.get(label, {}), d.get(cmp.harm.placebo or "", {})  # type: ignore[union-attr]
    names = {t.metric: t.label for t in cmp.harm.targets}
    rows = []
    for metric, by_seg in mine.items():
        for seg, stats in by_seg.items():
            if seg in cmp.empty_segments:  # no user to be worse or better off
                rows.append([names.get(metric, metric), seg, "not measured (no users)",
                             *["—"] * (len(HEAD) - 3)])
                continue
            plac = placebo.get(metric, {}).get(seg, {})
            rows.append([names.get(metric, metric), seg, _cell(stats, "share_worse", True),
                         _cell(plac, "share_worse", True) if plac else "—",
                         _cell(stats, "share_better", True), _cell(stats, "share_unchanged", True),
                         *(_cell(stats, q, False) for q in ("q10", "q25", "q50", "q75", "mean"))])
    return rows


def _intro(cmp: Comparison) -> str:
    assert cmp.harm is not None
    plac = ("the placebo (the reference with its in-session choices re-dealt) ran on seeds "
            + ", ".join(str(s) for s in sorted(set(
                cmp.users.loc[cmp.users["policy"] == cmp.harm.placebo, "seed"])))
            if cmp.harm.placebo else "no placebo ran (it runs when a report is written)")
    skipped = (f" Specs with a window shorter than the run are left out: "
               f"{', '.join(cmp.harm.skipped)}." if cmp.harm.skipped else "")
    return (f"Each user's difference against `{cmp.reference}` on the same seed (the same person, "
            f"the same days). Worse/better off: beyond ±{cmp.harm.margin:.0%} of the segment's "
            "mean reference value per user; shares and percentiles are per seed, with 95% "
            f"Student-t intervals across seeds; {plac}. Rules are fitted on half of the seeds and "
            f"kept only when they hold on the other half (docs/who-is-harmed.md).{skipped}")


def story_figures(cmp: Comparison, out_dir: Path) -> dict[str, Path]:
    """Draw each told story's figure into ``out_dir`` (``story-<policy>.png``)."""
    return {f"story-{safe_name(label)}": st.figure(out_dir / f"story-{safe_name(label)}.png")
            for label, st in cmp.stories.items()}


def harm_markdown(cmp: Comparison, label: str, figures: dict[str, Path]) -> list[str]:
    """The section's markdown lines for one policy (empty without per-user effects)."""
    if cmp.harm is None:
        return []
    out = ["### Who is harmed", "", _intro(cmp), "",
           md_table(HEAD, effect_rows(cmp, label), align=True), ""]
    rules = cmp.rules.get(label, [])
    out += (["Harm rules that held on the held-apart seeds:", ""]
            + [f"- {r.text()}" for r in rules] if rules
            else ["No harm rule held on the held-apart seeds."])
    out.append("")
    st = cmp.stories.get(label)
    if st is not None:
        out += [f"The most harmed user of the primary outcome: user {st.user} ({st.segment}) on "
                f"seed {st.seed} (`outcome-gym story OUT --policy '{label}' --seed {st.seed} "
                f"--user {st.user}` tells it day by day).", ""]
        out += [f"- {line}" for line in st.summary] + [""]
        fig = figures.get(f"story-{safe_name(label)}")
        if fig is not None:
            out += [f"![story of user {st.user}](figures/{fig.name})", ""]
    return out


__all__ = ["HEAD", "effect_rows", "harm_markdown", "story_figures"]
