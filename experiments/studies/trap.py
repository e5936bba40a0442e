"""Experiment 1, the trap: engagement- vs outcome-optimised personalization vs the static product.

docs/calibration.md stylized facts 1 and 2. On every bundled scenario, ``engagement_bandit`` and
``outcome_bandit`` (epsilon-greedy over layout variants, pooled per segment) run against ``static``
on the same seeds (common random numbers):

* **Fact 1 (trap):** the engagement policy raises the engagement index against the outcome policy
  while the target segment's primary outcome (the scenario's first outcome spec) is flat or lower.
  Across users (within each run of the engagement policy), Spearman's rho between engagement and
  welfare — the user's progress on their own goals, the reflective value of mechanism 1 — is below
  0.3. A diagnostic beside it (added after the first within-segment result was seen; the
  criterion is unchanged) holds each user's daily attention budget fixed (partial Spearman), since
  the budget is spent both in the app and, by displacement, outside it.
* **Fact 2:** against the engagement policy, the outcome policy gives the target segment fewer
  interactions (clicks) and shorter sessions (minutes per session), with a higher primary outcome
  and, where the scenario measures it, a shorter time to completion.

**Generated worlds.** In the bundled worlds the elements' appeal and value correlate (r = -0.74,
-0.72, -0.63 across laid-out elements), so a learner that chases appeal loses value by the inputs
alone and a trap there *follows from inputs*. To ask whether the mechanisms produce it without that
help, the study rebuilds ``generated_base`` with its non-core laid-out elements replaced by
generated ones (``product.generate``: appeal and value at an exact sample correlation r, swept from
-0.8 to +0.8, ``generated_worlds`` element draws per r) and runs the engagement and outcome
policies on each (seeds x worlds are the replicates). One row per r reports whether the trap
arises there; at r = 0 a trap is *emergent*. A second row per r judges fact 2 on the same runs
(does the outcome policy cost engagement and buy the outcome where appeal and value are
unrelated?), with fact 2's criterion unchanged; these rows were added (issue #14, second pass)
and committed before they were first run.

The main arms personalize the layout only (``levers=layout``; notifications follow the scenario's
schedule): that is the in-app ranking the literature's trap is about. The study also runs both
bandits with both levers (layout and notifications) and reports them in the tables: per-step
bandits credit a notification with the opens it earns at once and never see the fatigue, opt-outs
and trust it costs later, so they over-send — a finding, not a fact of docs/calibration.md.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pydantic import Field
from scipy.stats import spearmanr

from outcome_gym.scenario.generate import appeal_value_correlation
from outcome_gym.scenario.schema import Scenario
from outcome_gym.studies.base import (
    EMERGENT,
    PARTIAL,
    Estimate,
    Fact,
    StudyResult,
    status,
)
from outcome_gym.studies.common import (
    claim_p,
    group,
    input_label,
    lift,
    metric,
    moved,
    ratio,
    segment_value,
    values,
)
from outcome_gym.studies.runs import Job, JobResult, job_scenario, run_jobs
from outcome_gym.studies.spec import StudyParams, params_dict, size_overrides

NAME = "trap"
TITLE = "The personalization trap: engagement- vs outcome-optimised personalization (facts 1, 2)"
COMMAND = "outcome-gym study trap --workers 2"
RHO_MAX = 0.3


class Params(StudyParams):
    """Parameters of the trap experiment."""

    scenarios: list[str] = Field(
        default_factory=lambda: ["productivity_tool", "finance_alerts", "learning_habits"],
        min_length=1, description="Bundled scenario names or paths.")
    users: int | None = Field(default=None, ge=10, description="Population size override.")
    horizon_days: int | None = Field(default=None, ge=7, description="Horizon override.")
    reference: str = "static"
    engagement_policy: str = "engagement_bandit:levers=layout"
    outcome_policy: str = "outcome_bandit:levers=layout"
    extra_policies: list[str] = Field(
        default_factory=lambda: ["engagement_bandit", "outcome_bandit"],
        description="Also run and tabulated (both levers: layout and notifications).")
    generated_base: str = Field(default="productivity_tool",
                                description="The world whose non-core elements are generated.")
    generated_correlations: list[float] = Field(
        default_factory=lambda: [-0.8, -0.4, 0.0, 0.4, 0.8],
        description="Appeal-value correlations of the generated elements (empty: none).")
    generated_worlds: int = Field(default=2, ge=1, le=50,
                                  description="Element draws (generation seeds) per correlation.")


FAST = {"seeds": 6, "users": 1500, "scenarios": ["productivity_tool"], "extra_policies": [],
        "generated_correlations": [0.0], "generated_worlds": 1}


def _arms(p: Params) -> dict[str, str]:
    arms = {"reference": p.reference, "engagement": p.engagement_policy,
            "outcome": p.outcome_policy}
    for pol in p.extra_policies:
        arms[pol] = pol
    return arms


def jobs(p: Params) -> list[Job]:
    """Every run of the study: the bundled worlds' arms, then the generated worlds'."""
    ov = size_overrides(p)
    bundled = [Job(scenario=s, policy=pol, seed=seed, overrides=ov, tag=tag)
               for s in p.scenarios for tag, pol in _arms(p).items() for seed in p.seed_list()]
    base = job_scenario(Job(scenario=p.generated_base, overrides=ov))
    generated = [Job(scenario=p.generated_base, policy=pol, seed=seed,
                     overrides=ov + generated_overrides(base, r, world), tag=gen_tag(r, world, tag))
                 for r in p.generated_correlations for world in range(p.generated_worlds)
                 for tag, pol in (("engagement", p.engagement_policy),
                                  ("outcome", p.outcome_policy))
                 for seed in p.seed_list()]
    return bundled + generated


def gen_tag(r: float, world: int, arm: str) -> str:
    """The tag of a generated world's arm."""
    return f"generated r={r:+g} world {world} {arm}"


