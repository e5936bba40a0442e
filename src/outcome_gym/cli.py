"""The ``outcome-gym`` command line.

Exit codes: 0 success, 1 a finding (e.g. a failed check), 2 bad input (an invalid file, an unknown
policy, a folder that cannot be written), 3 an internal error (a bug in outcome-gym: one line says
so; ``OUTCOME_GYM_DEBUG=1`` shows the traceback), 130 interrupted. Problems, warnings and progress
bars go to stderr; results and listings go to stdout. Progress bars are drawn only when stderr is a
terminal (``--progress``/``--no-progress`` force it), and every command that runs simulations in
parallel defaults to ``--workers`` = the CPUs this process may use.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from outcome_gym import __version__
from outcome_gym.errors import InputError, OutcomeGymError, ScenarioError
from outcome_gym.scenario import bundled_scenarios, load_scenario

if TYPE_CHECKING:
    from outcome_gym.metrics.summary import RunSummary
    from outcome_gym.sensitivity import SensitivityResult

app = typer.Typer(
    name="outcome-gym",
    help="Simulate what a personalization policy does to engagement, outcomes and coherence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
JSON_FORMAT = 1  # the --json documents' format version (docs/json.md); bump on a breaking change


def _bad_input_exits_2(fn: Callable[..., None]) -> Callable[..., None]:
    """Turn an outcome-gym error (bad file, unknown policy, ...) into one message and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> None:
        try:
            fn(*args, **kwargs)
        except OutcomeGymError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except OSError as exc:  # the machine refused: a full disk, a folder we may not write
            typer.echo(f"error: {_os_error_text(exc)}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("typer", "click"):
                raise  # typer's exits and usage errors (its own or click's) carry their code
            _internal_error(exc)

    return wrapper


def _os_error_text(exc: OSError) -> str:
    """One line for an operating-system refusal: what failed, on which file."""
    what = exc.strerror or str(exc) or type(exc).__name__
    where = f": {exc.filename}" if exc.filename else ""
    return f"{what}{where}"


def _internal_error(exc: Exception) -> NoReturn:
    """A bug, not bad input: say so in one line (the traceback only when asked), exit 3."""
    if os.environ.get("OUTCOME_GYM_DEBUG"):
        raise exc
    typer.echo(
        f"internal error: {type(exc).__name__}: {exc}\n"
        "this is a bug in outcome-gym, not in your input: rerun with OUTCOME_GYM_DEBUG=1 for the "
        "traceback and report it to the maintainers with the command you ran", err=True)
    raise typer.Exit(EXIT_INTERNAL) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"outcome-gym {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Simulate what a personalization policy does to engagement, outcomes and coherence."""


def _refuse(option: str, message: str) -> NoReturn:
    """One line on stderr naming the option, exit 2 (bad input)."""
    typer.echo(f"error: {option}: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
@_bad_input_exits_2
def validate(
    files: Annotated[list[Path], typer.Argument(
        help="Files of any kind — scenario (or a bundled name), sweep, contract, rules or study; "
             "the kind is read from the top-level keys.")],
    kind: Annotated[
        str | None, typer.Option(help="Treat every file as this kind: scenario, sweep, contract, "
                                      "rules or study (default: detect).")
    ] = None,
    scenario: Annotated[
        str | None, typer.Option(help="Check rules files' ids (segments, slots, events, "
                                      "elements) against this scenario (a bundled name or path).")
    ] = None,
) -> None:
    """Check files; print one line per problem. Exit 0 if all are valid, 2 if not.

    Runs nothing, builds no policy and writes nothing; a policy named as package.module:Class
    (and a study's module) is imported to inspect it, which runs that module's top-level code.
    """
    from outcome_gym.validation import KINDS, validate_file

    if kind is not None and kind not in KINDS:
        _refuse("--kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
    bad = 0
    for f in files:
        try:
            what = validate_file(f, kind, scenario)
        except InputError as exc:
            bad += 1
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
        else:
            typer.echo(f"{f}: valid" + (f" {what}" if what else ""))
    if bad:
        typer.echo(f"{bad} of {len(files)} file(s) invalid", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
@_bad_input_exits_2
def schema(
    kind: Annotated[
        str, typer.Option(help="The file kind: scenario, sweep, contract, rules or study.")
    ] = "scenario",
    indent: Annotated[int, typer.Option(help="JSON indentation.")] = 2,
) -> None:
    """Print the JSON Schema of a file kind (point your editor's YAML plugin at it)."""
    from outcome_gym.validation import KINDS, json_schema

    if kind not in KINDS:
        _refuse("--kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
    typer.echo(json.dumps(json_schema(kind), indent=indent))


@app.command()
@_bad_input_exits_2
def scenarios() -> None:
    """List the bundled scenarios with a one-line description."""
    for name, path in bundled_scenarios().items():
        try:
            desc = load_scenario(path).description.strip().splitlines()[0]
        except (ScenarioError, IndexError):
            desc = "(invalid or undescribed)"
        typer.echo(f"{name:<20} {desc}")


def _backend(backend: str | None, address: str | None) -> str:
    """The executor backend of ``--backend``/``--address`` (exit 2 on a bad combination)."""
    chosen = backend or ("dask" if address else "local")
    if chosen not in ("local", "dask"):
        _refuse("--backend", f"expected local or dask, got {chosen!r}")
    if address and chosen != "dask":
        typer.echo("error: --address needs --backend dask", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    return chosen


BackendOption = Annotated[
    str | None, typer.Option(help="local (process pool) or dask (default: local, or dask with "
                                  "--address).")
]
AddressOption = Annotated[
    str | None, typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.")
]
ProgressOption = Annotated[
    bool | None, typer.Option("--progress/--no-progress",
                              help="Draw a progress bar on stderr (default: only when stderr is a "
                                   "terminal).", show_default=False)
]
WorkersOption = Annotated[
    int | None, typer.Option(min=1, help="Worker processes (default: the CPUs available; 1 runs "
                                         "in this process).", show_default=False)
]


def _show_progress(progress: bool | None, quiet: bool = False) -> bool:
    """Whether to draw progress bars: as forced, else not with --quiet, else if stderr is a tty."""
    if progress is not None:
        return progress
    return not quiet and sys.stderr.isatty()


def _workers(workers: int | None) -> int:
    """``--workers``, or the CPUs this process may use (the one default of every command)."""
    from outcome_gym._pool import default_workers

    return default_workers() if workers is None else workers


def _echo_results(lines: list[str]) -> None:
    """Results to stdout, warnings to stderr."""
    for line in lines:
        typer.echo(line, err=line.startswith("warning"))


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout instead of text "
                                      "(keys in docs/json.md); warnings stay on stderr.")
]


def _echo_json(kind: str, payload: dict[str, Any]) -> None:
    """The ``--json`` document of a command: ``{"kind", "format", ...}``, strict JSON."""
    from outcome_gym._io import dumps, json_ready

    typer.echo(dumps(json_ready({"kind": kind, "format": JSON_FORMAT, **payload})), nl=False)


OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace an earlier output of this command in --out "
                                           "(only what it wrote; other files are kept).")
]


def _summary_lines(result: object) -> list[str]:
    summary: RunSummary = result.summary  # type: ignore[attr-defined]
    lines = []
    lines.append(
        f"{'segment':<14}{'users':>7}{'sessions':>10}{'clicks':>9}{'minutes':>9}"
        f"{'opens':>7}{'progress':>10}{'trust':>7}{'churn':>7}{'distance':>9}{'ctx fail':>9}"
    )
    for seg, s in summary.segments.items():
        e, f = s.engagement, s.fragmentation
        lines.append(
            f"{seg:<14}{s.n_users:>7}{e.sessions_per_user:>10.1f}{e.clicks_per_user:>9.1f}"
            f"{e.minutes_per_user:>9.0f}{e.opens_per_user:>7.1f}"
            f"{s.goal_progress_per_user:>10.1f}{s.trust_final_mean:>7.2f}"
            f"{s.churned_share:>7.1%}{f.layout_distance_mean:>9.2f}"
            f"{f.context_failure_rate_all:>9.1%}"
        )
    if summary.outcomes:
        lines.append("")
        lines.append(f"{'outcome':<22}{'segment':<14}{'metric':<22}{'value':>10}")
        for oid, o in summary.outcomes.items():
            lines.append(f"{oid:<22}{o.segment:<14}{o.metric:<22}{o.value:>10.3f}")
    return lines


@app.command()
@_bad_input_exits_2
def run(
    scenario: Annotated[str, typer.Argument(help="Scenario file or bundled name.")],
    policy: Annotated[
        str, typer.Option(help="Policy: name, name:key=value,... or package.module:Class.")
    ] = "static",
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Policy parameter key=value.")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Root seed.")] = 0,
    out: Annotated[Path | None, typer.Option(
        help="Write the run folder here (a new or empty folder, or an earlier run folder with "
             "--overwrite).")] = None,
    overwrite: OverwriteOption = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")
    ] = False,
    progress: ProgressOption = None,
    guardrails: Annotated[
        str, typer.Option(help="project (correct and count), strict (fail on a violation), off.")
    ] = "project",
    as_json: JsonOption = False,
) -> None:
    """Simulate a scenario under one policy and seed; print a summary, optionally write results."""
    from outcome_gym._io import check_out_dir
    from outcome_gym.policies.spec import PolicySpec, parse_params, parse_policy
    from outcome_gym.runner import run as run_sim

    base = parse_policy(policy)
    try:
        extra = parse_params(param or [], " (--param)")
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--param") from None
    spec = PolicySpec(policy=base.policy, params={**base.params, **extra})
    spec.check()
    sc = load_scenario(scenario)
    if guardrails not in ("project", "strict", "off"):
        raise typer.BadParameter(
            f"expected project, strict or off, got {guardrails!r}", param_hint="--guardrails"
        )
    if out is not None:
        check_out_dir(out, "run", overwrite=overwrite)  # before the simulation, not after
    result = run_sim(
        sc,
        spec.policy,
        seed,
        policy_params=spec.params,
        progress=_show_progress(progress, quiet),
        guardrails=False if guardrails == "off" else None,
        guardrail_mode=guardrails,
    )
    if out is not None:
        result.write(out, overwrite=overwrite)
    if as_json:
        _echo_json("run", {"scenario": sc.name, "policy": spec.policy, "params": spec.params,
                           "seed": seed, "users": sc.population.size, "steps": sc.clock.n_steps,
                           "summary": result.summary, "out": str(out) if out else None})
    elif not quiet:
        typer.echo(
            f"{sc.name}: policy {policy}, seed {seed}, {sc.population.size} users, "
            f"{sc.clock.n_steps} steps"
        )
        for line in _summary_lines(result):
            typer.echo(line)
        if out is not None:
            typer.echo(f"results written to {out}")


