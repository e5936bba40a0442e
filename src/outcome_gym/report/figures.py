"""Figure helpers for every report, and the comparison report's figures.

matplotlib is imported only when a figure is drawn, and :func:`pyplot` selects the non-interactive
Agg backend right then (no screen needed), so importing outcome_gym never imports pyplot nor
changes the backend of a program that does not draw.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from outcome_gym._io import atomic_write
from outcome_gym.product.objectives import engagement_index
from outcome_gym.report.style import (
    REFERENCE_COLOR,
    THRESHOLD_COLOR,
    PolicyStyle,
    policy_styles,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from outcome_gym.compare import Comparison


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` with the Agg backend selected: call it right before drawing."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Figure, path: Path, *, tight: bool = False) -> Path:
    """Save ``fig`` as a PNG at ``path`` (atomically, no timestamp or version inside) and close it.

    Args:
        fig: The figure.
        path: Where to write it; missing folders are created.
        tight: Crop the figure to its drawn content.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None},
                **({"bbox_inches": "tight"} if tight else {}))
    import matplotlib.pyplot as plt  # already imported by whoever drew the figure

    plt.close(fig)
    return atomic_write(path, buf.getvalue(), "figure")


# --- the comparison report's figures ---------------------------------------------------------
#
# Every figure draws a policy in the colour and marker of :func:`policy_styles` (the reference in
# grey), names it by its display label, labels every axis with what and in which unit, and
# tolerates what a comparison may lack: outcome specs, a second seed (no interval), a relative
# lift (reference mean 0). Artists drawn for a policy carry ``gid = "policy:<label>"`` so tests
# (and anyone else) can read a policy's colour back from a figure.

#: Units of the outcome metrics (docs/model.md, "Per outcome spec"), for axis labels.
OUTCOME_UNITS = {
    "completed": "tasks per user", "completed_on_time": "tasks per user",
    "on_time_rate": "share of tasks", "failed": "tasks per user", "time_to_completion": "days",
    "adjusted_in_time": "share of closed windows", "under_budget": "share of closed windows",
    "overspend": "excess over the limit, × limit", "time_to_adjust": "days",
    "days_practised": "days per user", "habit_strength": "habit strength (0–1)",
}

#: Daily series drawn by :func:`timeseries`: column (``index`` is computed), title, y label.
DAILY_PANELS = (
    ("minutes", "time in app", "minutes per user per day"),
    ("index", "engagement index", "clicks + sessions + opens\n+ minutes/10, per user per day"),
    ("opens", "notification opens", "opens per user per day"),
    ("clicks", "clicks", "clicks per user per day"),
    ("goal_progress", "goal progress (in app + outside)", "progress per user per day"),
    ("support_tickets", "support tickets", "tickets per user per day"),
)


#: The values a percentage can take.
PERCENT = (0.0, 100.0)


def policy_gid(label: str) -> str:
    """The ``gid`` of every artist drawn for policy ``label`` (read a colour back from it)."""
    return f"policy:{label}"


def policy_labels(cmp: Comparison) -> list[str]:
    """The policies that ran, by display label: the reference first, then the comparison's order."""
    ran = list(dict.fromkeys(cmp.runs["policy"])) if "policy" in cmp.runs else []
    order = [p.display for p in cmp.policies] + ran
    labels = [lab for lab in dict.fromkeys(order) if lab in set(ran)]
    if cmp.reference in labels:
        labels.remove(cmp.reference)
        labels.insert(0, cmp.reference)
    return labels


def styles(cmp: Comparison) -> dict[str, PolicyStyle]:
    """Each policy's colour and marker in this comparison's figures (the reference grey)."""
    return policy_styles([p.display for p in cmp.policies] + policy_labels(cmp), cmp.reference)


def _name(cmp: Comparison, label: str) -> str:
    return f"{label} (reference)" if label == cmp.reference else label


