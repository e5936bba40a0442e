"""Harm rules: which users a policy leaves worse off, in words, validated on held-apart seeds.

For one policy and one metric, each user of each seed is worse off or not (per-user margin,
:func:`~outcome_gym.analysis.per_user.classify`). A depth-2 regression tree of that 0/1 outcome on
the users' traits (segment when the metric spans segments, attention budget, susceptibility, goal
weight, devices, starting trust, session propensity, habit rate, churn sensitivity, availability)
is fitted on half of the seeds by an exact split search (:func:`best_split`: every cut between two
distinct values of every trait, least squared error, at least :data:`MIN_LEAF` of the users on
each side). Each node of the tree is a candidate rule ("attention budget under 7 min and
susceptibility over 1.1"); on every held-apart seed the rule's share worse off is compared with
the share among the other users of the segment, and a rule is kept only when the Student-t
interval of that difference across the held-apart seeds lies above 0. A depth-2 rule is kept only
when its second condition also holds apart: its share must exceed its sibling's (the same first
condition, the other side of the second) on the held-apart seeds; otherwise the simpler rule
speaks for it. At most :data:`MAX_RULES` rules are printed, the most excess harmed users first.

Why not scikit-learn's ``DecisionTreeRegressor``: the search needed here (depth 2, one target,
thresholds between distinct values) is ~40 lines of numpy that tests pin exactly, while
scikit-learn would be a new core dependency (~40 MB with its compiled extensions) used for this
alone; its CART split criterion on a 0/1 target is the same least-squares search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from outcome_gym.analysis.per_user import ALL, TRAITS, Target, classify, pair_rows
from outcome_gym.analysis.stats import t_interval

MIN_LEAF = 0.05
"""Smallest share of the fitted users on each side of a split (rules about a handful of users
are neither readable nor stable)."""

MAX_RULES = 3

WORDS = {
    "attention_budget": ("an attention budget", " min"),
    "susceptibility": ("susceptibility", ""),
    "goal_weight": ("goal weight", ""),
    "devices": ("devices", ""),
    "trust_start": ("starting trust", ""),
    "session_propensity": ("session propensity", "/day"),
    "habit_rate": ("habit rate", ""),
    "churn_sensitivity": ("churn sensitivity", ""),
    "avail_scale": ("availability", ""),
}


@dataclass(frozen=True)
class Condition:
    """One side of one split: ``feature < threshold`` or ``>=`` (``segment == value``)."""

    feature: str
    below: bool
    threshold: float
    value: str = ""

    def holds(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows satisfy it."""
        if self.feature.startswith("segment="):
            eq = frame["segment"].to_numpy() == self.value
            return eq if not self.below else ~eq
        x = frame[self.feature].to_numpy(dtype=np.float64)
        return x < self.threshold if self.below else x >= self.threshold

    def words(self) -> str:
        """'an attention budget under 7.2 min'."""
        if self.feature.startswith("segment="):
            return f"{'not ' if self.below else ''}in segment {self.value}"
        name, unit = WORDS.get(self.feature, (self.feature, ""))
        if self.feature == "devices":  # integers: 'fewer than 2 devices', '2 or more devices'
            n = math.ceil(self.threshold)
            return f"fewer than {n} devices" if self.below else f"{n} or more devices"
        return f"{name} {'under' if self.below else 'over'} {self.threshold:.3g}{unit}"


@dataclass(frozen=True)
class HarmRule:
    """A rule that held on the held-apart seeds (shares are means over them, 95% t intervals).

    Attributes:
        policy, metric, segment: What it is about (segment ``all`` for engagement over everyone).
        conditions: The rule, one or two conditions.
        coverage: Share of the segment's users the rule covers [low, high].
        worse: Share of the covered users worse off [low, high].
        others: Share of the segment's other users worse off.
        excess: Covered share worse off minus the others' [low, high].
        fit_seeds, held_seeds: The two halves of the seeds.
    """

    policy: str
    metric: str
    metric_label: str
    segment: str
    conditions: tuple[Condition, ...]
    coverage: tuple[float, float, float]
    worse: tuple[float, float, float]
    others: float
    excess: tuple[float, float, float]
    fit_seeds: tuple[int, ...]
    held_seeds: tuple[int, ...]

    def text(self) -> str:
        """'users with an attention budget under 7 min and ... (18% of newcomer): 41% worse off on
        days practised [35%, 47%], against 6% of the other newcomer users'.
        """
        who = "users with " + " and ".join(c.words() for c in self.conditions)
        seg = "users" if self.segment == ALL else f"{self.segment} users"
        w = self.worse
        return (f"{who} ({self.coverage[0]:.0%} of {seg}): {w[0]:.0%} worse off on "
                f"{self.metric_label} [{w[1]:.0%}, {w[2]:.0%}], against {self.others:.0%} of the "
                f"other {seg}")

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"policy": self.policy, "metric": self.metric, "segment": self.segment,
                "text": self.text(),
                "conditions": [{"feature": c.feature, "below": c.below,
                                "threshold": c.threshold, "value": c.value}
                               for c in self.conditions],
                "coverage": list(self.coverage), "worse": list(self.worse),
                "others": self.others, "excess": list(self.excess),
                "fit_seeds": list(self.fit_seeds), "held_seeds": list(self.held_seeds)}