@app.command()
@_bad_input_exits_2
def compare(
    scenario: Annotated[str, typer.Argument(help="Scenario file or bundled name.")],
    policies: Annotated[
        str,
        typer.Option(help="Comma-separated policies, each name, name:key=value,... (more "
                          "parameters may follow after ';' or ',') or a YAML policy file."),
    ] = "static,random",
    reference: Annotated[str | None, typer.Option(help="Reference policy (default: first).")] = None,
    seeds: Annotated[int, typer.Option(
        min=2, help="Paired seeds per policy (at least 2: the seed is the unit of the tests).")] = 20,
    first_seed: Annotated[int, typer.Option(min=0, help="First seed.")] = 0,
    workers: WorkersOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (new or empty, or an earlier comparison "
                                       "with --overwrite); runs are kept (and reused) in OUT/runs/.")
    ] = None,
    overwrite: OverwriteOption = False,
    backend: BackendOption = None,
    address: AddressOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    progress: ProgressOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare policies on paired seeds: lifts with intervals, verdicts, and a report."""
    from outcome_gym.compare import compare as run_compare
    from outcome_gym.policies.spec import split_policy_list

    chosen = _backend(backend, address)
    specs = split_policy_list(policies)
    cmp = run_compare(scenario, specs, reference, seeds, workers=_workers(workers), out=out,
                      first_seed=first_seed, progress=_show_progress(progress, quiet),
                      backend=chosen,
                      address=address, overwrite=overwrite)
    lines = cmp.headline()
    if as_json:
        _echo_results([h for h in lines if h.startswith("warning")])
        _echo_json("compare", {**cmp.summary(),
                               "headline": [h for h in lines if not h.startswith("warning")],
                               "out": str(out) if out else None})
        return
    _echo_results(lines)
    if out is not None:
        typer.echo(f"report written to {out / 'report.md'} and {out / 'report.html'}")


@app.command()
@_bad_input_exits_2
def check(
    contracts: Annotated[list[Path], typer.Argument(help="Contract files.")],
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Rewrite the contracts' baselines.")
    ] = False,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here.")] = None,
    summary: Annotated[Path | None, typer.Option(help="Write a markdown summary here.")] = None,
    workers: WorkersOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate the contracts and print what would run; "
                                             "run nothing, build no policy, write nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check policy contracts: exit 0 if every expectation holds, 1 on a regression, 2 on bad input."""
    from outcome_gym.check import load_contract, plan_lines, run_contract
    from outcome_gym.check.evaluate import contract_scenarios
    from outcome_gym.report.check import table_lines, write_junit, write_markdown_summary

    # bad input (a contract, a policy, a scenario) fails before anything runs
    loaded = [(c, base, contract_scenarios(c, base))
              for c, base in (load_contract(path) for path in contracts)]
    if dry_run:
        for c, base, scenarios in loaded:
            for line in plan_lines(c, base, scenarios):
                typer.echo(line)
        return
    reports = [run_contract(c, base, workers=_workers(workers), update_baseline=update_baseline,
                            scenarios=scenarios)
               for c, base, scenarios in loaded]
    if as_json:
        _echo_json("check", {"passed": all(r.passed for r in reports),
                             "contracts": [r.as_dict() for r in reports]})
    else:
        for line in table_lines(reports):
            typer.echo(line)
    if junit is not None:
        write_junit(reports, junit)
    if summary is not None:
        write_markdown_summary(reports, summary)
    if not all(r.passed for r in reports):
        raise typer.Exit(1)