def seed_interval(values: Any, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval over the finite per-seed values (NaN bounds below 2 seeds)."""
    from scipy.stats import t as student_t

    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if v.size < 2:
        return mean, math.nan, math.nan
    half = float(student_t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, mean - half, mean + half


def _err(mean: float, low: float | None, high: float | None) -> list[list[float]]:
    """Error-bar lengths for ``[low, high]`` around ``mean``; 0 where a bound is unknown."""
    lo = mean - low if low is not None and math.isfinite(low) else 0.0
    hi = high - mean if high is not None and math.isfinite(high) else 0.0
    return [[max(lo, 0.0)], [max(hi, 0.0)]]


def _finite(*xs: float | None) -> bool:
    return all(x is not None and math.isfinite(x) for x in xs)


def _fmt_change(st: Any, scale: float = 1.0, unit: str = "") -> str:
    """'+3% [+1%, +5%]': the paired change, or its absolute size when no lift exists.

    Args:
        st: A paired statistic.
        scale: The axis's unit per unit of the metric (for the absolute difference, shown when
            the reference's mean is 0).
        unit: Written after that absolute difference.
    """
    lift = getattr(st, "lift", None)
    if lift is None or not math.isfinite(lift):
        d, lo, hi = (scale * x if x is not None else math.nan
                     for x in (st.diff, st.diff_low, st.diff_high))
        band = f" [{lo:+.3g}, {hi:+.3g}]" if _finite(lo, hi) else ""
        return f"{d:+.3g}{unit}{band}"
    lo, hi = st.lift_low, st.lift_high
    band = f" [{lo:+.0%}, {hi:+.0%}]" if _finite(lo, hi) else ""
    return f"{lift:+.0%}{band}"


def _values(cmp: Comparison, label: str, metric: str) -> np.ndarray:
    rows = cmp.runs.loc[cmp.runs["policy"] == label, metric]
    return rows.to_numpy(dtype=np.float64)


def _note(ax: Any, row: int, text: str) -> None:
    """A row's numbers, right-aligned above it at the panel's edge (never clipped by a point)."""
    ax.annotate(text, xy=(1.0, row - 0.2), xycoords=("axes fraction", "data"), xytext=(-3, 2),
                textcoords="offset points", ha="right", va="bottom", fontsize=7,
                color="#222222", zorder=5,
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85})


def empty_panel(ax: Any, text: str, fontsize: float = 9) -> None:
    """A panel with nothing to draw: ``text`` in its middle, no axes."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=fontsize,
            color="dimgrey", wrap=True)
    ax.set_axis_off()


def _unmeasured(ax: Any, cmp: Comparison, metric: str, title: str) -> bool:
    """Mark a panel of a metric of a segment with no users (its 0s are no data); whether it is."""
    if cmp.measured(metric):
        return False
    empty_panel(ax, f"{title}\nnot measured: segment '{cmp.info[metric].segment}' has no users "
               "in this run")
    return True


def _policy_axis(ax: Any, cmp: Comparison, labels: list[str]) -> None:
    """Policies down the y axis, the reference on top, named by their display labels."""
    n = len(labels)
    ax.set_yticks(range(n), [_name(cmp, lab) for lab in labels], fontsize=8)
    ax.set_ylim(n - 0.4, -0.7)  # row 0 (the reference) at the top, room for the notes above
    ax.set_ylabel("policy")


def _threshold(ax: Any, x: float, text: str) -> None:
    """A vertical limit with its name at the bottom, on the side of it with more room.

    Call it after the x limits are set (the side depends on them).
    """
    ax.axvline(x, color=THRESHOLD_COLOR, ls=":", lw=1.4, zorder=1)
    lo, hi = ax.get_xlim()
    left = x > (lo + hi) / 2
    ax.annotate(text, xy=(x, 0.0), xycoords=("data", "axes fraction"),
                xytext=(-3 if left else 3, 3), textcoords="offset points", fontsize=7,
                color=THRESHOLD_COLOR, ha="right" if left else "left", va="bottom")


