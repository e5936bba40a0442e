"""Verdicts: a policy against the reference, from paired seeds, margins and Holm-adjusted tests.

The rules are documented, with their measured error rates, in docs/verdicts.md; in short:

* Each **metric** is classified from paired t-tests on the seeds (the unit), on the lift scale
  (:func:`~outcome_gym.analysis.stats.lift_test_p`), oriented so that "better" follows the spec's
  direction. With margin m and g the oriented lift:

  - ``better``: significant at the family-adjusted level (Holm p < alpha/2) and g >= m (the
    point estimate reaches the margin);
  - ``worse``: significant with g < 0 and non-inferiority (g > -m) not shown;
  - ``equivalent``: both one-sided tests of |g| < m reject at alpha (TOST);
  - ``non-inferior``: the one-sided test of g > -m rejects at alpha;
  - ``unclear``: none of these (too few seeds).

  The engagement index is its own test at alpha/2 with the scenario's engagement margin:
  ``up`` (significant, lift >= margin), ``down`` (significant, lift <= -margin), ``flat``
  (TOST within the margin) or ``unclear``.
* Each **target segment** (one named by an outcome spec) gets a verdict from engagement, its primary
  spec and its secondary specs by the first rule of :data:`RULES` that fires.
* A target segment with **no users** in the run (its share too small for the population, or 0)
  is not measured: rule ``no-users``, verdict ``not measured``, its specs left out of the Holm
  family and no seeds-needed advice (no number of seeds gives it users).
* The **policy** verdict combines the measured segments' (:data:`SEGMENT_ORDER`): any trap, else
  any harm, else any inconclusive, else any aligned, else any quiet win, else the shared
  engagement verdict; ``not measured`` when no target segment has users.

Alpha is split between engagement (alpha/2) and the outcome family (alpha/2, Holm): a policy that
changes nothing gets a verdict other than ``no effect``/``inconclusive`` with probability at most
alpha (Bonferroni over the two), before the margins make it rarer still.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.stats import t as student_t

from outcome_gym.analysis.stats import holm, lift_sd, lift_test_p, t_p

VERDICTS = ("trap", "harm", "aligned", "quiet win", "engagement only", "engagement loss",
            "no effect", "inconclusive", "not measured")
"""Every verdict a comparison can give (docs/verdicts.md)."""

OUTCOME_ALPHA = 0.05  # the default alpha (scenario.verdict.alpha); kept for min_seeds
POWER = 0.8
"""Power the seeds-needed estimate aims for."""
MAX_SEEDS = 10_000
"""Seeds-needed estimates beyond this are reported as 'more than'."""

RULES: dict[str, str] = {
    "trap": "engagement up beyond its margin while the primary outcome is worse (significantly "
            "lower, a loss beyond its margin not ruled out)",
    "harm-primary": "the primary outcome is worse (significantly lower, a loss beyond its margin "
                    "not ruled out)",
    "harm-secondary": "a secondary outcome is worse (significantly lower, a loss beyond its margin "
                      "not ruled out); the primary is not",
    "aligned": "engagement up beyond its margin and the primary outcome better (significant and "
               "at least its margin)",
    "quiet-win": "the primary outcome better (significant and at least its margin) without "
                 "engagement up",
    "engagement-only": "engagement up beyond its margin; the primary outcome shown within its "
                       "margin of the reference (no practical gain, no practical loss)",
    "engagement-loss": "engagement down beyond its margin; the primary outcome shown within its "
                       "margin of the reference",
    "no-effect": "engagement and the primary outcome both shown equivalent to the reference "
                 "within their margins",
    "inconclusive": "the seeds do not decide between these verdicts",
    "no-users": "the target segment has no users in this run (its share of the population "
                "rounds to none; for a policy: no target segment has any): nothing was measured, "
                "and no number of seeds changes that",
}
"""Rule id -> the sentence a report prints beside the verdict."""

SEGMENT_ORDER = ("trap", "harm", "inconclusive", "aligned", "quiet win", "engagement only",
                 "engagement loss", "no effect")
"""Combination rule: the policy's verdict is the first of these any measured target segment has."""

