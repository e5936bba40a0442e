"""Command-line habits: progress bars only on a tty, warnings on stderr, one --workers default."""

from __future__ import annotations

import sys

import pytest
import typer
from typer.testing import CliRunner

from outcome_gym import cli
from outcome_gym._pool import default_workers
from outcome_gym.cli import app
from tests.conftest import TINY

runner = CliRunner()
COMPARE = ["compare", str(TINY), "--seeds", "2", "--policies", "static,random", "--workers", "1"]


def test_no_progress_bar_when_stderr_is_not_a_tty():
    res = runner.invoke(app, COMPARE)
    assert res.exit_code == 0, res.output
    assert "run/s" not in res.stderr and "%|" not in res.stderr


def test_progress_forces_the_bar_and_no_progress_hides_it():
    res = runner.invoke(app, [*COMPARE, "--progress"])
    assert res.exit_code == 0, res.output
    assert "%|" in res.stderr
    res = runner.invoke(app, ["run", str(TINY), "--progress"])
    assert res.exit_code == 0 and "%|" in res.stderr
    assert "%|" not in res.stdout


@pytest.mark.parametrize(("flag", "quiet", "tty", "shown"), [
    (None, False, True, True), (None, False, False, False), (None, True, True, False),
    (True, True, False, True), (False, False, True, False)])
def test_show_progress(monkeypatch, flag, quiet, tty, shown):
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: tty, raising=False)
    assert cli._show_progress(flag, quiet) is shown


def test_compare_warning_goes_to_stderr_results_to_stdout():
    res = runner.invoke(app, COMPARE)
    assert res.exit_code == 0, res.output
    assert "warning: random: inconclusive with 2 seeds — a decision needs about" in res.stderr
    assert "warning" not in res.stdout and res.stdout.strip()


def test_one_workers_default_for_every_command(monkeypatch):
    seen = {}

    def fake_compare(*args, workers, **kwargs):
        seen["compare"] = workers
        raise cli.OutcomeGymError("stop")

    monkeypatch.setattr(sys.modules["outcome_gym.compare"], "compare", fake_compare)
    runner.invoke(app, ["compare", str(TINY)])
    assert seen["compare"] == default_workers()
    group = typer.main.get_command(app)
    for command in ("compare", "check", "sweep", "study"):
        (opt,) = [p for p in group.commands[command].params if p.name == "workers"]
        assert opt.default is None and "default: the CPUs available" in opt.help, command


def test_compare_refuses_fewer_than_two_seeds_before_any_run(tmp_path):
    res = runner.invoke(app, ["compare", str(TINY), "--seeds", "1", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "greater than or equal to 2" in res.output
    assert not (tmp_path / "o").exists()
    from outcome_gym import compare
    from outcome_gym.errors import PolicyError

    with pytest.raises(PolicyError, match="at least 2 seeds"):
        compare(TINY, ["static", "random"], seeds=[3], out=tmp_path / "p")
    assert not (tmp_path / "p").exists()
