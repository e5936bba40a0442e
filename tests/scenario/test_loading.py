"""Good behaviour of the scenario loader: round trips, complete reports, lines and suggestions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from outcome_gym.errors import (
    OutcomeGymError,
    Problem,
    ScenarioError,
    ScenarioFileError,
    ScenarioValidationError,
)
from outcome_gym.scenario import (
    Scenario,
    bundled_scenarios,
    dump_scenario,
    load_scenario,
    parse_scenario,
    scenario_hash,
    scenario_to_dict,
    validate_scenario,
)
from outcome_gym.scenario.schema import (
    BudgetGoal,
    GuardrailThresholds,
    PracticeGoal,
    TasksGoal,
    UserModel,
)

from .helpers import FIXTURE, REPO, file_id, good_files, line_of, replace_once, tiny_data, tiny_text

GOOD = good_files()


def _problems(text: str) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, file="t.yaml")
    return info.value.problems


# --- good files load and round-trip -----------------------------------------------------------


@pytest.mark.parametrize("path", GOOD, ids=file_id)
def test_good_file_round_trips(path: Path) -> None:
    scenario = load_scenario(path)
    text = dump_scenario(scenario)
    again = parse_scenario(text, file="dumped.yaml")
    assert again == scenario
    assert dump_scenario(again) == text, "dumping is stable"
    assert scenario_hash(again) == scenario_hash(scenario)
    assert validate_scenario(scenario_to_dict(scenario)) == scenario


@pytest.mark.parametrize("path", GOOD, ids=file_id)
def test_dump_is_plain_yaml_with_every_section(path: Path) -> None:
    data = yaml.safe_load(dump_scenario(load_scenario(path)))
    assert set(data) == set(Scenario.model_fields)


def test_bundled_scenarios_load_by_name() -> None:
    for name, path in bundled_scenarios().items():
        assert load_scenario(name) == load_scenario(path)


def test_fixture_has_the_documented_shape() -> None:
    s = load_scenario(FIXTURE)
    assert s.name == "tiny"
    assert s.clock.n_steps == 14 * 4
    assert s.clock.names == ["morning", "afternoon", "evening", "night"]
    assert len(s.product.elements) == 8
    assert [seg.id for seg in s.population.segments] == ["worker", "saver"]
    assert [type(g) for g in s.goals] == [TasksGoal, BudgetGoal, PracticeGoal]
    assert sum(seg.share for seg in s.population.segments) == pytest.approx(1.0)
    assert s.element_index()["feed"] == 4
    assert s.segment_index() == {"worker": 0, "saver": 1}
    assert s.goal_index() == {"work": 0, "budget": 1, "practice": 2}


def test_defaults_fill_unwritten_sections() -> None:
    s = load_scenario(FIXTURE)
    assert s.user_model == UserModel()
    assert s.guardrails.thresholds == GuardrailThresholds()
    assert s.population.segments[1].habit_days.dist == "lognormal"  # a default distribution


def test_scenario_is_frozen() -> None:
    s = load_scenario(FIXTURE)
    with pytest.raises(ValidationError):
        s.name = "other"  # type: ignore[misc]


def test_python_data_validates_without_line_numbers() -> None:
    data = tiny_data()
    data["clock"]["horizon_days"] = 0
    with pytest.raises(ScenarioValidationError) as info:
        validate_scenario(data)
    (problem,) = info.value.problems
    assert problem.file == "<data>"
    assert problem.path == "clock.horizon_days"
    assert problem.line is None


# --- every problem in a file at once ----------------------------------------------------------


def test_three_independent_field_errors_give_three_problems() -> None:
    text = tiny_text()
    text = replace_once(text, "horizon_days: 14", "horizon_days: -1")
    text = replace_once(text, "miss_rate: 0.1", "miss_rate: 2")
    text = replace_once(
        text, "{id: feed, kind: content, appeal: 1.5,", "{id: feed, kind: content, appeal: .nan,"
    )
    problems = _problems(text)
    assert [p.path for p in problems] == [
        "clock.horizon_days",
        "product.elements[4].appeal",
        "instrumentation.events[1].miss_rate",
    ]


def test_three_independent_reference_errors_give_three_problems() -> None:
    text = tiny_text()
    text = replace_once(text, "lesson, feed, badges]", "lesson, feed, badges, sidebar]")
    text = replace_once(text, "segment: saver, goal: budget", "segment: savers, goal: budget")
    text = replace_once(text, "event: work.completed", "event: work.finished")
    problems = _problems(text)
    assert sorted(p.path for p in problems) == [
        "instrumentation.events[0].event",
        "outcomes[1].segment",
        "product.layout.default[6]",
    ]


def test_a_missing_section_and_unknown_keys_are_all_reported() -> None:
    data = tiny_data()
    del data["clock"]
    data["seed"] = 1
    data["population"]["segments"][0]["sharee"] = 0.6
    with pytest.raises(ScenarioValidationError) as info:
        validate_scenario(data)
    paths = {p.path for p in info.value.problems}
    assert paths == {"clock", "seed", "population.segments[0].sharee"}


def test_problems_from_one_file_all_name_it() -> None:
    problems = _problems("name: Bad\nclock: {horizon_days: 0}\n")
    assert len(problems) >= 4  # name, horizon_days, product, population
    assert all(p.file == "t.yaml" for p in problems)


# --- line numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "path", "needle"),
    [
        # a block-mapping value
        ("horizon_days: 14", "horizon_days: x", "clock.horizon_days", "horizon_days: x"),
        # a key inside a flow mapping in a list
        (
            "{id: feed, kind: content, appeal: 1.5,",
            "{id: feed, kind: content, appeal: x,",
            "product.elements[4].appeal",
            "appeal: x",
        ),
        # an item of a flow list
        (
            "slot: [0.4, 0.4, 0.8, 0.3]",
            "slot: [0.4, 0.4, 1.8, 0.3]",
            "population.segments[1].availability.slot[2]",
            "1.8",
        ),
        # a nested block mapping, deep down
        (
            "spend_ratio: {dist: normal, mean: 1.2, sd: 0.1,",
            "spend_ratio: {dist: normal, mean: 1.2, sd: -1,",
            "population.segments[1].goal_params.budget.spend_ratio.sd",
            "sd: -1",
        ),
        # an unknown key
        (
            "  max_notifications_per_day: 3\n",
            "  max_notifications_per_day: 3\n  maximum: 1\n",
            "guardrails.maximum",
            "maximum: 1",
        ),
        # a cross-check on a reference
        (
            "{element: spend_alert,",
            "{element: feed,",
            "product.schedule[1].element",
            "{element: feed,",
        ),
        # a model-level check blamed on its key
        (
            "  slot_names: [morning, afternoon, evening, night]\n",
            "  slot_names: [a, b]\n",
            "clock.slot_names",
            "slot_names: [a, b]",
        ),
    ],
)
def test_line_numbers_point_at_the_offending_line(
    old: str, new: str, path: str, needle: str
) -> None:
    text = replace_once(tiny_text(), old, new)
    problems = {p.path: p for p in _problems(text)}
    assert path in problems, list(problems)
    assert problems[path].line == line_of(text, needle)


def test_missing_key_points_at_its_parent() -> None:
    text = replace_once(tiny_text(), "      share: 0.4\n", "")
    (problem,) = _problems(text)
    assert problem.path == "population.segments[1].share"
    assert problem.line == line_of(text, "- id: saver")


def test_duplicate_key_points_at_the_second_one() -> None:
    text = replace_once(
        tiny_text(), "  slots_per_day: 4\n", "  slots_per_day: 4\n  slots_per_day: 2\n"
    )
    with pytest.raises(ScenarioFileError) as info:
        parse_scenario(text, file="t.yaml")
    (problem,) = info.value.problems
    assert problem.line == line_of(text, "slots_per_day: 2")
    assert f"(first on line {line_of(text, 'slots_per_day: 4')})" in problem.message


def test_syntax_error_points_at_its_line() -> None:
    text = "name: tiny\nclock:\n  horizon_days: [14\n  slots_per_day: 4\n"
    with pytest.raises(ScenarioFileError) as info:
        parse_scenario(text, file="t.yaml")
    assert info.value.problems[0].line == 4


# --- closest-key suggestions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "suggestion"),
    [
        ("population:\n", "populaton:\n", "population"),
        ("instrumentation:\n", "instrumentaton:\n", "instrumentation"),
        ("  slots_per_day: 4", "  slot_per_day: 4", "slots_per_day"),
        ("      background_per_day: 56", "      background_per_dya: 56", "background_per_day"),
        ("      goal_weight: 1.2", "      goal_wieght: 1.2", "goal_weight"),
        ("        weekday: [0.9,", "        weekdays: [0.9,", "weekday"),
        (
            "{dist: categorical, values: [1, 3, 5], probs:",
            "{dist: categorical, values: [1, 3, 5], prob:",
            "probs",
        ),
        ("sigma: 0.3", "sigm: 0.3", "sigma"),
        ("deadline_days: 2", "deadline_day: 2", "deadline_days"),
        ("act_by_day: 5", "act_by: 5", "act_by_day"),
        ("delay_steps: 2, miss_rate: 0.1", "delay_steps: 2, miss_rat: 0.1", "miss_rate"),
        ("  quiet_slots: [night]", "  quite_slots: [night]", "quiet_slots"),
        (
            "  colleague_share_per_day: 0.2",
            "  colleague_shares_per_day: 0.2",
            "colleague_share_per_day",
        ),
        ("kind: navigation", "kind: navigaton", "navigation"),
        ("dist: lognormal", "dist: log_normal", "lognormal"),
        ("kind: budget", "kind: budgett", "budget"),
    ],
)
def test_misspelling_suggests_the_closest_valid_key(old: str, new: str, suggestion: str) -> None:
    text = replace_once(tiny_text(), old, new)
    problems = _problems(text)
    assert suggestion in [p.suggestion for p in problems], [str(p) for p in problems]
    assert any(f"(did you mean '{suggestion}'?)" in str(p) for p in problems)


def test_user_model_key_is_suggested() -> None:
    text = tiny_text() + "user_model:\n  cascade_contnue: 0.5\n"
    (problem,) = _problems(text)
    assert problem.path == "user_model.cascade_contnue"
    assert problem.suggestion == "cascade_continue"


def test_no_suggestion_for_a_key_nothing_like_any_other() -> None:
    text = tiny_text() + "zzzqqq: 1\n"
    (problem,) = _problems(text)
    assert problem.suggestion is None
    assert "unknown key 'zzzqqq' (expected one of: clock," in problem.message


def test_unknown_key_lists_the_keys_of_the_right_goal_kind() -> None:
    text = replace_once(
        tiny_text(),
        "{kind: practice, id: practice, effort: 1.0}",
        "{kind: practice, id: practice, effort: 1.0, window_days: 3}",
    )
    (problem,) = _problems(text)
    assert (
        problem.message
        == "unknown key 'window_days' (expected one of: description, effort, id, kind)"
    )


# --- pinned messages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        (
            "horizon_days: 14",
            'horizon_days: "14"',
            r"t\.yaml:6: clock\.horizon_days: expected a whole number, got text '14'$",
        ),
        (
            "share: 0.4",
            "share: 1.4",
            r"population\.segments\[1\]\.share: expected a number <= 1, got 1\.4",
        ),
        (
            "{id: feed,",
            "{id: 2feed,",
            r"product\.elements\[4\]\.id: expected an identifier \(lower-case letters, digits and '_', "
            r"starting with a letter, at most 48 characters\), got text '2feed'",
        ),
        (
            "event: work.completed",
            "event: work",
            r"instrumentation\.events\[0\]\.event: expected '<goal id>\.<event>' such as "
            r"'work\.completed', got text 'work'",
        ),
        (
            "attention_budget: 15",
            "attention_budget: {dist: lognormal, median: -3, sigma: 1}",
            r"population\.segments\[1\]\.attention_budget\.median: expected a number > 0, got -3",
        ),
        (
            "metric: adjusted_in_time",
            "metric: days_practised",
            r"outcomes\[1\]\.metric: expected one of \['adjusted_in_time', 'under_budget', 'overspend', "
            r"'time_to_adjust'\] for a budget goal, got 'days_practised'",
        ),
        (
            "period_days: 7, on_day: 6",
            "period_days: 7, on_day: 7",
            r"product\.schedule\[1\]\.on_day: expected on_day < period_days \(7\), got on_day=7",
        ),
        (
            "goal_weight: 0.8",
            "goal_weight: [0.8]",
            r"goal_weight: expected a number or a distribution mapping \(\{dist: \.\.\.\}\), got a list of 1",
        ),
    ],
)
def test_message_is_pinned(old: str, new: str, pattern: str) -> None:
    text = replace_once(tiny_text(), old, new)
    with pytest.raises(ScenarioValidationError, match=pattern):
        parse_scenario(text, file="t.yaml")


def test_error_hierarchy() -> None:
    assert issubclass(ScenarioFileError, ScenarioError)
    assert issubclass(ScenarioValidationError, ScenarioError)
    assert issubclass(ScenarioError, OutcomeGymError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError, match=r"nope\.yaml: file not found$"):
        load_scenario(tmp_path / "nope.yaml")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError, match="expected a file, got a directory"):
        load_scenario(tmp_path)


def test_unknown_bundled_name() -> None:
    with pytest.raises(ScenarioError, match="expected a scenario file or a bundled name"):
        load_scenario("no_such_scenario")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("", "expected a YAML mapping, got an empty file"),
        ("- a\n", "expected a YAML mapping at the top, got a list"),
        (
            "name: a\nname: b\n",
            "expected each key once, got duplicate key 'name' \\(first on line 1\\)",
        ),
        ("a: &x [*x]\n", "expected a tree, got a recursive alias"),
        ("a: [b\n", "expected valid YAML, got a syntax error"),
        ("1: a\n", "expected text keys, got int key '1' \\(quote it to make it text\\)"),
    ],
)
def test_file_level_message_is_pinned(text: str, pattern: str) -> None:
    with pytest.raises(ScenarioFileError, match=pattern):
        parse_scenario(text)


def test_problem_renders_as_one_greppable_line() -> None:
    p = Problem(file="s.yaml", path="a.b[0]", message="expected x, got y", line=3, suggestion="c")
    assert str(p) == "s.yaml:3: a.b[0]: expected x, got y (did you mean 'c'?)"
    assert str(Problem(file="s.yaml", path="", message="m")) == "s.yaml: m"
    assert "\n" not in str(Problem(file="s.yaml", path="a\nb", message="got 'x\ny'"))


def test_key_with_a_line_break_stays_on_one_line() -> None:
    problems = _problems(tiny_text() + '"bad\\nkey": 1\n')
    assert all("\n" not in str(p) for p in problems)


# --- the documentation's example is a valid scenario ------------------------------------------


def _yaml_blocks(markdown: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", markdown, flags=re.DOTALL)


def test_docs_complete_example_is_the_fixture() -> None:
    docs = (REPO / "docs" / "scenarios.md").read_text(encoding="utf-8")
    full = [b for b in _yaml_blocks(docs) if b.lstrip().startswith("name:")]
    assert full, "docs/scenarios.md has a complete example starting with 'name:'"
    for block in full:
        scenario = parse_scenario(block, file="docs/scenarios.md")
        assert {g.kind for g in scenario.goals} == {"tasks", "budget", "practice"}
    # The docs promise that the complete example is the fixture, annotated.
    assert parse_scenario(full[0]) == load_scenario(FIXTURE)


def test_docs_distribution_examples_are_valid() -> None:
    docs = (REPO / "docs" / "scenarios.md").read_text(encoding="utf-8")
    lines = [
        line.strip()
        for block in _yaml_blocks(docs)
        for line in block.splitlines()
        if line.strip().startswith("attention_budget:")
    ]
    assert len(lines) >= 6, "one example per distribution form plus a plain number"
    for line in lines:
        value = line.split("#", 1)[0].strip()
        text = replace_once(tiny_text(), "attention_budget: 15", value)
        parse_scenario(text, file="docs/scenarios.md")


def test_primary_outcomes_one_per_target_segment() -> None:
    from outcome_gym.scenario import primary_outcomes

    sc = load_scenario(FIXTURE)
    # worker has on_time (primary: true) and practised; saver's only spec is primary implicitly
    assert {seg: o.id for seg, o in primary_outcomes(sc).items()} == {"worker": "on_time",
                                                                      "saver": "adjusted"}
    for name in ("finance_alerts", "learning_habits", "productivity_tool"):
        bundled = load_scenario(name)
        assert set(primary_outcomes(bundled)) == {o.segment for o in bundled.outcomes}
    assert sc.verdict.engagement_margin == 0.02 and sc.verdict.alpha == 0.05
