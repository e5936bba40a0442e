"""Checking a scenario's text as the CLI does, and keeping the designer's drafts."""

from __future__ import annotations

from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.studio.draft import Drafts, check_text, source_text
from tests.conftest import TINY


def test_valid_text_gives_the_scenario():
    checked = check_text(TINY.read_text())
    assert checked.ok and checked.scenario.name == "tiny" and checked.problems == []


def test_problems_are_the_lines_the_cli_prints(tmp_path):
    bad = TINY.read_text().replace("appeal: 1.5", "appeal: lots").replace(
        "lock_core: true", "lock_core: maybe")
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    checked = check_text(bad, file=str(path))
    cli = CliRunner().invoke(app, ["validate", str(path)])
    assert cli.exit_code == 2
    for problem in checked.problems:
        assert str(problem) in cli.stderr
    assert len(checked.problems) == 2
    assert checked.at("guardrails")[0].startswith(f"{path}:") and \
        "guardrails.lock_core" in checked.at("guardrails")[0]


def test_text_that_is_not_yaml_is_a_problem_not_an_exception():
    checked = check_text("name: [unclosed\n", file="x.yaml")
    assert not checked.ok and "x.yaml" in str(checked.problems[0])
    assert not check_text("just a sentence").ok


def test_drafts_survive_and_are_forgotten_on_discard(tmp_path):
    drafts = Drafts(tmp_path)
    assert drafts.load("tiny") is None
    drafts.save("tiny", "name: tiny\n")
    assert Drafts(tmp_path).load("tiny") == "name: tiny\n"  # a new page (reload) finds it
    assert drafts.path("../../etc/passwd").parent == tmp_path / "drafts"  # names made safe
    drafts.discard("tiny")
    assert drafts.load("tiny") is None


def test_source_text_of_a_bundled_name_and_a_file():
    text, name = source_text("finance_alerts")
    assert name == "finance_alerts" and "name: finance_alerts" in text
    text, name = source_text(str(TINY))
    assert name == "tiny" and text == TINY.read_text()