def generated_overrides(base: Scenario, r: float, world: int) -> tuple[tuple[str, object], ...]:
    """``base`` with its non-core laid-out elements replaced by generated ones at correlation r.

    Core elements, notifications and alerts are kept; as many elements are generated as were
    replaced (at least 3), each serving the goal of the scenario's primary outcome, with the
    generator's default appeal and value spreads; generation seed ``world``.
    """
    kept = [e.model_dump(mode="json", exclude_none=True) for e in base.product.elements
            if e.core or e.pushed]
    core = [i for i in base.product.layout.default
            if next(e for e in base.product.elements if e.id == i).core]
    n = max(len(base.product.layout.default) - len(core), 3)
    goal = next(o.goal for o in base.outcomes if o.id == base.outcomes[0].id)
    gen = {"n": n, "correlation": r, "seed": world, "goals": [goal]}
    return (("product.elements", kept), ("product.generate", gen),
            ("product.layout.default", core + [f"gen{i}" for i in range(n)]))


def user_engagement(users: pd.DataFrame) -> np.ndarray:
    """Per-user engagement index (clicks + sessions + opens + minutes / 10, as the objective)."""
    return (users["clicks"] + users["sessions"] + users["opens"] + users["minutes"] / 10.0).to_numpy()


def _segment_users(r: JobResult, segment: str | None) -> pd.DataFrame:
    users = r.users
    if users is None:
        raise ValueError("the trap study needs per-user tables")
    return users if segment is None else users[users["segment"] == segment]


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(spearmanr(x, y).statistic)


def spearman_rho(r: JobResult, segment: str | None) -> float:
    """Spearman's rho of per-user engagement and goal progress (welfare) within one run."""
    users = _segment_users(r, segment)
    return _rho(user_engagement(users), users["goal_progress"].to_numpy())


