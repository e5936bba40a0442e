"""Naming a policy runs only a policy; a dry run runs nothing (issue #20, docs/security.md).

Every reference below would create a sentinel file if it were ever called with its parameters.
Each is refused with exit 2 and one line naming it, through every command that names a policy,
and the sentinel never appears.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.errors import PolicySpecError
from outcome_gym.policies import make
from outcome_gym.policies.spec import parse_policy
from tests.conftest import REPO, TINY

runner = CliRunner()


@pytest.fixture
def sentinel(tmp_path, monkeypatch):
    """The sentinel's path, and a module on sys.path whose attribute is a plain function."""
    path = tmp_path / "PWNED"
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "og_evil_mod.py").write_text(textwrap.dedent("""
        from pathlib import Path

        def make_policy(path="", **kwargs):
            Path(path).write_text("called")
    """))
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    monkeypatch.chdir(tmp_path)  # the payloads name it relatively (a label holds 120 characters)
    yield path
    assert not path.exists(), "a refused policy reference was called"


def _refs(path: Path) -> dict[str, dict[str, object]]:
    """Reference -> parameters that would create ``path`` if the reference were called."""
    return {
        "os:system": {"command": f"touch {path.name}"},
        "subprocess:Popen": {"args": f"touch {path.name}", "shell": True},
        "builtins:exec": {"source": f"__import__('os').mknod('{path.name}')"},
        "og_evil_mod:make_policy": {"path": path.name},
    }


REFS = ["os:system", "subprocess:Popen", "builtins:exec", "og_evil_mod:make_policy"]


def _text(ref: str, params: dict[str, object]) -> str:
    return ref + ":" + ",".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}"
                                for k, v in params.items())


def _one_error_line(res, ref: str) -> str:
    lines = [x for x in res.stderr.splitlines() if x.strip()]
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    assert len(lines) == 1, res.stderr
    assert f"'{ref}'" in lines[0] and "resolves to" in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("ref", REFS)
def test_refused_before_it_is_called_in_python(sentinel, ref):
    params = _refs(sentinel)[ref]
    with pytest.raises(PolicySpecError, match="refused without calling it"):
        make(ref, **params)
    with pytest.raises(PolicySpecError, match="resolves to"):
        parse_policy({"policy": ref, "params": params}).build()


def test_what_it_resolved_to_is_named(sentinel):
    msg = {ref: str(parse_policy(ref).problems()[0][1]) for ref in REFS}
    assert "built-in function" in msg["os:system"] and "not a class" in msg["os:system"]
    assert "class subprocess.Popen, which has no reset() or act()" in msg["subprocess:Popen"]
    assert "built-in function builtins.exec" in msg["builtins:exec"]
    assert "function og_evil_mod.make_policy" in msg["og_evil_mod:make_policy"]


@pytest.mark.parametrize("ref", REFS)
def test_run_refuses(sentinel, ref):
    opts = [a for k, v in _refs(sentinel)[ref].items()
            for a in ("-p", f"{k}={str(v).lower() if isinstance(v, bool) else v}")]
    res = runner.invoke(app, ["run", str(TINY), "--policy", ref, *opts, "--quiet"])
    _one_error_line(res, ref)


@pytest.mark.parametrize("ref", REFS)
def test_compare_refuses(sentinel, tmp_path, ref):
    text = _text(ref, _refs(sentinel)[ref])
    res = runner.invoke(app, ["compare", str(TINY), "--policies", f"static,{text}", "--seeds", "2",
                              "--quiet", "--out", str(tmp_path / "cmp")])
    _one_error_line(res, ref)
    assert not (tmp_path / "cmp").exists()


def _sweep_file(tmp_path: Path, policy: object) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({
        "name": "t", "scenarios": [str(TINY)], "grid": {"population.size": [30]},
        "policies": ["static", policy], "seeds": {"count": 2}}, sort_keys=False))
    return path


@pytest.mark.parametrize("ref", REFS)
@pytest.mark.parametrize("dry", [True, False])
def test_sweep_refuses(sentinel, tmp_path, ref, dry):
    path = _sweep_file(tmp_path, {"policy": ref, "params": _refs(sentinel)[ref]})
    out = tmp_path / "out"
    res = runner.invoke(app, ["sweep", str(path), "--workers", "0", "--quiet", "--out", str(out),
                              *(["--dry-run"] if dry else [])])
    line = _one_error_line(res, ref)
    assert line.startswith(f"{path}:") and "policies[1]" in line  # file, line and key path
    assert not out.exists()


def _contract(tmp_path: Path, candidate: dict[str, object]) -> Path:
    path = tmp_path / "contract.yaml"
    path.write_text(json.dumps({
        "name": "c", "scenarios": [str(TINY)], "population": 40, "horizon_days": 2,
        "seeds": {"count": 2}, "candidate": candidate, "reference": {"policy": "static"},
        "expectations": [{"kind": "verdict_not", "verdicts": ["harm"]}]}))
    return path


@pytest.mark.parametrize("ref", REFS)
@pytest.mark.parametrize("dry", [True, False])
def test_check_refuses(sentinel, tmp_path, ref, dry):
    path = _contract(tmp_path, {"policy": ref, "params": _refs(sentinel)[ref]})
    junit = tmp_path / "junit.xml"
    res = runner.invoke(app, ["check", str(path), "--junit", str(junit),
                              *(["--dry-run"] if dry else [])])
    line = _one_error_line(res, ref)
    assert line.startswith(f"error: {path}:") and "candidate.policy" in line
    assert not junit.exists()


