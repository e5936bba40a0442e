"""The comparison report's figures: every figure for 1, 2 and 5 policies, one colour per policy,
labelled axes, the numbers the figures draw, and comparisons with no outcome specs or no intervals."""

from __future__ import annotations

import dataclasses
import math

import pytest

from outcome_gym import compare
from outcome_gym.compare import Comparison, assemble
from outcome_gym.report.figures import (
    FIGURES,
    draw_all,
    engagement,
    fragmentation_panel,
    outcome_bars,
    policy_gid,
    pyplot,
    seed_interval,
    trap_quadrant,
)
from outcome_gym.report.style import (
    MARKERS,
    PALETTE,
    REFERENCE_COLOR,
    REFERENCE_MARKER,
    THRESHOLD_COLOR,
    policy_styles,
)
from tests.conftest import variant

POLICIES = ["static", "random", "random:keep_core=false", "engagement_bandit", "outcome_bandit"]


@pytest.fixture(scope="module")
def cmp5(tiny) -> Comparison:
    """Five policies on a 30-user, 3-day tiny world, 2 seeds (about 2 s)."""
    sc = variant(tiny, **{"population.size": 30, "clock.horizon_days": 3,
                          "guardrails.thresholds.context_failure_max": 0.3})
    return compare(sc, POLICIES, seeds=2)


def first(cmp: Comparison, k: int) -> Comparison:
    """The comparison of the first ``k`` policies (the reference among them) from ``cmp``'s runs."""
    specs = cmp.policies[:k]
    labels = [s.display for s in specs]
    return assemble(cmp.scenario, specs, cmp.reference, cmp.seeds,
                    cmp.runs[cmp.runs["policy"].isin(labels)].reset_index(drop=True),
                    cmp.daily[cmp.daily["policy"].isin(labels)].reset_index(drop=True))


def hex_color(artist) -> str:
    from matplotlib.colors import to_hex

    shade = artist.get_color() if hasattr(artist, "get_color") else artist.get_facecolor()
    return to_hex(shade, keep_alpha=False).lower()


def policy_colors(fig) -> dict[str, set[str]]:
    """Policy label -> the colours of the artists drawn for it (read back by their gid)."""
    out: dict[str, set[str]] = {}
    for a in fig.findobj(lambda a: str(a.get_gid() or "").startswith("policy:")):
        out.setdefault(a.get_gid().removeprefix("policy:"), set()).add(hex_color(a))
    return out


def points(ax, label: str) -> list:
    """The marker lines drawn for ``label`` in ``ax`` (not its interval's caps)."""
    return [ln for ln in ax.lines
            if ln.get_gid() == policy_gid(label) and ln.get_marker() not in ("|", "_")]


def texts(fig) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_visible()]


def close(fig) -> None:
    pyplot().close(fig)


def test_policy_styles_reference_grey_others_the_palette_in_order():
    st = policy_styles(["a", "ref", "b"], "ref")
    assert st["ref"] == (REFERENCE_COLOR, REFERENCE_MARKER, True)
    assert (st["a"].color, st["a"].marker) == (PALETTE[0], MARKERS[0])
    assert (st["b"].color, st["b"].marker) == (PALETTE[1], MARKERS[1])
    assert REFERENCE_COLOR not in PALETTE and REFERENCE_MARKER not in MARKERS
    # nine compared policies: the palette (8) repeats, the marker does not (colour + shape differ)
    many = policy_styles([f"p{i}" for i in range(9)], "ref")
    assert many["p8"].color == many["p0"].color and many["p8"].marker != many["p0"].marker


@pytest.mark.parametrize("k", [1, 2, 5])
def test_every_figure_draws_labels_its_axes_and_names_every_policy(cmp5, k):
    cmp = first(cmp5, k)
    labels = POLICIES[:k]
    for name, draw in FIGURES.items():
        fig = draw(cmp)
        shown = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
        assert shown, name
        for ax in shown:
            assert ax.get_xlabel().strip(), (name, ax.get_title())
            siblings = ax.get_shared_y_axes().get_siblings(ax)
            assert any(s.get_ylabel().strip() for s in siblings), (name, ax.get_title())
        words = texts(fig)
        for label in labels:
            named = f"{label} (reference)" if label == "static" else label
            assert any(t == named or t.startswith(named + ":") for t in words), (name, label)
        close(fig)


def test_a_policy_has_one_colour_in_every_figure(cmp5):
    seen: dict[str, set[str]] = {}
    for name, draw in FIGURES.items():
        fig = draw(cmp5)
        colors = policy_colors(fig)
        assert set(colors) == set(POLICIES), name  # every policy drawn in every figure
        for label, shades in colors.items():
            seen.setdefault(label, set()).update(shades)
        for leg in fig.legends:  # a legend entry has its policy's colour
            for handle, text in zip(leg.legend_handles, leg.get_texts(), strict=True):
                label = max((p for p in POLICIES if text.get_text().startswith(p)), key=len)
                assert hex_color(handle) in colors[label], (name, label)
        close(fig)
    assert all(len(shades) == 1 for shades in seen.values()), seen
    one = {label: next(iter(shades)) for label, shades in seen.items()}
    assert one["static"] == REFERENCE_COLOR.lower()
    assert [one[p] for p in POLICIES[1:]] == [c.lower() for c in PALETTE[:4]]


def _axes_titled(fig, start: str):
    return next(ax for ax in fig.axes if ax.get_title().startswith(start))


