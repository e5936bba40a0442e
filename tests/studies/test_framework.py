"""The study framework: finding studies, study files, estimates, paired lifts, result folders, the
README table, the ``study`` command."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from outcome_gym.analysis.stats import holm
from outcome_gym.cli import app
from outcome_gym.errors import StudyFileError
from outcome_gym.metrics.flat import flatten
from outcome_gym.report.study import collect, render, write_study
from outcome_gym.runner import run
from outcome_gym.studies import (
    Estimate,
    Fact,
    StudyResult,
    default_params,
    load_study_file,
    resolve,
    study_module,
    study_names,
)
from outcome_gym.studies.base import EMERGENT, MECHANISM, holm_across_studies, holm_within_facts
from outcome_gym.studies.common import lift
from outcome_gym.studies.runs import Job, job_scenario, run_jobs
from tests.conftest import REPO
from tests.studies import STUDIES_DIR

TINY = str(REPO / "tests" / "fixtures" / "tiny.yaml")


def test_estimate_is_mean_with_student_t_interval():
    # values 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.3027 -> half-width 4.3027 / sqrt(3) = 2.4841
    est = Estimate.of([1.0, 2.0, 3.0, math.nan])
    assert est.n == 3 and est.mean == 2.0
    assert est.low == pytest.approx(2.0 - 2.4841, abs=1e-4)
    assert est.high == pytest.approx(2.0 + 2.4841, abs=1e-4)
    assert Estimate.of([]).n == 0 and math.isnan(Estimate.of([]).mean)
    assert Estimate.of([0.1]).text() == "+10.0%"


L = {"label": MECHANISM, "label_why": "one equation"}


def test_fact_refuses_unknown_status_and_a_missing_label():
    with pytest.raises(ValueError, match="status"):
        Fact("1 trap", "x", "lit", "crit", "produced", status="maybe", **L)
    with pytest.raises(ValueError, match="label one of"):
        Fact("1 trap", "x", "lit", "crit", "produced", status="pass")
    with pytest.raises(ValueError, match="label_why"):
        Fact("1 trap", "x", "lit", "crit", "produced", status="pass", label=EMERGENT)


def test_holm_adjusts_by_hand():
    # sorted p 0.01, 0.03, 0.04 (m = 3): 0.01*3 = 0.03; 0.03*2 = 0.06; 0.04*1 = 0.04 -> kept
    # monotone at 0.06; NaN stays NaN and does not count in m
    assert holm([0.04, 0.01, math.nan, 0.03]) == pytest.approx([0.06, 0.03, math.nan, 0.06],
                                                                nan_ok=True)
    assert holm([0.9, 0.8]) == [1.0, 1.0]  # capped at 1
    assert holm([]) == []


def test_t_p_value_from_an_interval_equals_the_t_test():
    from scipy.stats import ttest_1samp

    v = np.array([0.3, 1.1, 0.2, 0.9, 0.6])
    est = Estimate.of(v)
    assert est.p_value() == pytest.approx(ttest_1samp(v, 0.0).pvalue, rel=1e-9)
    assert est.p_beyond(0.25, 1) == pytest.approx(ttest_1samp(v, 0.25).pvalue, rel=1e-9)
    assert est.p_beyond(0.25, -1) == 1.0  # the mean is not below 0.25: no evidence it is
    assert math.isnan(Estimate.of([1.0]).p_value())


def _fact(fact: str, status: str, **p: float) -> Fact:
    return Fact(fact, "s", "lit", "crit", "x", status, p_values=p, **L)


def test_holm_within_facts_demotes_a_pass_that_does_not_survive():
    facts = [_fact("1 trap", "pass", a=0.02), _fact("1 trap: rho", "pass", a=0.001, b=0.03),
             _fact("2 other", "pass", a=0.04), _fact("1 trap", "fail", a=0.5),
             _fact("1 trap", "pass")]
    out = holm_within_facts(facts)
    # fact 1's claims: row p = max of its claims -> 0.02, 0.03, 0.5 (the last row makes none);
    # Holm: 0.02*3 = 0.06, 0.03*2 = 0.06, 0.5*1 = 0.5
    assert out[0].p_holm == pytest.approx(0.06) and out[1].p_holm == pytest.approx(0.06)
    assert out[3].p_holm == pytest.approx(0.5) and out[4].p_holm is None
    assert out[2].p_holm == pytest.approx(0.04) and out[2].status == "pass"  # alone in fact 2
    assert [f.status for f in out] == ["partial", "partial", "pass", "fail", "pass"]
    assert "not after Holm's correction over the 3 rows of fact 1" in out[0].explanation
    assert facts[0].status == "pass"  # the input is not changed


def test_holm_across_studies_makes_one_family_of_a_fact_tested_by_two_studies():
    # study A corrects fact 4 alone (one row, p 0.02: passes); study B corrects its two rows of
    # fact 4 (p 0.01 and 0.03: Holm 0.01*2 = 0.02, 0.03*1 = 0.03, both pass). Across both
    # studies fact 4 has three rows: sorted 0.01, 0.02, 0.03 -> 0.01*3 = 0.03, 0.02*2 = 0.04,
    # 0.03*1 = 0.03, made monotone -> 0.03, 0.04, 0.04: all still pass.
    a = {**_fact("4 fewer", "pass", a=0.02).as_dict(), "study": "A"}
    b1 = {**_fact("4 fewer", "pass", a=0.01).as_dict(), "study": "B"}
    b2 = {**_fact("4 fewer", "pass", a=0.03).as_dict(), "study": "B"}
    alone = {**_fact("5 timing", "pass", a=0.04).as_dict(), "study": "B", "p_holm": 0.04}
    out = holm_across_studies([a, b1, b2, alone])
    assert [r["p_holm"] for r in out[:3]] == pytest.approx([0.04, 0.03, 0.04])
    assert [r["status"] for r in out] == ["pass"] * 4
    assert out[3] == alone  # a fact one study tests keeps its study's correction
    b2_late = {**_fact("4 fewer", "pass", a=0.06).as_dict(), "study": "B"}
    untested = {**_fact("4 fewer", "fail").as_dict(), "study": "B", "p": float("nan")}
    out = holm_across_studies([a, b1, b2_late, untested])
    # sorted 0.01, 0.02, 0.06 -> 0.03, 0.04, 0.06: the third row does not survive; a NaN p is
    # not one of Holm's m rows, and the note counts the same 3
    assert [r["status"] for r in out] == ["pass", "pass", "partial", "fail"]
    assert "over the 3 rows of fact 4" in out[2]["explanation"]
    # a row B demoted within its own two rows (0.03 and 0.04 -> Holm 0.06, 0.06) is re-judged
    # over all three: 0.02*3 = 0.06 -> still partial, with the note naming 3 rows
    demoted = holm_within_facts([_fact("4 fewer", "pass", a=0.03), _fact("4 fewer", "pass",
                                                                         a=0.04)])
    assert [f.status for f in demoted] == ["partial", "partial"]
    out = holm_across_studies([a] + [{**f.as_dict(), "study": "B"} for f in demoted])
    assert [r["status"] for r in out] == ["partial"] * 3
    assert all(r["explanation"].count("Significant alone") == 1 for r in out)
    assert "over the 3 rows of fact 4" in out[1]["explanation"]


def test_study_source_records_git_blob_hashes(tmp_path):
    import subprocess

    from outcome_gym.studies.source import blob_hash, study_source

    f = tmp_path / "x.py"
    f.write_text("print('hi')\n")
    (tmp_path / "x.yaml").write_text("params: {}\n")
    want = subprocess.run(["git", "hash-object", str(f)], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert blob_hash(f) == want
    src = study_source(f)
    assert [s["file"] for s in src] == ["x.py", "x.yaml"]
    assert src[0]["commit"] is None and src[0]["committed"] is False  # not in a git checkout
    trap = study_source(STUDIES_DIR / "trap.py")
    assert trap[0]["blob"] == blob_hash(STUDIES_DIR / "trap.py")


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "exp.yaml"
    p.write_text(text)
    return p


def test_experiment_file_errors_name_file_key_line_and_expectation(tmp_path):
    p = _write(tmp_path, "study: trap\nparams:\n  seeds: 10\n  sedes: 3\n  users: five\n")
    with pytest.raises(StudyFileError) as exc:
        load_study_file(p)
    text = str(exc.value)
    assert str(p) in text
    assert "params.sedes" in text and "seeds" in text  # the misspelling, with a suggestion
    assert "params.users" in text and ":5" in text  # file:line of the bad value
    p = _write(tmp_path, "study: trapp\n")
    with pytest.raises(StudyFileError, match=r"exp.yaml:1: study: no study 'trapp' .*did you mean 'trap'"):
        load_study_file(p)
    p = _write(tmp_path, "study: trap\nextra: 1\n")
    with pytest.raises(StudyFileError, match="extra"):
        load_study_file(p)
    p = _write(tmp_path, "params:\n  seeds: 3\n")
    with pytest.raises(StudyFileError, match="expected the study's name"):
        load_study_file(p)


def test_fast_overrides_apply_on_top_of_the_file(tmp_path):
    p = _write(tmp_path, "study: trap\nparams:\n  seeds: 12\n")
    study, params = load_study_file(p)
    assert study.NAME == "trap" and params.seeds == 12
    _, fast = load_study_file(p, fast=True)
    assert fast.users == 1500 and fast.seeds == 6
    assert resolve("trap")[1] == load_study_file(REPO / "experiments" / "studies" / "trap.yaml")[1]


def test_the_studies_folder_holds_the_twelve_studies():
    assert study_names(STUDIES_DIR) == ["adaptive", "crowdout", "crowdout_tasks", "fragmentation",
                                        "frontier",
                                        "mechanisms", "nudge", "timing", "trap", "trap_confirm",
                                        "volume", "volume_worlds"]


@pytest.mark.parametrize("name", study_names(STUDIES_DIR))
def test_every_study_file_matches_its_study_defaults(name):
    """experiments/studies/<study>.yaml is the full version: it must not drift from the code's
    defaults, and ``--fast`` on it gives the test-suite version."""
    path = STUDIES_DIR / f"{name}.yaml"
    study, params = load_study_file(path)
    assert name == study.NAME and study.__name__ == f"studies.{name}"  # type: ignore[attr-defined]
    assert params == study_module(name).Params()
    assert load_study_file(path, fast=True)[1] == default_params(name, fast=True)
    assert study.COMMAND.startswith(f"outcome-gym study {name}")


def test_runs_come_back_in_job_order_identical_with_and_without_a_pool():
    jobs = [Job(TINY, pol, seed, tag=pol) for pol in ("static", "random") for seed in (3, 1)]
    one = run_jobs(jobs, workers=1, keep=())
    two = run_jobs(jobs, workers=2, keep=())
    assert [r.job for r in one] == jobs == [r.job for r in two]
    assert [r.metrics for r in one] == [r.metrics for r in two]
    # each result is its own job's run, not merely the same mapping in both calls
    for r in one:
        sc = job_scenario(r.job)
        assert r.metrics == flatten(sc, run(sc, r.job.policy, r.job.seed).summary)


def test_lift_pairs_seed_by_seed():
    jobs = [Job(TINY, "static", s) for s in (0, 1, 2)]
    res = run_jobs(jobs, keep=())
    est, p = lift(res, res, lambda r: r.metrics["engagement.index"])
    assert est.mean == 0.0 and p == 1.0
    with pytest.raises(ValueError, match="same seeds"):
        lift(res, res[::-1], lambda r: r.metrics["engagement.index"])


def test_study_folder_and_readme_table(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    facts = [Fact("3 volume", "s", "lit", "crit", "+1%", "pass", label=EMERGENT,
                  label_why="several mechanisms", p_values={"up": 0.01}, p_holm=0.02),
             Fact("1 trap", "s", "lit a|b", "crit", "-2%", "fail", explanation="missing x", **L)]
    res = StudyResult(name="trap", title="T", command="cmd", params={"seeds": 2}, facts=facts,
                      tables={"arms": pd.DataFrame({"a": [1.5, np.nan], "b": ["x", "y"]})},
                      figures={"f": fig}, notes=["note"])
    out = write_study(res, tmp_path / "trap")
    assert sorted(p.name for p in out.iterdir()) == [".outcome-gym", "arms.csv", "facts.json",
                                                     "figures", "report.md"]
    data = json.loads((out / "facts.json").read_text())
    assert [f["status"] for f in data["facts"]] == ["pass", "fail"]
    assert (out / "figures" / "f.png").stat().st_size > 1000
    rows = collect(tmp_path)
    assert [r["fact"] for r in rows] == ["1 trap", "3 volume"]  # ordered by fact number
    text = render(rows, studies=study_names(STUDIES_DIR))
    assert "lit a\\|b" in text and "**fail**" in text and "missing x" in text
    assert ("Not yet run here: adaptive, crowdout, crowdout_tasks, fragmentation, frontier, "
            "mechanisms, nudge, "
            "timing, trap_confirm, volume, volume_worlds.") in text
    assert "Totals: 1 fail, 1 pass." in text
    assert "*emergent*: several mechanisms" in text and "| p=0.01 → Holm 0.02 |" in text
    assert ("By kind: emergent: 1 of 1 rows pass (1 distinct facts); mechanism check: 0 of 1 "
            "rows pass.") in text
    assert data["facts"][0]["p"] == 0.01 and data["facts"][1]["p"] is None


def test_cli_study_fast_end_to_end(tmp_path):
    result = CliRunner().invoke(app, ["study", "trap", "--fast", "--out", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    assert "trap: 1 trap [productivity_tool]" in result.output
    assert (tmp_path / "trap" / "report.md").exists()
    assert "| 1 trap | productivity_tool |" in (tmp_path / "README.md").read_text()


def test_cli_study_bad_input_exits_2(tmp_path):
    bad = _write(tmp_path, "study: trap\nparams:\n  seeds: 1\n")
    result = CliRunner().invoke(app, ["study", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "exp.yaml:3: params.seeds: expected a number >= 2, got 1" in result.output
    result = CliRunner().invoke(app, ["study", "tarp"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: study: no study 'tarp' in {STUDIES_DIR}; expected one of adaptive, crowdout, "
        "crowdout_tasks, fragmentation, frontier, mechanisms, nudge, timing, trap, trap_confirm, volume, "
        "volume_worlds (did you "
        "mean 'trap'?)"]


TOY = '''"""A toy study: its policy is defined here and must be rebuilt, by name, in spawn workers."""

from pathlib import Path

from outcome_gym.policies.baseline import StaticPolicy
from outcome_gym.studies.base import Fact, StudyResult
from outcome_gym.studies.common import group, metric, values
from outcome_gym.metrics.flat import flatten
from outcome_gym.runner import run
from outcome_gym.studies.runs import Job, job_scenario, run_jobs
from outcome_gym.studies.spec import StudyParams, params_dict

NAME = "toy"
TITLE = "A toy"
COMMAND = "outcome-gym study toy"
FAST = {"seeds": 2}
TINY = "%s"


class Still(StaticPolicy):
    """The static product under another name."""


class Params(StudyParams):
    """Parameters of the toy."""


def run(params, workers=1, progress=False, runs_dir=None):
    jobs = [Job(TINY, pol, s, tag=pol) for pol in ("static", f"{__name__}:Still")
            for s in params.seed_list()]
    res = group(run_jobs(jobs, workers=workers, runs_dir=runs_dir, keep=()))
    a, b = (values(res[(TINY, pol)], metric("engagement.index")) for pol in
            ("static", f"{__name__}:Still"))
    fact = Fact("0 toy", __name__, "lit", "crit", f"{a.tolist() == b.tolist()}", "pass",
                label="mechanism check", label_why="the same policy")
    return StudyResult(NAME, TITLE, COMMAND, params_dict(params), [fact])
'''


@pytest.fixture
def toy_folder(tmp_path: Path) -> Path:
    """A studies folder of its own, named like no other package (``<tmp>/toystudies_<n>``)."""
    d = tmp_path / f"toystudies_{tmp_path.name.replace('-', '_')}"
    d.mkdir()
    (d / "__init__.py").write_text("")
    (d / "toy.py").write_text(TOY % TINY)
    (d / "toy.yaml").write_text("description: the toy\nparams:\n  seeds: 3\n")
    return d


def test_a_study_elsewhere_runs_by_file_and_its_policies_run_in_spawn_workers(toy_folder, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["study", str(toy_folder / "toy.yaml"), "--workers", "2",
                                      "--out", str(out), "-q", "--no-readme"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "toy" / "facts.json").read_text())
    assert data["params"]["seeds"] == 3  # from the file beside the module
    assert data["facts"][0]["scope"] == f"{toy_folder.name}.toy"  # imported by its stable name
    assert data["facts"][0]["produced"] == "True"  # Still == static, run in a worker
    assert [s["file"] for s in data["source"]] == ["toy.py", "toy.yaml"]  # the files' hashes


def test_a_study_is_found_by_name_in_another_folder(toy_folder):
    mod, params = resolve("toy", directory=toy_folder)
    assert mod.NAME == "toy" and params.seeds == 3
    assert resolve("toy", fast=True, directory=toy_folder)[1].seeds == 2
    other = toy_folder.parent / "variant.yaml"
    other.write_text("study: toy\nparams:\n  seeds: 4\n")
    assert load_study_file(other, directory=toy_folder)[1].seeds == 4
    (toy_folder / "toy.yaml").write_text("study: trap\n")
    with pytest.raises(StudyFileError, match=r"toy.yaml:1: study: expected 'toy' \(the study beside"):
        resolve("toy", directory=toy_folder)


def test_a_module_that_is_not_a_study_is_refused(toy_folder):
    (toy_folder / "half.py").write_text("NAME = 'whole'\nTITLE = 't'\n")
    with pytest.raises(StudyFileError) as exc:
        study_module("half", toy_folder)
    text = str(exc.value)
    assert "half.py: expected a module-level 'COMMAND'" in text
    assert "expected NAME to be the file's stem 'half', got 'whole'" in text


def test_the_library_never_imports_a_study():
    imports = re.compile(r"^\s*(from|import)\s+studies\b|import_module\(\s*[\"']studies\.", re.M)
    for path in (REPO / "src" / "outcome_gym").rglob("*.py"):
        assert not imports.search(path.read_text()), path


def test_a_second_call_reuses_the_finished_run_folders(tmp_path):
    from outcome_gym.studies.runs import runs_cache

    runs = runs_cache(tmp_path)
    assert (runs / ".gitignore").read_text().endswith("*\n")
    jobs = [Job(TINY, "static", s, guardrails={"lock_core": False}) for s in (0, 1)]
    first = run_jobs(jobs, keep=("users",), runs_dir=runs)
    stamps = {p: p.stat().st_mtime_ns for p in runs.glob("*/summary.json")}
    assert len(stamps) == 2
    again = run_jobs(jobs, keep=("users",), runs_dir=runs)
    assert {p: p.stat().st_mtime_ns for p in runs.glob("*/summary.json")} == stamps
    assert [r.metrics for r in again] == [r.metrics for r in first]
    assert all(a.users.equals(b.users) for a, b in zip(first, again, strict=True))


def test_a_bad_policy_fails_before_any_run(tmp_path):
    from outcome_gym.errors import PolicySpecError

    with pytest.raises(PolicySpecError, match=r"unknown policy 'statik'.*Did you mean 'static'"):
        run_jobs([Job(TINY, "statik", 0)], runs_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_input_label_follows_the_claims_sign():
    """Rows about chasing engagement losing value: only a negative appeal-value correlation
    implies them; a positive one works against them (hand-worked: appeal 1, 2, 3 against value
    3, 2, 1 is r = -1; against 1, 2, 3 it is +1; against 1, 3, 2 it is +0.5, against 2, 1, 2
    it is 0)."""
    from types import SimpleNamespace

    from outcome_gym.studies.base import EMERGENT, INPUTS
    from outcome_gym.studies.common import input_label

    def world(values):
        els = [SimpleNamespace(pushed=False, appeal=float(a), value={"g": float(v)})
               for a, v in zip((1, 2, 3), values, strict=True)]
        return SimpleNamespace(product=SimpleNamespace(elements=els))

    assert input_label(world((3, 2, 1)))[0] == INPUTS
    label, why = input_label(world((1, 2, 3)))
    assert label == EMERGENT and "work against the claim" in why and "r=+1.00" in why
    assert input_label(world((1, 3, 2)))[0] == EMERGENT
    label, why = input_label(world((2, 1, 2)))
    assert label == EMERGENT and "not correlated (r=+0.00)" in why


@pytest.mark.parametrize(("r", "kind", "says"), [
    (-0.30, "inputs", "r=-0.30"), (-0.29, "emergent", "not correlated (r=-0.29)"),
    (0.29, "emergent", "not correlated (r=+0.29)"), (0.30, "emergent", "work against the claim"),
    (None, "emergent", "not correlated (r=undefined)")])
def test_input_label_threshold_is_inclusive_at_minus_0_3(monkeypatch, r, kind, says):
    """The kind switches at |r| = 0.3 (INPUT_CORRELATION), the boundary itself counting as
    correlated: -0.30 follows from inputs, -0.29 does not."""
    from types import SimpleNamespace

    from outcome_gym.studies import common
    from outcome_gym.studies.base import EMERGENT, INPUTS

    monkeypatch.setattr(common, "appeal_value_correlation", lambda _els: r)
    label, why = common.input_label(SimpleNamespace(product=SimpleNamespace(elements=[])))
    assert label == {"inputs": INPUTS, "emergent": EMERGENT}[kind]
    assert says in why
    flat, flat_why = common.input_label(SimpleNamespace(product=SimpleNamespace(elements=[])),
                                        flat_outcome=True)
    # a claim met by a flat outcome: uncorrelated inputs give it too, positive r works against it
    assert flat == (EMERGENT if r is not None and r >= 0.3 else INPUTS)
    if r is not None and -0.3 < r < 0.3:
        assert "no reason to move the outcome" in flat_why


def test_claim_p_is_one_when_the_estimate_lies_on_the_other_side():
    from outcome_gym.studies.base import Estimate
    from outcome_gym.studies.common import claim_p

    up = Estimate(0.2, 0.1, 0.3, 10)
    assert claim_p(up, 0.001, 1) == 0.001  # the claimed side: the paired test's own p
    assert claim_p(up, 0.001, -1) == 1.0  # significant the other way: no evidence for the claim
    assert claim_p(Estimate(float("nan"), float("nan"), float("nan"), 0), 0.5, 1) == 1.0
    assert claim_p(Estimate(0.0, -0.1, 0.1, 10), 1.0, -1) == 1.0