def best_split(x: np.ndarray, y: np.ndarray, min_leaf: int) -> tuple[float, float]:
    """The cut of ``x`` that least squared error of ``y`` leaves; (gain, threshold).

    Thresholds lie halfway between two consecutive distinct values; each side keeps at least
    ``min_leaf`` rows. Gain is the drop in the sum of squared errors (0, NaN when no cut exists).
    """
    n = x.shape[0]
    if n < 2 * min_leaf or n < 2:
        return 0.0, math.nan
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order].astype(np.float64)
    c1, c2 = np.cumsum(ys), np.cumsum(ys * ys)
    k = np.arange(1, n)  # left side holds the first k rows
    left = c2[:-1] - c1[:-1] ** 2 / k
    right = (c2[-1] - c2[:-1]) - (c1[-1] - c1[:-1]) ** 2 / (n - k)
    ok = (xs[1:] > xs[:-1]) & (k >= min_leaf) & (n - k >= min_leaf)
    if not ok.any():
        return 0.0, math.nan
    sse = np.where(ok, left + right, np.inf)
    i = int(np.argmin(sse))
    total = c2[-1] - c1[-1] ** 2 / n
    return float(total - sse[i]), float((xs[i] + xs[i + 1]) / 2)


def features(frame: pd.DataFrame, with_segment: bool) -> list[str]:
    """The traits present in ``frame`` (and one 'segment=<id>' per segment when asked)."""
    out = [t for t in TRAITS if t in frame and frame[t].nunique() > 1]
    if with_segment:
        out += [f"segment={s}" for s in sorted(frame["segment"].unique())]
    return out


def _column(frame: pd.DataFrame, feature: str) -> np.ndarray:
    if feature.startswith("segment="):
        return (frame["segment"].to_numpy() == feature.split("=", 1)[1]).astype(np.float64)
    return frame[feature].to_numpy(dtype=np.float64)


def split_node(frame: pd.DataFrame, y: np.ndarray, feats: list[str],
               min_leaf: int) -> tuple[Condition, Condition] | None:
    """The best split of one node as its (left, right) conditions, or None."""
    best = (0.0, "", math.nan)
    for f in feats:
        gain, thr = best_split(_column(frame, f), y, min_leaf)
        if gain > best[0] + 1e-12:
            best = (gain, f, thr)
    gain, f, thr = best
    if not f:
        return None
    if f.startswith("segment="):
        value = f.split("=", 1)[1]
        return Condition(f, True, 0.5, value), Condition(f, False, 0.5, value)
    return Condition(f, True, thr), Condition(f, False, thr)


def fit_tree(frame: pd.DataFrame, y: np.ndarray, feats: list[str],
             min_leaf: int) -> list[tuple[tuple[Condition, ...], tuple[Condition, ...] | None]]:
    """Every node of a depth-2 tree as (conditions, sibling's conditions or None for depth 1)."""
    root = split_node(frame, y, feats, min_leaf)
    if root is None:
        return []
    nodes: list[tuple[tuple[Condition, ...], tuple[Condition, ...] | None]] = []
    for side in root:
        nodes.append(((side,), None))
        mask = side.holds(frame)
        child = split_node(frame[mask], y[mask], feats, min_leaf)
        if child is not None:
            a, b = child
            nodes += [((side, a), (side, b)), ((side, b), (side, a))]
    return nodes


def _covered(frame: pd.DataFrame, conds: tuple[Condition, ...]) -> np.ndarray:
    mask = np.ones(len(frame), bool)
    for c in conds:
        mask &= c.holds(frame)
    return mask