NOT_MEASURED = "not measured"
"""The verdict and metric class of a target segment with no users (rule ``no-users``)."""


def min_seeds(n_outcomes: int) -> int:
    """A default seed count for sweeps over many points (``sensitivity``): 6 up to 2 specs.

    Kept from the sign-flip rules (the fewest seeds at which an exact sign-flip test could reach
    0.05 / K): it sets the sensitivity tool's default, not any verdict. Verdicts themselves work
    at any n >= 2 and say ``inconclusive`` (with the seeds needed) when the seeds do not decide.
    """
    k = max(n_outcomes, 1)
    n = 1
    while 2.0 / 2.0**n >= OUTCOME_ALPHA / k:
        n += 1
    return n


@dataclass(frozen=True)
class MetricCall:
    """One metric's classification for a verdict.

    Attributes:
        metric: Flat metric name.
        role: ``engagement``, ``primary`` or ``secondary``.
        segment: The spec's segment (``None`` for engagement).
        direction: ``increase`` or ``decrease`` is better (engagement: ``increase`` = up).
        margin: The relative margin.
        ref_mean: Reference mean over seeds (``None``: the segment has no users).
        pol_mean: Policy mean over seeds (``None``: the segment has no users).
        lift: Relative lift (``None`` when the reference mean is 0, or nothing was measured).
        p: Raw two-sided paired t p-value of no difference (``None``: not measured).
        p_adj: Holm-adjusted p (outcomes; engagement: ``p`` itself; ``None``: not measured).
        alpha: The level ``p_adj`` is compared with.
        p_noninferior: One-sided p of "no loss beyond the margin" (``None``: not measured).
        p_equivalent: TOST p of "within the margin" (``None``: not measured).
        cls: The class (module docstring).
        note: Why it is not significant, or why significance does not count.
        seeds_needed: For an undecided metric: seeds at which a decision is likely (80% power,
            the observed effect and spread taken as true); ``None`` otherwise.
    """

    metric: str
    role: str
    segment: str | None
    direction: str
    margin: float
    ref_mean: float | None
    pol_mean: float | None
    lift: float | None
    p: float | None
    p_adj: float | None
    alpha: float
    p_noninferior: float | None
    p_equivalent: float | None
    cls: str
    note: str = ""
    seeds_needed: int | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    """One policy's verdict against the reference.

    Attributes:
        policy: The policy's label.
        reference: The reference's label.
        verdict: One of :data:`VERDICTS`.
        rule: The id of the rule that fired (a key of :data:`RULES`).
        rule_text: That rule's sentence.
        engagement_up: Engagement classified ``up``.
        engagement_down: Engagement classified ``down``.
        outcomes_better: Specs classified ``better``.
        outcomes_worse: Specs classified ``worse``.
        coherence_flag: Core consistency or context failures beyond the scenario's thresholds.
        reasons: Plain sentences: the classes, the notes, the coherence reasons.
        segments: Target segment -> ``{"verdict", "rule", "seeds_needed"}`` (the seeds that
            segment's undecided engagement or primary would need).
        metrics: Metric -> its :class:`MetricCall` as a dict.
        seeds_needed: For ``inconclusive``: the seeds at which every undecided segment would be
            decided (the largest per-segment need; ``None`` otherwise, or with no estimate).
    """

    policy: str
    reference: str
    verdict: str
    engagement_up: bool
    engagement_down: bool
    outcomes_better: list[str]
    outcomes_worse: list[str]
    coherence_flag: bool
    reasons: list[str] = field(default_factory=list)
    rule: str = ""
    rule_text: str = ""
    segments: dict[str, dict[str, object]] = field(default_factory=dict)
    metrics: dict[str, dict[str, object]] = field(default_factory=dict)
    seeds_needed: int | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class MetricInput:
    """What :func:`judge` needs of one metric: its per-seed values and how to read them."""

    metric: str
    role: str
    segment: str | None
    direction: str
    margin: float
    ref: np.ndarray
    pol: np.ndarray


