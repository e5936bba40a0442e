"""Fact 1 across generated worlds, confirmatory (studies.trap_confirm): design and fast version.

The design is a power calculation written in the module before the first run; the tests check it
by hand-worked numbers and check that the committed YAML runs the design it states.

The fast version (``trap_confirm.FAST``: r = 0 only, 8 element draws x 1 seed, 1,500 users) on 10
other seed sets (``first_seed`` 1000, 1010, ..., 1090: ``python experiments/bounds.py
trap_confirm --sets 10``), min .. median .. max:

* engagement lift, engagement policy vs outcome policy: -0.42% .. +0.83% .. +1.38% (bounds
  -3% .. +3%); p 0.035 .. 0.23 .. 0.56 (status fail 9, pass 1: 8 replicates are far from the
  design's 67);
* primary outcome (on-time completions, professionals): -0.26% .. +0.16% .. +0.75% (bounds
  -3% .. +3%).

The bounds fail if the engagement bandit started winning (or losing) several percent of
engagement in a world whose appeal and value are unrelated, i.e. if the generated worlds or the
bandits changed what the pilot measured.
"""

from __future__ import annotations

import math

import pytest

from outcome_gym.studies import default_params, run_study, study_module
from outcome_gym.studies.spec import load_study_file
from tests.conftest import REPO
from tests.studies import STUDIES_DIR

confirm = study_module("trap_confirm", STUDIES_DIR)
trap = study_module("trap", STUDIES_DIR)


def test_power_matches_textbook_values():
    # G*Power (paired t, two-tailed, alpha 0.05): d = 0.5 needs 34 pairs (actual power 0.808;
    # 33 give 0.795); d = 0.8 needs 15 (0.821; 14 give 0.790)
    assert confirm.replicates_needed(0.5, 0.05) == 34
    assert confirm.power(34, 0.5, 0.05) == pytest.approx(0.808, abs=0.001)
    assert confirm.power(33, 0.5, 0.05) == pytest.approx(0.795, abs=0.001)
    assert confirm.replicates_needed(0.8, 0.05) == 15
    # d from a pilot p: t_{19}(0.975) = 2.093, so p = 0.05 over 20 pairs is d = 2.093 / sqrt(20)
    assert confirm.pilot_effect(0.05) == pytest.approx(2.093 / math.sqrt(20), abs=1e-3)


def test_the_design_is_the_power_calculation_and_the_yaml_runs_it():
    # fact 1 had 11 rows with significance claims; 4 bins make 15: 0.05 / 15
    assert confirm.design_alpha(4) == pytest.approx(0.05 / 15)
    d = min(confirm.pilot_effect(p) for p, _ in confirm.PILOT.values())
    assert d == pytest.approx(0.479, abs=5e-4)  # the r = -0.4 bin, the pilot's smallest
    n = confirm.design_replicates()
    assert n == 67
    assert confirm.power(n, d, 0.05 / 15) >= 0.80 > confirm.power(n - 1, d, 0.05 / 15)
    _mod, params = load_study_file(REPO / "experiments" / "studies" / "trap_confirm.yaml")
    assert params == confirm.Params()
    assert params.draws * params.seeds >= n
    assert sorted(params.correlations) == sorted(confirm.PILOT)


# the commit that last wrote results/trap/facts.json before the design: the pilot the design was
# sized from (a later re-run of the trap study may change that file; the design stays)
PILOT_COMMIT = "a8f0304c10c9fab7de19c29cdd293bd5ca7350fa"


def test_pilot_numbers_are_the_trap_studys_committed_rows():
    import json
    import subprocess

    done = subprocess.run(["git", "show", f"{PILOT_COMMIT}:results/trap/facts.json"], cwd=REPO,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip("needs the project's git history")
    facts = json.loads(done.stdout)["facts"]
    rows = {f["scope"]: f for f in facts if f["fact"] == "1 trap: generated worlds"}
    for r, (p_eng, p_out) in confirm.PILOT.items():
        row = rows[f"productivity_tool, generated elements r={r:+.1f}"]
        assert row["values"]["engagement_p"] == p_eng and row["values"]["outcome_p"] == p_out
        assert row["label"] == "emergent"
    assert sum(1 for f in facts if f["fact"].startswith("1") and f["p"] is not None) \
        == confirm.FACT1_ROWS_BEFORE


def test_draws_and_seeds_are_held_apart_from_the_pilot():
    pilot = trap.Params()
    params = confirm.Params()
    reps = params.replicates()
    draws, seeds = {d for d, _ in reps}, [s for _, s in reps]
    assert len(reps) == 67 and len(set(seeds)) == len(seeds)  # every replicate its own seed
    assert not draws & set(range(pilot.generated_worlds))
    assert not set(seeds) & set(pilot.seed_list())
    jobs = confirm.jobs(params)
    assert len(jobs) == 4 * 67 * 2
    first = dict(jobs[0].overrides)["product.generate"]
    assert first["seed"] == 1000 and first["correlation"] == -0.4


@pytest.fixture(scope="module")
def fast():
    return run_study("trap_confirm", default_params("trap_confirm", fast=True))


def test_fast_row(fast):
    (f,) = fast.facts
    assert f.fact == "1 trap: generated worlds, confirmatory"
    assert f.scope == "productivity_tool, generated elements r=+0.0"
    # uncorrelated elements: the trap's flat-outcome clause is what the inputs give (issue #14,
    # fourth pass: relabelled from emergent)
    assert f.label == "follows from inputs" and "no reason to move the outcome" in f.label_why
    assert "paired t p<0.05" in f.criterion
    assert "confirmatory" in f.criterion and "held apart" in f.criterion
    assert f.criterion.startswith("engagement index significantly up")
    assert -0.03 < f.values["engagement_lift"] < 0.03
    assert -0.03 < f.values["outcome_lift"] < 0.03
    assert set(f.p_values) == {"engagement up"}
    (row,) = fast.tables["bins"].to_dict("records")
    assert row["replicates"] == 8 and row["engagement_p"] == pytest.approx(f.p_values["engagement up"])