def _pad_xlim(ax: Any, xs: list[float]) -> None:
    """X limits covering every value in ``xs`` with a margin (notes are written beside points)."""
    xs = [x for x in xs if math.isfinite(x)]
    if not xs:
        return
    lo, hi = min(xs), max(xs)
    span = hi - lo or max(abs(hi), 1.0) * 0.1
    ax.set_xlim(lo - 0.12 * span, hi + 0.12 * span)


def level_panel(ax: Any, cmp: Comparison, metric: str, *, xlabel: str, title: str,
                scale: float = 1.0, thresholds: tuple[tuple[float, str], ...] = (),
                domain: tuple[float, float] = (0.0, math.inf), diff_unit: str = "") -> None:
    """One metric per policy: mean over seeds with its 95% interval, the reference's as a line.

    Each compared policy's point is noted with its paired change against the reference (from
    ``cmp.stats``, the numbers the report's tables print), so a difference the seed-to-seed spread
    hides is still read off the figure.

    Args:
        ax: The axes.
        cmp: The comparison.
        metric: A column of ``cmp.runs``.
        xlabel: What the x axis shows, with its unit.
        title: The panel's title.
        scale: Multiplies the per-run value (a per-day rate, a percentage).
        thresholds: ``(x, text)`` limits to draw (already scaled).
        domain: The values the metric can take (scaled); intervals are cut to it.
        diff_unit: Appended to an absolute change (shown when the reference's mean is 0).
    """
    labels = policy_labels(cmp)
    if metric not in cmp.runs or not labels:
        empty_panel(ax, f"{title}: not measured")
        return
    style = styles(cmp)
    xs: list[float] = [x for x, _ in thresholds]
    for row, label in enumerate(labels):
        mean, low, high = seed_interval(_values(cmp, label, metric) * scale)
        if not math.isfinite(mean):
            continue
        low, high = max(low, domain[0]), min(high, domain[1])  # a t interval can cross them
        st = style[label]
        ax.errorbar(mean, row, xerr=_err(mean, low, high), fmt=st.marker, color=st.color, ms=7,
                    capsize=3, lw=1.4, gid=policy_gid(label), zorder=3)
        xs += [mean, low, high]
        paired = cmp.stats.get(label, {}).get(metric)
        if st.is_reference or paired is None:
            _note(ax, row, f"{mean:.3g}")
        else:
            _note(ax, row, f"{mean:.3g}; vs reference {_fmt_change(paired, scale, diff_unit)}")
        if st.is_reference:
            ax.axvline(mean, color=REFERENCE_COLOR, ls="--", lw=1, zorder=0)
    _pad_xlim(ax, xs)
    for x, text in thresholds:
        _threshold(ax, x, text)
    _policy_axis(ax, cmp, labels)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.grid(axis="x", color="#e5e5e5", lw=0.6)
    ax.tick_params(axis="x", labelsize=7)


def _level_figure(cmp: Comparison, title: str,
                  panels: list[tuple[str, dict[str, Any]]]) -> Figure:
    """A row of :func:`level_panel` panels sharing the policy axis."""
    plt = pyplot()
    n = max(len(policy_labels(cmp)), 1)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.3 * len(panels) + 1.2, 1.5 + 0.7 * n),
                             squeeze=False, sharey=True)
    for ax, (metric, kw) in zip(axes[0], panels, strict=True):
        level_panel(ax, cmp, metric, **kw)
    for ax in axes[0][1:]:
        ax.set_ylabel("")
        ax.tick_params(axis="y", labelleft=False)
    fig.suptitle(f"{cmp.scenario.name}: {title}\npoints: mean over {_seeds(cmp)} with "
                 f"95% interval; notes: the mean and the paired change vs '{cmp.reference}' "
                 "[95% interval]", fontsize=9)
    fig.tight_layout()
    return fig


