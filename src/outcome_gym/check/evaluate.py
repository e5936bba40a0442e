"""Evaluating a contract: run the comparison, check each expectation, compare with the baseline.

Every expectation yields one :class:`CheckResult` with the bound, the observed value and its 95%
interval, pass/fail and — on failure — one sentence on what moved. NaN never passes.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from outcome_gym._io import confined
from outcome_gym.analysis.stats import PairedStat, t_interval
from outcome_gym.check import baseline as bl
from outcome_gym.check.contract import (
    ContextFailureRate,
    Contract,
    CoreConsistency,
    EngagementLift,
    GuardrailModifications,
    NotificationsPerUserDay,
    OutcomeLift,
    ShareWorseOff,
    VerdictNot,
)
from outcome_gym.compare import Comparison, compare
from outcome_gym.errors import ContractError, PolicyError
from outcome_gym.scenario import Scenario
from outcome_gym.scenario.loading import scenario_source
from outcome_gym.scenario.overrides import size_overrides, with_overrides


@dataclass(frozen=True)
class CheckResult:
    """One expectation checked on one scenario."""

    contract: str
    scenario: str
    expectation: str
    bound: str
    observed: str
    passed: bool
    message: str = ""
    value: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass
class ContractReport:
    """All results of one contract."""

    contract: Contract
    results: list[CheckResult] = field(default_factory=list)
    baseline_note: str = ""
    comparisons: dict[str, Comparison] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Every expectation held."""
        return all(r.passed for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        """What ``outcome-gym check --json`` prints per contract (docs/json.md)."""
        return {"contract": self.contract.name, "passed": self.passed,
                "results": [asdict(r) for r in self.results],
                "baseline_note": self.baseline_note}


def _scenario_for(contract: Contract, i: int, base: Path) -> Scenario:
    source = contract.scenarios[i]
    try:
        target = scenario_source(source, base)
    except ValueError as exc:
        raise ContractError.one(str(exc), path=f"scenarios[{i}]") from None
    return with_overrides(target, size_overrides(contract.population, contract.horizon_days),
                          file=str(source))


def baseline_path(contract: Contract, base: Path) -> Path | None:
    """Where the contract's baseline file is (``None``: it has none).

    Raises:
        ContractError: A relative path that leaves the contract's folder.
    """
    if not contract.baseline:
        return None
    try:
        return confined(Path(contract.baseline), base, what="baseline file")
    except ValueError as exc:
        raise ContractError.one(str(exc), path="baseline") from None


def _fmt(x: float | None, pct: bool | str = False) -> str:
    """Lifts (pct=True) are signed percentages; rates (pct="rate") plain percentages."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if pct == "rate":
        return f"{x:.1%}"
    return f"{x:+.1%}" if pct else f"{x:.4g}"


def _interval(value: float | None, low: float | None, high: float | None, pct: bool | str) -> str:
    if low is None or high is None:
        return _fmt(value, pct)
    return f"{_fmt(value, pct)} [{_fmt(low, pct)}, {_fmt(high, pct)}]"


def _bound_text(lo: float | None, hi: float | None, pct: bool | str) -> str:
    parts = []
    if lo is not None:
        parts.append(f">= {_fmt(lo, pct)}")
    if hi is not None:
        parts.append(f"<= {_fmt(hi, pct)}")
    return " and ".join(parts)


def _finite(*xs: float | None) -> bool:
    return all(x is not None and math.isfinite(x) for x in xs)


def _check_interval(value: float | None, low: float | None, high: float | None,
                    lo: float | None, hi: float | None, pct: bool | str,
                    what: str) -> tuple[bool, str]:
    """Fail only when the whole interval is beyond a bound; NaN or missing never passes."""
    if not _finite(value, low, high):
        return False, f"{what} could not be measured (no finite value)"
    assert low is not None and high is not None and value is not None
    if lo is not None and high < lo:
        return False, (f"{what} fell to {_interval(value, low, high, pct)}, below the floor of "
                       f"{_fmt(lo, pct)}")
    if hi is not None and low > hi:
        return False, (f"{what} rose to {_interval(value, low, high, pct)}, above the ceiling of "
                       f"{_fmt(hi, pct)}")
    return True, ""


def _check_mean(value: float, lo: float | None, hi: float | None, what: str) -> tuple[bool, str]:
    if not math.isfinite(value):
        return False, f"{what} could not be measured (no finite value)"
    if lo is not None and value < lo:
        return False, f"{what} is {value:.4g}, below the floor of {lo:.4g}"
    if hi is not None and value > hi:
        return False, f"{what} is {value:.4g}, above the ceiling of {hi:.4g}"
    return True, ""


def _seed_ci(cmp: Comparison, label: str, metric: str) -> tuple[float, float, float]:
    """Mean of a candidate metric over seeds with its 95% t interval (NaN if any run's is NaN)."""
    v = cmp.runs.loc[cmp.runs["policy"] == label, metric].to_numpy(dtype=float)
    if not np.isfinite(v).all():  # t_interval drops non-finite values; a check must not
        return math.nan, math.nan, math.nan
    mean, low, high, _ = t_interval(v)
    return mean, low, high


def _lift_parts(st: PairedStat) -> tuple[float | None, float | None, float | None]:
    if st.lift is None:
        return None, None, None
    return st.lift, st.lift_low, st.lift_high


def unmeasured_segments(exp: Any, sc: Scenario) -> list[str]:
    """The segments ``exp`` reads that have no users in ``sc`` (at its population size).

    A verdict reads every target segment (one named by an outcome spec), an outcome lift its
    spec's segment, a share worse off its segment; nothing else reads a single segment. Such an
    expectation cannot be evaluated: every value of the segment is a 0 for want of users.
    """
    empty = sc.population.empty_segments()
    if not empty:
        return []
    if isinstance(exp, VerdictNot):
        read = {o.segment for o in sc.outcomes}
    elif isinstance(exp, OutcomeLift):
        read = {o.segment for o in sc.outcomes if o.id == exp.outcome}
    elif isinstance(exp, ShareWorseOff):
        read = {share_worse_target(exp, sc)[1]}
    else:
        return []
    return [seg for seg in empty if seg in read]


def _no_users_text(segments: list[str], sc: Scenario) -> str:
    shares = {s.id: s.share for s in sc.population.segments}
    named = ", ".join(f"'{seg}' (share {shares[seg]:.3g})" for seg in segments)
    larger = "; a larger `population` may" if all(shares[seg] > 0 for seg in segments) else ""
    return (f"segment {named} of scenario '{sc.name}' has no users at population "
            f"{sc.population.size}: it cannot be evaluated (more seeds do not help{larger})")


def evaluate_expectation(exp: Any, contract: Contract, sc: Scenario, cmp: Comparison,
                         label: str) -> CheckResult:
    """Check one expectation against a finished comparison (one reading a segment with no users
    fails: it is not measured, and a check must not pass on no data).
    """
    base = {"contract": contract.name, "scenario": sc.name}
    gone = unmeasured_segments(exp, sc)
    if gone:
        return CheckResult(**base, expectation=exp.kind, bound="", observed="not measured",
                           passed=False, message=_no_users_text(gone, sc))
    stats = cmp.stats[label]
    if isinstance(exp, VerdictNot):
        v = cmp.verdicts[label]
        ok = v.verdict not in exp.verdicts
        msg = "" if ok else (f"verdict against '{cmp.reference}' is {v.verdict} (rule {v.rule}: "
                             f"{v.rule_text}): " + "; ".join(v.reasons))
        return CheckResult(**base, expectation="verdict", bound=f"not {', '.join(exp.verdicts)}",
                           observed=v.verdict, passed=ok, message=msg)
    if isinstance(exp, OutcomeLift | EngagementLift):
        metric = "engagement.index" if isinstance(exp, EngagementLift) else f"outcome.{exp.outcome}"
        value, low, high = _lift_parts(stats[metric])
        what = ("engagement lift" if isinstance(exp, EngagementLift)
                else f"outcome '{exp.outcome}' lift")
        ok, msg = _check_interval(value, low, high, exp.min, exp.max, True, what)
        return CheckResult(**base, expectation=f"{what}", bound=_bound_text(exp.min, exp.max, True),
                           observed=_interval(value, low, high, True), passed=ok, message=msg,
                           value=value, low=low, high=high)
    if isinstance(exp, CoreConsistency | ContextFailureRate):
        metric = ("fragmentation.core_consistency" if isinstance(exp, CoreConsistency)
                  else "fragmentation.context_failure_rate")
        what = "core consistency" if isinstance(exp, CoreConsistency) else "context-failure rate"
        m, lo, hi = _seed_ci(cmp, label, metric)
        ok, msg = _check_interval(m, lo, hi, exp.min, exp.max, "rate", what)
        return CheckResult(**base, expectation=what, bound=_bound_text(exp.min, exp.max, "rate"),
                           observed=_interval(m, lo, hi, "rate"), passed=ok, message=msg,
                           value=m, low=lo, high=hi)
    if isinstance(exp, GuardrailModifications):
        kinds = (["core_restored", "layout_reverted", "notification_capped", "quiet_slot"]
                 if exp.guardrail == "all" else [exp.guardrail])
        rows = cmp.runs[cmp.runs["policy"] == label]
        m = float(sum(rows[f"guardrails.{k}"].mean() for k in kinds))
        what = f"guardrail modifications ({exp.guardrail}) per user"
        ok, msg = _check_mean(m, exp.min, exp.max, what)
        return CheckResult(**base, expectation=what, bound=_bound_text(exp.min, exp.max, False),
                           observed=_fmt(m), passed=ok, message=msg, value=m)
    if isinstance(exp, NotificationsPerUserDay):
        days = sc.clock.n_steps / sc.clock.slots_per_day
        delivered = cmp.runs.loc[cmp.runs["policy"] == label, "engagement.delivered"]
        m = float(delivered.mean() / days) if len(delivered) else math.nan
        what = "notifications per user per day"
        ok, msg = _check_mean(m, exp.min, exp.max, what)
        return CheckResult(**base, expectation=what, bound=_bound_text(exp.min, exp.max, False),
                           observed=_fmt(m), passed=ok, message=msg, value=m)
    if isinstance(exp, ShareWorseOff):
        return _share_worse_off(exp, sc, cmp, label, base)
    raise PolicyError(f"unknown expectation {exp!r}")  # pragma: no cover


def share_worse_target(exp: ShareWorseOff, sc: Scenario) -> tuple[str, str]:
    """The per-user metric and segment a ``share_worse_off`` expectation reads."""
    if exp.outcome == "engagement":
        return "engagement.index", exp.segment or "all"
    spec = next(o for o in sc.outcomes if o.id == exp.outcome)
    return f"outcome.{spec.id}", exp.segment or spec.segment


def _share_worse_off(exp: ShareWorseOff, sc: Scenario, cmp: Comparison, label: str,
                     base: dict[str, str]) -> CheckResult:
    metric, segment = share_worse_target(exp, sc)
    what = f"share of {segment} worse off on {exp.outcome}"
    tab = cmp.harm.table() if cmp.harm is not None else None
    row = (tab[(tab["policy"] == label) & (tab["metric"] == metric) & (tab["segment"] == segment)
               & (tab["stat"] == "share_worse")] if tab is not None else None)
    if row is None or row.empty:
        m = lo = hi = math.nan
    else:
        m, lo, hi = (float(row[c].iloc[0]) for c in ("mean", "low", "high"))
    ok, msg = _check_interval(m, lo, hi, exp.min, exp.max, "rate", what)
    return CheckResult(**base, expectation=what, bound=_bound_text(exp.min, exp.max, "rate"),
                       observed=_interval(m, lo, hi, "rate"), passed=ok, message=msg,
                       value=m, low=lo, high=hi)


def _validate_refs(contract: Contract, sc: Scenario) -> None:
    specs = {o.id for o in sc.outcomes}
    for i, exp in enumerate(contract.expectations):
        if isinstance(exp, ShareWorseOff):
            _validate_share(contract, sc, exp, i)
        if isinstance(exp, OutcomeLift) and exp.outcome not in specs:
            close = difflib.get_close_matches(exp.outcome, sorted(specs), n=1)
            raise ContractError.one(
                f"contract '{contract.name}' names outcome '{exp.outcome}', which scenario "
                f"'{sc.name}' does not define (outcomes: {sorted(specs)})",
                path=f"expectations[{i}].outcome", suggestion=close[0] if close else None)
        gone = unmeasured_segments(exp, sc)
        if gone:  # known before any run (segment sizes do not depend on the seed)
            raise ContractError.one(f"contract '{contract.name}', {exp.kind}: "
                                    + _no_users_text(gone, sc), path=f"expectations[{i}]")


def _validate_share(contract: Contract, sc: Scenario, exp: ShareWorseOff, i: int) -> None:
    """A ``share_worse_off`` names an outcome spec (or engagement) and a segment it covers."""
    from outcome_gym.analysis.per_user import targets

    names = [t.metric.removeprefix("outcome.") for t in targets(sc)[0][1:]] + ["engagement"]
    if exp.outcome not in names:
        close = difflib.get_close_matches(exp.outcome, names, n=1)
        raise ContractError.one(
            f"contract '{contract.name}' names outcome '{exp.outcome}', which scenario "
            f"'{sc.name}' does not define for per-user effects (choices: {names})",
            path=f"expectations[{i}].outcome", suggestion=close[0] if close else None)
    if exp.segment is None:
        return
    spec = next((o for o in sc.outcomes if o.id == exp.outcome), None)
    allowed = [spec.segment] if spec is not None else [s.id for s in sc.population.segments] + [
        "all"]
    if exp.segment not in allowed:
        close = difflib.get_close_matches(exp.segment, allowed, n=1)
        raise ContractError.one(
            f"contract '{contract.name}': '{exp.outcome}' has per-user effects for segments "
            f"{allowed}, not '{exp.segment}'", path=f"expectations[{i}].segment",
            suggestion=close[0] if close else None)


def contract_scenarios(contract: Contract, base: Path) -> list[Scenario]:
    """The contract's scenarios (with its size overrides), each checked against its expectations.

    Raises:
        ScenarioError: A scenario that does not load.
        ContractError: An expectation naming an outcome a scenario does not define.
    """
    scenarios = [_scenario_for(contract, i, base) for i in range(len(contract.scenarios))]
    for sc in scenarios:
        _validate_refs(contract, sc)
    return scenarios


def plan_lines(contract: Contract, base: Path,
               scenarios: list[Scenario] | None = None) -> list[str]:
    """What ``check`` would run for ``contract`` (``check --dry-run``): runs nothing, builds no
    policy, writes nothing. ``scenarios``: :func:`contract_scenarios`' result, if already had.

    Raises:
        ScenarioError, ContractError: As :func:`contract_scenarios`.
    """
    if scenarios is None:
        scenarios = contract_scenarios(contract, base)
    seeds = contract.seeds
    n_runs = 2 * seeds.count * len(scenarios)
    lines = [f"contract {contract.name}: {len(scenarios)} scenario(s) x 2 policies x "
             f"{seeds.count} seeds = {n_runs} runs",
             "scenarios: " + ", ".join(f"{sc.name} ({sc.population.size} users, "
                                       f"{sc.clock.n_steps} steps)" for sc in scenarios),
             f"candidate: {contract.candidate.display}",
             f"reference: {contract.reference.display}",
             f"seeds: {seeds.first}..{seeds.first + seeds.count - 1}",
             f"expectations: {', '.join(e.kind for e in contract.expectations)}"]
    path = baseline_path(contract, base)
    if path is not None:
        lines.append(f"baseline: {path}")
    return [*lines, ""]


def run_contract(contract: Contract, base: Path, *, workers: int = 1,
                 update_baseline: bool = False, progress: bool = False,
                 scenarios: list[Scenario] | None = None) -> ContractReport:
    """Run a contract: every scenario, every expectation, then the baseline comparison.

    ``scenarios``: :func:`contract_scenarios`' result, if the caller already loaded them.
    """
    report = ContractReport(contract=contract)
    cand = contract.candidate.model_copy(update={"label": contract.candidate.label or "candidate"})
    ref = contract.reference.model_copy(update={"label": contract.reference.label or "reference"})
    if scenarios is None:
        scenarios = contract_scenarios(contract, base)
    baseline = baseline_path(contract, base)
    for sc in scenarios:
        # relative paths in the policies' parameters (a rules file) are the contract folder's
        cmp = compare(sc, [ref.resolved(sc, base), cand.resolved(sc, base)],
                      reference=ref.display, seeds=contract.seeds.count,
                      first_seed=contract.seeds.first, workers=workers, progress=progress)
        report.comparisons[sc.name] = cmp
        for exp in contract.expectations:
            report.results.append(evaluate_expectation(exp, contract, sc, cmp, cand.display))
    if baseline is not None:
        path = baseline
        metrics = {name: bl.metrics_of(cmp) for name, cmp in report.comparisons.items()}
        if update_baseline:
            bl.write_baseline(path, contract, metrics)
            report.baseline_note = f"baseline written to {path}"
        else:
            note, results = bl.compare_baseline(path, contract, metrics)
            report.baseline_note = note
            report.results.extend(results)
    return report
