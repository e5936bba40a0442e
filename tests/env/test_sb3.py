"""The ``sb3`` policy: a Stable-Baselines3 agent replayed through the runner (needs the rl extra)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from outcome_gym.env import make_flat_env
from outcome_gym.errors import PolicyError
from outcome_gym.policies import make
from outcome_gym.policies.normalization import (
    ObservationNormalizer,
    normalize_path,
    save_normalization,
)
from outcome_gym.runner import run
from outcome_gym.testing import check_policy
from tests.env.helpers import assert_same

N = 20


def test_importing_policies_and_making_sb3_does_not_import_torch():
    code = (
        "import sys\n"
        "from outcome_gym.policies import make, names\n"
        "p = make('sb3', model='agent.zip')\n"
        "assert 'sb3' in names()\n"
        "print('torch' in sys.modules, 'stable_baselines3' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.fixture(scope="module")
def agent():
    """An untrained PPO agent (random weights): enough to check the plumbing, not the learning."""
    sb3 = pytest.importorskip("stable_baselines3")
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    env = make_flat_env(population=N, horizon_days=2)
    return env, sb3.PPO("MlpPolicy", env, n_steps=64, batch_size=32, seed=0, device="cpu")


def _env_rollout(env, model, model_seed):
    obs, _ = env.reset(options={"model_seed": model_seed})
    infos, done = [], False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, _, terminated, truncated, info = env.step(action)
        infos.append(info)
        done = terminated or truncated
    return infos


def test_sb3_policy_in_the_runner_acts_exactly_as_the_agent_in_the_env(agent):
    from outcome_gym.policies.sb3 import SB3Policy

    env, model = agent
    infos = _env_rollout(env, model, model_seed=3)
    result = run(env.unwrapped.scenario, SB3Policy(model), seed=3)
    per_step = result.steps.drop(columns=["segment"]).groupby("step").sum()
    for name in ("sessions", "clicks", "opens", "delivered", "guardrail_core_restored",
                 "guardrail_quiet_slot", "layout_distance_sum"):
        assert np.allclose([i[name] for i in infos], per_step[name].to_numpy(), atol=1e-9), name
    assert result.manifest["policy"]["params"]["model"] == "PPO"
    again = run(env.unwrapped.scenario, SB3Policy(model), seed=3)
    assert_same(result.steps.to_dict("list"), again.steps.to_dict("list"))


def test_sb3_policy_loads_a_saved_model_by_registry_name(agent, tmp_path):
    env, model = agent
    path = tmp_path / "agent.zip"
    model.save(path)
    policy = make("sb3", model=str(path))
    a = run(env.unwrapped.scenario, policy, seed=1).steps
    b = run(env.unwrapped.scenario, make("sb3", model=model), seed=1).steps
    assert_same(a.to_dict("list"), b.to_dict("list"))


def test_sb3_policy_refuses_another_population_size(agent):
    from outcome_gym.policies.sb3 import SB3Policy

    env, model = agent
    # check_policy's first three checks (valid actions, determinism, churn) run at 60 users, so
    # only a 60-user agent gets that far; it then refuses the other sizes it cannot act for.
    sb3 = pytest.importorskip("stable_baselines3")
    env60 = make_flat_env(population=60, horizon_days=2)
    agent60 = sb3.PPO("MlpPolicy", env60, n_steps=64, batch_size=32, seed=0, device="cpu")
    with pytest.raises(PolicyError, match=r"population of 1 users needs"):
        check_policy(lambda: SB3Policy(agent60), env.unwrapped.scenario, steps=12)
    with pytest.raises(PolicyError, match=r"train on a population of the same size"):
        run(env60.unwrapped.scenario, SB3Policy(model), seed=0)


def test_sb3_policy_reports_a_missing_file_or_algorithm(agent, tmp_path):
    env, _ = agent
    with pytest.raises(PolicyError, match="no saved model"):
        run(env.unwrapped.scenario, make("sb3", model=str(tmp_path / "none.zip")), seed=0)
    (tmp_path / "x.zip").write_bytes(b"")
    with pytest.raises(PolicyError, match="unknown algorithm 'PPOO'"):
        run(env.unwrapped.scenario, make("sb3", model=str(tmp_path / "x.zip"), algorithm="PPOO"),
            seed=0)


@pytest.fixture(scope="module")
def summary_agent(tmp_path_factory):
    """An untrained PPO agent on the summary observation, trained one update behind VecNormalize
    (so the statistics are not the identity), saved with its statistics beside it."""
    sb3 = pytest.importorskip("stable_baselines3")
    torch = pytest.importorskip("torch")
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    kwargs = {"scenario": "finance_alerts", "per": "segment", "observation": "summary",
              "population": N, "horizon_days": 2}
    venv = VecNormalize(make_vec_env(make_flat_env, n_envs=2, seed=0, env_kwargs=kwargs))
    model = sb3.PPO("MlpPolicy", venv, n_steps=32, batch_size=32, seed=0, device="cpu")
    model.learn(64)
    venv.training = False
    folder = tmp_path_factory.mktemp("agent")
    model.save(folder / "agent.zip")
    save_normalization(venv, folder / "agent.zip")
    return make_flat_env(**kwargs), model, venv, folder / "agent.zip"


def test_sb3_policy_loads_vecnormalize_beside_the_model_and_acts_as_in_the_env(summary_agent):
    env, model, venv, path = summary_agent
    assert normalize_path(path) == path.with_name("agent.vecnormalize.json")
    assert not np.allclose(venv.obs_rms.mean, 0.0)  # the statistics moved in training
    obs, _ = env.reset(options={"model_seed": 5})
    infos, done = [], False
    while not done:
        action, _ = model.predict(venv.normalize_obs(obs), deterministic=True)
        obs, _, terminated, truncated, info = env.step(action)
        infos.append(info)
        done = terminated or truncated
    sc = env.unwrapped.scenario
    params = {"model": str(path), "per": "segment", "observation": "summary"}
    steps = run(sc, make("sb3", **params), seed=5).steps
    per_step = steps.drop(columns=["segment"]).groupby("step").sum()
    for name in ("sessions", "clicks", "opens", "delivered", "layout_distance_sum"):
        assert np.allclose([i[name] for i in infos], per_step[name].to_numpy(), atol=1e-9), name
    # without the statistics the same model is another policy (that is why they are loaded)
    raw = run(sc, make("sb3", normalize="none", **params), seed=5).steps
    explicit = run(sc, make("sb3", normalize=str(normalize_path(path)), **params), seed=5).steps
    assert_same(steps.to_dict("list"), explicit.to_dict("list"))
    assert not raw.equals(steps)


def test_saved_statistics_normalise_exactly_as_vecnormalize(summary_agent):
    """The JSON statistics reproduce SB3's own normalize_obs bit for bit (no pickle involved)."""
    env, _, venv, path = summary_agent
    stats = ObservationNormalizer.load(normalize_path(path))
    obs, _ = env.reset(options={"model_seed": 3})
    rng = np.random.default_rng(0)
    batch = np.vstack([obs, obs * 50.0, rng.normal(size=(4, obs.shape[0]))])  # some past the clip
    assert np.array_equal(stats(batch), venv.normalize_obs(batch))
    assert stats(batch).dtype == np.float32 and np.abs(stats(batch)).max() == venv.clip_obs