def _seeds(cmp: Comparison) -> str:
    """'6 seeds' (or '1 seed')."""
    n = len(cmp.seeds) if cmp.seeds else int(cmp.runs["seed"].nunique())
    return f"{n} seed" + ("" if n == 1 else "s")


def engagement(cmp: Comparison) -> Figure:
    """The engagement index beside time in app, both per user per day, per policy."""
    per_day = 1.0 / cmp.days
    return _level_figure(cmp, "engagement and time in app", [
        ("engagement.index", {"title": "engagement index", "scale": per_day,
                              "xlabel": "clicks + sessions + opens + minutes/10,\nper user per "
                                        "day"}),
        ("engagement.minutes", {"title": "time in app", "scale": per_day,
                                "xlabel": "minutes per user per day"}),
    ])


def attention_use(cmp: Comparison) -> Figure:
    """Minutes per user per day spent on goals, on distraction and lost to interruptions."""
    per_day = 1.0 / cmp.days
    return _level_figure(cmp, "attention use", [
        ("attention.goal_minutes", {"title": "on goals (more is better)", "scale": per_day,
                                    "xlabel": "minutes per user per day"}),
        ("attention.distraction_minutes", {"title": "on distraction (less is better)",
                                           "scale": per_day,
                                           "xlabel": "minutes per user per day"}),
        ("attention.interruption_minutes", {"title": "lost to interruptions (less is better)",
                                            "scale": per_day,
                                            "xlabel": "minutes per user per day"}),
    ])


def fragmentation_panel(cmp: Comparison) -> Figure:
    """Layout distance, core consistency and context-failure rate per policy, thresholds drawn."""
    g = cmp.scenario.guardrails
    cap = g.max_layout_distance
    fail_max = g.thresholds.context_failure_max
    return _level_figure(cmp, "fragmentation", [
        ("fragmentation.layout_distance", {
            "title": "layout distance from the default", "scale": 100.0, "domain": PERCENT,
            "xlabel": "% of slots that differ from the default\n(core slots weighted)",
            "diff_unit": " pp",
            "thresholds": ((100 * cap, f"guardrail cap {cap:.0%}"),) if cap is not None else ()}),
        ("fragmentation.core_consistency", {
            "title": "core consistency (more is better)", "scale": 100.0, "domain": PERCENT,
            "xlabel": "% of active user-steps with every core\nelement in its default place",
            "diff_unit": " pp",
            "thresholds": ((100 * g.thresholds.core_consistency_min,
                            f"min {g.thresholds.core_consistency_min:.0%}"),)}),
        ("fragmentation.context_failure_rate", {
            "title": "context-event failures (less is better)", "scale": 100.0,
            "domain": PERCENT,
            "xlabel": "% of device switches, shared screens\nand support contacts that fail",
            "diff_unit": " pp",
            "thresholds": ((100 * fail_max, f"max {fail_max:.0%}"),)
            if fail_max is not None else ()}),
    ])


def _outcome_unit(cmp: Comparison, metric: str) -> str:
    spec_id = metric.partition(".")[2]
    spec = next((o for o in cmp.scenario.outcomes if o.id == spec_id), None)
    return OUTCOME_UNITS.get(spec.metric, "value") if spec is not None else "value"


