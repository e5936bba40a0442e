"""``--json`` on run, compare, check and sweep: one strict JSON document on stdout, stable keys
(docs/json.md), warnings on stderr."""

from __future__ import annotations

import json
import math

from typer.testing import CliRunner

from outcome_gym.cli import app
from tests.conftest import TINY
from tests.sweeps.helpers import write_experiment

runner = CliRunner()


def _doc(args: list[str], exit_code: int = 0) -> dict:
    res = runner.invoke(app, args)
    assert res.exit_code == exit_code, res.output
    # strict JSON: NaN and infinities are written as null, never as bare tokens
    doc = json.loads(res.stdout, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert doc["format"] == 1
    return doc


def test_run_json_has_the_summary_and_nothing_else_on_stdout(tmp_path):
    doc = _doc(["run", str(TINY), "--policy", "random", "--seed", "3", "--json",
                "--out", str(tmp_path / "r")])
    assert sorted(doc) == ["format", "kind", "out", "params", "policy", "scenario", "seed",
                           "steps", "summary", "users"]
    assert (doc["kind"], doc["policy"], doc["seed"], doc["out"]) == ("run", "random", 3,
                                                                    str(tmp_path / "r"))
    written = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert doc["summary"]["overall"] == written["overall"]  # the same numbers as the folder


def test_compare_json_carries_verdicts_stats_and_warnings_go_to_stderr():
    res = runner.invoke(app, ["compare", str(TINY), "--policies", "static,random", "--seeds", "3",
                              "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert sorted(doc) == ["empty_segments", "format", "headline", "kind", "means", "metrics",
                           "out", "policies", "reference", "scenario", "seeds", "stats",
                           "verdict_settings", "verdicts", "warnings", "who_is_harmed"]
    # per-user effects ride along (docs/json.md); no placebo nor story without --out
    harm = doc["who_is_harmed"]
    assert sorted(harm) == ["effects", "margin", "placebo", "reference", "rules",
                            "skipped_specs", "stories"]
    assert harm["placebo"] is None and harm["stories"] == {} and harm["margin"] == 0.05
    worse = harm["effects"]["random"]["outcome.on_time"]["worker"]["share_worse"]
    assert worse["seeds"] == 3 and worse["low"] <= worse["mean"] <= worse["high"]
    v = doc["verdicts"]["random"]
    # 3 seeds of tiny do not decide the worker's and the saver's primaries (docs/verdicts.md)
    assert (v["verdict"], v["rule"]) == ("inconclusive", "inconclusive") and v["seeds_needed"] > 3
    assert doc["verdict_settings"] == {"engagement_margin": 0.02, "alpha": 0.05,
                                       "user_margin": 0.05}
    assert doc["seeds"] == [0, 1, 2] and doc["reference"] == "static"
    lift = doc["stats"]["random"]["engagement.index"]["lift"]
    assert isinstance(lift, float) and math.isfinite(lift)
    assert res.stderr.startswith("warning: random: inconclusive with 3 seeds")  # not in stdout
    assert doc["warnings"] and not any(h.startswith("warning") for h in doc["headline"])


def test_check_json_lists_each_contract_and_keeps_its_exit_code(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(json.dumps({
        "name": "c", "scenarios": [str(TINY)], "population": 60, "horizon_days": 4,
        "seeds": {"count": 3}, "candidate": {"policy": "random"},
        "expectations": [{"kind": "engagement_lift", "min": 5.0}]}))  # +500%: fails
    doc = _doc(["check", str(p), "--json"], exit_code=1)
    assert sorted(doc) == ["contracts", "format", "kind", "passed"]
    assert doc["passed"] is False
    (c,) = doc["contracts"]
    assert sorted(c) == ["baseline_note", "contract", "passed", "results"]
    assert c["results"][0]["passed"] is False and c["results"][0]["expectation"]


def test_sweep_json_counts_runs(tmp_path):
    exp = write_experiment(tmp_path / "exp.yaml")
    doc = _doc(["sweep", str(exp), "--out", str(tmp_path / "s"), "--workers", "0", "--json"])
    assert sorted(doc) == ["exit_code", "failed", "failures", "format", "kind", "name", "ok",
                           "out", "ran", "runs", "seconds", "skipped", "user_steps", "warnings"]
    assert (doc["runs"], doc["ok"], doc["failed"], doc["exit_code"]) == (2, 2, 0, 0)