def test_outcome_bars_are_paired_differences_with_the_baseline_and_threshold(cmp5):
    fig = outcome_bars(cmp5)
    ref = cmp5.runs[cmp5.runs["policy"] == "static"]
    for metric, info in cmp5.info.items():
        if info.family != "outcome":
            continue
        ax = _axes_titled(fig, info.label)
        ref_mean = float(ref[metric].mean())
        assert f"'static' = {ref_mean:.3g} " in ax.get_title()
        bars = {p.get_gid().removeprefix("policy:"): p for p in ax.patches
                if str(p.get_gid()).startswith("policy:")}
        assert set(bars) == set(POLICIES[1:])
        for label, bar in bars.items():
            assert bar.get_width() == pytest.approx(cmp5.stats[label][metric].diff)
            assert bar.get_x() == 0.0  # bars start at the reference
        limits = [ln.get_xdata()[0] for ln in ax.lines if ln.get_color() == THRESHOLD_COLOR]
        if info.threshold > 0 and ref_mean > 0:
            # on_time: threshold 5% of the reference's mean, on the better (higher) side
            assert limits == [pytest.approx(info.threshold * ref_mean)]
        else:
            assert limits == []
    close(fig)


def test_fragmentation_draws_each_policys_mean_and_the_thresholds(cmp5):
    fig = fragmentation_panel(cmp5)
    ax = _axes_titled(fig, "context-event failures")
    for label in POLICIES:
        (line,) = points(ax, label)
        expected = 100 * cmp5.runs.loc[cmp5.runs["policy"] == label,
                                       "fragmentation.context_failure_rate"].mean()
        assert line.get_xdata()[0] == pytest.approx(expected)
    limit = [ln.get_xdata()[0] for ln in ax.lines if ln.get_color() == THRESHOLD_COLOR]
    assert limit == [pytest.approx(30.0)]  # context_failure_max 0.3 set by the fixture
    core = _axes_titled(fig, "core consistency")
    assert [ln.get_xdata()[0] for ln in core.lines
            if ln.get_color() == THRESHOLD_COLOR] == [pytest.approx(95.0)]  # default minimum
    cap = _axes_titled(fig, "layout distance")
    assert [ln.get_xdata()[0] for ln in cap.lines
            if ln.get_color() == THRESHOLD_COLOR] == [pytest.approx(80.0)]  # tiny's 0.8 cap
    close(fig)


def test_engagement_shows_time_in_app_per_user_per_day_beside_the_index(cmp5):
    fig = engagement(cmp5)
    days = cmp5.scenario.clock.horizon_days  # 3
    for title, metric in (("time in app", "engagement.minutes"),
                          ("engagement index", "engagement.index")):
        ax = _axes_titled(fig, title)
        assert "per user per day" in ax.get_xlabel()
        for label in POLICIES:
            (line,) = points(ax, label)
            total = cmp5.runs.loc[cmp5.runs["policy"] == label, metric].mean()
            assert line.get_xdata()[0] == pytest.approx(total / days)
    close(fig)


def test_seed_interval_is_a_student_t_interval():
    # values 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.3027 -> half width 4.3027 / sqrt(3) = 2.4841
    mean, low, high = seed_interval([1.0, 2.0, 3.0, math.nan])
    assert (mean, low, high) == pytest.approx((2.0, 2.0 - 2.4841, 2.0 + 2.4841), abs=1e-4)
    one = seed_interval([5.0])
    assert one[0] == 5.0 and math.isnan(one[1]) and math.isnan(one[2])


def _without_outcomes(cmp: Comparison) -> Comparison:
    keep = [m for m, i in cmp.info.items() if i.family != "outcome"]
    return dataclasses.replace(
        cmp, info={m: cmp.info[m] for m in keep},
        stats={p: {m: st for m, st in by.items() if m in keep} for p, by in cmp.stats.items()},
        runs=cmp.runs[[c for c in cmp.runs.columns if not c.startswith("outcome.")]])


def _without_intervals(cmp: Comparison) -> Comparison:
    nan = math.nan
    stats = {p: {m: dataclasses.replace(st, diff_low=nan, diff_high=nan, lift_low=None,
                                        lift_high=None) for m, st in by.items()}
             for p, by in cmp.stats.items()}
    one_seed = cmp.runs[cmp.runs["seed"] == cmp.seeds[0]].reset_index(drop=True)
    return dataclasses.replace(cmp, stats=stats, runs=one_seed, seeds=cmp.seeds[:1])


def test_no_outcome_specs_no_intervals_and_zero_baselines_do_not_raise(cmp5, tmp_path):
    bare = _without_outcomes(cmp5)
    fig = outcome_bars(bare)
    assert "the scenario has no outcome specs" in texts(fig)
    close(fig)
    fig = trap_quadrant(bare)  # goal progress stands in for the missing outcomes
    assert any(ax.get_title().startswith("no outcome specs") for ax in fig.axes)
    close(fig)
    for name, fig in draw_all(_without_intervals(bare), None).items():
        assert set(policy_colors(fig)) == (set() if name == "outcomes" else set(POLICIES)), name
        close(fig)
    # saved (rendered, text laid out): every point drawn without its unknown interval
    paths = draw_all(_without_intervals(cmp5), tmp_path / "nan")
    assert sorted(p.name for p in paths.values()) == sorted(f"{n}.png" for n in FIGURES)
    # 'adjusted' has a reference mean of 0 on this fixture: no relative change to place
    assert cmp5.stats["random"]["outcome.adjusted"].lift is None
    fig = trap_quadrant(cmp5)
    ax = _axes_titled(fig, cmp5.info["outcome.adjusted"].label)
    assert any(t.startswith("no relative change") for t in texts(fig))
    assert not points(ax, "random")
    close(fig)
