"""`outcome-gym schema` prints a JSON Schema that standard validators (and editors) can use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.scenario import load_scenario, scenario_json_schema, scenario_to_dict

from .helpers import BAD_DIR, file_id, good_files, tiny_data

GOOD = good_files()


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema)


def _messages(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    return [e.message for e in validator.iter_errors(data)]


def test_output_is_a_valid_json_schema(schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "outcome-gym scenario"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"name", "clock", "product", "population"}


def test_output_equals_the_python_export(schema: dict[str, Any]) -> None:
    assert schema == json.loads(json.dumps(scenario_json_schema()))


def test_indent_option() -> None:
    result = CliRunner().invoke(app, ["schema", "--indent", "0"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == scenario_json_schema()


def test_schema_carries_descriptions_for_autocompletion(schema: dict[str, Any]) -> None:
    segment = schema["$defs"]["Segment"]["properties"]
    assert "Minutes of attention" in segment["attention_budget"]["description"]
    assert (
        schema["$defs"]["Clock"]["properties"]["horizon_days"]["description"] == "Days simulated."
    )
    # the tagged distribution mapping is advertised with its discriminator
    dist = [alt for alt in segment["attention_budget"]["anyOf"] if "oneOf" in alt]
    assert dist
    assert dist[0]["discriminator"]["propertyName"] == "dist"
    assert set(dist[0]["discriminator"]["mapping"]) == {
        "fixed",
        "uniform",
        "normal",
        "lognormal",
        "beta",
        "categorical",
    }


@pytest.mark.parametrize("path", GOOD, ids=file_id)
def test_schema_validates_good_file(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert _messages(validator, data) == []


@pytest.mark.parametrize("path", GOOD, ids=file_id)
def test_schema_validates_the_resolved_dump(
    validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    assert _messages(validator, scenario_to_dict(load_scenario(path))) == []


def test_schema_rejects_unknown_top_level_key(validator: jsonschema.Draft202012Validator) -> None:
    data = tiny_data()
    data["clok"] = {"horizon_days": 3}
    assert any("'clok' was unexpected" in m for m in _messages(validator, data))


def test_schema_rejects_unknown_nested_key(validator: jsonschema.Draft202012Validator) -> None:
    data = tiny_data()
    data["population"]["segments"][1]["attenton_budget"] = 15
    assert any("'attenton_budget' was unexpected" in m for m in _messages(validator, data))


def test_schema_rejects_wrong_type_and_range(validator: jsonschema.Draft202012Validator) -> None:
    data = tiny_data()
    data["clock"]["horizon_days"] = "fourteen"
    data["population"]["segments"][0]["share"] = 1.5
    messages = _messages(validator, data)
    assert any("'fourteen' is not of type 'integer'" in m for m in messages)
    assert any("1.5 is greater than the maximum of 1.0" in m for m in messages)


def test_schema_rejects_unknown_distribution(validator: jsonschema.Draft202012Validator) -> None:
    data = tiny_data()
    data["population"]["segments"][1]["attention_budget"] = {"dist": "poisson", "lam": 3}
    assert _messages(validator, data)


def test_schema_rejects_a_bad_identifier(validator: jsonschema.Draft202012Validator) -> None:
    data = tiny_data()
    data["product"]["elements"][0]["id"] = "Home Screen"
    assert _messages(validator, data)


@pytest.mark.parametrize(
    "name",
    ["unknown_key_top_level.yaml", "misspelled_key_in_segment.yaml", "type_string_for_int.yaml"],
)
def test_schema_rejects_bad_corpus_files_the_loader_rejects(
    validator: jsonschema.Draft202012Validator, name: str
) -> None:
    data = yaml.safe_load((BAD_DIR / name).read_text(encoding="utf-8"))
    assert _messages(validator, data)


def test_schema_command_in_a_subprocess() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "outcome_gym.cli", "schema"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    jsonschema.Draft202012Validator.check_schema(json.loads(proc.stdout))


REPO = Path(__file__).resolve().parents[2]
# every shipped file of each kind: the printed schema must accept it, and reject a stray key
SHIPPED = {
    "sweep": sorted((REPO / "experiments" / "sweeps").glob("*.yaml")),
    "contract": sorted((REPO / "examples" / "ci").glob("*contract*.yaml")),
    "rules": [REPO / "tests" / "fixtures" / "tiny_rules.yaml"],
    "study": sorted((REPO / "experiments" / "studies").glob("*.yaml")),
}


@pytest.mark.parametrize("kind", sorted(SHIPPED))
def test_schema_of_each_file_kind_accepts_the_shipped_files_and_rejects_a_stray_key(kind):
    result = CliRunner().invoke(app, ["schema", "--kind", kind])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] == f"outcome-gym {kind} file"
    validator = jsonschema.Draft202012Validator(schema)
    assert SHIPPED[kind], f"no shipped {kind} file found"
    for path in SHIPPED[kind]:
        data = yaml.safe_load(path.read_text())
        assert _messages(validator, data) == [], path
    assert _messages(validator, {**data, "stray_key": 1})


def test_schema_refuses_an_unknown_kind():
    result = CliRunner().invoke(app, ["schema", "--kind", "nope"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: --kind: expected one of scenario, sweep, contract, "
                                     "rules, study, got 'nope'")
