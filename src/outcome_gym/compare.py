"""``compare``: policies x seeds on one scenario, paired by seed, with intervals and verdicts.

    from outcome_gym import compare
    cmp = compare("productivity_tool", ["static", "engagement_bandit", "outcome_bandit"],
                  reference="static", seeds=20, workers=2, out="results/cmp")
    cmp.table()        # every metric of every policy against the reference, with intervals
    cmp.verdicts       # policy -> Verdict (trap / harm / aligned / quiet win / no effect)
    cmp.figures()      # PNG paths (after write) or matplotlib figures

Every policy runs on the same seeds (common random numbers), in worker processes started with an
explicit ``spawn`` context (``import mesa`` forces the global start method; we never rely on it).
Each finished run is written to ``out/runs/<policy>/seed-<k>/`` as it completes, so a failure later
in the comparison loses nothing already done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from outcome_gym._pool import map_spawn
from outcome_gym.analysis.metrics import MetricInfo, describe, flatten
from outcome_gym.analysis.stats import PairedStat, paired, resample_indices
from outcome_gym.analysis.verdict import Verdict, decide
from outcome_gym.errors import PolicyError
from outcome_gym.policies.spec import PolicySpec, parse_policy
from outcome_gym.scenario import Scenario, load_scenario, scenario_to_dict, validate_scenario

DAILY = ("clicks", "sessions", "opens", "minutes", "delivered", "goal_progress",
         "goal_minutes", "distraction_minutes", "support_tickets", "churned")


def safe_name(text: str) -> str:
    """A label made safe to use as a folder name."""
    cleaned = re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("._")
    return cleaned[:80] or "policy"


def _daily(steps: pd.DataFrame, n_users: int) -> pd.DataFrame:
    cols = [c for c in DAILY if c in steps] + [c for c in steps if c.endswith("_failures")]
    day = steps.groupby("day")[cols].sum() / max(n_users, 1)
    return day.reset_index()


def _run_one(task: tuple[dict[str, Any], PolicySpec, int, Any, str | None]) -> dict[str, Any]:
    """Worker: one policy on one seed (top-level so the spawn context can pickle it)."""
    from outcome_gym.runner import run

    sc_data, spec, seed, guardrails, out = task
    scenario = validate_scenario(sc_data)
    res = run(scenario, spec.policy, seed, policy_params=spec.params, guardrails=guardrails)
    if out is not None:
        res.write(out)
    return {"label": spec.display, "seed": seed, "metrics": flatten(scenario, res.summary),
            "daily": _daily(res.steps, scenario.population.size)}


@dataclass
class Comparison:
    """The result of :func:`compare`."""

    scenario: Scenario
    policies: list[PolicySpec]
    reference: str
    seeds: list[int]
    runs: pd.DataFrame
    daily: pd.DataFrame
    stats: dict[str, dict[str, PairedStat]]
    verdicts: dict[str, Verdict]
    info: dict[str, MetricInfo]
    out: Path | None = None

    @property
    def warnings(self) -> list[str]:
        """Caveats a reader must see (e.g. too few seeds for any difference to be significant)."""
        n = len(self.seeds)
        k = max(len(self.scenario.outcomes), 1)
        smallest_p = 2.0 / 2.0**n  # exact sign-flip test: the all-same-sign patterns
        out = []
        if smallest_p >= 0.05 / k:
            need = next(m for m in range(n, 40) if 2.0 / 2.0**m < 0.05 / k)
            out.append(f"with {n} seeds no outcome difference can reach significance (smallest "
                       f"possible p = {smallest_p:.3g} vs {0.05 / k:.3g} needed): every verdict is "
                       f"'no effect' by construction; use at least {need} seeds")
        return out

    def table(self) -> pd.DataFrame:
        """One row per policy x metric: means, difference and lift with intervals, effect size."""
        rows = []
        for label, by_metric in self.stats.items():
            for name, st in by_metric.items():
                i = self.info[name]
                rows.append({"policy": label, "metric": name, "family": i.family,
                             "direction": i.direction, "segment": i.segment, **st.as_dict()})
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        """Every number behind the report (JSON-ready)."""
        return {
            "scenario": self.scenario.name,
            "reference": self.reference,
            "policies": [{"label": p.display, "name": p.policy, "params": p.params}
                         for p in self.policies],
            "seeds": self.seeds,
            "verdicts": {k: v.as_dict() for k, v in self.verdicts.items()},
            "stats": {p: {m: s.as_dict() for m, s in by.items()} for p, by in self.stats.items()},
            "means": {label: {m: float(g[m].mean()) for m in self.info}
                      for label, g in self.runs.groupby("policy", sort=False)},
            "metrics": {m: i.__dict__ for m, i in self.info.items()},
            "warnings": self.warnings,
        }

    def headline(self) -> list[str]:
        """Plain-language one-liners, one per compared policy."""
        from outcome_gym.report.render import headline_lines

        return headline_lines(self)

    def figures(self, out_dir: str | Path | None = None) -> dict[str, Any]:
        """Draw the report's figures; PNG paths if ``out_dir`` is given, else Figure objects."""
        from outcome_gym.report.figures import draw_all

        return draw_all(self, Path(out_dir) if out_dir else None)

    def write(self, out_dir: str | Path) -> Path:
        """Write summary.json, runs.csv, report.md, report.html and figures/*.png."""
        from outcome_gym.report.render import write_report

        return write_report(self, Path(out_dir))


