"""``compare``: policies x seeds on one scenario, paired by seed, with intervals and verdicts.

    from outcome_gym import compare
    cmp = compare("productivity_tool", ["static", "engagement_bandit", "outcome_bandit"],
                  reference="static", seeds=20, workers=2, out="results/cmp")
    cmp.table()        # every metric of every policy against the reference, with intervals
    cmp.verdicts       # policy -> Verdict (docs/verdicts.md: trap, harm, ..., inconclusive)
    cmp.figures()      # PNG paths (after write) or matplotlib figures

The workflow, one step each: plan the runs (scenario x policy x seed -> :class:`RunTask`) ->
run them on the one executor (:func:`outcome_gym.sweeps.execute`) -> read the summaries and daily
series back -> the paired analysis (:mod:`outcome_gym.analysis.paired`, pure) -> the report
(:mod:`outcome_gym.report`). Every policy runs on the same seeds (common random numbers). With
``out``, runs are written to ``out/runs/<run_id>/`` as they finish (``run_id`` is a column of
``runs.csv``), so a failure or a kill later loses nothing done, and running the same comparison
again, or a larger one, reuses every finished run; without ``out`` they go to a temporary folder
removed afterwards.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from outcome_gym._io import claim_dir
from outcome_gym.analysis import placebo as placebo_run
from outcome_gym.analysis.harm_rules import HarmRule, harm_rules
from outcome_gym.analysis.paired import daily_series, paired_analysis
from outcome_gym.analysis.per_user import UserEffects, user_effects, user_values
from outcome_gym.analysis.stats import PairedStat
from outcome_gym.analysis.verdict import Verdict
from outcome_gym.errors import PolicyError, SimulationError
from outcome_gym.metrics.flat import MetricInfo, flatten
from outcome_gym.policies.spec import PolicySpec, parse_policy
from outcome_gym.scenario import Scenario, load_scenario
from outcome_gym.sweeps import RunTask, execute, read_summary, read_table

TABLES = ("steps", "users", "positions", "elements")
"""What a run folder under ``out/runs`` keeps: every table, as ``outcome-gym run --out`` writes."""

PLACEBO_SEEDS = 4
"""Seeds the placebo runs on when a report is written (the first ones; docs/who-is-harmed.md):
each seed's noise floor is already a share over thousands of users, so a few seeds pin it."""


class PlannedRun(NamedTuple):
    """One run of a comparison: the policy's label, the seed and the executor's task."""

    label: str
    seed: int
    task: RunTask


@dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes:
        scenario: The scenario every run simulated.
        policies: The compared policies, the reference among them.
        reference: The reference's label.
        seeds: The paired seeds.
        runs: One row per run: ``policy``, ``seed``, ``run_id`` (its folder under ``out/runs``)
            and the flat metrics.
        daily: Per-user daily totals, one row per policy x seed x day.
        stats: Policy label -> metric -> paired statistic against the reference.
        verdicts: Policy label -> verdict.
        info: Metric -> what it measures.
        out: The report folder, when written.
        users: Per-user values of every run (:func:`~outcome_gym.analysis.per_user.user_values`
            with ``policy`` and ``seed``), the placebo's among them.
        harm: Per-user paired effects (docs/who-is-harmed.md).
        rules: Policy label -> the harm rules that held on held-apart seeds (at most three).
        stories: Policy label -> the story of its most harmed user of the primary outcome
            (:class:`~outcome_gym.story.Story`), when one was told.
    """

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
    users: pd.DataFrame = field(default_factory=pd.DataFrame)
    harm: UserEffects | None = None
    rules: dict[str, list[HarmRule]] = field(default_factory=dict)
    stories: dict[str, Any] = field(default_factory=dict)

    @property
    def empty_segments(self) -> list[str]:
        """Segments with no users in these runs (the population's allocation; every seed alike).

        Their per-segment metrics (``engagement.index[<segment>]``, their outcome specs) are 0 for
        want of users, not measured: reports print them as not measured and the JSON as ``null``.
        """
        return self.scenario.population.empty_segments()

    def measured(self, metric: str) -> bool:
        """Whether ``metric`` has data: it is not a metric of a segment with no users."""
        info = self.info.get(metric)
        return info is None or info.segment not in self.empty_segments

    @property
    def warnings(self) -> list[str]:
        """Caveats a reader must see: every segment with no users, and every inconclusive
        verdict with the seeds it would need.
        """
        pop = self.scenario.population
        shares = {s.id: s.share for s in pop.segments}
        out = [f"segment '{seg}' has no users in this run (share {shares[seg]:.3g} of "
               f"{pop.size} users): its metrics are not measured, whatever the seeds"
               + ("; a larger population would give it users" if shares[seg] > 0 else "")
               for seg in self.empty_segments]
        for label, v in self.verdicts.items():
            if v.verdict == "inconclusive":
                need = (f"about {v.seeds_needed} seeds" if v.seeds_needed is not None
                        else "more seeds")
                out.append(f"{label}: inconclusive with {len(self.seeds)} seeds — a decision "
                           f"needs {need} (80% power at the observed effect and spread)")
        return out

    @property
    def days(self) -> float:
        """Days each run simulated (for per-day rates)."""
        clock = self.scenario.clock
        return clock.n_steps / clock.slots_per_day

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
            "verdict_settings": self.scenario.verdict.model_dump(),
            "empty_segments": self.empty_segments,
            "stats": {p: {m: s.as_dict() if self.measured(m) else None for m, s in by.items()}
                      for p, by in self.stats.items()},
            "means": {label: {m: float(g[m].mean()) if self.measured(m) else None
                              for m in self.info}
                      for label, g in self.runs.groupby("policy", sort=False)},
            "metrics": {m: i.__dict__ for m, i in self.info.items()},
            "warnings": self.warnings,
            "who_is_harmed": self.who_is_harmed(),
        }

    def who_is_harmed(self) -> dict[str, Any] | None:
        """The per-user effects, the harm rules and the stories told (JSON-ready; docs/json.md)."""
        if self.harm is None:
            return None
        return {**self.harm.as_dict(),
                "rules": {p: [r.as_dict() for r in rs] for p, rs in self.rules.items()},
                "stories": {p: s.as_dict() for p, s in self.stories.items()}}

    def headline(self) -> list[str]:
        """Plain-language one-liners, one per compared policy."""
        from outcome_gym.report.render import headline_lines

        return headline_lines(self)

    def figures(self, out_dir: str | Path | None = None) -> dict[str, Any]:
        """Draw the report's figures; PNG paths if ``out_dir`` is given, else Figure objects."""
        from outcome_gym.report.figures import draw_all

        return draw_all(self, Path(out_dir) if out_dir else None)

    def write(self, out_dir: str | Path, *, overwrite: bool = False) -> Path:
        """Write summary.json, runs.csv, report.md, report.html and figures/*.png.

        ``out_dir`` must be new, empty, or an earlier comparison folder with ``overwrite``.
        """
        from outcome_gym.report.render import write_report

        return write_report(self, Path(out_dir), overwrite=overwrite)


def _validate_policies(specs: list[PolicySpec]) -> None:
    for spec in specs:
        spec.build()  # raises PolicySpecError with a suggestion for typos


def comparison_inputs(scenario: Scenario | str | Path, policies: list[str | PolicySpec],
                      reference: str | None, seeds: int | list[int],
                      first_seed: int) -> tuple[Scenario, list[PolicySpec], str, list[int]]:
    """The scenario, the specs (reference first if added), the reference label and the seeds."""
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
    return sc, specs, reference, seed_list


def plan_runs(scenario: Scenario, specs: list[PolicySpec], seeds: list[int], *,
              keep: tuple[str, ...] = ("steps", "users"), guardrails: Any = None,
              placebo: PolicySpec | None = None, placebo_seeds: int = 0) -> list[PlannedRun]:
    """Every policy on every seed, seed by seed (so policies advance together on a progress bar);
    then the placebo of ``placebo`` (the reference) on the first ``placebo_seeds`` seeds.
    """
    planned = [PlannedRun(spec.display, seed,
                          RunTask.make(scenario, spec, seed, keep=keep, guardrails=guardrails,
                                       info={"compare": scenario.name, "label": spec.display}))
               for seed in seeds for spec in specs]
    if placebo is not None:
        planned += [PlannedRun(placebo_run.LABEL, seed, RunTask.make(
            scenario, placebo, seed, keep=keep, guardrails=guardrails,
            runner=placebo_run.RUNNER, info={"compare": scenario.name,
                                             "label": placebo_run.LABEL}))
            for seed in seeds[:placebo_seeds]]
    return planned


@contextlib.contextmanager
def _runs_dir(out: Path | None) -> Iterator[Path]:
    """``out/runs``, or a temporary folder this call creates and removes."""
    if out is not None:
        yield out / "runs"
        return
    with tempfile.TemporaryDirectory(prefix="outcome-gym-compare-") as tmp:
        yield Path(tmp)


def _raise_failures(planned: list[PlannedRun], statuses: list[dict[str, Any]], runs_dir: Path,
                    kept: bool) -> None:
    """Stop the comparison when a run failed: its numbers would be incomplete."""
    bad = [(p, s) for p, s in zip(planned, statuses, strict=True) if s["status"] != "ok"]
    if not bad:
        return
    first, status = bad[0]
    where = (f" (traceback in {runs_dir / first.task.run_id / 'failed.json'})" if kept
             else f"\n{status['traceback'].rstrip()}")
    policy_error = status["error"].startswith(("PolicyError", "ActionError", "PolicySpecError"))
    raise (PolicyError if policy_error else SimulationError)(
        f"{len(bad)} of {len(statuses)} run(s) failed; the first, {first.label} seed {first.seed}: "
        f"{status['error']}{where}")


class RunsRead(NamedTuple):
    """What a comparison reads back from its run folders."""

    runs: pd.DataFrame
    daily: pd.DataFrame
    users: pd.DataFrame


def read_runs(scenario: Scenario, planned: list[PlannedRun], order: list[str],
              runs_dir: Path) -> RunsRead:
    """The runs table, the daily series and the per-user values, read back from the run folders.

    Rows are ordered by policy (in ``order``), then seed, whatever order the runs finished in;
    the placebo's runs give per-user values only. Per-user values need the ``users`` table (empty
    when the runs did not keep it).
    """
    rank = {label: i for i, label in enumerate(order)}
    rank[placebo_run.LABEL] = len(order)
    rows, days, users = [], [], []
    for p in sorted(planned, key=lambda p: (rank[p.label], p.seed)):
        folder = runs_dir / p.task.run_id
        if "users" in p.task.keep:
            users.append(user_values(scenario, read_table(folder, "users"))
                         .assign(policy=p.label, seed=p.seed))
        if p.label == placebo_run.LABEL:
            continue
        metrics = flatten(scenario, read_summary(folder))
        rows.append({"policy": p.label, "seed": p.seed, "run_id": p.task.run_id, **metrics})
        daily = daily_series(read_table(folder, "steps"), scenario.population.size)
        days.append(daily.assign(policy=p.label, seed=p.seed))
    return RunsRead(pd.DataFrame(rows), pd.concat(days, ignore_index=True),
                    pd.concat(users, ignore_index=True) if users else pd.DataFrame())


def assemble(scenario: Scenario, specs: list[PolicySpec], reference: str, seeds: list[int],
             runs: pd.DataFrame, daily: pd.DataFrame | None = None,
             users: pd.DataFrame | None = None) -> Comparison:
    """A :class:`Comparison` from a runs table (the paired analysis of every policy) and, given
    per-user values, the per-user effects and harm rules.
    """
    labels = [s.display for s in specs]
    result = paired_analysis(scenario, labels, reference, seeds, runs)
    cmp = Comparison(scenario=scenario, policies=specs, reference=reference, seeds=seeds,
                     runs=runs, daily=daily if daily is not None else pd.DataFrame(),
                     stats=result.stats, verdicts=result.verdicts, info=result.info)
    if users is not None and not users.empty:
        has_placebo = bool((users["policy"] == placebo_run.LABEL).any())
        cmp.users = users
        cmp.harm = user_effects(scenario, users, labels, reference, seeds,
                                placebo=placebo_run.LABEL if has_placebo else None)
        cmp.rules = harm_rules(users, labels, reference, cmp.harm.targets, seeds,
                               scenario.verdict.user_margin)
    return cmp


def compare(scenario: Scenario | str | Path, policies: list[str | PolicySpec],
            reference: str | None = None, seeds: int | list[int] = 20, *, workers: int = 1,
            out: str | Path | None = None, guardrails: Any = None, first_seed: int = 0,
            progress: bool = False, backend: str = "local",
            address: str | None = None, overwrite: bool = False,
            placebo_seeds: int | None = None, story: bool | None = None) -> Comparison:
    """Run every policy on the same seeds and compare each against the reference.

    Args:
        scenario: A scenario object, bundled name or path.
        policies: Policy specs (``name``, ``name:key=value,...``, a YAML file, or PolicySpec).
        reference: Label of the reference policy (default: the first).
        seeds: How many seeds (``first_seed`` .. ``first_seed + n - 1``) or an explicit list.
        workers: Worker processes (1 runs in this process).
        out: Folder for the runs (``out/runs/<run_id>/``, reused when finished) and the report.
        guardrails: Guardrail override for every run (see :func:`outcome_gym.runner.run`).
        first_seed: First seed when ``seeds`` is a count.
        progress: Show a progress bar over runs on stderr.
        backend: ``local`` (this process or a process pool) or ``dask``.
        address: A Dask scheduler address (with ``backend="dask"``).
        overwrite: Replace an earlier comparison in ``out`` (its finished runs are reused);
            without it such a folder is refused, as is a non-empty folder outcome-gym did not
            write.
        placebo_seeds: Seeds the placebo runs on (docs/who-is-harmed.md; default
            :data:`PLACEBO_SEEDS` when a report is written to ``out``, else 0).
        story: Replay the most harmed user of the primary outcome for each policy (two runs
            each; default: when a report is written to ``out``).

    Raises:
        ResultsError: ``out`` may not be written (checked before any run).
        PolicyError: A bad policy or seed list (fewer than 2 seeds; before any run), or a run
            whose policy failed.
        SimulationError: A run failed otherwise.
    """
    sc, specs, reference, seed_list = comparison_inputs(scenario, policies, reference, seeds,
                                                       first_seed)
    if len(seed_list) < 2:  # the seed is the unit: one pair has no spread, so no test
        raise PolicyError(f"expected at least 2 seeds to compare policies, got {len(seed_list)}")
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        claim_dir(out_path, "compare", overwrite=overwrite)
    n_placebo = (PLACEBO_SEEDS if out_path is not None else 0) if placebo_seeds is None \
        else placebo_seeds
    if n_placebo < 0:
        raise PolicyError(f"expected placebo_seeds >= 0, got {n_placebo}")
    ref_spec = next(s for s in specs if s.display == reference)
    read = _run_all(sc, specs, seed_list, out=out_path, workers=workers, guardrails=guardrails,
                    progress=progress, backend=backend, address=address,
                    placebo=ref_spec if n_placebo else None, placebo_seeds=n_placebo)
    cmp = assemble(sc, specs, reference, seed_list, read.runs, read.daily, read.users)
    cmp.out = out_path
    if story if story is not None else out_path is not None:
        from outcome_gym.story import most_harmed_stories

        # side by side in forked children when workers > 1 (story._replays; None never spawns
        # interpreters for them, which would cost more than the replays); with Dask, here
        cmp.stories = most_harmed_stories(
            cmp, guardrails=guardrails, workers=None if backend == "local" and workers > 1 else 1)
    if out_path is not None:
        cmp.write(out_path, overwrite=True)
    return cmp


def run_all(scenario: Scenario, specs: list[PolicySpec], seeds: list[int], *,
            out: Path | None = None, workers: int = 1, guardrails: Any = None,
            progress: bool = False, backend: str = "local",
            address: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every policy on every seed through the executor; the runs table and the daily series.

    Args:
        scenario: The scenario.
        specs: The policies (validated).
        seeds: The seeds.
        out: Keep the runs in ``out/runs/<run_id>/`` (every table); default: a temporary folder.
        workers: Worker processes (1 runs in this process).
        guardrails: Guardrail override for every run.
        progress: Show a progress bar over runs on stderr.
        backend: ``local`` or ``dask``.
        address: A Dask scheduler address.

    Raises:
        PolicyError: A run whose policy failed.
        SimulationError: A run failed otherwise.
    """
    read = _run_all(scenario, specs, seeds, out=out, workers=workers, guardrails=guardrails,
                    progress=progress, backend=backend, address=address, keep_users=False)
    return read.runs, read.daily


def _run_all(scenario: Scenario, specs: list[PolicySpec], seeds: list[int], *,
             out: Path | None = None, workers: int = 1, guardrails: Any = None,
             progress: bool = False, backend: str = "local", address: str | None = None,
             placebo: PolicySpec | None = None, placebo_seeds: int = 0,
             keep_users: bool = True) -> RunsRead:
    """:func:`run_all` with the per-user values and, when asked, the placebo runs.

    ``keep_users=False`` skips the users table without ``out`` (run_all's callers discard it).
    """
    in_temp = ("steps", "users") if keep_users else ("steps",)
    planned = plan_runs(scenario, specs, seeds, guardrails=guardrails,
                        keep=TABLES if out is not None else in_temp,
                        placebo=placebo, placebo_seeds=placebo_seeds)
    with _runs_dir(out) as runs_dir:
        statuses = execute([p.task for p in planned], runs_dir, workers=workers, backend=backend,
                           address=address, progress=progress, desc="compare")
        _raise_failures(planned, statuses, runs_dir, kept=out is not None)
        return read_runs(scenario, planned, [s.display for s in specs], runs_dir)


__all__ = ["PLACEBO_SEEDS", "Comparison", "PlannedRun", "RunsRead", "assemble", "compare",
           "plan_runs", "read_runs", "run_all"]