@pytest.mark.parametrize("ref", REFS)
def test_study_refuses(sentinel, tmp_path, ref):
    study = tmp_path / "my_trap.yaml"
    study.write_text(yaml.safe_dump({"study": "trap", "params": {
        "engagement_policy": _text(ref, _refs(sentinel)[ref])}}))
    res = runner.invoke(app, ["study", str(study), "--fast", "--quiet", "--no-readme",
                              "--out", str(tmp_path / "out"),
                              "--studies-dir", str(REPO / "experiments" / "studies")])
    _one_error_line(res, ref)
    assert not (tmp_path / "out" / "trap").exists()


@pytest.mark.parametrize("ref", REFS)
def test_validate_refuses_sweep_and_contract(sentinel, tmp_path, ref):
    params = _refs(sentinel)[ref]
    sweep = _sweep_file(tmp_path, {"policy": ref, "params": params})
    contract = _contract(tmp_path, {"policy": ref, "params": params})
    res = runner.invoke(app, ["validate", str(sweep), str(contract)])
    assert res.exit_code == 2
    assert f"{sweep}:" in res.stderr and f"{contract}:" in res.stderr


# ---- parameter values checked against the annotation, before anything runs ----

def test_run_refuses_a_value_of_the_wrong_type_in_one_line():
    res = runner.invoke(app, ["run", str(TINY), "--policy", "epsilon_greedy", "-p", "epsilon=abc",
                              "--quiet"])
    assert res.exit_code == 2
    [line] = [x for x in res.stderr.splitlines() if x.strip()]
    assert "parameter 'epsilon' expects float, got 'abc'" in line


def test_sweep_dry_run_names_file_line_and_key_of_a_bad_value(tmp_path):
    path = _sweep_file(tmp_path, {"policy": "epsilon_greedy", "params": {"epsilon": "abc"}})
    line_no = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "epsilon: abc" in t)
    res = runner.invoke(app, ["sweep", str(path), "--dry-run"])
    assert res.exit_code == 2
    [line] = [x for x in res.stderr.splitlines() if x.strip()]
    assert line.startswith(f"{path}:{line_no}: policies[1].params.epsilon: ")
    assert "expects float" in line


def test_contract_names_file_line_and_key_of_a_bad_value_or_name(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(f"name: c\nscenarios: [{TINY}]\ncandidate:\n  policy: random\n  params:\n"
                    "    keep_core: maybe\n    notify_prb: 0.1\n"
                    "expectations: [{kind: verdict_not}]\n")
    res = runner.invoke(app, ["check", str(path), "--dry-run"])
    assert res.exit_code == 2
    assert f"{path}:6: candidate.params.keep_core: " in res.stderr
    assert f"{path}:7: candidate.params.notify_prb: " in res.stderr
    assert "did you mean 'notify_prob'" in res.stderr


def test_a_valid_value_reaches_the_policy_as_written():
    spec = parse_policy("random:notify_prob=1")  # an int for a float | None: accepted, unchanged
    spec.check()
    policy = spec.build()
    assert policy.notify_prob == 1 and type(policy.notify_prob) is int


# ---- dry runs and validation call nothing ----

class _Tripwire:
    """A policy class whose constructor must not run in a dry run."""

    calls: ClassVar[list[str]] = []

    def __init__(self, x: float = 0.0) -> None:
        _Tripwire.calls.append("built")

    def reset(self, context, seed) -> None: ...

    def act(self, observation): ...


def test_dry_runs_and_validate_build_no_policy(tmp_path):
    ref = f"{__name__}:_Tripwire"
    sweep = _sweep_file(tmp_path, {"policy": ref, "params": {"x": 1.5}})
    contract = _contract(tmp_path, {"policy": ref, "params": {"x": 1.5}})
    _Tripwire.calls.clear()
    for args in (["sweep", str(sweep), "--dry-run"], ["check", str(contract), "--dry-run"],
                 ["validate", str(sweep), str(contract)], ["policies"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, (args, res.stderr)
    assert _Tripwire.calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contract.yaml", "exp.yaml"]


def test_check_dry_run_prints_the_plan(tmp_path):
    contract = _contract(tmp_path, {"policy": "random"})
    res = runner.invoke(app, ["check", str(contract), "--dry-run"])
    assert res.exit_code == 0, res.stderr
    assert "contract c: 1 scenario(s) x 2 policies x 2 seeds = 4 runs" in res.stdout
    assert "candidate: random" in res.stdout


@pytest.mark.parametrize(("name", "text", "kind"), [
    ("rules.yaml", (REPO / "tests" / "fixtures" / "tiny_rules.yaml").read_text(), "rules file"),
    ("exp.yaml", None, "sweep file"),
    ("contract.yaml", None, "contract file"),
])
def test_validate_detects_the_file_kind(tmp_path, name, text, kind):
    if name == "exp.yaml":
        path = _sweep_file(tmp_path, "random")
    elif name == "contract.yaml":
        path = _contract(tmp_path, {"policy": "random"})
    else:
        path = tmp_path / name
        path.write_text(text)
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith(f"{path}: valid {kind}")


def test_validate_study_file_and_forced_kind(tmp_path):
    res = runner.invoke(app, ["validate", str(REPO / "experiments" / "studies" / "trap.yaml")])
    assert res.exit_code == 0 and "valid study file (study trap)" in res.stdout
    res = runner.invoke(app, ["validate", "--kind", "scenario", str(_sweep_file(tmp_path, "random"))])
    assert res.exit_code == 2 and "unknown key" in res.stderr  # a sweep file is no scenario