def partial_spearman(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Spearman's rho of ``x`` and ``y`` with ``z`` held fixed (ranks residualised on z's ranks).

    The Pearson correlation of the residuals of rank(x) and rank(y) after a least-squares line on
    rank(z): the standard partial rank correlation. NaN when a residual is constant.
    """
    if x.size < 4 or np.ptp(z) == 0:
        return math.nan
    ranks = [pd.Series(v).rank().to_numpy() for v in (x, y, z)]
    design = np.column_stack([np.ones(x.size), ranks[2]])
    res = [v - design @ np.linalg.lstsq(design, v, rcond=None)[0] for v in ranks[:2]]
    if min(float(np.ptp(v)) for v in res) < 1e-9:
        return math.nan
    return float(np.corrcoef(res[0], res[1])[0, 1])


def budget_decomposition(r: JobResult, segment: str) -> dict[str, float]:
    """How much of ``segment``'s rho the users' daily attention budget explains, in one run.

    A diagnostic added after the first within-segment result was seen (issue #14): the budget is
    a scenario input drawn per user and spent both in the app and, by displacement, outside it,
    so it is a common cause of engagement and goal progress. Returns rho(budget, engagement),
    rho(budget, progress), the partial rho(engagement, progress | budget) and its two parts'
    partial rhos: with progress in the app and with progress outside it (displacement).
    """
    users = _segment_users(r, segment)
    e, b = user_engagement(users), users["attention_budget"].to_numpy()
    w = {k: users[f"{k}_progress"].to_numpy() for k in ("goal", "app", "outside")}
    return {"budget_engagement": _rho(b, e), "budget_progress": _rho(b, w["goal"]),
            "given_budget": partial_spearman(e, w["goal"], b),
            "app_given_budget": partial_spearman(e, w["app"], b),
            "outside_given_budget": partial_spearman(e, w["outside"], b)}


def _targets(sc: Scenario) -> tuple[str, str, str | None, str]:
    """Primary outcome id, its segment, a time-to-completion outcome id (or None), direction."""
    first = sc.outcomes[0]
    ttc = next((o.id for o in sc.outcomes if o.metric in ("time_to_completion", "time_to_adjust")
                and o.segment == first.segment), None)
    from outcome_gym.metrics.flat import describe

    direction = describe(sc, f"outcome.{first.id}").direction
    return first.id, first.segment or "", ttc, direction


def _fact1(name: str, runs: dict[str, list[JobResult]], sc: Scenario) -> Fact:
    primary, _seg, _, direction = _targets(sc)
    eng, p_eng = lift(runs["outcome"], runs["engagement"], metric("engagement.index"))
    out, p_out = lift(runs["outcome"], runs["engagement"], metric(f"outcome.{primary}"))
    better = moved(out, p_out) == (1 if direction == "increase" else -1)
    eng_up = moved(eng, p_eng) == 1
    ok = eng_up and not better
    label, why_label = input_label(sc, flat_outcome=True)
    why = []
    if not eng_up:
        why.append("engagement is not significantly higher under the engagement policy")
    if better:
        why.append(f"{primary} is significantly better under the engagement policy")
    return Fact(
        fact="1 trap", scope=name,
        literature="against an outcome-optimised policy, engagement-optimised ranking raises "
                   "clicks and time while goal completion is flat or lower (kleinberg2024)",
        criterion="engagement index significantly up (paired t p<0.05) and the primary "
                  "outcome not significantly better",
        produced=f"engagement policy vs outcome policy: engagement {eng.text()}, {primary} "
                 f"{out.text()}",
        status=status(ok), explanation="; ".join(why) + ("." if why else ""),
        label=label, label_why=why_label, p_values={"engagement up": claim_p(eng, p_eng, 1)},
        values={"engagement_lift": eng.mean, "engagement_p": p_eng, "outcome_lift": out.mean,
                "outcome_p": p_out, "outcome_direction": 1.0 if direction == "increase" else -1.0})


def _fact1_rho(name: str, runs: dict[str, list[JobResult]], sc: Scenario) -> Fact:
    pooled = Estimate.of([spearman_rho(r, None) for r in runs["engagement"]])
    segments = [s.id for s in sc.population.segments if s.goals]
    rho = {seg: Estimate.of([spearman_rho(r, seg) for r in runs["engagement"]])
           for seg in segments}
    ok = bool(rho) and all(est.high < RHO_MAX for est in rho.values())
    p_below = {f"rho {seg} below 0.3": e.p_beyond(RHO_MAX, -1) for seg, e in rho.items()}
    high = [seg for seg, e in rho.items() if not e.high < RHO_MAX]
    per_run = {seg: [budget_decomposition(r, seg) for r in runs["engagement"]] for seg in segments}
    parts = {seg: {key: Estimate.of([d[key] for d in ds]) for key in ds[0]}
             for seg, ds in per_run.items()}
    return Fact(
        fact="1 trap: weak correlation", scope=name,
        literature="across users engagement and welfare correlate weakly, rho < 0.3; about 31% of "
                   "use is self-control driven (allcott2022)",
        criterion="within every segment that has goals, upper 95% bound (over seeds) of Spearman "
                  "rho(per-user engagement, per-user goal progress in and out of the app) under "
                  "the engagement policy < 0.3 (within segments since issue #14: the pooled rho "
                  "mixed segments of different goals; changed before the re-run)",
        produced="rho " + ", ".join(f"{seg} {e.text('{:.2f}')}" for seg, e in rho.items())
                 + f"; pooled over segments {pooled.text('{:.2f}')}; diagnostic (added after the "
                 "first within-segment result was seen, criterion unchanged): with the user's "
                 "daily attention budget held fixed (partial Spearman) "
                 + ", ".join(f"{seg} {p['given_budget'].text('{:.2f}')}" for seg, p in parts.items()),
        status=status(ok),
        explanation="" if ok else _rho_explanation(high, parts),
        label=EMERGENT,
        label_why="no equation sets the correlation across users: it comes from heterogeneous "
                  "users' in-app time, progress made in and out of the app and what each displaces",
        p_values=p_below,
        values={"pooled_rho": pooled.mean} | {f"rho_{seg}": e.mean for seg, e in rho.items()}
        | {f"rho_{seg}_high": e.high for seg, e in rho.items()}
        | {f"{key}_{seg}": est.mean for seg, p in parts.items() for key, est in p.items()})


def _rho_explanation(high: list[str], parts: dict[str, dict[str, Estimate]]) -> str:
    """Why rho is not below 0.3, read from the budget decomposition of the segments it misses."""
    common = [s for s in high if parts[s]["given_budget"].high < RHO_MAX]
    text = f"rho is not clearly below 0.3 in {', '.join(high)}."
    if common:
        text += (
            " In " + ", ".join(common) + " the users' daily attention budget (a scenario input "
            "drawn per user, a guess) is a common cause: users with more attention spend more of "
            "it in the app and progress more outside it (rho(budget, engagement) "
            + ", ".join(parts[s]["budget_engagement"].text("{:.2f}") for s in common)
            + "; rho(budget, progress) "
            + ", ".join(parts[s]["budget_progress"].text("{:.2f}") for s in common)
            + "); among users of equal budget the correlation is below 0.3, so displacement does "
            "what the fact needs and the spread of budgets across users is what raises rho.")
    rest = [s for s in high if s not in common]
    if rest:
        text += (" In " + ", ".join(rest) + " rho stays high with the budget held fixed: among "
                 "users of equal budget, more engagement goes with more progress in the app (rho "
                 + ", ".join(parts[s]["app_given_budget"].text("{:.2f}") for s in rest)
                 + ") and less outside it (rho "
                 + ", ".join(parts[s]["outside_given_budget"].text("{:.2f}") for s in rest)
                 + "), and the in-app gain outweighs what displacement costs.")
    return text


def _fact2(name: str, runs: dict[str, list[JobResult]], sc: Scenario) -> Fact:
    primary, seg, ttc, direction = _targets(sc)
    want = 1 if direction == "increase" else -1
    ref, pol = runs["engagement"], runs["outcome"]
    if seg:
        clicks_fn = segment_value(seg, "engagement", "clicks_per_user")
        minutes_fn = segment_value(seg, "engagement", "minutes_per_user")
        sessions_fn = segment_value(seg, "engagement", "sessions_per_user")
    else:
        clicks_fn, minutes_fn = metric("engagement.clicks"), metric("engagement.minutes")
        sessions_fn = metric("engagement.sessions")
    checks = {
        "clicks": (lift(ref, pol, clicks_fn), -1),
        "session_minutes": (lift(ref, pol, ratio(minutes_fn, sessions_fn)), -1),
        primary: (lift(ref, pol, metric(f"outcome.{primary}")), want),
    }
    if ttc is not None:
        checks[ttc] = (lift(ref, pol, metric(f"outcome.{ttc}")), -1)
    held = {k: moved(est, p) == sign for k, ((est, p), sign) in checks.items()}
    n_ok = sum(held.values())
    st = status(n_ok == len(held)) if n_ok in (0, len(held)) else PARTIAL
    produced = "outcome policy vs engagement policy" + (f" ({seg})" if seg else "") + ": " + ", ".join(
        f"{k} {est.text()}" for k, ((est, _p), _s) in checks.items())
    why = ""
    if st != "pass":
        missed = [k for k, ok in held.items() if not ok]
        why = (f"Not significant in the predicted direction: {', '.join(missed)}. "
               + ("Sessions here end when the user's need is met or attention runs out, so a "
                  "layout that serves the goal need not shorten them much."
                  if "session_minutes" in missed else ""))
    label, why_label = input_label(sc)
    return Fact(
        fact="2 outcome policies look worse on engagement", scope=name,
        literature="welfare-motivated ranking costs about 5% of time (facebook2018, S) with fewer "
                   "interactions and better completion (kleinberg2024)",
        criterion="clicks and minutes per session significantly lower, primary outcome (and time "
                  "to completion) significantly better, paired t p<0.05",
        produced=produced, status=st, explanation=why.strip(),
        label=label, label_why=why_label, p_values={k: claim_p(e, p, s) for k, ((e, p), s) in checks.items()},
        values={f"{k}_lift": est.mean for k, ((est, _p), _s) in checks.items()}
        | {f"{k}_p": p for k, ((_e, p), _s) in checks.items()} | {"held": float(n_ok)})


def _fact_generated(p: Params, grouped: dict[tuple[str, str], list[JobResult]], r: float
                    ) -> Fact:
    """Fact 1 on the generated worlds at correlation r, pooled over worlds x seeds."""
    runs = {arm: [res for w in range(p.generated_worlds)
                  for res in grouped[(p.generated_base, gen_tag(r, w, arm))]]
            for arm in ("engagement", "outcome")}
    fact = _fact1(f"{p.generated_base}, generated elements r={r:+.1f}", runs,
                  job_scenario(runs["engagement"][0].job))
    worlds = [job_scenario(grouped[(p.generated_base, gen_tag(r, w, "engagement"))][0].job)
              for w in range(p.generated_worlds)]
    shown = [appeal_value_correlation(w.product.elements) for w in worlds]
    label, why = input_label(worlds[0], flat_outcome=True)
    return dataclasses.replace(
        fact, fact="1 trap: generated worlds",
        literature="the trap should come from how users choose and what engagement credits, not "
                   "from a world built so that appealing elements are useless (issue #14)",
        criterion=fact.criterion + f"; replicates: {p.generated_worlds} generated element draws "
                                   f"x {len(p.seed_list())} seeds",
        produced=fact.produced + "; laid-out appeal-value r per world (core elements included) "
                 + ", ".join("n/a" if x is None else f"{x:+.2f}" for x in shown)
                 + f"; the {p.generated_worlds} draws share the seeds and are pooled as "
                 f"{p.generated_worlds * len(p.seed_list())} pairs, the world effect not modelled "
                 "(said since issue #14's fourth pass; the confirmatory rows give each draw its own "
                 "seed)",
        label=label, label_why=why)


def _fact2_generated(p: Params, grouped: dict[tuple[str, str], list[JobResult]], r: float
                     ) -> Fact:
    """Fact 2 on the generated worlds at correlation r, pooled over worlds x seeds.

    Added for issue #14 before these rows were first run: the same runs as fact 1's generated
    rows, judged by fact 2's criterion (unchanged from the bundled rows), labelled by the laid-out
    appeal-value correlation of the generated world as every generated row is.
    """
    runs = {arm: [res for w in range(p.generated_worlds)
                  for res in grouped[(p.generated_base, gen_tag(r, w, arm))]]
            for arm in ("engagement", "outcome")}
    world = job_scenario(runs["engagement"][0].job)
    fact = _fact2(f"{p.generated_base}, generated elements r={r:+.1f}", runs, world)
    return dataclasses.replace(
        fact, fact="2 outcome policies look worse on engagement: generated worlds",
        literature=fact.literature + "; in a world whose appeal and value are unrelated the cost "
                   "would have to come from the mechanisms (issue #14)",
        criterion=fact.criterion + f"; replicates: {p.generated_worlds} generated element draws "
                                   f"x {len(p.seed_list())} seeds (row added before its first run)")


def _table(name: str, runs: dict[str, list[JobResult]], sc: Scenario) -> list[dict[str, object]]:
    """One row per metric: the reference's mean, then each arm's mean and lift vs the reference."""
    metrics = ["engagement.index", "engagement.clicks", "engagement.sessions",
               "engagement.minutes", "engagement.opens", "engagement.delivered",
               "wellbeing.goal_progress", "wellbeing.trust",
               *(f"outcome.{o.id}" for o in sc.outcomes)]
    ref = runs["reference"]
    rows = []
    for m in metrics:
        row: dict[str, object] = {"scenario": name, "metric": m}
        for tag, arm in runs.items():
            mean = float(values(arm, metric(m)).mean())
            if tag == "reference":
                row[arm[0].job.policy] = f"{mean:.4g}"
            else:
                est, _p = lift(ref, arm, metric(m))
                row[arm[0].job.policy] = f"{mean:.4g} ({est.text()})"
        rows.append(row)
    row = {"scenario": name, "metric": "Spearman rho(engagement, goal progress)"}
    for arm in runs.values():
        row[arm[0].job.policy] = Estimate.of([spearman_rho(r, None) for r in arm]).text("{:.2f}")
    rows.append(row)
    return rows


def _figure(per_scenario: dict[str, dict[str, list[JobResult]]],
            scenarios: dict[str, Scenario]) -> plt.Figure:
    fig, axes = plt.subplots(1, len(per_scenario), figsize=(4.6 * len(per_scenario), 4),
                             squeeze=False)
    for ax, (name, runs) in zip(axes[0], per_scenario.items(), strict=True):
        primary = scenarios[name].outcomes[0].id
        for i, (tag, arm) in enumerate(runs.items()):
            if tag == "reference":
                continue
            e, _ = lift(runs["reference"], arm, metric("engagement.index"))
            o, _ = lift(runs["reference"], arm, metric(f"outcome.{primary}"))
            ax.errorbar(e.mean * 100, o.mean * 100,
                        xerr=[[max(e.mean - e.low, 0) * 100], [max(e.high - e.mean, 0) * 100]],
                        yerr=[[max(o.mean - o.low, 0) * 100], [max(o.high - o.mean, 0) * 100]],
                        fmt="o", color=f"C{i}", label=arm[0].job.policy, capsize=3)
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.6", lw=0.8)
        ax.set_title(name)
        ax.set_xlabel("engagement index lift vs static (%)")
        ax.set_ylabel(f"{primary} lift vs static (%)")
        ax.legend(fontsize=7)
    fig.suptitle("Lower right = the trap (engagement up, outcome not)")
    fig.tight_layout()
    return fig


def run(params: Params, workers: int = 1, progress: bool = False,
        runs_dir: Path | None = None) -> StudyResult:
    """Run the trap experiment."""
    results = run_jobs(jobs(params), workers=workers, runs_dir=runs_dir, keep=("users",),
                       progress=progress, desc=NAME)
    grouped = group(results)
    tags = list(_arms(params))
    facts, rows = [], []
    per_scenario: dict[str, dict[str, list[JobResult]]] = {}
    scenarios: dict[str, Scenario] = {}
    for name in params.scenarios:
        runs = {tag: grouped[(name, tag)] for tag in tags}
        sc = job_scenario(runs["reference"][0].job)
        per_scenario[name], scenarios[name] = runs, sc
        facts += [_fact1(name, runs, sc), _fact1_rho(name, runs, sc), _fact2(name, runs, sc)]
        rows += _table(name, runs, sc)
    facts += [_fact_generated(params, grouped, r) for r in params.generated_correlations]
    facts += [_fact2_generated(params, grouped, r) for r in params.generated_correlations]
    notes = [__doc__.split("\n\n", 1)[1].strip()]
    for name, runs in per_scenario.items():
        for tag in params.extra_policies:
            d, _ = lift(runs["reference"], runs[tag], metric("engagement.delivered"))
            o, _ = lift(runs["reference"], runs[tag], metric("engagement.open_rate"))
            e, _ = lift(runs["reference"], runs[tag], metric("engagement.index"))
            notes.append(f"{name}, `{tag}` (both levers) vs static: notifications delivered "
                         f"{d.text()}, open rate {o.text()}, engagement index {e.text()}.")
    return StudyResult(
        name=NAME, title=TITLE, command=COMMAND, params=params_dict(params), facts=facts,
        tables={"arms": pd.DataFrame(rows)},
        figures={"trap_quadrant": _figure(per_scenario, scenarios)},
        notes=notes,
    )