def outcome_panel(ax: Any, cmp: Comparison, metric: str) -> None:
    """One outcome spec: each policy's paired difference from the reference, in the spec's unit.

    Bars start at the reference (0 = the reference's value, printed in the title) so the
    difference is what the eye reads; the 95% interval is the paired one of the report's tables;
    the spec's threshold (a relative lift) is drawn at its absolute size.
    """
    info = cmp.info[metric]
    if _unmeasured(ax, cmp, metric, info.label):
        return
    labels = policy_labels(cmp)
    style = styles(cmp)
    unit = _outcome_unit(cmp, metric)
    ref_mean, _, _ = seed_interval(_values(cmp, cmp.reference, metric))
    decrease = info.direction == "decrease"
    xs: list[float] = [0.0]
    for row, label in enumerate(labels):
        st = style[label]
        if st.is_reference:
            ax.plot([0.0], [row], st.marker, color=st.color, ms=7, gid=policy_gid(label))
            _note(ax, row, f"{ref_mean:.3g} {unit}")
            continue
        paired = cmp.stats.get(label, {}).get(metric)
        if paired is None or not math.isfinite(paired.diff):
            continue
        d = float(paired.diff)
        ax.barh(row, d, height=0.34, color=st.color, gid=policy_gid(label), zorder=2)
        ax.errorbar(d, row, xerr=_err(d, paired.diff_low, paired.diff_high), fmt="none",
                    ecolor="#222222", capsize=3, lw=1.2, zorder=3)
        xs += [d, paired.diff_low, paired.diff_high]
        _note(ax, row, f"{d:+.3g} ({_fmt_change(paired)})")
    ax.axvline(0.0, color=REFERENCE_COLOR, lw=1.2, zorder=1)
    threshold = float(getattr(info, "threshold", 0.0) or 0.0)
    if threshold > 0 and math.isfinite(ref_mean) and ref_mean != 0:
        x = (-1.0 if decrease else 1.0) * threshold * abs(ref_mean)
        xs.append(x)
        _pad_xlim(ax, xs)
        _threshold(ax, x, f"threshold {'-' if decrease else '+'}{threshold:.0%}")
    else:
        _pad_xlim(ax, xs)
    _policy_axis(ax, cmp, labels)
    better = "← better (lower)" if decrease else "better (higher) →"
    ax.set_xlabel(f"difference from '{cmp.reference}', {unit}\n{better}", fontsize=8)
    ref_text = f"{ref_mean:.3g}" if math.isfinite(ref_mean) else "n/a"
    ax.set_title(f"{info.label}\n'{cmp.reference}' = {ref_text} {unit}", fontsize=9)
    ax.grid(axis="x", color="#e5e5e5", lw=0.6)
    ax.tick_params(axis="x", labelsize=7)


def _outcome_specs(cmp: Comparison) -> list[str]:
    return [m for m, i in cmp.info.items() if i.family == "outcome" and m in cmp.runs]


def outcome_bars(cmp: Comparison) -> Figure:
    """Per outcome spec: each policy's difference from the reference with its paired interval."""
    plt = pyplot()
    specs = _outcome_specs(cmp)
    n = max(len(policy_labels(cmp)), 1)
    cols = max(len(specs), 1)
    fig, axes = plt.subplots(1, cols, figsize=(4.6 * cols + 1.2, 1.9 + 0.7 * n), squeeze=False,
                             sharey=True)
    if not specs:
        empty_panel(axes[0][0], "the scenario has no outcome specs")
    for ax, spec in zip(axes[0], specs, strict=False):
        outcome_panel(ax, cmp, spec)
    for ax in axes[0][1:]:
        ax.set_ylabel("")
        ax.tick_params(axis="y", labelleft=False)
    fig.suptitle(f"{cmp.scenario.name}: outcomes against '{cmp.reference}' (paired over "
                 f"{_seeds(cmp)}, 95% intervals; change and relative change above each bar)",
                 fontsize=9)
    fig.tight_layout()
    return fig


def _lift_point(st: Any, flip: bool) -> tuple[float, float, float] | None:
    """A lift in %, with its interval (the sign flipped for a lower-is-better metric)."""
    if st is None or st.lift is None or not math.isfinite(st.lift):
        return None
    lo, hi = st.lift_low, st.lift_high
    lo = 100 * lo if lo is not None and math.isfinite(lo) else math.nan
    hi = 100 * hi if hi is not None and math.isfinite(hi) else math.nan
    if flip:
        return -100 * st.lift, -hi, -lo
    return 100 * st.lift, lo, hi