def _shares(held: list[tuple[pd.DataFrame, np.ndarray]], conds: tuple[Condition, ...],
            versus: tuple[Condition, ...] | None) -> dict[str, np.ndarray]:
    """Per held seed: coverage, covered share worse, the others' (or the sibling's) share."""
    cov, worse, other = [], [], []
    for frame, bad in held:
        m = _covered(frame, conds)
        o = _covered(frame, versus) if versus is not None else ~m
        cov.append(m.mean())
        worse.append(bad[m].mean() if m.any() else np.nan)
        other.append(bad[o].mean() if o.any() else np.nan)
    return {"coverage": np.array(cov), "worse": np.array(worse), "other": np.array(other)}


def _seed_frames(values: pd.DataFrame, label: str, reference: str, target: Target,
                 segment: str, seeds: list[int], margin: float) -> list[tuple[pd.DataFrame,
                                                                              np.ndarray]]:
    """Per seed: the segment's per-user rows (traits) and who is worse off."""
    out = []
    for seed in seeds:
        ref, pol = pair_rows(values, label, reference, seed)
        mask = np.ones(len(ref), bool) if segment == ALL else ref["segment"].to_numpy() == segment
        r, p = ref[target.metric].to_numpy()[mask], pol[target.metric].to_numpy()[mask]
        cls = classify(p - r, r, target.direction, margin)
        ok = np.isfinite(cls)
        out.append((ref[mask][ok].reset_index(drop=True), cls[ok] < 0))
    return out


def _interval(v: np.ndarray) -> tuple[float, float, float]:
    mean, low, high, _ = t_interval(v)
    return mean, low, high


def find_rules(values: pd.DataFrame, label: str, reference: str, target: Target, segment: str,
               seeds: list[int], margin: float) -> list[HarmRule]:
    """Rules for one policy x metric x segment, fitted on even-position seeds, kept when they
    hold on the odd-position ones (none with fewer than 2 held-apart seeds).
    """
    fit_s, held_s = seeds[0::2], seeds[1::2]
    if len(held_s) < 2:
        return []
    fit = _seed_frames(values, label, reference, target, segment, fit_s, margin)
    held = _seed_frames(values, label, reference, target, segment, held_s, margin)
    frame = pd.concat([f for f, _ in fit], ignore_index=True)
    y = np.concatenate([b for _, b in fit]).astype(np.float64)
    if not y.any():
        return []
    feats = features(frame, with_segment=segment == ALL)
    min_leaf = max(20, int(MIN_LEAF * len(frame)))
    rules = []
    for conds, sibling in fit_tree(frame, y, feats, min_leaf):
        covered = _covered(frame, conds)
        if y[covered].mean() <= y[~covered].mean():
            continue  # on the fitted seeds, not where the harm is
        sh = _shares(held, conds, None)
        excess = _interval(sh["worse"] - sh["other"])
        if not excess[1] > 0:
            continue
        if sibling is not None:  # the second condition must hold apart too
            sib = _shares(held, conds, sibling)
            if not _interval(sib["worse"] - sib["other"])[1] > 0:
                continue
        rules.append(HarmRule(
            policy=label, metric=target.metric, metric_label=target.label, segment=segment,
            conditions=conds, coverage=_interval(sh["coverage"]), worse=_interval(sh["worse"]),
            others=float(np.nanmean(sh["other"])), excess=excess, fit_seeds=tuple(fit_s),
            held_seeds=tuple(held_s)))
    return _prune(rules)


def _prune(rules: list[HarmRule]) -> list[HarmRule]:
    """Drop a depth-1 rule when one of its depth-2 refinements held (the refinement says more),
    then rank by excess harmed users (coverage x excess share).
    """
    deep = {r.conditions[0] for r in rules if len(r.conditions) == 2}
    kept = [r for r in rules if len(r.conditions) == 2 or r.conditions[0] not in deep]
    return sorted(kept, key=lambda r: -r.coverage[0] * r.excess[0])


def harm_rules(values: pd.DataFrame, labels: list[str], reference: str, targets: list[Target],
               seeds: list[int], margin: float,
               max_rules: int = MAX_RULES) -> dict[str, list[HarmRule]]:
    """Policy -> at most ``max_rules`` held rules over every target (engagement over all users,
    each outcome spec in its segment), the most excess harmed users first.
    """
    out: dict[str, list[HarmRule]] = {}
    for label in labels:
        if label == reference:
            continue
        found: list[HarmRule] = []
        for t in targets:
            found += find_rules(values, label, reference, t, t.segment or ALL, seeds, margin)
        out[label] = sorted(found, key=lambda r: -r.coverage[0] * r.excess[0])[:max_rules]
    return out


__all__ = ["MAX_RULES", "MIN_LEAF", "Condition", "HarmRule", "best_split", "find_rules",
           "fit_tree", "harm_rules", "split_node"]
