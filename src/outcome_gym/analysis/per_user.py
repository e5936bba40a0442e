"""Per-user paired effects: the same user, the same seed, two products (docs/who-is-harmed.md).

Every random number a user meets depends only on the seed, the stream and the user (sim/rng.py:
fixed-shape draws over all users), so user *i* under the reference and user *i* under a policy, on
the same seed, share their traits and exogenous events; their difference is that user's effect of
the policy. Per outcome spec (its segment) and for the engagement index (every segment and all
users), per seed: the share of users worse off, better off and unchanged beyond the per-user margin
(``verdict.user_margin`` times the segment's mean reference value per user, on that seed), the
10th/25th/50th/75th percentiles and the mean of the per-user difference (policy - reference, in the
metric's units). The seed is the unit: each seed gives one value of each statistic, and the interval
is Student-t across seeds (:func:`~outcome_gym.analysis.stats.t_interval`).

Per-user values come from a run's ``users`` table (per-user totals over the whole run), so an
outcome spec with a window shorter than the run is left out (listed in :attr:`UserEffects.skipped`).
Ratio metrics (on-time rate, adjusted in time, ...) are undefined for a user with no denominator
(no finished task, no closed window): such users are left out of that metric's shares.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from outcome_gym.analysis.stats import t_interval
from outcome_gym.product.objectives import engagement_index
from outcome_gym.scenario.schema import OUTCOME_METRICS, OutcomeSpec, Scenario

ENGAGEMENT = "engagement.index"
ALL = "all"
"""The segment label of a statistic over every user (engagement only)."""

TRAITS = ("attention_budget", "susceptibility", "goal_weight", "devices", "trust_start",
          "session_propensity", "habit_rate", "churn_sensitivity", "avail_scale")
"""Per-user traits a users table may carry (runner.START_TRAITS adds the last five)."""

STATS = ("share_worse", "share_better", "share_unchanged", "q10", "q25", "q50", "q75", "mean")
"""Per-seed statistics of one (policy, metric, segment), in report order."""


@dataclass(frozen=True)
class Target:
    """One metric the per-user analysis reads.

    Attributes:
        metric: ``engagement.index`` or ``outcome.<spec id>`` (the flat metric's name).
        label: Words for it (``days practised``).
        segment: The spec's segment; ``None`` for engagement (every segment).
        direction: ``increase`` or ``decrease`` (which way is better for the user).
    """

    metric: str
    label: str
    segment: str | None
    direction: str


def targets(scenario: Scenario) -> tuple[list[Target], list[str]]:
    """Engagement and every whole-run outcome spec; and the ids of windowed specs left out."""
    out = [Target(ENGAGEMENT, "the engagement index", None, "increase")]
    kinds = {g.id: g.kind for g in scenario.goals}
    skipped = []
    for spec in scenario.outcomes:
        if spec.window.start_day > 0 or spec.window.end_day is not None:
            skipped.append(spec.id)
            continue
        out.append(Target(f"outcome.{spec.id}", spec.metric.replace("_", " "), spec.segment,
                          OUTCOME_METRICS[kinds[spec.goal]][spec.metric]))
    return out, skipped


def _col(users: pd.DataFrame, name: str) -> np.ndarray:
    if name in users:
        return users[name].to_numpy(dtype=np.float64)
    return np.zeros(len(users))


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A / b per user, NaN where b is 0 (no denominator: the ratio is undefined)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def spec_values(spec: OutcomeSpec, kind: str, users: pd.DataFrame,
                slots_per_day: int) -> np.ndarray:
    """Each user's value of one outcome spec's metric over the whole run (N floats).

    The per-user counterpart of :func:`outcome_gym.metrics.summary.outcome_value`: counts are the
    user's own totals, ratios the ratio of the user's own totals (NaN without a denominator).
    """
    g = spec.goal

    def ev(name: str) -> np.ndarray:
        return _col(users, f"{g}.{name}")

    if kind == "tasks":
        values = {
            "completed": lambda: ev("completed"),
            "completed_on_time": lambda: ev("completed_on_time"),
            "on_time_rate": lambda: _ratio(ev("completed_on_time"),
                                           ev("completed") + ev("failed")),
            "failed": lambda: ev("failed"),
            "time_to_completion": lambda: _ratio(
                ev("ttc_steps") + ev("censored_steps") + ev("pending_age_steps"),
                ev("completed") + ev("abandoned") + ev("pending")) / slots_per_day,
        }
    elif kind == "budget":
        values = {
            "adjusted_in_time": lambda: _ratio(ev("adjusted_in_time"), ev("window_closed")),
            "under_budget": lambda: _ratio(ev("window_under_budget"), ev("window_closed")),
            "overspend": lambda: _ratio(ev("overspend"), ev("window_closed")),
            "time_to_adjust": lambda: _ratio(ev("tta_steps"), ev("adjusted")) / slots_per_day,
        }
    else:
        values = {"days_practised": lambda: ev("practised"), "habit_strength": lambda: ev("habit")}
    return values[spec.metric]()


def user_values(scenario: Scenario, users: pd.DataFrame) -> pd.DataFrame:
    """One row per user: id, segment, traits, and each target's per-user value.

    A spec's value is NaN for users outside its segment.
    """
    kinds = {g.id: g.kind for g in scenario.goals}
    out = pd.DataFrame({"user": users["user"].to_numpy(dtype=np.int64),
                        "segment": users["segment"].astype(str).to_numpy()})
    for trait in TRAITS:
        if trait in users:
            out[trait] = users[trait].to_numpy(dtype=np.float64)
    out[ENGAGEMENT] = engagement_index(_col(users, "clicks"), _col(users, "sessions"),
                                       _col(users, "opens"), _col(users, "minutes"))
    specs = {f"outcome.{s.id}": s for s in scenario.outcomes}
    for t in targets(scenario)[0][1:]:
        spec = specs[t.metric]
        v = spec_values(spec, kinds[spec.goal], users, scenario.clock.slots_per_day)
        out[t.metric] = np.where(out["segment"].to_numpy() == spec.segment, v, np.nan)
    return out


def classify(diff: np.ndarray, ref: np.ndarray, direction: str, margin: float) -> np.ndarray:
    """-1 worse off, +1 better off, 0 unchanged per user (NaN where the value is undefined).

    The absolute margin is ``margin`` times the mean reference value of the users given (the
    segment, on one seed); a difference of exactly that size counts as unchanged.
    """
    ok = np.isfinite(diff)
    scale = abs(float(ref[ok].mean())) if ok.any() else 0.0
    signed = diff if direction == "increase" else -diff
    out = np.where(signed > margin * scale, 1.0, np.where(signed < -margin * scale, -1.0, 0.0))
    return np.where(ok, out, np.nan)


def seed_stats(diff: np.ndarray, ref: np.ndarray, direction: str,
               margin: float) -> dict[str, float]:
    """One seed's statistics of the per-user differences of one segment (see :data:`STATS`)."""
    cls = classify(diff, ref, direction, margin)
    ok = np.isfinite(cls)
    d, c = diff[ok], cls[ok]
    if not d.size:
        return {k: np.nan for k in STATS} | {"n_users": 0}
    q = np.quantile(d, [0.10, 0.25, 0.50, 0.75])
    return {"share_worse": float((c < 0).mean()), "share_better": float((c > 0).mean()),
            "share_unchanged": float((c == 0).mean()), "q10": float(q[0]), "q25": float(q[1]),
            "q50": float(q[2]), "q75": float(q[3]), "mean": float(d.mean()),
            "n_users": int(d.size)}


@dataclass(frozen=True)
class UserEffects:
    """Per-user paired effects of every policy (and the placebo) against the reference.

    Attributes:
        reference: The reference's label.
        margin: The per-user margin (``verdict.user_margin``).
        targets: The metrics analysed.
        per_seed: One row per policy x metric x segment x seed with :data:`STATS` and ``n_users``.
        skipped: Outcome specs left out (a window shorter than the run).
        placebo: The placebo's label in ``per_seed``, when one ran.
    """

    reference: str
    margin: float
    targets: list[Target]
    per_seed: pd.DataFrame
    skipped: list[str] = field(default_factory=list)
    placebo: str | None = None

    def table(self) -> pd.DataFrame:
        """One row per policy x metric x segment x statistic: mean over seeds, 95% t interval."""
        return self._table.copy()

    @functools.cached_property
    def _table(self) -> pd.DataFrame:
        """:meth:`table`, computed once (the report and the summary each read it per policy)."""
        rows = []
        keys = ["policy", "metric", "segment"]
        for key, g in self.per_seed.groupby(keys, sort=False):
            for stat in STATS:
                mean, low, high, n = t_interval(g[stat].to_numpy())
                rows.append(dict(zip(keys, key, strict=True), stat=stat, mean=mean, low=low,
                                 high=high, seeds=n))
        return pd.DataFrame(rows, columns=[*keys, "stat", "mean", "low", "high", "seeds"])

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: policy -> metric -> segment -> stat -> {mean, low, high, seeds}."""
        out: dict[str, dict[str, dict[str, dict[str, dict[str, float]]]]] = {}
        for r in self.table().itertuples(index=False):
            cell = out.setdefault(r.policy, {}).setdefault(r.metric, {}).setdefault(r.segment, {})
            cell[r.stat] = {"mean": r.mean, "low": r.low, "high": r.high, "seeds": r.seeds}
        return {"reference": self.reference, "margin": self.margin, "placebo": self.placebo,
                "skipped_specs": self.skipped, "effects": out}


def _segments_of(target: Target, segment: np.ndarray) -> list[tuple[str, np.ndarray]]:
    if target.segment is not None:
        return [(target.segment, segment == target.segment)]
    names = list(dict.fromkeys(segment.tolist()))
    return [(s, segment == s) for s in names] + [(ALL, np.ones(segment.shape, bool))]


def pair_rows(values: pd.DataFrame, label: str, reference: str,
              seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference's and ``label``'s per-user rows of one seed, user-aligned.

    Raises:
        KeyError: A run is missing, or the two runs hold different users.
    """
    def rows(who: str) -> pd.DataFrame:
        r = values[(values["policy"] == who) & (values["seed"] == seed)]
        if r.empty:
            raise KeyError(f"no per-user values of {who!r} on seed {seed}")
        return r.sort_values("user").reset_index(drop=True)

    ref, pol = rows(reference), rows(label)
    if not np.array_equal(ref["user"].to_numpy(), pol["user"].to_numpy()):
        raise KeyError(f"{label!r} and {reference!r} hold different users on seed {seed}")
    return ref, pol


def user_effects(scenario: Scenario, values: pd.DataFrame, labels: list[str], reference: str,
                 seeds: list[int], placebo: str | None = None) -> UserEffects:
    """Per-seed statistics of every policy's per-user differences against the reference.

    Args:
        scenario: The scenario (targets, margin).
        values: :func:`user_values` rows of every run with ``policy`` and ``seed`` columns.
        labels: Policy labels (the reference among them is skipped).
        reference: The reference's label.
        seeds: The paired seeds.
        placebo: The placebo's label in ``values`` (compared on the seeds it ran), if any.
    """
    tg, skipped = targets(scenario)
    margin = scenario.verdict.user_margin
    rows = []
    pairs = [(lab, s) for lab in labels if lab != reference for s in seeds]
    if placebo is not None:
        pairs += [(placebo, int(s)) for s in
                  sorted(values.loc[values["policy"] == placebo, "seed"].unique())]
    for label, seed in pairs:
        ref, pol = pair_rows(values, label, reference, seed)
        seg = ref["segment"].to_numpy()
        for t in tg:
            r, p = ref[t.metric].to_numpy(), pol[t.metric].to_numpy()
            for name, mask in _segments_of(t, seg):
                st = seed_stats(p[mask] - r[mask], r[mask], t.direction, margin)
                rows.append({"policy": label, "metric": t.metric, "segment": name, "seed": seed,
                             **st})
    per_seed = pd.DataFrame(rows, columns=["policy", "metric", "segment", "seed", *STATS,
                                           "n_users"])
    return UserEffects(reference=reference, margin=margin, targets=tg, per_seed=per_seed,
                       skipped=skipped, placebo=placebo)


__all__ = ["ALL", "ENGAGEMENT", "STATS", "TRAITS", "Target", "UserEffects", "classify",
           "pair_rows", "seed_stats", "spec_values", "targets", "user_effects", "user_values"]
