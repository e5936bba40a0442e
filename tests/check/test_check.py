"""Contracts, expectations, baselines, outputs and exit codes of `outcome-gym check`."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from outcome_gym.check import load_contract, run_contract
from outcome_gym.check.baseline import fingerprint
from outcome_gym.cli import app
from outcome_gym.errors import ContractError
from outcome_gym.report.check import markdown_summary, write_junit, write_markdown_summary
from tests.conftest import TINY

runner = CliRunner()


def _contract(tmp_path, candidate="random", params=None, expectations=None, baseline=None,
              name="c"):
    doc = {
        "name": name, "scenarios": [str(TINY)], "population": 80, "horizon_days": 7,
        "seeds": {"count": 4, "first": 0},
        "candidate": {"policy": candidate, "params": params or {}},
        "reference": {"policy": "static"},
        "expectations": expectations or [{"kind": "verdict_not", "verdicts": ["harm"]}],
    }
    if baseline:
        doc["baseline"] = baseline
    path = tmp_path / f"{name}.yaml"
    path.write_text(json.dumps(doc))  # JSON is YAML
    return path


def test_bad_contract_reports_key_path_and_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nscenarios: [tiny]\ncandidate: {policy: static}\n"
                 "expectations:\n  - {kind: outcome_lift, outcom: on_time, min: 0}\n")
    with pytest.raises(ContractError, match=r"bad.yaml:5: expectations\[0\].outcom: unknown key"):
        load_contract(p)
    res = runner.invoke(app, ["check", str(p)])
    assert res.exit_code == 2


def test_contract_problems_are_contract_errors(tmp_path):
    from outcome_gym.errors import ScenarioError

    with pytest.raises(ContractError, match=r"nope\.yaml") as info:
        load_contract(tmp_path / "nope.yaml")  # unreadable: still named a contract problem
    assert not isinstance(info.value, ScenarioError)
    p = tmp_path / "typo.yaml"
    p.write_text("name: x\nscenarios: [tiny]\ncandidate: {policy: static}\nexpectation: []\n")
    with pytest.raises(ContractError, match=r"typo.yaml:4: expectation: .*did you mean "
                                            r"'expectations'"):
        load_contract(p)


def test_missing_policy_is_bad_input(tmp_path):
    res = runner.invoke(app, ["check", str(_contract(tmp_path, candidate="no_such_policy"))])
    assert res.exit_code == 2


def test_unknown_outcome_is_bad_input(tmp_path):
    p = _contract(tmp_path, expectations=[{"kind": "outcome_lift", "outcome": "on_tme", "min": 0}])
    res = runner.invoke(app, ["check", str(p)])
    assert res.exit_code == 2
    assert "expectations[0].outcome: contract 'c' names outcome 'on_tme'" in res.stderr
    assert "did you mean 'on_time'" in res.stderr


def test_expectations_pass_and_fail_with_sentences(tmp_path):
    p = _contract(tmp_path, params={"keep_core": False}, expectations=[
        {"kind": "core_consistency", "min": 0.99},
        {"kind": "guardrail_modifications", "guardrail": "core_restored", "max": 0},
        {"kind": "context_failure_rate", "max": 0.9},
        {"kind": "notifications_per_user_day", "max": 10},
        {"kind": "engagement_lift", "max": 5.0},
    ])
    contract, base = load_contract(p)
    rep = run_contract(contract, base)
    by = {r.expectation: r for r in rep.results}
    assert by["core consistency"].passed  # guardrails restore the core
    g = by["guardrail modifications (core_restored) per user"]
    assert not g.passed and "above the ceiling of 0" in g.message
    assert by["context-failure rate"].passed and by["notifications per user per day"].passed
    assert not rep.passed


def test_cli_exit_codes_junit_and_summary(tmp_path):
    ok = _contract(tmp_path, candidate="static", name="ok",
                   expectations=[{"kind": "verdict_not", "verdicts": ["trap", "harm"]},
                                 {"kind": "engagement_lift", "min": -0.01, "max": 0.01}])
    res = runner.invoke(app, ["check", str(ok), "--junit", str(tmp_path / "j.xml"),
                              "--summary", str(tmp_path / "s.md")])
    assert res.exit_code == 0, res.output
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "0"
    bad = _contract(tmp_path, params={"keep_core": False}, name="bad", expectations=[
        {"kind": "guardrail_modifications", "guardrail": "core_restored", "max": 0}])
    res = runner.invoke(app, ["check", str(bad), "--junit", str(tmp_path / "j2.xml"),
                              "--summary", str(tmp_path / "s2.md")])
    assert res.exit_code == 1
    assert "above the ceiling of 0" in res.stdout
    fail = ET.parse(tmp_path / "j2.xml").getroot().find("testsuite/testcase/failure")
    assert "above the ceiling" in fail.get("message")
    md = (tmp_path / "s2.md").read_text()
    assert "❌ bad" in md and "**FAIL**" in md and "What moved" in md


def test_baseline_exact_reproduction_and_fingerprint(tmp_path):
    # random harms tiny's 'practised' spec at 4 seeds (paired t, Holm): this test is about the
    # baseline, so its behavioural bound is one random meets (engagement within +-500%)
    p = _contract(tmp_path, candidate="random", baseline="base.json",
                  expectations=[{"kind": "engagement_lift", "min": -5.0, "max": 5.0}])
    assert runner.invoke(app, ["check", str(p), "--update-baseline"]).exit_code == 0
    res = runner.invoke(app, ["check", str(p)])
    assert res.exit_code == 0 and "exact reproduction" in res.stdout and "identical" in res.stdout
    # a behavioural change (different policy parameters, same contract hash edited in) is caught
    doc = json.loads((tmp_path / "base.json").read_text())
    m = doc["metrics"]["tiny"]["candidate"]
    m["engagement.clicks"] *= 1.001
    (tmp_path / "base.json").write_text(json.dumps(doc))
    res = runner.invoke(app, ["check", str(p)])
    assert res.exit_code == 1 and "no longer reproduce the baseline exactly" in res.stdout
    # another environment: said so, not failed
    doc["fingerprint"]["numpy"] = "0.0.1"
    (tmp_path / "base.json").write_text(json.dumps(doc))
    res = runner.invoke(app, ["check", str(p)])
    assert res.exit_code == 0
    assert f"numpy {fingerprint()['numpy']} here, 0.0.1 in the baseline" in res.stdout


def test_missing_baseline_is_bad_input(tmp_path):
    p = _contract(tmp_path, baseline="nope.json")
    res = runner.invoke(app, ["check", str(p)])
    assert res.exit_code == 2


def test_nan_never_passes():
    from outcome_gym.check.evaluate import _check_interval, _check_mean

    assert not _check_interval(float("nan"), 0.0, 1.0, 0.0, None, True, "x")[0]
    assert not _check_interval(None, None, None, None, 1.0, True, "x")[0]
    assert not _check_mean(float("nan"), None, 1.0, "x")[0]


def test_markdown_and_junit_writers_on_empty_report(tmp_path):
    write_junit([], tmp_path / "e.xml")
    assert ET.parse(tmp_path / "e.xml").getroot().tag == "testsuites"
    assert markdown_summary([]).startswith("# outcome-gym check")


def test_markdown_summary_escapes_cells_and_is_written_whole(tmp_path):
    from types import SimpleNamespace as Ns

    result = Ns(scenario="a|b", expectation="verdict_not", bound="harm", observed="trap",
                passed=False, message="verdict is trap")
    rep = Ns(contract=Ns(name="c"), passed=False, results=[result], baseline_note=None)
    text = markdown_summary([rep])
    assert "| scenario | expectation | bound | observed | result |\n|---|---|---|---|---|" in text
    assert "| a\\|b | verdict_not | harm | trap | **FAIL** |" in text
    path = write_markdown_summary([rep], tmp_path / "out" / "s.md")
    assert path.read_text() == text and sorted(p.name for p in path.parent.iterdir()) == ["s.md"]


def test_paths_a_contract_names_may_not_leave_its_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    p = _contract(tmp_path / "sub", baseline="../elsewhere.json")
    res = runner.invoke(app, ["check", str(p), "--dry-run"])
    assert res.exit_code == 2
    assert "baseline: expected a baseline file inside" in res.stderr
    assert not (tmp_path / "elsewhere.json").exists()
    doc = json.loads(p.read_text())
    doc.pop("baseline")
    doc["scenarios"] = ["../tiny.yaml"]
    p.write_text(json.dumps(doc))
    res = runner.invoke(app, ["validate", str(p)])
    assert res.exit_code == 2
    assert "scenarios[0]: expected a scenario file inside" in res.stderr


def test_a_contract_reads_a_rules_file_from_its_own_folder(tmp_path):
    from tests.conftest import FIXTURES

    (tmp_path / "rules.yaml").write_text((FIXTURES / "tiny_rules.yaml").read_text())
    p = _contract(tmp_path, candidate="rules", params={"rules": "rules.yaml"})
    contract, base = load_contract(p)
    report = run_contract(contract, base)  # run from any working directory
    assert [s.display for s in report.comparisons["tiny"].policies] == ["reference", "candidate"]
    assert report.comparisons["tiny"].policies[1].params["rules"]["name"] == "midweek_alerts"


def test_share_worse_off_clause(tmp_path):
    """'share of <segment> worse off on <spec> <= X' (docs/who-is-harmed.md): judged on the 95%
    interval across seeds, like every bound on a rate."""
    c, base = load_contract(_contract(tmp_path, expectations=[
        {"kind": "share_worse_off", "outcome": "on_time", "max": 0.0},  # random is not harmless
        {"kind": "share_worse_off", "outcome": "on_time", "max": 1.0},
        {"kind": "share_worse_off", "outcome": "engagement", "segment": "saver", "max": 1.0}]))
    rep = run_contract(c, base)
    strict, lax, eng = rep.results
    cmp = rep.comparisons["tiny"]
    t = cmp.harm.table()
    row = t[(t["policy"] == "candidate") & (t["metric"] == "outcome.on_time")
            & (t["segment"] == "worker") & (t["stat"] == "share_worse")].iloc[0]
    assert (strict.value, strict.low, strict.high) == (row["mean"], row["low"], row["high"])
    assert row["low"] > 0 and not strict.passed and "share of worker worse off on on_time" in \
        strict.message and "above the ceiling of 0.0%" in strict.message
    assert lax.passed and eng.passed and eng.expectation == "share of saver worse off on engagement"


@pytest.mark.parametrize("exp, message", [
    ({"outcome": "on_tme"}, "did you mean 'on_time'"),
    ({"outcome": "on_time", "segment": "saver"}, "for segments ['worker'], not 'saver'"),
])
def test_share_worse_off_names_what_exists(tmp_path, exp, message):
    from outcome_gym.check.evaluate import contract_scenarios

    c, base = load_contract(_contract(tmp_path, expectations=[
        {"kind": "share_worse_off", "max": 0.1, **exp}]))
    with pytest.raises(ContractError, match=re.escape(message)):
        contract_scenarios(c, base)
