"""The one policy reference grammar and the one PolicySpec (policies/spec.py)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.errors import PolicyError, PolicySpecError
from outcome_gym.policies.spec import PolicySpec, parse_policy, split_policy_list
from tests.conftest import TINY


@pytest.mark.parametrize(("text", "policy", "params"), [
    ("static", "static", {}),
    ("random:keep_core=false,notify_prob=0.2", "random", {"keep_core": False, "notify_prob": 0.2}),
    ("outcome_bandit:levers=layout", "outcome_bandit", {"levers": "layout"}),
    ("my_pkg.policies:MyPolicy", "my_pkg.policies:MyPolicy", {}),
    ("my_module:make_policy", "my_module:make_policy", {}),
    ("my_pkg.policies:MyPolicy:alpha=1,name=x", "my_pkg.policies:MyPolicy", {"alpha": 1, "name": "x"}),
    ("rules:file=C:/rules.yaml", "rules", {"file": "C:/rules.yaml"}),
])
def test_one_grammar(text, policy, params):
    spec = parse_policy(text)
    assert (spec.policy, spec.params, spec.label) == (policy, params, text)
    assert spec == PolicySpec.model_validate(text)  # files and the command line agree


@pytest.mark.parametrize("text", ["random:keep_core", "static:", "random:=1"])
def test_malformed_text_is_a_policy_spec_error(text):
    with pytest.raises(PolicySpecError):
        parse_policy(text)


def test_unknown_parameter_names_the_valid_keys_and_the_closest():
    with pytest.raises(PolicySpecError) as info:
        parse_policy("outcome_bandit:lever=layout").check()
    message = str(info.value)
    assert "\n" not in message
    assert "takes no parameter 'lever'" in message
    assert "levers" in message and "epsilon" in message
    assert "did you mean 'levers'" in message
    assert isinstance(info.value, PolicyError)  # callers catching policy problems still do


def test_unknown_policy_suggests_a_close_name():
    with pytest.raises(PolicySpecError, match="Did you mean 'random'"):
        parse_policy("randon").check()


def test_display_and_build():
    spec = PolicySpec(policy="random", params={"keep_core": True})
    assert spec.display == "random:keep_core=True"
    assert PolicySpec(policy="random", label="R").display == "R"
    assert type(spec.build()).__name__ == "RandomPolicy"


def test_split_policy_list():
    assert split_policy_list("static,random:keep_core=true,notify_prob=0.1,epsilon_greedy") == [
        "static", "random:keep_core=true,notify_prob=0.1", "epsilon_greedy"]
    assert split_policy_list("static, random:keep_core=true;notify_prob=0.1") == [
        "static", "random:keep_core=true,notify_prob=0.1"]


def test_policy_file(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("policy: random\nparams: {keep_core: false}\n")
    spec = parse_policy(str(f))
    assert (spec.policy, spec.params, spec.label) == ("random", {"keep_core": False}, "mine")
    f.write_text("policy: random\nparms: {}\n")
    with pytest.raises(PolicySpecError, match=r"mine.yaml:2: parms: unknown key.*did you mean"):
        parse_policy(str(f))


@pytest.mark.parametrize("args", [
    ["run", str(TINY), "--policy", "outcome_bandit:lever=layout", "--quiet"],
    ["run", str(TINY), "--policy", "outcome_bandit", "-p", "lever=layout", "--quiet"],
    ["compare", str(TINY), "--policies", "static,outcome_bandit:lever=layout", "--seeds", "2"],
])
def test_cli_unknown_parameter_is_one_line_exit_2(args):
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "valid keys" in lines[0] and "Traceback" not in res.output