def _validate_policies(specs: list[PolicySpec]) -> None:
    for spec in specs:
        spec.build()  # raises PolicySpecError with a suggestion for typos


def compare(scenario: Scenario | str | Path, policies: list[str | PolicySpec],
            reference: str | None = None, seeds: int | list[int] = 20, *, workers: int = 1,
            out: str | Path | None = None, guardrails: Any = None, first_seed: int = 0,
            progress: bool = False) -> Comparison:
    """Run every policy on the same seeds and compare each against the reference.

    Args:
        scenario: A scenario object, bundled name or path.
        policies: Policy specs (``name``, ``name:key=value,...``, a YAML file, or PolicySpec).
        reference: Label of the reference policy (default: the first).
        seeds: How many seeds (``first_seed`` .. ``first_seed + n - 1``) or an explicit list.
        workers: Worker processes (1 runs in this process).
        out: Folder for the runs and the report (written as runs finish).
        guardrails: Guardrail override for every run (see :func:`outcome_gym.runner.run`).
        first_seed: First seed when ``seeds`` is a count.
        progress: Show a progress bar over runs on stderr.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    specs = [parse_policy(p) for p in policies]
    labels = [s.display for s in specs]
    if len(set(labels)) != len(labels):
        raise PolicyError(f"expected distinct policies, got {labels}")
    reference = reference or labels[0]
    if reference not in labels:
        ref_spec = parse_policy(reference)
        specs.insert(0, ref_spec)
        reference = ref_spec.display
    _validate_policies(specs)
    seed_list = list(range(first_seed, first_seed + seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise PolicyError("expected at least one seed, got none")
    out_path = Path(out) if out is not None else None
    sc_data = scenario_to_dict(sc)
    tasks = [(sc_data, spec, seed, guardrails,
              str(out_path / "runs" / safe_name(spec.display) / f"seed-{seed}") if out_path else None)
             for seed in seed_list for spec in specs]
    results = map_spawn(_run_one, tasks, workers, progress, failure=PolicyError)
    cmp = _assemble(sc, specs, reference, seed_list, results)
    cmp.out = out_path
    if out_path is not None:
        cmp.write(out_path)
    return cmp


def _assemble(sc: Scenario, specs: list[PolicySpec], reference: str, seeds: list[int],
              results: list[dict[str, Any]]) -> Comparison:
    order = {s.display: i for i, s in enumerate(specs)}
    results.sort(key=lambda r: (order[r["label"]], r["seed"]))
    runs = pd.DataFrame([{"policy": r["label"], "seed": r["seed"], **r["metrics"]}
                         for r in results])
    daily = pd.concat([r["daily"].assign(policy=r["label"], seed=r["seed"]) for r in results],
                      ignore_index=True)
    names = [c for c in runs.columns if c not in ("policy", "seed")]
    info = {m: describe(sc, m) for m in names}
    ref = runs[runs["policy"] == reference].set_index("seed").loc[seeds]
    idx = resample_indices(len(seeds))
    k = max(len(sc.outcomes), 1)
    stats: dict[str, dict[str, PairedStat]] = {}
    verdicts: dict[str, Verdict] = {}
    for spec in specs:
        if spec.display == reference:
            continue
        pol = runs[runs["policy"] == spec.display].set_index("seed").loc[seeds]
        stats[spec.display] = {m: paired(ref[m].to_numpy(), pol[m].to_numpy(), idx=idx)
                             for m in names}
        outcomes = {m: (info[m], paired(ref[m].to_numpy(), pol[m].to_numpy(),
                                        level=1 - 0.05 / k, idx=idx))
                    for m in names if info[m].family == "outcome"}
        flag, why = _coherence(sc, pol)
        verdicts[spec.display] = decide(spec.display, reference, stats[spec.display]["engagement.index"],
                                      outcomes, flag, why)
    return Comparison(scenario=sc, policies=specs, reference=reference, seeds=seeds, runs=runs,
                      daily=daily, stats=stats, verdicts=verdicts, info=info)


def _coherence(sc: Scenario, pol: pd.DataFrame) -> tuple[bool, list[str]]:
    th = sc.guardrails.thresholds
    why = []
    core = float(pol["fragmentation.core_consistency"].mean())
    if core < th.core_consistency_min:
        why.append(f"core consistency {core:.1%} below {th.core_consistency_min:.0%}")
    fail = float(pol["fragmentation.context_failure_rate"].mean())
    if th.context_failure_max is not None and fail > th.context_failure_max:
        why.append(f"context-failure rate {fail:.1%} above {th.context_failure_max:.0%}")
    return bool(why), why
