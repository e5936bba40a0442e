"""The ``outcome-gym`` command line.

Exit codes: 0 success, 1 a finding (e.g. a failed check), 2 bad input (an invalid file, an unknown
policy). Problems go to stderr one per line; results and listings go to stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from outcome_gym import __version__
from outcome_gym.errors import OutcomeGymError, ScenarioError
from outcome_gym.scenario import bundled_scenarios, load_scenario, scenario_json_schema

app = typer.Typer(
    name="outcome-gym",
    help="Simulate what a personalization policy does to engagement, outcomes and coherence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_BAD_INPUT = 2


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


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (or bundled names).")],
) -> None:
    """Check scenario files; print one line per problem. Exit 0 if all are valid, 2 if not."""
    bad = 0
    for f in files:
        try:
            load_scenario(f)
        except ScenarioError as exc:
            bad += 1
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
        else:
            typer.echo(f"{f}: valid")
    if bad:
        typer.echo(f"{bad} of {len(files)} file(s) invalid", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def schema(
    indent: Annotated[int, typer.Option(help="JSON indentation.")] = 2,
) -> None:
    """Print the JSON Schema of scenario files (point your editor's YAML plugin at it)."""
    typer.echo(json.dumps(scenario_json_schema(), indent=indent))


@app.command()
def scenarios() -> None:
    """List the bundled scenarios with a one-line description."""
    for name, path in bundled_scenarios().items():
        try:
            desc = load_scenario(path).description.strip().splitlines()[0]
        except (ScenarioError, IndexError):
            desc = "(invalid or undescribed)"
        typer.echo(f"{name:<20} {desc}")


def main() -> None:
    """Entry point: run the app and turn any outcome-gym error into exit code 2."""
    try:
        app()
    except OutcomeGymError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