def test_statistics_files_other_than_ours_are_refused(tmp_path):
    pickled = tmp_path / "agent.vecnormalize.pkl"
    pickled.write_bytes(b"\x80\x04\x95 not json")
    with pytest.raises(PolicyError, match="is not a JSON file of normalisation statistics"):
        ObservationNormalizer.load(pickled)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"format": "other", "mean": [0], "var": [1]}')
    with pytest.raises(PolicyError, match="expected format"):
        ObservationNormalizer.load(wrong)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "outcome-gym/vecnormalize-obs/1", "mean": [0, 1], "var": [1],'
                   ' "epsilon": 1e-8, "clip_obs": 10}')
    with pytest.raises(PolicyError, match="lists of one length"):
        ObservationNormalizer.load(bad)


def test_sb3_policy_names_bad_normalize_and_observation(summary_agent, tmp_path):
    env, _, _, path = summary_agent
    sc = env.unwrapped.scenario
    with pytest.raises(PolicyError, match="no VecNormalize statistics at"):
        run(sc, make("sb3", model=str(path), per="segment", observation="summary",
                      normalize=str(tmp_path / "none.json")), seed=0)
    with pytest.raises(PolicyError, match="expected observation to be one of"):
        make("sb3", model=str(path), observation="pixels")
    with pytest.raises(PolicyError, match="expected per to be one of"):
        make("sb3", model=str(path), per="team")
    # a summary agent replayed on the flat observation is refused, not silently misread
    with pytest.raises(PolicyError, match="train on a population of the same size"):
        run(sc, make("sb3", model=str(path), per="segment"), seed=0)
