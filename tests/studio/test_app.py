"""The studio page, driven headless through Streamlit's AppTest (no browser, no server)."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from outcome_gym.studio.launch import APP
from tests.studio.conftest import SMALL


@pytest.fixture
def page(tmp_path, monkeypatch):
    """A page opened on a small copy of the tiny world, its work folder in tmp_path."""
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    monkeypatch.setenv("OUTCOME_GYM_STUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OUTCOME_GYM_STUDIO_SCENARIO", str(scenario))

    def new() -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.run()
        assert not at.exception, at.exception
        return at

    return new


def _texts(at: AppTest) -> list[str]:
    return [e.value for e in (*at.success, *at.error, *at.warning, *at.info)]


def test_first_render_shows_the_scenario_checked(page):
    at = page()
    assert at.success[0].value.startswith("small: valid (checked in")
    assert [s.value for s in at.subheader][:4] == [
        "Elements", "Segments", "Outcome specs (one primary per target segment)", "Guardrails"]
    assert at.number_input(key="size-1").value == 60


def test_an_edit_is_checked_saved_and_survives_a_reload(page, tmp_path):
    at = page()
    next(c for c in at.checkbox if c.label == "Lock the core").uncheck().run()
    draft = tmp_path / "home" / "drafts" / "small.yaml"
    assert "lock_core: false" in draft.read_text()
    assert at.success[0].value.startswith("small: valid")
    again = page()  # a page reload is a new session: the draft comes back
    assert next(c for c in again.checkbox if c.label == "Lock the core").value is False


def test_bad_yaml_shows_the_clis_message_and_the_page_keeps_working(page, tmp_path):
    at = page()
    at.text_area(key="yaml-1").set_value("population: {size: -5}\n").run()
    at.button[[b.label for b in at.button].index("Apply YAML")].click().run()
    assert not at.exception
    assert any("problem(s) — the CLI would say" in t for t in _texts(at))
    assert any("population.size" in t for t in _texts(at))
    at.multiselect(key="policies").set_value(["random"]).run()
    assert at.button(key="run").disabled  # nothing runs on a scenario with problems
    # the designer's text is kept as a draft even though it is invalid
    draft = tmp_path / "home" / "drafts" / "small.yaml"
    assert draft.read_text() == "population: {size: -5}\n"
    at.sidebar.button[0].click().run()  # Discard my edits: back to the file as opened
    assert at.success[0].value.startswith("small: valid")
    assert not draft.exists()


def test_policy_parameter_forms_build_the_cli_spec(page):
    at = page()
    at.multiselect(key="policies").set_value(["outcome_bandit"]).run()
    at.text_input(key="param-outcome_bandit-levers").set_value("layout").run()
    runs = next(c.value for c in at.caption if c.value.startswith("Runs:"))
    assert "--policies outcome_bandit:levers=layout" in runs


def test_run_progress_and_the_verdict_table(page):
    at = page()
    at.multiselect(key="policies").set_value(["random"]).run()
    at.number_input(key="seeds").set_value(2).run()
    at.button(key="run").click().run()
    start = time.monotonic()
    while not any(t.startswith("Finished") for t in _texts(at)):
        assert time.monotonic() - start < 120, _texts(at)
        assert not at.error, _texts(at)
        time.sleep(0.5)
        at.run()
    tables = [d.value for d in at.dataframe]
    verdicts = next(t for t in tables if "verdict" in t.columns)
    assert list(verdicts["policy"]) == ["random"]
    assert verdicts["rule"].iloc[0] in {"inconclusive", "no-effect", "trap", "harm", "aligned",
                                        "quiet-win", "engagement-only", "engagement-loss",
                                        "harm-primary", "harm-secondary"}
    images = [e for e in at.tabs[2].children.values() if type(e).__name__ == "Image"]
    assert len(images) == 6  # the report's figures: trap quadrant, outcomes, ..., fragmentation


@pytest.mark.slow
def test_side_by_side_runs_both_variants(page):
    at = page()
    at.multiselect(key="policies").set_value(["random"]).run()
    at.number_input(key="seeds").set_value(2).run()
    variant = at.text_area(key="variant-b").value
    assert "lock_core: false" in variant  # B starts as A with the core lock flipped
    at.button(key="run-both").click().run()
    start = time.monotonic()
    while len(at.tabs[3].dataframe) < 2:  # each column shows its verdict table when finished
        assert time.monotonic() - start < 300, _texts(at)
        time.sleep(0.5)
        at.run()
    a, b = (t.value for t in at.tabs[3].dataframe)
    assert list(a["policy"]) == list(b["policy"]) == ["random"]