def _quadrant_panel(ax: Any, cmp: Comparison, spec: str, title: str) -> list[str]:
    """One outcome's lift against the engagement lift; the policies it could not place."""
    if _unmeasured(ax, cmp, spec, title):
        return []
    style = styles(cmp)
    info = cmp.info.get(spec)
    flip = info is not None and info.direction == "decrease"
    skipped, xs, ys = [], [5.0], [5.0]
    for label in policy_labels(cmp):
        st = style[label]
        if st.is_reference:
            ax.plot([0.0], [0.0], st.marker, color=st.color, ms=7, gid=policy_gid(label),
                    zorder=3)
            continue
        by = cmp.stats.get(label, {})
        e = _lift_point(by.get("engagement.index"), False)
        o = _lift_point(by.get(spec), flip)
        if e is None or o is None:
            skipped.append(label)
            continue
        ax.errorbar(e[0], o[0], xerr=_err(*e), yerr=_err(*o), fmt=st.marker, color=st.color,
                    ms=7, capsize=3, lw=1.3, gid=policy_gid(label), zorder=3)
        xs += [abs(v) for v in e if math.isfinite(v)]
        ys += [abs(v) for v in o if math.isfinite(v)]
    if info is not None and info.family == "outcome" and (info.threshold or 0) > 0:
        ax.axhline(100 * info.threshold, color=THRESHOLD_COLOR, ls=":", lw=1.2)
        ax.annotate(f"outcome threshold +{info.threshold:.0%}", xy=(1.0, 100 * info.threshold),
                    xycoords=("axes fraction", "data"), xytext=(-3, -2),
                    textcoords="offset points", fontsize=7, color=THRESHOLD_COLOR, ha="right",
                    va="top")
    ax.axhline(0, color=REFERENCE_COLOR, lw=0.8)
    ax.axvline(0, color=REFERENCE_COLOR, lw=0.8)
    span_x, span_y = 1.15 * max(xs), 1.15 * max(ys)
    ax.set_xlim(-span_x, span_x)
    ax.set_ylim(-span_y, span_y)
    for x, y, text in ((0.97, 0.03, "TRAP\nengagement up, outcome not"), (0.97, 0.97, "ALIGNED"),
                       (0.03, 0.97, "QUIET WIN"), (0.03, 0.03, "HARM")):
        ax.text(x, y, text, transform=ax.transAxes, ha="right" if x > 0.5 else "left",
                va="top" if y > 0.5 else "bottom", fontsize=7, color="dimgrey")
    flipped = ", sign flipped: lower is better" if flip else ""
    ax.set_xlabel(f"engagement index, % change vs '{cmp.reference}'", fontsize=8)
    ax.set_ylabel(f"outcome, % change (up = better{flipped})", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    if skipped:
        ax.text(0.5, 0.86, "no relative change (reference mean 0):\n" + ", ".join(skipped),
                transform=ax.transAxes, ha="center", va="top", fontsize=7, color="dimgrey",
                wrap=True)
    return skipped


def _legend(fig: Figure, cmp: Comparison, verdicts: bool = False) -> None:
    """One legend under the figure naming every policy by its display label."""
    from matplotlib.lines import Line2D

    handles = []
    for label, st in styles(cmp).items():
        if label not in policy_labels(cmp):
            continue
        text = _name(cmp, label)
        verdict = getattr(cmp.verdicts.get(label), "verdict", None) if verdicts else None
        if verdict:
            text += f": {verdict}"
        handles.append(Line2D([], [], color=st.color, marker=st.marker, ls="-", lw=1.4, ms=6,
                              label=text))
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 3), fontsize=8,
                   frameon=False)


def _legend_room(fig: Figure, cmp: Comparison) -> None:
    """Leave room under the axes for :func:`_legend` (its rows of three entries)."""
    rows = math.ceil(max(len(policy_labels(cmp)), 1) / 3)
    inches = 0.15 + 0.25 * rows  # a legend row of 8-point text is about a quarter inch
    fig.tight_layout(rect=(0, min(inches / fig.get_figheight(), 0.4), 1, 1))


