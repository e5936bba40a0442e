"""The provenance registry covers every user parameter, with valid ranges and real sources."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from outcome_gym.scenario import bundled_scenarios, load_scenario
from outcome_gym.scenario.distributions import LogNormal, sample_param
from outcome_gym.scenario.provenance import (
    DOC_END,
    DOC_START,
    ENTRIES,
    GUESS,
    REGISTRY,
    default_of,
    domain,
    in_domain,
    lookup,
    markdown_table,
    sampled_default,
    scale_param,
    schema_paths,
)
from outcome_gym.scenario.schema import ContextEvents, Segment, UserModel
from outcome_gym.sensitivity.design import check_corners, resolve_factors

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _source_keys() -> set[str]:
    """The keys of the source table in docs/model.md (``| key | citation | ...``)."""
    text = (DOCS / "model.md").read_text()
    table = text.split("| key | citation (calibration.md) |", 1)[1]
    keys = set()
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        for key in line.split("|")[1].split(","):
            keys.add(key.strip().rstrip("*"))
    return keys


def test_every_user_parameter_has_exactly_one_entry():
    paths = [e.path for e in ENTRIES]
    assert len(paths) == len(set(paths)), "a parameter is listed twice"
    assert set(paths) == set(schema_paths()), (
        f"missing: {sorted(set(schema_paths()) - set(paths))}; "
        f"not in the schema: {sorted(set(paths) - set(schema_paths()))}")
    # the three sections the issue names are all covered
    assert {f"user_model.{n}" for n in UserModel.model_fields} <= set(paths)
    assert {f"context.{n}" for n in ContextEvents.model_fields} <= set(paths)
    assert "population.segments.*.susceptibility" in paths
    assert "population.segments.*.goal_params" not in paths  # a mapping, not a Param
    assert len(REGISTRY) == len(ENTRIES), "two entries share a short name"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_range_is_inside_the_domain_and_contains_the_default(entry):
    if not entry.has_range:
        assert "not varied" in entry.note  # says why
        return
    assert entry.low < entry.high
    assert in_domain(entry, entry.low) and in_domain(entry, entry.high), domain(entry)
    assert entry.low <= sampled_default(entry) <= entry.high


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_source_is_a_documented_key_or_a_guess_with_a_note(entry):
    assert entry.source == GUESS or entry.source in _source_keys(), entry.source
    assert entry.note and "\n" not in entry.note


def test_defaults_are_read_from_the_schema_not_copied():
    assert default_of(lookup("open_base")) == UserModel().open_base
    assert default_of(lookup("context.base_failure")) == ContextEvents().base_failure
    hd = default_of(lookup("habit_days"))
    assert hd["median"] == Segment.model_fields["habit_days"].get_default(
        call_default_factory=True)["median"]
    assert default_of(lookup("attention_budget")) is None  # every scenario must give it


def test_lookup_suggests_the_closest_name():
    with pytest.raises(KeyError, match="did you mean 'open_base'"):
        lookup("open_bse")
    assert lookup("population.segments.*.trust") is lookup("trust")


def test_scale_param_by_hand():
    # lognormal median 66, low 18, high 254, times 0.5 -> median 33, low 9, high 127, sigma kept
    scaled = scale_param({"dist": "lognormal", "median": 66.0, "sigma": 0.65, "low": 18.0,
                          "high": 254.0}, 0.5)
    assert scaled == {"dist": "lognormal", "median": 33.0, "sigma": 0.65, "low": 9.0,
                      "high": 127.0}
    assert scale_param(0.7, 1.4) == pytest.approx(0.98)
    assert scale_param({"dist": "categorical", "values": [1.0, 2.0], "probs": [0.5, 0.5]},
                       1.5)["values"] == [1.5, 3.0]
    assert scale_param({"dist": "beta", "a": 2.0, "b": 3.0, "low": 0.3, "high": 1.5},
                       2.0) == {"dist": "beta", "a": 2.0, "b": 3.0, "low": 0.6, "high": 3.0}


def test_scaling_multiplies_every_users_value():
    """X' = f X exactly: the same draws, times the factor (the shape of the distribution kept)."""
    base = {"dist": "lognormal", "median": 25.0, "sigma": 0.4, "low": 3.0, "high": 120.0}
    a = sample_param(LogNormal(**base), np.random.default_rng(3), 1000)
    b = sample_param(LogNormal(**scale_param(base, 1.3)), np.random.default_rng(3), 1000)
    np.testing.assert_allclose(b, 1.3 * a, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(bundled_scenarios()))
def test_every_range_end_gives_a_valid_bundled_scenario(name):
    check_corners(load_scenario(name), resolve_factors(None))  # raises on an invalid end


def test_calibration_doc_holds_the_generated_table():
    text = (DOCS / "calibration.md").read_text()
    match = re.search(re.escape(DOC_START) + ".*?" + re.escape(DOC_END), text, re.S)
    assert match, "docs/calibration.md lacks the provenance table"
    assert match.group(0) == markdown_table(), (
        "docs/calibration.md's provenance table differs from the registry: regenerate it with "
        "outcome_gym.scenario.provenance.markdown_table()")
