"""compare(): paired runs, the report's numbers against summary.json and the tables, the CLI."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from outcome_gym import compare
from outcome_gym._io import safe_name
from outcome_gym.cli import app
from outcome_gym.errors import PolicyError, ResultsError
from outcome_gym.policies.spec import parse_policy
from tests.conftest import TINY, variant


@pytest.fixture(scope="module")
def cmp_small(tmp_path_factory, tiny):
    out = tmp_path_factory.mktemp("cmp")
    sc = variant(tiny, **{"population.size": 120})
    return compare(sc, ["static", "random:keep_core=false", "random"], seeds=4, workers=2,
                   out=out), out


def test_every_policy_runs_on_the_same_seeds(cmp_small):
    cmp, out = cmp_small
    assert sorted(cmp.runs.groupby("policy")["seed"].apply(tuple).unique()) == [(0, 1, 2, 3)]
    # every run in its run-id folder (named in runs.csv), with every table
    for row in cmp.runs.itertuples():
        folder = out / "runs" / row.run_id
        assert sorted(p.name for p in folder.iterdir()) == [
            "elements.parquet", "manifest.json", "positions.parquet", "steps.parquet",
            "summary.json", "users.parquet"]
    assert cmp.runs["run_id"].is_unique and len(cmp.runs) == 12


def test_report_numbers_match_summary_and_tables(cmp_small):
    _, out = cmp_small
    summary = json.loads((out / "summary.json").read_text())
    runs = pd.read_csv(out / "runs.csv")
    for label, by in summary["stats"].items():
        for metric, st in by.items():
            pol = runs.loc[runs["policy"] == label, metric].mean()
            ref = runs.loc[runs["policy"] == "static", metric].mean()
            assert st["pol_mean"] == pytest.approx(pol, rel=1e-9, abs=1e-12)
            assert st["ref_mean"] == pytest.approx(ref, rel=1e-9, abs=1e-12)
    # the per-run metric equals what the run's own summary.json says
    row = runs[(runs["policy"] == "random") & (runs["seed"] == 2)].iloc[0]
    run0 = json.loads((out / "runs" / row["run_id"] / "summary.json").read_text())
    assert row["outcome.on_time"] == pytest.approx(run0["outcomes"]["on_time"]["value"])
    md = (out / "report.md").read_text()
    for line in summary["headline"]:
        assert line in md
    # every lift printed in the markdown tables matches summary.json
    st = summary["stats"]["random"]["engagement.index"]
    assert f"{st['lift']:+.1%} [{st['lift_low']:+.1%}, {st['lift_high']:+.1%}]" in md
    # the verdict lines say which rule fired
    for v in summary["verdicts"].values():
        assert f"{v['verdict']} (rule {v['rule']}: " in md
    html = (out / "report.html").read_text()
    # every figure: the six of the report and one story per compared policy (who is harmed)
    assert html.count("data:image/png;base64,") == 6 + 2 and "<img" in html
    assert not re.search(r"src=['\"](?!data:)", html)  # self-contained: no external files
    for name in ("trap_quadrant", "engagement", "timeseries", "outcomes", "fragmentation",
                 "attention"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 5000


def test_table_and_verdicts(cmp_small):
    cmp, _ = cmp_small
    table = cmp.table()
    assert set(table["policy"]) == {"random:keep_core=false", "random"}
    assert {"engagement.index", "outcome.on_time", "fragmentation.layout_distance"} <= set(
        table["metric"])
    assert set(cmp.verdicts) == {"random:keep_core=false", "random"}
    frag = table[(table["metric"] == "fragmentation.layout_distance")]
    assert (frag["pol_mean"] > frag["ref_mean"]).all()


def test_policy_specs():
    spec = parse_policy("outcome_bandit:epsilon=0.05,granularity=segment")
    assert spec.policy == "outcome_bandit"
    assert spec.params == {"epsilon": 0.05, "granularity": "segment"}
    assert safe_name("../../etc/passwd") == "etc_passwd"
    with pytest.raises(PolicyError, match="key=value"):
        parse_policy("random:keep_core=true,notify")


def test_bad_policy_fails_before_any_run(tmp_path, tiny):
    with pytest.raises(PolicyError, match="Did you mean 'random'"):
        compare(tiny, ["static", "randon"], seeds=2, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_cli_compare(tmp_path):
    res = CliRunner().invoke(app, ["compare", str(TINY), "--policies",
                                   "static,random:keep_core=false,notify_prob=0.2", "--seeds", "3",
                                   "--out", str(tmp_path / "r"), "-q"])
    assert res.exit_code == 0, res.output
    assert "random:keep_core=false,notify_prob=0.2: engagement" in res.stdout
    assert (tmp_path / "r" / "report.html").exists()
    res = CliRunner().invoke(app, ["compare", str(TINY), "--policies", "static,nope", "-q"])
    assert res.exit_code != 0
    res = CliRunner().invoke(app, ["compare", str(TINY), "--backend", "local", "--address",
                                   "tcp://127.0.0.1:1", "-q"])
    assert res.exit_code == 2 and "--address needs --backend dask" in res.stderr


def test_a_second_compare_reuses_the_finished_runs(cmp_small, tiny, tmp_path):
    cmp, out = cmp_small
    again_out = tmp_path / "again"
    shutil.copytree(out, again_out)
    stamps = {p: p.stat().st_mtime_ns for p in (again_out / "runs").rglob("summary.json")}
    sc = variant(tiny, **{"population.size": 120})
    with pytest.raises(ResultsError, match="--overwrite"):  # an earlier comparison is kept ...
        compare(sc, ["static", "random"], seeds=[2, 3], out=again_out)
    again = compare(sc, ["static", "random"], seeds=[2, 3], out=again_out,  # ... unless told
                    overwrite=True)  # a subset of the runs: none runs again
    assert {p: p.stat().st_mtime_ns for p in (again_out / "runs").rglob("summary.json")} == stamps
    pd.testing.assert_frame_equal(
        again.runs.set_index(["policy", "seed"]),
        cmp.runs[cmp.runs["policy"].isin(["static", "random"]) & (cmp.runs["seed"] >= 2)]
        .set_index(["policy", "seed"]))


def test_a_failing_run_stops_the_comparison_with_its_error(tmp_path, tiny):
    from tests.sweeps.helpers import RAISE

    sc = variant(tiny, **{"population.size": 30, "clock.horizon_days": 2})
    bad = f"{RAISE}:fail_seed=1"
    with pytest.raises(PolicyError, match=r"1 of 4 run\(s\) failed; the first, .* seed 1: "
                                          r"PolicyError: .*boom at seed 1\n.*Traceback"):
        compare(sc, ["static", bad], seeds=2)
    with pytest.raises(PolicyError, match=r"boom at seed 1 \(traceback in .*failed.json\)"):
        compare(sc, ["static", bad], seeds=2, out=tmp_path / "o")


def test_inconclusive_verdicts_warn_with_the_seeds_needed(cmp_small):
    cmp, out = cmp_small
    md = (out / "report.md").read_text()
    inconclusive = [lab for lab, v in cmp.verdicts.items() if v.verdict == "inconclusive"]
    assert len(cmp.warnings) == len(inconclusive)
    for w in cmp.warnings:
        assert "a decision needs about" in w and w in md
    assert "by construction" not in md  # the old 'every verdict is no effect' warning is gone
    assert json.loads((out / "summary.json").read_text())["warnings"] == cmp.warnings
