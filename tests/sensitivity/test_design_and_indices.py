"""Sampling and analysis plumbing on problems with a known answer (no simulation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from outcome_gym.sensitivity import (
    SensitivityInputError,
    all_indices,
    indices,
    load_ranges,
    resolve_factors,
    sample,
    verdict_shares,
)
from outcome_gym.sensitivity.design import check_size, min_seeds
from outcome_gym.sensitivity.indices import verdict_indicators

NAMES = ["open_base", "goal_utility", "residue", "susceptibility"]


def test_morris_finds_the_one_parameter_that_matters():
    # y = 3 * goal_utility: its elementary effect is 3 * (step in goal_utility) on every
    # trajectory, the others' effects are exactly 0, so mu*(goal_utility) > 0 = mu*(others)
    design = sample("morris", resolve_factors(NAMES), 10)
    assert design.points.shape == (10 * (len(NAMES) + 1), len(NAMES))
    y = 3.0 * design.points[:, 1]
    table = indices(design, y).set_index("parameter")
    assert table.index[0] == "goal_utility"
    # on a 4-level grid the step is 2/3 of the range [1, 4] (2 units: dy = 3 * 2 = 6); SALib divides
    # dy by the step in range units (2/3), so every effect is 6 / (2/3) = 9 = slope x range width
    assert table.loc["goal_utility", "mu_star"] == pytest.approx(9.0)
    assert table.loc["goal_utility", "sigma"] == pytest.approx(0.0, abs=1e-12)
    for other in ("open_base", "residue", "susceptibility"):
        assert table.loc[other, "mu_star"] == 0.0


def test_morris_sigma_flags_an_interaction():
    # y = open_base * residue: each one's effect depends on the other -> sigma > 0 for both,
    # while goal_utility and susceptibility stay at 0
    design = sample("morris", resolve_factors(NAMES), 10)
    table = indices(design, design.points[:, 0] * design.points[:, 2]).set_index("parameter")
    assert table.loc["open_base", "sigma"] > 0 and table.loc["residue", "sigma"] > 0
    assert table.loc["goal_utility", "mu_star"] == 0.0


def test_sobol_gives_the_whole_variance_to_the_parameter_that_matters():
    design = sample("sobol", resolve_factors(NAMES), 256)
    assert design.points.shape == (256 * (len(NAMES) + 2), len(NAMES))
    table = indices(design, design.points[:, 3] ** 2).set_index("parameter")
    assert table.loc["susceptibility", "ST"] == pytest.approx(1.0, abs=0.05)
    assert table.loc["susceptibility", "S1"] == pytest.approx(1.0, abs=0.1)
    assert table.loc[["open_base", "goal_utility", "residue"], "ST"].abs().max() < 0.01


def test_sampling_is_reproducible_and_rounds_integers():
    a = sample("morris", resolve_factors(["max_engagements", "open_base"]), 4)
    b = sample("morris", resolve_factors(["max_engagements", "open_base"]), 4)
    np.testing.assert_array_equal(a.points, b.points)
    assert np.all(a.points[:, 0] == np.rint(a.points[:, 0]))


def test_min_seeds_by_hand():
    # the sign-flip test's smallest p over n seeds is 2 / 2^n
    assert min_seeds(0) == 6 and min_seeds(1) == 6  # 2/64 = 0.031 < 0.05 <= 2/32
    assert min_seeds(3) == 7  # 0.05/3 = 0.0167: 2/128 = 0.0156 < 0.0167 <= 2/64


@pytest.mark.parametrize(("method", "size", "match"), [
    ("morris", 1, "at least 2 trajectories"),
    ("sobol", 12, "power of 2 and at least 8.*try 16"),
    ("sobol", 4, "power of 2 and at least 8.*try 8"),
    ("fast", 8, "expected method morris or sobol"),
])
def test_too_small_or_bad_sample_sizes_are_refused(method, size, match):
    with pytest.raises(SensitivityInputError, match=match):
        check_size(method, size, 3)


def test_bad_parameters_are_all_reported_with_suggestions():
    with pytest.raises(SensitivityInputError) as info:
        resolve_factors(["open_bse", "residue", "residue", "devices"])
    text = str(info.value)
    assert "did you mean 'open_base'" in text
    assert "named twice" in text
    assert "'devices' has no range" in text
    with pytest.raises(SensitivityInputError, match="at least 2 parameters"):
        resolve_factors(["residue"])


def test_a_range_outside_the_domain_is_refused():
    with pytest.raises(SensitivityInputError,
                       match=r"residue: range \[0.1, 1.5\] leaves .* domain \[0, 1\]"):
        resolve_factors(["residue", "open_base"], {"residue": (0.1, 1.5)})
    with pytest.raises(SensitivityInputError, match="factor of -1"):
        resolve_factors(["trust", "open_base"], {"trust": (-1.0, 1.0)})
    with pytest.raises(SensitivityInputError, match="not varied"):
        resolve_factors(["trust", "open_base"], {"residue": (0.1, 0.2)})


def test_ranges_file_problems_name_file_line_and_key(tmp_path):
    path = tmp_path / "ranges.yaml"
    path.write_text("residue: [0.1, 0.3]\nopen_bse: [-2, -1]\ngoal_utility: 3\n")
    with pytest.raises(SensitivityInputError) as info:
        load_ranges(path)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"{path}:2: open_bse: ") and "did you mean 'open_base'" in lines[0]
    assert lines[1].startswith(f"{path}:3: goal_utility: expected [low, high]")
    path.write_text("residue: [0.1, 0.3]\n")
    assert load_ranges(path) == {"residue": (0.1, 0.3)}


def test_verdict_shares_and_indicators():
    verdicts = pd.DataFrame({"point": [0, 1, 2, 3], "policy": ["p"] * 4,
                             "verdict": ["trap", "trap", "harm", "no effect"]})
    shares = verdict_shares(verdicts).set_index("verdict")["share"]
    assert shares["trap"] == 0.5 and shares["harm"] == 0.25 and shares["aligned"] == 0.0
    ind = verdict_indicators(verdicts)
    assert ind["verdict:trap"].tolist() == [1.0, 1.0, 0.0, 0.0]


def test_all_indices_leaves_out_undefined_and_constant_responses():
    design = sample("morris", resolve_factors(NAMES[:2]), 4)
    n = len(design.points)
    responses = pd.DataFrame({"point": range(n), "policy": "p",
                              "lift:a": design.points[:, 0], "lift:b": np.r_[np.nan, [1.0] * (n - 1)],
                              "lift:c": 1.0})
    table, notes = all_indices(design, responses)
    assert set(table["response"]) == {"lift:a"}
    assert any("lift:b: undefined" in m for m in notes)
    assert any("lift:c: the same at every point" in m for m in notes)