def seeds_for(delta: float, sd: float, alpha_one_sided: float, power: float = POWER) -> int | None:
    """Fewest n with delta * sqrt(n) / sd >= t_{1-alpha, n-1} + t_{power, n-1} (``None``: never).

    The usual one-sample power approximation, with Student-t quantiles; above :data:`MAX_SEEDS`
    it returns ``MAX_SEEDS + 1`` ("more than").
    """
    if not (math.isfinite(delta) and math.isfinite(sd)) or delta <= 0:
        return None
    if sd <= 0:
        return 2
    z = float(student_t.ppf(1 - alpha_one_sided, 1e6) + student_t.ppf(power, 1e6))
    n = max(2, int((z * sd / delta) ** 2))
    while n <= MAX_SEEDS:
        need = float(student_t.ppf(1 - alpha_one_sided, n - 1) + student_t.ppf(power, n - 1))
        if delta * math.sqrt(n) / sd >= need:
            return n
        n += 1
    return MAX_SEEDS + 1


def _orient(direction: str) -> tuple[str, str]:
    """(alternative meaning 'better', meaning 'worse') for a lift test."""
    return ("less", "greater") if direction == "decrease" else ("greater", "less")


def _margin_ps(m: MetricInput) -> tuple[float, float]:
    """(non-inferiority p, TOST p) on the lift scale, in the spec's direction."""
    better, worse = _orient(m.direction)
    sign = -1.0 if m.direction == "decrease" else 1.0
    p_ni = lift_test_p(m.ref, m.pol, -sign * m.margin, better)
    if m.margin <= 0:
        return p_ni, 1.0
    p_hi = lift_test_p(m.ref, m.pol, sign * m.margin, worse)
    return p_ni, max(p_ni, p_hi)


def classify(m: MetricInput, p: float, p_adj: float, alpha_sig: float, alpha: float) -> MetricCall:
    """The class of one metric (module docstring), with its note and seeds needed."""
    r_mean, p_mean = float(m.ref.mean()), float(m.pol.mean())
    lift = p_mean / r_mean - 1.0 if abs(r_mean) > 1e-12 else None
    diff = p_mean - r_mean
    g = (lift if lift is not None else diff) * (-1.0 if m.direction == "decrease" else 1.0)
    p_ni, p_eq = _margin_ps(m) if lift is not None else (1.0, 1.0)
    sig = p_adj < alpha_sig
    if m.role == "engagement":
        if sig and g > 0 and g >= m.margin:
            cls = "up"
        elif sig and g < 0 and -g >= m.margin:
            cls = "down"
        elif p_eq < alpha:
            cls = "flat"
        else:
            cls = "unclear"
    elif sig and g > 0 and g >= m.margin:
        cls = "better"
    elif sig and g < 0 and p_ni >= alpha:
        cls = "worse"
    elif p_eq < alpha:
        cls = "equivalent"
    elif p_ni < alpha:
        cls = "non-inferior"
    else:
        cls = "unclear"
    note, need = _note(m, cls, sig, g, lift, alpha_sig, alpha)
    return MetricCall(metric=m.metric, role=m.role, segment=m.segment, direction=m.direction,
                      margin=m.margin, ref_mean=r_mean, pol_mean=p_mean, lift=lift, p=p,
                      p_adj=p_adj, alpha=alpha_sig, p_noninferior=p_ni, p_equivalent=p_eq,
                      cls=cls, note=note, seeds_needed=need)


def not_measured(m: MetricInput, alpha_sig: float) -> MetricCall:
    """The call of an outcome spec whose segment has no users: no means, no tests, no advice.

    Every per-seed value of such a spec is a 0 for want of users, not a measurement; reporting
    its "reference mean 0" or the seeds a decision needs would be a verdict on no data.
    """
    return MetricCall(metric=m.metric, role=m.role, segment=m.segment, direction=m.direction,
                      margin=m.margin, ref_mean=None, pol_mean=None, lift=None, p=None,
                      p_adj=None, alpha=alpha_sig, p_noninferior=None, p_equivalent=None,
                      cls=NOT_MEASURED, note=f"segment '{m.segment}' has no users in this run")


