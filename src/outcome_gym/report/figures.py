"""Figure helpers for every report, and the comparison report's figures.

matplotlib is imported only when a figure is drawn, and :func:`pyplot` selects the non-interactive
Agg backend right then (no screen needed), so importing outcome_gym never imports pyplot nor
changes the backend of a program that does not draw.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from outcome_gym._io import atomic_write
from outcome_gym.report.style import BAD, GOOD, NEUTRAL, color

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


def png_img(path: Path, alt: str) -> str:
    """An ``<img>`` with the PNG at ``path`` embedded (base64), so the page works offline."""
    import html

    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


# --- the comparison report's figures ---------------------------------------------------------


def _pct(x: float | None) -> float:
    return 100.0 * x if x is not None else 0.0


def _err(st: Any) -> tuple[float, float]:
    if st.lift is None or st.lift_low is None or st.lift_high is None:
        return 0.0, 0.0
    return 100 * (st.lift - st.lift_low), 100 * (st.lift_high - st.lift)


def trap_quadrant(cmp: Comparison) -> Figure:
    """Engagement lift vs outcome lift per policy and outcome spec, with 95% intervals."""
    plt = pyplot()
    specs = [m for m, i in cmp.info.items() if i.family == "outcome"] or ["engagement.index"]
    fig, axes = plt.subplots(1, len(specs), figsize=(5.2 * len(specs), 4.6), squeeze=False)
    for ax, spec in zip(axes[0], specs, strict=True):
        for k, (label, by) in enumerate(cmp.stats.items()):
            e, o = by["engagement.index"], by[spec]
            sign = -1.0 if cmp.info[spec].direction == "decrease" else 1.0
            y = sign * _pct(o.lift)
            yerr = _err(o)[::-1] if sign < 0 else _err(o)
            ax.errorbar(_pct(e.lift), y, xerr=[[_err(e)[0]], [_err(e)[1]]],
                        yerr=[[yerr[0]], [yerr[1]]], fmt="o", color=color(k), capsize=3,
                        label=f"{label}: {cmp.verdicts[label].verdict}")
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(0, color="grey", lw=0.8)
        xl, yl = ax.get_xlim(), ax.get_ylim()
        span_x = max(abs(xl[0]), abs(xl[1]), 5)
        span_y = max(abs(yl[0]), abs(yl[1]), 5)
        ax.set_xlim(-span_x, span_x)
        ax.set_ylim(-span_y, span_y)
        for (x, y, text) in ((0.97, 0.03, "TRAP\nengagement up, outcome not"),
                             (0.97, 0.97, "ALIGNED"), (0.03, 0.97, "QUIET WIN"),
                             (0.03, 0.03, "HARM")):
            ax.text(x, y, text, transform=ax.transAxes, ha="right" if x > 0.5 else "left",
                    va="top" if y > 0.5 else "bottom", fontsize=8, color="dimgrey")
        info = cmp.info[spec]
        flipped = ", sign flipped" if info.direction == "decrease" else ""
        ax.set_xlabel("engagement lift vs reference, %")
        ax.set_ylabel(f"outcome lift, % (up = better{flipped})", fontsize=8)
        ax.set_title(info.label, fontsize=9)
        ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, -0.45))
    fig.suptitle(f"{cmp.scenario.name}: engagement vs outcome against '{cmp.reference}'")
    fig.tight_layout()
    return fig


def timeseries(cmp: Comparison) -> Figure:
    """Daily per-user metrics per policy (mean over seeds)."""
    plt = pyplot()
    cols = [c for c in ("clicks", "opens", "goal_progress", "support_tickets") if c in cmp.daily]
    fig, axes = plt.subplots(1, len(cols), figsize=(4.2 * len(cols), 3.4), squeeze=False)
    mean = cmp.daily.groupby(["policy", "day"], sort=False)[cols].mean().reset_index()
    for ax, col in zip(axes[0], cols, strict=True):
        for k, (label, g) in enumerate(mean.groupby("policy", sort=False)):
            ax.plot(g["day"], g[col], color=color(k), label=label, lw=1.4)
        ax.set_title(f"{col} per user per day", fontsize=9)
        ax.set_xlabel("day")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _bars(ax: Any, cmp: Comparison, metric: str, title: str) -> None:
    labels = list(dict.fromkeys(cmp.runs["policy"]))
    means, lows, highs = [], [], []
    for label in labels:
        v = cmp.runs.loc[cmp.runs["policy"] == label, metric].to_numpy()
        boot = v[np.random.default_rng(0).integers(0, v.size, (2000, v.size))].mean(axis=1)
        means.append(v.mean())
        lo, hi = np.quantile(boot, [0.025, 0.975])
        lows.append(v.mean() - lo)
        highs.append(hi - v.mean())
    ax.bar(range(len(labels)), means, yerr=[lows, highs], capsize=3,
           color=[color(k) for k in range(len(labels))])
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize=7)
    ax.set_title(title, fontsize=9)


def outcome_bars(cmp: Comparison) -> Figure:
    """Per-segment outcome spec values per policy, mean over seeds with 95% intervals."""
    plt = pyplot()
    specs = [m for m, i in cmp.info.items() if i.family == "outcome"]
    fig, axes = plt.subplots(1, max(len(specs), 1), figsize=(4 * max(len(specs), 1), 3.6),
                             squeeze=False)
    for ax, spec in zip(axes[0], specs, strict=False):
        _bars(ax, cmp, spec, cmp.info[spec].label)
    fig.tight_layout()
    return fig


def fragmentation_panel(cmp: Comparison) -> Figure:
    """Layout distance, core consistency, context failures and support tickets per policy."""
    plt = pyplot()
    panels = [("fragmentation.layout_distance", "layout distance from default"),
              ("fragmentation.pairwise_distance", "distance between two users"),
              ("fragmentation.layout_entropy_bits", "entropy of experiences, bits"),
              ("fragmentation.core_consistency", "core consistency"),
              ("fragmentation.context_failure_rate", "context-event failure rate"),
              ("fragmentation.support_tickets", "support tickets per user")]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.6))
    for ax, (metric, title) in zip(axes, panels, strict=True):
        _bars(ax, cmp, metric, title)
    fig.tight_layout()
    return fig


def attention_use(cmp: Comparison) -> Figure:
    """Minutes per user spent on goals, on distraction and lost to interruptions."""
    plt = pyplot()
    labels = list(dict.fromkeys(cmp.runs["policy"]))
    parts = [("attention.goal_minutes", "goal", GOOD),
             ("attention.distraction_minutes", "distraction", BAD),
             ("attention.interruption_minutes", "interruptions", NEUTRAL)]
    fig, ax = plt.subplots(figsize=(1.6 * len(labels) + 3, 3.8))
    bottom = np.zeros(len(labels))
    for metric, name, shade in parts:
        vals = np.array([cmp.runs.loc[cmp.runs["policy"] == lab, metric].mean() for lab in labels])
        ax.bar(range(len(labels)), vals, bottom=bottom, label=name, color=shade)
        bottom += vals
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("minutes per user over the run")
    ax.set_title("attention use")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES = {"trap_quadrant": trap_quadrant, "timeseries": timeseries, "outcomes": outcome_bars,
           "fragmentation": fragmentation_panel, "attention": attention_use}


def draw_all(cmp: Comparison, out_dir: Path | None) -> dict[str, Any]:
    """Every figure; saved as PNG (paths returned) when ``out_dir`` is given."""
    out: dict[str, Any] = {}
    for name, fn in FIGURES.items():
        fig = fn(cmp)
        out[name] = fig if out_dir is None else save_png(fig, out_dir / f"{name}.png")
    return out
