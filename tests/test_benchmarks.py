"""The benchmark scripts' own logic: what names the machine, and the zero-cost env the PPO
target's floor is measured on (benchmarks/bench_env.py, docs/performance.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from outcome_gym._registration import RECIPE_ID

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import _machine
import bench_env

# the first processor lacks "cache size", the second has it: only the first block is read
CPUINFO = """
processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 23
model\t\t: 1
model name\t: AMD EPYC
cpu MHz\t\t: 1996.249
flags\t\t: fpu model name

processor\t: 1
cpu family\t: 25
model\t\t: 17
model name\t: Another CPU
cache size\t: 512 KB
"""


def test_cpu_fields_reads_the_first_processor_only():
    assert _machine.cpu_fields(CPUINFO) == {
        "cpu family": "23", "model": "1", "model name": "AMD EPYC", "cpu MHz": "1996.249"}


def test_describe_and_the_yardstick_print_one_line_each():
    line = _machine.describe()
    assert line.startswith("CPU: ") and "CPUs" in line and "\n" not in line
    line = _machine.yardstick_line()
    assert line.startswith("yardstick: ") and "\n" not in line
    python_ns, draw_ns = _machine.yardstick()
    assert 0 < draw_ns < python_ns  # a draw is one C loop step, an iteration many bytecodes


@pytest.mark.filterwarnings("ignore:.*Box observation space:UserWarning")  # the id's own bounds
def test_the_zero_cost_env_has_the_recipe_ids_spaces_and_episode_length():
    real = gym.make(RECIPE_ID, population=20, horizon_days=2)
    length = bench_env.episode_length(real)
    assert length == 8  # 2 days of 4 slots
    env = bench_env.ZeroCostEnv(real, length)
    assert env.observation_space == real.observation_space
    assert env.action_space == real.action_space
    check_env(env, skip_render_check=True)
    first, _ = real.reset(seed=0)
    obs, _ = env.reset(seed=3)
    np.testing.assert_array_equal(obs, first)
    ends = []
    for _ in range(length):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert reward == 0.0 and not terminated and info == {}
        ends.append(truncated)
    assert ends == [False] * (length - 1) + [True]


@pytest.mark.parametrize("length", [1, 3])
def test_the_zero_cost_env_starts_each_episode_afresh(length):
    real = gym.make(RECIPE_ID, population=20, horizon_days=1)
    env = bench_env.ZeroCostEnv(real, length)
    for _ in range(2):
        env.reset()
        flags = [env.step(env.action_space.sample())[3] for _ in range(length)]
        assert flags == [False] * (length - 1) + [True]


def test_the_ppo_lines_print_both_medians_and_the_baseline_ratio(capsys):
    this = {"ppo": [70.0, 60.0, 80.0], "ppo_zero_cost": [40.0, 44.0, 42.0]}
    bench_env.print_ppo(20000, this, {"ppo": [140.0]})
    first, second = capsys.readouterr().out.splitlines()
    assert first == ("PPO 20000 steps (SB3 defaults, 1 torch thread, recipe id): 70.0 s "
                     "(median of 3: 70.0 60.0 80.0); baseline 140.0 s (2.00x)")
    assert second.endswith("removes): 42.0 s (median of 3: 40.0 44.0 42.0)")