def _note(m: MetricInput, cls: str, sig: bool, g: float, lift: float | None, alpha_sig: float,
          alpha: float) -> tuple[str, int | None]:
    """Why a metric is not significant (or why its significance does not count)."""
    n = m.ref.shape[0]
    if lift is None:
        return "reference mean is 0: no relative lift, no margin test", None
    if cls in ("better", "worse", "up", "down"):
        return "", None
    if sig:
        return (f"significant but inside the margin ({g:+.1%} vs {m.margin:.0%})", None)
    if cls in ("equivalent", "flat"):
        return f"not significant; effect inside the margin (within ±{m.margin:.0%} shown)", None
    sd = lift_sd(m.ref, m.pol)
    if abs(g) >= m.margin and abs(g) > 0:
        need = seeds_for(abs(g), sd, alpha_sig / 2)
    else:
        need = seeds_for(m.margin - abs(g), sd, alpha)
    if need is None:
        return "too few seeds (no estimate of the seeds needed)", None
    need = max(need, n + 1)
    text = f"more than {MAX_SEEDS}" if need > MAX_SEEDS else f"~{need}"
    return f"too few seeds — needs {text}", need


def segment_verdict(eng: str, primary: str, secondary: list[str]) -> str:
    """The rule id that fires for one segment (rules in :data:`RULES`' order).

    Args:
        eng: Engagement's class (``up``/``down``/``flat``/``unclear``).
        primary: The primary spec's class.
        secondary: The secondary specs' classes.
    """
    ok = ("equivalent", "non-inferior")
    if eng == "up" and primary == "worse":
        return "trap"
    if primary == "worse":
        return "harm-primary"
    if "worse" in secondary:
        return "harm-secondary"
    if eng == "up" and primary == "better":
        return "aligned"
    if primary == "better":
        return "quiet-win"
    if eng == "up" and primary in ok:
        return "engagement-only"
    if eng == "down" and primary in ok:
        return "engagement-loss"
    if eng == "flat" and primary == "equivalent":
        return "no-effect"
    return "inconclusive"


RULE_VERDICT = {"trap": "trap", "harm-primary": "harm", "harm-secondary": "harm",
                "aligned": "aligned", "quiet-win": "quiet win", "engagement-only": "engagement only",
                "engagement-loss": "engagement loss", "no-effect": "no effect",
                "inconclusive": "inconclusive", "no-users": NOT_MEASURED}
"""Rule id -> the verdict it gives."""

_ENGAGEMENT_ONLY = {"up": "engagement-only", "down": "engagement-loss", "flat": "no-effect",
                    "unclear": "inconclusive"}


def combine(segment_rules: Mapping[str, str], eng: str) -> str:
    """The policy's rule id from its segments' (:data:`SEGMENT_ORDER`); engagement alone if none.

    Segments with no users (rule ``no-users``) are left out; if every target segment has none,
    the policy is ``no-users`` too: the outcomes the scenario names were not measured, and a
    verdict from engagement alone would read as a verdict on them.
    """
    if not segment_rules:
        return _ENGAGEMENT_ONLY[eng]
    if all(rule == "no-users" for rule in segment_rules.values()):
        return "no-users"
    for verdict in SEGMENT_ORDER:
        for rule in segment_rules.values():
            if RULE_VERDICT[rule] == verdict:
                return rule
    return "inconclusive"  # pragma: no cover - every rule's verdict is in SEGMENT_ORDER