@app.command()
@_bad_input_exits_2
def policies() -> None:
    """List the registered policies (built-in and from installed packages)."""
    from outcome_gym.policies import registry

    for name in registry.names():
        typer.echo(f"{name:<20} {registry.describe(name)}")


@app.command()
@_bad_input_exits_2
def sweep(
    file: Annotated[Path, typer.Argument(help="Experiment file (experiments/*.yaml).")],
    workers: Annotated[
        int | None,
        typer.Option(min=0, help="Worker processes (default: the CPUs available; 0 runs in this "
                                 "process, for debugging).", show_default=False),
    ] = None,
    backend: BackendOption = None,
    address: AddressOption = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip finished runs in the output folder.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the expansion (one line per run); run nothing.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Sweep folder (default: results/<experiment name>).")
    ] = None,
    retries: Annotated[
        int, typer.Option(min=1, help="Times a run may kill its worker before it counts as failed.")
    ] = 2,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    progress: ProgressOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run an experiment: scenarios x grid x policies x seeds. Exit 1 if any run failed."""
    from outcome_gym.sweeps.sweep import dry_run_lines, plan_sweep
    from outcome_gym.sweeps.sweep import sweep as run_sweep

    chosen = _backend(backend, address)
    try:  # a dry run calls nothing the file names; a real sweep builds each policy once first
        plan = plan_sweep(file, build=not dry_run)
    except InputError as exc:  # every problem of every point, one per line
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if dry_run:
        for line in dry_run_lines(plan, out or Path("results") / plan.name):
            typer.echo(line)
        return
    try:
        result = run_sweep(plan, out=out, workers=_workers(workers), backend=chosen,
                           address=address, resume=resume,
                           progress=_show_progress(progress, quiet), retries=retries)
    except KeyboardInterrupt:
        typer.echo("interrupted: finished runs are kept; run again with --resume", err=True)
        raise typer.Exit(130) from None
    if as_json:
        for w in result.warnings:
            typer.echo(f"warning: {w}", err=True)
        _echo_json("sweep", result.as_dict())
    else:
        for line in result.lines():
            typer.echo(line, err=line.startswith(("  ", "failed runs", "warning")))
    raise typer.Exit(result.exit_code)


@app.command()
@_bad_input_exits_2
def study(
    studies: Annotated[
        list[str],
        typer.Argument(help="Study names (experiments/studies/NAME.py with its NAME.yaml), "
                            "'all', or study files (a .yaml beside its study's .py, or naming "
                            "its 'study').",
                       metavar="NAME|FILE..."),
    ],
    fast: Annotated[
        bool, typer.Option("--fast", help="The small version the test suite runs (a quick look; "
                                          "written under results/_scratch/ by default).")
    ] = False,
    workers: WorkersOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Results root; each study writes <out>/<study>/ and keeps "
                                       "its run folders in <out>/_runs/ for the next time "
                                       "(default: results, or results/_scratch with --fast).")
    ] = None,
    studies_dir: Annotated[
        Path | None, typer.Option(envvar="OUTCOME_GYM_STUDIES",
                                  help="The studies folder (default: experiments/studies).")
    ] = None,
    readme: Annotated[
        bool, typer.Option(help="Rewrite <out>/README.md (the table of every fact) afterwards.")
    ] = True,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace earlier results of these studies in "
                                               "<out>/<study>/.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    progress: ProgressOption = None,
) -> None:
    """Run studies that test the stylized facts; write results/<study>/ and results/README.md."""
    from outcome_gym._io import check_out_dir, claim_dir
    from outcome_gym.report.study import write_readme, write_study
    from outcome_gym.studies import resolve, run_study, study_names
    from outcome_gym.studies.runs import runs_cache

    root = out or Path("results") / ("_scratch" if fast else "")
    names = study_names(studies_dir) if studies == ["all"] else studies
    chosen = [resolve(s, fast, studies_dir) for s in names]  # check everything before any run
    claim_dir(root, "results", overwrite=True)  # a results root collects studies
    for mod, _ in chosen:
        check_out_dir(root / mod.NAME, "study", overwrite=overwrite)
    for mod, params in chosen:
        result = run_study(mod, params, workers=_workers(workers),
                           progress=_show_progress(progress, quiet), runs_dir=runs_cache(root))
        path = write_study(result, root / mod.NAME, overwrite=overwrite)
        for f in result.facts:
            typer.echo(f"{mod.NAME}: {f.fact} [{f.scope}] {f.status.upper()}: {f.produced}")
        typer.echo(f"written to {path}/report.md")
    if readme:
        typer.echo(f"table of facts: {write_readme(root, studies=study_names(studies_dir))}")


@app.command()
@_bad_input_exits_2
def report(
    sweep_dir: Annotated[Path, typer.Argument(help="A sweep folder (results/<experiment>).")],
    out: Annotated[Path | None, typer.Option(help="Report folder (default: SWEEP_DIR/report).")]
    = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Draw a sweep's figures and write report.md and a self-contained report.html."""
    from outcome_gym.report.sweep import write_sweep_report

    path = write_sweep_report(sweep_dir, out, overwrite=overwrite)
    typer.echo(f"report written to {path / 'report.md'} and {path / 'report.html'}")


