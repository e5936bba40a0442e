"""The form tables <-> the scenario's data, worked on the tiny fixture by hand."""

from __future__ import annotations

import math

import yaml

from outcome_gym.studio import forms
from outcome_gym.studio.draft import check_text
from tests.conftest import TINY


def _data() -> dict:
    return yaml.safe_load(TINY.read_text())


def test_element_rows_carry_one_value_column_per_goal():
    data = _data()
    assert [c for c, _ in forms.columns("elements", data)][-3:] == [
        "value.work", "value.budget", "value.practice"]
    rows = forms.rows("elements", data)
    assert len(rows) == 8
    # tasks_list: {id: tasks_list, kind: workflow, appeal: 0.2, attention_cost: 2.0,
    #              value: {work: 0.6}, core: true}
    assert rows[1] == {"id": "tasks_list", "kind": "workflow", "appeal": 0.2,
                       "attention_cost": 2.0, "core": True, "channel": None,
                       "value.work": 0.6, "value.budget": None, "value.practice": None}


def test_an_edited_cell_changes_only_that_field_and_stays_valid():
    data = _data()
    rows = forms.rows("elements", data)
    rows[4]["appeal"] = 0.5            # feed: less bait
    rows[4]["value.practice"] = 0.2    # and a little value
    new = forms.with_rows("elements", data, rows)
    feed = new["product"]["elements"][4]
    assert feed == {"id": "feed", "kind": "content", "appeal": 0.5, "attention_cost": 4.0,
                    "value": {"practice": 0.2}}
    assert new["product"]["elements"][:4] == data["product"]["elements"][:4]
    assert check_text(forms.dump(new)).ok


def test_empty_cells_remove_fields_and_empty_rows_are_dropped():
    data = _data()
    rows = forms.rows("elements", data)
    rows[1]["value.work"] = math.nan    # the data editor's empty number
    rows.append({k: None for k in rows[0]})
    new = forms.with_rows("elements", data, rows)
    assert "value" not in new["product"]["elements"][1]
    assert len(new["product"]["elements"]) == 8


def test_yaml_cells_round_trip_distributions_and_lists():
    data = _data()
    rows = forms.rows("segments", data)
    assert rows[0]["attention_budget"] == \
        "{dist: lognormal, high: 120, low: 2, median: 20, sigma: 0.3}"
    assert rows[0]["goals"] == "[work, practice]"
    rows[1]["attention_budget"] = "{dist: lognormal, median: 9, sigma: 0.2, low: 1, high: 60}"
    new = forms.with_rows("segments", data, rows)
    seg = new["population"]["segments"][1]
    assert seg["attention_budget"] == {"dist": "lognormal", "median": 9, "sigma": 0.2,
                                     "low": 1, "high": 60}
    assert seg["availability"] == data["population"]["segments"][1]["availability"]  # kept
    assert check_text(forms.dump(new)).ok


def test_a_bad_cell_is_reported_by_the_clis_check_with_its_key_path():
    data = _data()
    rows = forms.rows("outcomes", data)
    rows[0]["threshold"] = -0.1
    checked = check_text(forms.dump(forms.with_rows("outcomes", data, rows)), file="s.yaml")
    assert not checked.ok
    assert any(line.startswith("s.yaml:") and "outcomes[0].threshold" in line
               for line in checked.at("outcomes"))
    assert checked.at("guardrails") == []


def test_schedule_integers_stay_integers():
    data = _data()
    rows = forms.rows("schedule", data)
    rows[1]["period_days"] = 14.0       # number inputs give floats
    new = forms.with_rows("schedule", data, rows)
    assert new["product"]["schedule"][1]["period_days"] == 14
    assert isinstance(new["product"]["schedule"][1]["period_days"], int)
    assert check_text(forms.dump(new)).ok


def test_guardrails_set_and_clear():
    data = _data()
    new = forms.with_guardrails(data, {"lock_core": False, "max_notifications_per_day": None,
                                       "quiet_slots": ["night", "morning"]})
    g = new["guardrails"]
    assert g["lock_core"] is False and "max_notifications_per_day" not in g
    assert g["quiet_slots"] == ["night", "morning"] and g["max_layout_distance"] == 0.8
    assert check_text(forms.dump(new)).ok


def test_policy_spec_keeps_only_changed_parameters():
    defaults = {"levers": "both", "epsilon": 0.1, "hold": "day"}
    assert forms.policy_spec("outcome_bandit", dict(defaults), defaults) == "outcome_bandit"
    assert forms.policy_spec("outcome_bandit", {**defaults, "levers": "layout"}, defaults) == \
        "outcome_bandit:levers=layout"
    assert forms.policy_spec("random", {"keep_core": False, "notify_prob": None},
                             {"keep_core": True, "notify_prob": None}) == "random:keep_core=false"