def trap_quadrant(cmp: Comparison) -> Figure:
    """Engagement change vs outcome change per policy and outcome spec, with 95% intervals."""
    plt = pyplot()
    specs = _outcome_specs(cmp)
    titled = [(s, cmp.info[s].label) for s in specs]
    if not titled:  # no outcome specs: goal progress, the welfare measure, stands in
        titled = [("wellbeing.goal_progress",
                   "no outcome specs: goal progress per user (in app + outside)")]
    fig, axes = plt.subplots(1, len(titled), figsize=(max(4.8 * len(titled), 8.0), 5.0),
                             squeeze=False)
    for ax, (spec, title) in zip(axes[0], titled, strict=True):
        _quadrant_panel(ax, cmp, spec, title)
    fig.suptitle(f"{cmp.scenario.name}: engagement vs outcome against '{cmp.reference}' "
                 f"(paired, {_seeds(cmp)}, 95% intervals)", fontsize=10)
    _legend(fig, cmp, verdicts=True)
    _legend_room(fig, cmp)
    return fig


def _daily(cmp: Comparison) -> tuple[Any, list[tuple[str, str, str]]]:
    """Mean over seeds of each daily series per policy and day, and the panels it can fill."""
    daily = cmp.daily
    if daily is None or daily.empty or "policy" not in daily or "day" not in daily:
        return None, []
    daily = daily.copy()
    parts = ("clicks", "sessions", "opens", "minutes")
    if all(c in daily for c in parts):  # the engagement index of metrics.flat, per day
        daily["index"] = engagement_index(daily["clicks"], daily["sessions"], daily["opens"],
                                          daily["minutes"])
    panels = [(c, t, y) for c, t, y in DAILY_PANELS if c in daily]
    mean = daily.groupby(["policy", "day"], sort=False)[[c for c, _, _ in panels]].mean()
    return mean.reset_index(), panels


def timeseries(cmp: Comparison) -> Figure:
    """Daily per-user series per policy (mean over seeds): time in app beside engagement first."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    mean, panels = _daily(cmp)
    cols = 3 if len(panels) > 2 else max(len(panels), 1)
    rows = max(math.ceil(len(panels) / cols), 1)
    fig, axes = plt.subplots(rows, cols, figsize=(4.3 * cols, 2.9 * rows + 0.9), squeeze=False)
    if not panels:
        empty_panel(axes[0][0], "no daily series recorded")
    style = styles(cmp)
    for ax, (col, title, ylabel) in zip(axes.flat, panels, strict=False):
        for label in policy_labels(cmp):
            g = mean[mean["policy"] == label]
            if g.empty:
                continue
            st = style[label]
            ax.plot(g["day"], g[col], color=st.color, marker=st.marker, ms=4,
                    markevery=max(len(g) // 7, 1), lw=2.2 if st.is_reference else 1.4,
                    ls="--" if st.is_reference else "-", gid=policy_gid(label),
                    zorder=2 if st.is_reference else 3)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("day", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(panels) if panels else 1:]:
        ax.set_visible(False)
    fig.suptitle(f"{cmp.scenario.name}: daily per-user series (mean over {_seeds(cmp)})",
                 fontsize=10)
    _legend(fig, cmp)
    _legend_room(fig, cmp)
    return fig


FIGURES = {"trap_quadrant": trap_quadrant, "engagement": engagement, "timeseries": timeseries,
           "outcomes": outcome_bars, "fragmentation": fragmentation_panel,
           "attention": attention_use}


def draw_all(cmp: Comparison, out_dir: Path | None) -> dict[str, Any]:
    """Every figure; saved as PNG (paths returned) when ``out_dir`` is given."""
    out: dict[str, Any] = {}
    for name, fn in FIGURES.items():
        fig = fn(cmp)
        # cropped to what is drawn: a long title or legend is never cut at the figure's edge
        out[name] = fig if out_dir is None else save_png(fig, out_dir / f"{name}.png", tight=True)
    return out
