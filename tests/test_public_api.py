"""The public API is explicit (``__all__``) and pinned: removing a name is a breaking change."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import outcome_gym
import outcome_gym.policies
import outcome_gym.scenario

EXPECTED = {
    "outcome_gym": {"ENV_IDS", "Comparison", "InputError", "OutcomeGymError", "PolicyError",
                    "PolicySpec", "RunResult", "Scenario", "__version__", "check_policy",
                    "compare", "load_scenario", "make_policy", "parse_policy", "register_policy",
                    "run"},
    "outcome_gym.scenario": {"Scenario", "bundled_scenarios", "dump_scenario", "load_scenario",
                             "parse_scenario", "primary_outcomes", "scenario_hash", "scenario_json_schema",
                             "scenario_to_dict", "validate_scenario"},
}


def test_exported_members():
    for module in (outcome_gym, outcome_gym.scenario):
        assert set(module.__all__) == EXPECTED[module.__name__]
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_policies_export_the_builtins():
    for name in ("Policy", "BasePolicy", "StaticPolicy", "RandomPolicy", "make", "names",
                 "register", "EpsilonGreedyPolicy", "ThompsonPolicy", "LinUCBPolicy"):
        assert name in outcome_gym.policies.__all__


def test_api_functions_keep_their_signatures():
    """No ``(*args, **kwargs)`` wrappers: help() and IDEs see the real parameters."""
    for name in ("compare", "run", "load_scenario", "check_policy", "make_policy"):
        params = inspect.signature(getattr(outcome_gym, name)).parameters
        kinds = {p.kind for p in params.values()}
        assert inspect.Parameter.VAR_POSITIONAL not in kinds, name
    assert "seeds" in inspect.signature(outcome_gym.compare).parameters


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300)


def test_import_registers_the_gymnasium_ids_and_keeps_the_start_method():
    res = _python("""
        import multiprocessing as mp
        before = mp.get_start_method(allow_none=True)
        import gymnasium as gym
        import outcome_gym
        import outcome_gym.env, outcome_gym.sim.model  # the modules that import Mesa
        assert mp.get_start_method(allow_none=True) == before, mp.get_start_method(True)
        gym.register_envs(outcome_gym)
        env = gym.make("outcome_gym/Personalization-v0")
        env.reset(seed=0)
        print("ok")
    """)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_a_script_without_main_guard_can_compare_with_workers(tmp_path):
    """Workers use an explicit spawn context; the user's start method and script are untouched."""
    from tests.conftest import TINY

    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f"""
        import multiprocessing as mp
        import outcome_gym
        cmp = outcome_gym.compare({str(TINY)!r}, ["static", "random"], seeds=2, workers=2)
        print(sorted(cmp.verdicts), mp.get_start_method(allow_none=True))
    """))
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["['random']", "None"]  # no start method was set for the user


def test_python_dash_m_runs_the_command_line():
    res = subprocess.run([sys.executable, "-m", "outcome_gym", "--version"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("outcome-gym ")


def test_run_accepts_a_scenario_a_bundled_name_or_a_path(monkeypatch):
    from outcome_gym import runner
    from outcome_gym.errors import ScenarioError
    from tests.conftest import TINY

    by_object = outcome_gym.run(outcome_gym.load_scenario(TINY), "random", seed=1)
    for source in (TINY, str(TINY)):
        by_path = outcome_gym.run(source, "random", seed=1)
        pd.testing.assert_frame_equal(by_path.steps, by_object.steps)
        assert by_path.manifest == by_object.manifest
    loaded = []

    def product_of(scenario, *args, **kwargs):  # stop after loading: a bundled run is long
        loaded.append(scenario.name)
        raise RuntimeError("loaded")

    monkeypatch.setattr(runner, "Product", product_of)
    with pytest.raises(RuntimeError, match="loaded"):
        outcome_gym.run("productivity_tool", "static")
    assert loaded == ["productivity_tool"]
    with pytest.raises(ScenarioError):
        outcome_gym.run("no_such_scenario")