@app.command()
@_bad_input_exits_2
def params(
    scenario: Annotated[str | None, typer.Option(
        help="Show this scenario's values (per segment for a segment parameter) as the "
             "default.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
    = False,
) -> None:
    """List every user parameter: default, plausible range, source (or 'guess')."""
    from outcome_gym.scenario.provenance import table_rows

    rows = table_rows(load_scenario(scenario) if scenario else None)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(f"{'name':<32}{'default':<26}{'range':<22}{'source':<14}note")
    for r in rows:
        scaled = r["how"] != "value"
        rng = ("-" if r["low"] is None else f"x[{r['low']:g}, {r['high']:g}]" if scaled
               else f"[{r['low']:g}, {r['high']:g}]")
        default = _short(r["default"])
        typer.echo(f"{r['name']:<32}{default:<26}{rng:<22}{r['source']:<14}{r['note']}")


def _short(value: object, width: int = 24) -> str:
    """A default as compact text (a distribution as its mapping), cut to ``width``."""
    text = "(per scenario)" if value is None else (
        json.dumps(value, separators=(",", ":")) if isinstance(value, dict) else f"{value:g}"
        if isinstance(value, float) else str(value))
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command()
@_bad_input_exits_2
def sensitivity(
    scenario: Annotated[str, typer.Argument(help="Scenario file or bundled name.")],
    out: Annotated[Path, typer.Option(
        help="Report folder (new or empty, or an earlier sensitivity output with --overwrite); "
             "runs are kept (and reused) in OUT/runs/.")],
    policies: Annotated[str, typer.Option(
        help="Comma-separated policies whose lift and verdict are analysed.")]
    = "engagement_bandit",
    method: Annotated[str, typer.Option(help="morris (screening) or sobol (variance shares).")]
    = "morris",
    params: Annotated[str | None, typer.Option(
        "--params", help="Comma-separated parameter names (`outcome-gym params`; default: every "
                         "parameter with a range).")] = None,
    ranges: Annotated[Path | None, typer.Option(
        help="YAML file {name: [low, high]} overriding registry ranges.")] = None,
    trajectories: Annotated[int, typer.Option(
        help="Morris trajectories r (points = r x (parameters + 1)).")] = 10,
    samples: Annotated[int, typer.Option(
        help="Sobol base sample N, a power of 2 (points = N x (parameters + 2)).")] = 64,
    seeds: Annotated[int | None, typer.Option(
        min=1, help="Paired seeds per point (default: the fewest at which every verdict can be "
                    "reached: 7 with 3 outcome specs).", show_default=False)] = None,
    reference: Annotated[str, typer.Option(help="Reference policy.")] = "static",
    population: Annotated[int, typer.Option(
        min=1, help="Users per run (overrides the scenario's).")] = 500,
    horizon_days: Annotated[int, typer.Option(
        min=0, help="Days per run (0: the scenario's).")] = 14,
    workers: WorkersOption = None,
    backend: BackendOption = None,
    address: AddressOption = None,
    overwrite: OverwriteOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    progress: ProgressOption = None,
) -> None:
    """Vary the user parameters over their ranges: what moves each policy's lift and verdict."""
    from outcome_gym._io import check_out_dir
    from outcome_gym.policies.spec import split_policy_list
    from outcome_gym.report.sensitivity import write_sensitivity_report
    from outcome_gym.sensitivity import load_ranges, run_sensitivity

    chosen = _backend(backend, address)
    check_out_dir(out, "sensitivity", overwrite=overwrite)  # before anything runs
    names = [p.strip() for p in params.split(",") if p.strip()] if params else None
    res = run_sensitivity(
        scenario, split_policy_list(policies), method=method, params=names,
        ranges=load_ranges(ranges) if ranges else None,
        size=trajectories if method == "morris" else samples, seeds=seeds,
        reference=reference, population=population, horizon_days=horizon_days or None, out=out,
        overwrite=overwrite, workers=_workers(workers), backend=chosen, address=address,
        progress=_show_progress(progress, quiet))
    command = "outcome-gym " + " ".join(sys.argv[1:]) if sys.argv[0].endswith(
        ("outcome-gym", "__main__.py")) else ""
    path = write_sensitivity_report(res, out, command=command, overwrite=True)
    for line in _sensitivity_lines(res):
        typer.echo(line)
    typer.echo(f"report written to {path / 'report.md'}")


def _sensitivity_lines(res: SensitivityResult) -> list[str]:
    """Per policy: verdict shares and the three parameters that move its lifts most."""
    key = "mu_star" if res.design.method == "morris" else "ST"
    lines = []
    for policy, g in res.shares.groupby("policy", sort=False):
        held = ", ".join(f"{r.verdict} {r.share:.0%}" for r in g.itertuples() if r.points)
        lines.append(f"{policy} vs {res.reference}: {held} of {len(res.design.points)} points")
        if res.indices.empty:
            continue
        sub = res.indices[res.indices["policy"] == policy]
        for resp, h in sub.groupby("response", sort=False):
            top = ", ".join(f"{r.parameter} {getattr(r, key):.3g}" for r in h.head(3).itertuples())
            lines.append(f"  {resp}: {top}")
    return lines


@app.command()
@_bad_input_exits_2
def studio(
    scenario: Annotated[str | None, typer.Argument(
        help="Scenario file or bundled name to open first (default: the first bundled).")] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Local port.")] = 8501,
    address: Annotated[str, typer.Option(
        help="Address to bind (localhost by default; anything else exposes the page).")]
    = "127.0.0.1",
    workdir: Annotated[Path | None, typer.Option(
        help="Where drafts and comparisons are kept (default ~/.cache/outcome-gym/studio).")]
    = None,
) -> None:
    """Start the designer studio: a local page to edit a scenario, run policies, read verdicts."""
    from outcome_gym.studio import launch

    if scenario is not None:
        load_scenario(scenario)  # a bad file is refused here, with the CLI's message
    raise typer.Exit(launch(scenario, workdir=workdir, port=port, address=address))


@app.command()
@_bad_input_exits_2
def examples(dest: Annotated[Path, typer.Argument(help="A new or empty folder.")],
             overwrite: OverwriteOption = False) -> None:
    """Copy the README's example files (designer worlds, CI contract, sweep, studies) to DEST."""
    from outcome_gym.examples import copy_examples, next_steps

    copy_examples(dest, overwrite=overwrite)
    _echo_results(next_steps(dest))


from outcome_gym.story_cli import story as _story  # noqa: E402  (its own module: issue 21)

app.command(name="story")(_bad_input_exits_2(_story))


def main() -> None:
    """Entry point: run the app and turn any outcome-gym error into exit code 2."""
    try:
        app()
    except OutcomeGymError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