def judge(policy: str, reference: str, engagement: MetricInput, outcomes: list[MetricInput],
          coherence_flag: bool = False, coherence_reasons: list[str] | None = None,
          alpha: float = 0.05, empty: Collection[str] = ()) -> Verdict:
    """Classify every metric and apply the rules (module docstring).

    Args:
        policy: The policy's label.
        reference: The reference's label.
        engagement: The engagement index (role ``engagement``, its margin).
        outcomes: Every outcome spec (role ``primary`` or ``secondary``, its margin).
        coherence_flag: The coherence flag (carried, never changes the verdict).
        coherence_reasons: Why the flag is raised.
        alpha: The verdict's A/A false-alarm budget (half to engagement, half to outcomes).
        empty: Segments with no users in the runs: their specs are not measured (rule
            ``no-users``) and left out of the Holm family (a test not made is no hypothesis).
    """
    e_p = t_p(engagement.pol - engagement.ref)
    eng = classify(engagement, e_p, e_p, alpha / 2, alpha)
    measured = [o for o in outcomes if o.segment not in empty]
    raw = [t_p(o.pol - o.ref) for o in measured]
    tested = dict(zip((o.metric for o in measured), zip(raw, holm(raw), strict=True),
                      strict=True))
    calls = [classify(o, *tested[o.metric], alpha / 2, alpha) if o.metric in tested
             else not_measured(o, alpha / 2) for o in outcomes]
    seg_rules: dict[str, str] = {}
    seg_need: dict[str, int | None] = {}
    for seg in dict.fromkeys(c.segment for c in calls):
        if seg in empty:
            seg_rules[str(seg)], seg_need[str(seg)] = "no-users", None
            continue
        prim = [c for c in calls if c.segment == seg and c.role == "primary"]
        sec = [c.cls for c in calls if c.segment == seg and c.role == "secondary"]
        seg_rules[str(seg)] = segment_verdict(eng.cls, prim[0].cls if prim else "unclear", sec)
        seg_need[str(seg)] = _needed([eng, *prim])
    rule = combine(seg_rules, eng.cls)
    verdict = RULE_VERDICT[rule]
    reasons = [_describe(eng)] + [_describe(c) for c in calls]
    if len(seg_rules) > 1:
        reasons.append("segments: " + ", ".join(
            f"{s} {RULE_VERDICT[r]}" + (f" (needs ~{seg_need[s]} seeds)"
                                        if r == "inconclusive" and seg_need[s] else "")
            + (" (no users)" if r == "no-users" else "")
            for s, r in seg_rules.items()))
    reasons += coherence_reasons or []
    needed = None
    if verdict == "inconclusive":  # every undecided segment decided (the per-segment needs above)
        found = ([n for s, n in seg_need.items() if seg_rules[s] == "inconclusive" and n]
                 if seg_rules else [n for n in [eng.seeds_needed] if n])
        needed = max(found) if found else None
    return Verdict(
        policy=policy, reference=reference, verdict=verdict,
        engagement_up=eng.cls == "up", engagement_down=eng.cls == "down",
        outcomes_better=[_spec(c) for c in calls if c.cls == "better"],
        outcomes_worse=[_spec(c) for c in calls if c.cls == "worse"],
        coherence_flag=coherence_flag, reasons=reasons, rule=rule, rule_text=RULES[rule],
        segments={s: {"verdict": RULE_VERDICT[r], "rule": r, "seeds_needed": seg_need[s]}
                  for s, r in seg_rules.items()},
        metrics={c.metric: c.as_dict() for c in [eng, *calls]}, seeds_needed=needed)


def _needed(calls: list[MetricCall]) -> int | None:
    """The most seeds any undecided metric among ``calls`` needs (``None``: none estimated)."""
    found = [c.seeds_needed for c in calls if c.seeds_needed is not None]
    return max(found) if found else None


def _spec(call: MetricCall) -> str:
    return call.metric.removeprefix("outcome.")


def _describe(c: MetricCall) -> str:
    """'on_time_pros (primary, professional): better, +6.1%, p_adj 0.003, margin 5%'."""
    name = "engagement" if c.role == "engagement" else f"{_spec(c)} ({c.role}, {c.segment})"
    if c.cls == NOT_MEASURED:
        return f"{name}: {c.cls}; {c.note}"
    lift = "n/a" if c.lift is None else f"{c.lift:+.1%}"
    p = f"p {c.p:.2g}" if c.role == "engagement" else f"p_adj {c.p_adj:.2g}"
    tail = f"; {c.note}" if c.note else ""
    return f"{name}: {c.cls}, {lift}, {p}, margin {c.margin:.0%}{tail}"


__all__ = ["MAX_SEEDS", "NOT_MEASURED", "POWER", "RULES", "RULE_VERDICT", "SEGMENT_ORDER",
           "VERDICTS", "MetricCall", "MetricInput", "Verdict", "classify", "combine", "judge",
           "min_seeds", "not_measured", "seeds_for", "segment_verdict"]
