"""The compiled session loop's cache (sim/_jit.py, issue #18): on disk, and in a user directory
when the package directory is read-only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sim import reference_engagement as ref_engagement

SRC = Path(__file__).resolve().parents[2] / "src"

# Steps a small run (sessions happen, so the kernel is called) and reports where numba cached it.
SCRIPT = r"""
import json, os, sys
import outcome_gym.sim._jit as jit
if sys.argv[1] == "pretend-read-only":  # root ignores file modes; pretend the package is read-only
    jit._writable = lambda directory: False
from outcome_gym.scenario import load_scenario
from outcome_gym.scenario.overrides import size_overrides, with_overrides
from outcome_gym.sim.mechanisms import engagement
from outcome_gym.sim.model import SimulationModel
sc = with_overrides(load_scenario("productivity_tool"), size_overrides(50, 1), file="<test>")
m = SimulationModel(sc, 0, mesa_agents=False)
while not m.done:
    m.advance(m.default_action())
import numba
d = engagement.engage_rows.dispatcher
print(json.dumps({"cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
                  "hits": sum(d.stats.cache_hits.values()),
                  "misses": sum(d.stats.cache_misses.values()),
                  "sessions": float(m.totals["sessions"].sum())}))
"""


def _run(pythonpath: Path, cache_home: Path, mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(pythonpath), XDG_CACHE_HOME=str(cache_home))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode], env=env, capture_output=True,
                          text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _copy_package(tmp_path: Path) -> Path:
    dest = tmp_path / "ro" / "outcome_gym"
    shutil.copytree(SRC / "outcome_gym", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest.parent


def _cached_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.suffix in (".nbi", ".nbc")]


def test_unwritable_package_caches_in_the_user_dir_and_reloads(tmp_path):
    root, cache_home = _copy_package(tmp_path), tmp_path / "cache"
    first = _run(root, cache_home, "pretend-read-only")
    user_dir = cache_home / "outcome_gym" / "numba"
    assert first["cache_dir"] == str(user_dir)
    assert first["sessions"] > 0 and first["misses"] >= 1  # compiled in this process
    assert _cached_files(user_dir), "compiled code was not cached in the user directory"
    assert not _cached_files(root), "nothing may be written into the package"
    second = _run(root, cache_home, "pretend-read-only")
    assert second["hits"] >= 1 and second["misses"] == 0  # loaded, not recompiled
    assert second["sessions"] == first["sessions"]


def test_writable_package_caches_next_to_the_source(tmp_path):
    root, cache_home = _copy_package(tmp_path), tmp_path / "cache"
    first = _run(root, cache_home, "as-is")
    assert first["cache_dir"] is None
    assert _cached_files(root / "outcome_gym" / "sim" / "mechanisms")
    assert not cache_home.exists() or not _cached_files(cache_home)
    assert _run(root, cache_home, "as-is")["misses"] == 0


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only directories")
def test_really_read_only_package(tmp_path):
    root, cache_home = _copy_package(tmp_path), tmp_path / "cache"
    for p in sorted(root.rglob("*"), reverse=True):
        p.chmod(p.stat().st_mode & ~0o222)
    try:
        out = _run(root, cache_home, "as-is")
        assert out["cache_dir"] == str(cache_home / "outcome_gym" / "numba")
        assert not _cached_files(root)
    finally:
        for p in root.rglob("*"):
            p.chmod(p.stat().st_mode | 0o200)


def _session_args(n: int, seed: int = 5):
    """run_sessions arguments for n users of 6 elements, 4 slots, 2 goals, with layout memory."""
    from dataclasses import replace as _replace

    import numpy as np

    from outcome_gym.scenario.schema import UserModel
    from outcome_gym.sim.mechanisms import engagement
    from outcome_gym.sim.params import params_of

    rng = np.random.default_rng(seed)
    um = params_of(UserModel(max_engagements=4)).choice
    inp = engagement.SessionInputs(
        layout=rng.integers(0, 6, (n, 4)).astype(np.int16),
        susceptibility=rng.random(n).astype(np.float32),
        goal_weight=rng.random(n).astype(np.float32),
        habit=rng.random((n, 6)).astype(np.float32),
        fatigue=(0.3 * rng.random(n)).astype(np.float32),
        need=rng.random((n, 2)),
        remaining=rng.random((n, 2)) * (rng.random((n, 2)) < 0.7),
        attention_left=(30 * rng.random(n)).astype(np.float32),
        residue=(0.2 * rng.random(n)).astype(np.float32),
    )
    inp = _replace(inp, expertise=rng.random((n, 4)), select_minutes=0.1 * rng.random((n, 4)))
    appeal, cost = rng.normal(size=6), 0.5 + rng.random(6)
    value = rng.random((6, 2)) * (rng.random((6, 2)) < 0.5)
    u = rng.random((n, 2 + 2 * um.max_engagements))
    return um, inp, appeal, cost, value, u


def _rows(inp, idx):
    """The session inputs of the users ``idx``."""
    import dataclasses

    return dataclasses.replace(inp, **{f.name: None if (v := getattr(inp, f.name)) is None
                                       else v[idx] for f in dataclasses.fields(inp)})


def _fields(out):
    """The arrays of a dataclass (SessionOutcome) or a named tuple (Engagement) by name."""
    import dataclasses

    if dataclasses.is_dataclass(out):
        return {f.name: getattr(out, f.name) for f in dataclasses.fields(out)}
    return out._asdict()


def test_compiled_rounds_equal_the_plain_python_rounds(monkeypatch):
    # the kernel is one function: compiled and interpreted it must give the same bits
    import numpy as np

    from outcome_gym.sim.mechanisms import engagement

    args = _session_args(300)
    compiled = _fields(engagement.run_sessions(*args))
    # the first side really ran compiled: a numba dispatcher with a compiled signature
    assert engagement.engage_rows._dispatcher is not engagement.engage_rows.py_func
    assert engagement.engage_rows.dispatcher.signatures
    monkeypatch.setattr(engagement.engage_rows, "_dispatcher",
                        engagement.engage_rows.py_func)
    plain = _fields(engagement.run_sessions(*args))
    assert compiled["clicks"].sum() > 100  # sessions happened
    for name, value in compiled.items():
        assert np.array_equal(value, plain[name]), name


def test_a_users_session_does_not_depend_on_the_other_users():
    # per-user common random numbers: user i's row is the same alone or among 300 others
    import numpy as np

    from outcome_gym.sim.mechanisms import engagement
    from outcome_gym.sim.mechanisms.engagement import SessionInputs

    um, inp, appeal, cost, value, u = _session_args(300)
    full = _fields(engagement.run_sessions(um, inp, appeal, cost, value, u))
    for i in (0, 17, 299):
        idx = np.array([i])
        one = _fields(engagement.run_sessions(um, _rows(inp, idx), appeal, cost, value, u[idx]))
        for name, value_one in one.items():
            if name in ("position_clicks", "position_views"):
                continue  # sums over users
            assert np.array_equal(value_one[0], full[name][i]), (i, name)
    assert isinstance(inp, SessionInputs)


FOOTPRINT = r"""
import json
from outcome_gym.scenario import load_scenario
from outcome_gym.sim import footprint
sc = load_scenario("productivity_tool")
cold = footprint.bytes_per_user(sc)  # the first step of this process: numba compiles here
footprint._MEASURED.clear()
print(json.dumps([cold, footprint.bytes_per_user(sc)]))
"""


def test_footprint_probe_does_not_count_the_compiler(tmp_path):
    # the probe measures its step under tracemalloc; compiling the kernel inside it made the
    # estimate ~10x too large (15 kB instead of 1.4 kB per user on the bench scenario)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(SRC), NUMBA_CACHE_DIR=str(tmp_path / "empty-cache"))
    proc = subprocess.run([sys.executable, "-c", FOOTPRINT], env=env, capture_output=True,
                          text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr
    cold, warm = json.loads(proc.stdout.strip().splitlines()[-1])
    assert cold == pytest.approx(warm, rel=0.05)


def test_the_compiled_function_pickles_by_name():
    # a model or a mechanism reference may cross to a worker process: it travels by name
    import pickle

    from outcome_gym.sim.mechanisms import engagement

    engagement.compile_kernel()
    assert pickle.loads(pickle.dumps(engagement.engage_rows)) is engagement.engage_rows


COMPILED = ("outcome_gym.sim.mechanisms.engagement:engage_rows",
            "outcome_gym.sim.mechanisms.engagement:commit_rows",
            "outcome_gym.sim.mechanisms.observation:signal_rows",
            "outcome_gym.sim.recording:record_rows",
            "outcome_gym.sim.layout:entropy_rows",
            "outcome_gym.product.guardrails:project_rows",
            "outcome_gym.sim.mechanisms.notifications:send_logit_rows",
            "outcome_gym.sim.mechanisms.notifications:deliver_rows",
            "outcome_gym.sim.mechanisms.sessions:rate_rows",
            "outcome_gym.sim.mechanisms.sessions:start_rows",
            "outcome_gym.sim.mechanisms.availability:available_rows",
            "outcome_gym.sim.mechanisms.outside:day_rows",
            "outcome_gym.sim.mechanisms.goals:tasks_need_rows",
            "outcome_gym.sim.mechanisms.goals:tasks_credit_rows",
            "outcome_gym.sim.mechanisms.goals:tasks_arrive_rows",
            "outcome_gym.sim.mechanisms.goals:budget_need_rows",
            "outcome_gym.sim.mechanisms.goals:budget_apply_rows",
            "outcome_gym.sim.mechanisms.goals:budget_day_rows",
            "outcome_gym.sim.mechanisms.goals:practice_need_rows",
            "outcome_gym.sim.mechanisms.goals:practice_apply_rows",
            "outcome_gym.sim.mechanisms.habits:habit_rows",
            "outcome_gym.sim.mechanisms.context:event_rows",
            "outcome_gym.sim.mechanisms.context:failure_rows",
            "outcome_gym.sim.daily:accumulate_rows",
            "outcome_gym.sim.daily:refresh_rows",
            "outcome_gym.sim.mechanisms.trust:experience_rows",
            "outcome_gym.sim.mechanisms.trust:odds_rows",
            "outcome_gym.sim.mechanisms.trust:churn_rows")
# compiled functions a run reaches only through the passes above (compiled into them: a caller
# loaded from the disk cache never compiles them on their own, so they may have no signature) or
# not at all (the teammate pass serves the matvec path and tests): run as plain Python too,
# unchecked
CALLEES = ("outcome_gym.sim.mechanisms.focus:residue_after",
           "outcome_gym.sim.mechanisms.engagement:depth_of",
           "outcome_gym.sim.mechanisms.engagement:_weight",
           # the engagement step's passes (engage_rows, commit_rows) copy these in
           "outcome_gym.sim.mechanisms.memory:expertise_rows",
           "outcome_gym.sim.mechanisms.memory:selection_rows",
           "outcome_gym.sim.mechanisms.memory:learn_rows",
           "outcome_gym.sim.mechanisms.notifications:trust_rows",
           # the notification step's send_logit_rows and deliver_rows copy these in
           "outcome_gym.sim.mechanisms.notifications:send_rows",
           "outcome_gym.sim.mechanisms.notifications:logit_rows",
           "outcome_gym.sim.mechanisms.notifications:offset_rows",
           "outcome_gym.sim.mechanisms.notifications:tray_rows",
           "outcome_gym.sim.mechanisms.notifications:settle_rows",
           # a tasks goal's credit pass (tasks_credit_rows) copies these in
           "outcome_gym.sim.mechanisms.goals:tasks_apply_rows",
           "outcome_gym.sim.mechanisms.goals:tasks_end_rows",
           "outcome_gym.sim.mechanisms.outside:minutes_of",
           "outcome_gym.sim.mechanisms.outside:credit_of",
           # not reached by a run: the numpy-shaped functions' passes (outside_minutes,
           # outside_credit), for their callers and tests
           "outcome_gym.sim.mechanisms.outside:minutes_rows",
           "outcome_gym.sim.mechanisms.outside:credit_rows",
           "outcome_gym.sim.mechanisms.focus:attention_after",
           "outcome_gym.sim.network:colleague_of",
           "outcome_gym.sim.network:colleague_rows",
           "outcome_gym.sim.layout:row_distance",
           # the recorder's pass calls these (sample_blocks also from Python, when a sample
           # taken without its numbers needs them after all)
           "outcome_gym.sim.recording:metric_rows",
           "outcome_gym.sim.recording:stack_rows",
           "outcome_gym.sim.recording:block_sums",
           "outcome_gym.sim.layout:sample_blocks",
           "outcome_gym.sim.layout:distinct_rows",
           "outcome_gym.sim.layout:consistent_rows",
           "outcome_gym.sim.layout:distance_rows",
           "outcome_gym.sim.mechanisms.observation:pipe_rows",
           "outcome_gym.sim._rows:finite_rows",
           "outcome_gym.sim._rows:pairwise_sum",
           "outcome_gym.sim._rows:pairwise_block")


def test_every_compiled_pass_equals_its_plain_python(monkeypatch):
    # one implementation: a run (personalized layouts, guardrails projecting, notifications
    # opened) gives the same bits compiled and with every compiled pass run as plain Python
    import importlib

    import numpy as np

    from outcome_gym.runner import run
    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import size_overrides, with_overrides

    # productivity_tool has tasks and practice goals, finance_alerts a budget: every goal pass runs
    worlds = [with_overrides(load_scenario(name), size_overrides(150, 3), file="<t>")
              for name in ("productivity_tool", "finance_alerts")]
    guard = {"max_layout_distance": 0.2}  # the random policy's layouts get reverted
    fast = [run(sc, "random", seed=4, guardrails=guard) for sc in worlds]
    kernels = [getattr(importlib.import_module(m), f) for m, f in
               (name.split(":") for name in COMPILED)]
    for k in kernels:
        assert k._dispatcher is not None and k._dispatcher.signatures  # really compiled
        monkeypatch.setattr(k, "_dispatcher", k.py_func)
    for m, f in (name.split(":") for name in CALLEES):
        k = getattr(importlib.import_module(m), f)
        monkeypatch.setattr(k, "_dispatcher", k.py_func)
    slow = [run(sc, "random", seed=4, guardrails=guard) for sc in worlds]
    assert fast[0].steps["guardrail_layout_reverted"].sum() > 0
    assert fast[0].steps["opens"].sum() > 0 and fast[0].steps["clicks"].sum() > 0
    assert fast[1].steps["budget.adjusted"].sum() > 0  # the budget pass adjusted someone
    for f, sl in zip(fast, slow, strict=True):
        for table in ("steps", "users", "positions", "elements"):
            a, b = getattr(f, table), getattr(sl, table)
            assert list(a.columns) == list(b.columns)
            for col in a.columns:
                assert np.array_equal(a[col].to_numpy(), b[col].to_numpy()), (table, col)


def test_opened_notifications_then_the_session_by_hand():
    # Two users, one goal (remaining 0.3), one notification column (element 1), residue 0.2,
    # residue size 0.5, attention 10; element 1 costs 2 minutes.
    # user 0 opens element 1 (value 0.5): gain = min(0.5 * (1 - 0.2), 0.3) = 0.3 -> useful,
    #   goal minutes 2, residue stays 0.2; then no click in the session (u = 0.999 >= the click
    #   share), so attention = 10 - 2 = 8, clicks 1, progress 0.3.
    # user 1 opens element 0 (value 0, a distraction) and has no session: distraction minutes 1
    #   (element 0 costs 1), residue 0.2 + 0.5 * (1 - 0.2) = 0.6, attention 10 - 1 = 9.
    import numpy as np

    from outcome_gym.sim.mechanisms import engagement

    um = engagement.ChoiceParams(
        no_click_mass=1.0, cascade_continue=0.5, position_exponent=0.0, habit_utility=0.0,
        goal_utility=0.0, fatigue_utility=0.0, residue=0.5, max_engagements=2,
        need_met_exit=0.0, appeal_utility=0.0)
    inp = engagement.SessionInputs(
        layout=np.array([[0, 1], [0, 1]], np.int16), susceptibility=np.zeros(2, np.float32),
        goal_weight=np.zeros(2, np.float32), habit=np.zeros((2, 2), np.float32),
        fatigue=np.zeros(2, np.float32), need=np.ones((2, 1)), remaining=np.full((2, 1), 0.3),
        attention_left=np.full(2, 10.0, np.float32), residue=np.full(2, 0.2, np.float32))
    opened = np.array([[False, True], [True, False]])
    u = np.full((2, 2 + 2 * um.max_engagements), 0.999)
    out = ref_engagement.engage(um, inp, opened, np.array([True, False]), np.array([0, 1]),
                            np.zeros(2), np.array([1.0, 2.0]), np.array([[0.0], [0.5]]), u)
    np.testing.assert_allclose(out.progress[:, 0], [0.3, 0.0])
    np.testing.assert_allclose(out.goal_minutes, [2.0, 0.0])
    np.testing.assert_allclose(out.distraction_minutes, [0.0, 1.0])
    np.testing.assert_allclose(out.residue, [np.float32(0.2), 0.2 + 0.5 * 0.8], rtol=1e-6)
    np.testing.assert_allclose(out.attention_left, [8.0, 9.0])
    assert out.clicks.tolist() == [1, 1]
    assert out.element_clicks.tolist() == [[0, 1], [1, 0]]
    assert out.useful_opens.tolist() == [[False, True], [False, False]]
    assert out.self_control_minutes.tolist() == [0.0, 0.0]
    assert out.seen_positions[1].tolist() == [False, False]  # no session, nothing seen
    assert out.seen_positions[0, 0]  # a session sees at least its first position


def test_one_draw_for_all_segments_is_the_draw_per_segment():
    # the divergence of every segment from one (B, 3, P) draw equals the per-segment estimator
    # fed from the same stream in turn (the numbers the metrics stream gave before)
    import numpy as np

    from tests.sim.reference_layout import divergence_table, sampled_divergence

    rng = np.random.default_rng(3)
    layout = rng.integers(0, 4, (900, 3)).astype(np.int16)
    active = rng.random(900) < 0.8
    starts, stops, w = np.array([0, 100, 101]), np.array([100, 101, 900]), np.array([4.0, 1, 1])
    together = divergence_table(layout, active, starts, stops, w,
                                np.random.default_rng(9).random((3, 3, 500)))
    g = np.random.default_rng(9)
    in_turn = [sampled_divergence(layout, active, a, b, w, g) for a, b in zip(starts, stops, strict=True)]
    assert np.array(in_turn, dtype=np.float64).T.tobytes() == together.tobytes()
    assert together[1:, 1].tolist() == [0.0, float(active[100]), 0.0]  # one user: no pairs
    assert together[2, 2] == 64  # 4^3 layouts, all present among 500 sampled of ~640 users


def test_distinct_layouts_count_in_numpy_unique_order_both_ways():
    # the sample's distinct layouts and their frequencies as numpy.unique orders them, through
    # the one-sort path (small element indices) and the stable-sorts path (indices too large for
    # one 62-bit key: 2**20 ** 4 > 2**62)
    import numpy as np

    from outcome_gym.sim._rows import pairwise_frames
    from outcome_gym.sim.layout import sample_blocks

    rng = np.random.default_rng(11)
    for high in (4, 2**20):
        # 16 possible layouts with unequal frequencies: a wrong order shows in the counts
        layout = (rng.random((300, 4)) < [0.2, 0.4, 0.6, 0.8]) * (high - 1)
        active = rng.random(300) < 0.9
        u = rng.random((1, 3, 500))  # 500 >= the block's users: every active user is sampled
        table, freq, bounds = np.zeros((4, 1)), np.zeros(500), np.zeros(2, np.int64)
        sample_blocks(layout.astype(np.int64), active, np.array([0]), np.array([300]), u,
                      np.ones(4), False, True, np.zeros(1, np.int64),
                      np.zeros((1, 500), np.int64), np.zeros((1, 500), np.int64),
                      np.zeros((1, 500)), table, freq, bounds, np.zeros(1, np.int64),
                      pairwise_frames())
        _, want = np.unique(layout[active], axis=0, return_counts=True)
        assert table[2, 0] == bounds[1] == want.size == 16 and len(set(want.tolist())) > 8
        # the shares as numpy's c / c.sum() gives them, bit for bit
        assert freq[:bounds[1]].tolist() == (want / want.sum()).tolist()


def _divergence_by_numpy(layout, active, start, stop, w, u):
    """The estimators of one block as plain numpy computes them (matvec, numpy.unique, numpy's
    sums and log2): the formula the compiled pass and its glue replace."""
    import numpy as np

    users = start + np.flatnonzero(active[start:stop])
    n, pairs = users.size, u.shape[1]
    if n < 2:
        return [0.0, 0.0, float(n), 0.0]
    ia = (u[0] * n).astype(np.int64)
    j = (u[1] * (n - 1)).astype(np.int64)
    ib = j + (j >= ia)
    d = ((layout[users[ia]] != layout[users[ib]]) @ w) / w.sum()
    sample = users if n <= pairs else users[np.unique((u[2] * n).astype(np.int64))]
    _, c = np.unique(layout[sample], axis=0, return_counts=True)
    p = c / c.sum()
    return [d.sum(), float(pairs), float(c.size), -(p * np.log2(p)).sum()]


def test_divergence_table_equals_the_numpy_formula_bit_for_bit():
    # random blocks (some of 0 or 1 active users, some larger than the sample), whole-number and
    # fractional weights: every entry of the table has the plain-numpy estimators' bits
    import numpy as np

    from tests.sim.reference_layout import divergence_table

    rng = np.random.default_rng(17)
    for trial in range(60):
        s = int(rng.integers(1, 10))
        pairs = int(rng.choice([7, 50, 500]))
        layout = rng.integers(0, int(rng.integers(1, 6)), (900, s)).astype(np.int16)
        active = rng.random(900) < rng.uniform(0.0, 1.0)
        cuts = np.sort(rng.choice(np.arange(1, 900), int(rng.integers(0, 6)), replace=False))
        starts, stops = np.r_[0, cuts], np.r_[cuts, 900]
        active[starts[0]] = trial % 3 != 0  # now and then a block of a single user
        w = (rng.integers(1, 6, s) * (1.0 if trial % 2 else 1.3)).astype(np.float64)
        u = rng.random((starts.size, 3, pairs))
        got = divergence_table(layout, active, starts, stops, w, u)
        want = np.array([_divergence_by_numpy(layout, active, a, b, w, u[i])
                         for i, (a, b) in enumerate(zip(starts, stops, strict=True))]).T
        assert got.tobytes() == want.tobytes(), trial


def test_divergence_table_by_hand():
    # users 0-1 (block 0): layouts (1, 2) and (1, 3), weights (4, 1): every pair differs at the
    # second position only (1 / 5 = 0.2 each); 2 distinct layouts of 2 users: 1 bit.
    # user 2 (block 1) alone: no pairs, 1 distinct layout, 0 bits. Users 3-4 (block 2) share one
    # layout: distance 0, 1 distinct layout, -(1 * log2 1) = -0.0 bits
    import numpy as np

    from tests.sim.reference_layout import divergence_table

    layout = np.array([[1, 2], [1, 3], [0, 0], [5, 5], [5, 5]], np.int16)
    table = divergence_table(layout, np.ones(5, bool), np.array([0, 2, 3]), np.array([2, 3, 5]),
                             np.array([4.0, 1.0]), np.full((3, 3, 4), 0.25))
    assert table.tolist() == [[0.8, 0.0, 0.0], [4.0, 0.0, 4.0], [2.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
    assert np.signbit(table[3, 2]) and not np.signbit(table[3, 1])
    # block 2's distance sum, written without its pairs (== cannot tell 0.0 from -0.0): numpy's
    # sum of P zeros is +0.0
    assert not np.signbit(table[0, 2])


def test_a_block_of_a_few_layouts_by_hand():
    # four users of one block, weights (4, 1, 1) (total 6): A = (1, 2, 3) twice, B = (1, 5, 3),
    # C = (0, 2, 4). A-B differ at the second position (1/6), A-C at the first and third (5/6),
    # B-C at all three (6/6). The uniforms pick the pairs (0, 1) A-A, (0, 2) A-B, (1, 3) A-C,
    # (3, 2) C-B, then (2, 0) B-A, (3, 0) C-A and (1, 2) A-B: group pairs met before, in the
    # other orientation and in the same one, read back from the table (a wrong read-back shows
    # in their distances): ia = floor(4 u0), j = floor(3 u1), ib = j + (j >= ia). Three distinct
    # layouts in lexicographic order C, A, B: shares 1/4, 1/2, 1/4, entropy 1.5 bits
    import numpy as np

    from outcome_gym.sim._rows import pairwise_frames
    from outcome_gym.sim.layout import FEW, sample_blocks

    assert FEW >= 3  # the block's pairs are looked up in its layouts' table
    layout = np.array([[1, 2, 3], [1, 2, 3], [1, 5, 3], [0, 2, 4]], np.int16)
    ia, j = np.array([0, 0, 1, 3, 2, 3, 1]), np.array([0, 1, 2, 2, 0, 0, 1])
    u = np.stack([(ia + 0.5) / 4, (j + 0.5) / 3, np.zeros(7)])[None]
    table, freq, bounds, dist = np.zeros((4, 1)), np.zeros(4), np.zeros(2, np.int64), np.zeros((1, 7))
    status = sample_blocks(layout, np.ones(4, bool), np.array([0]), np.array([4]), u,
                           np.array([4.0, 1.0, 1.0]), True, True, np.zeros(1, np.int64),
                           np.zeros((0, 0), np.int64), np.zeros((0, 0), np.int64), dist, table,
                           freq, bounds, np.zeros(1, np.int64), pairwise_frames())
    assert dist[0].tolist() == [0.0, 1 / 6, 5 / 6, 6 / 6, 1 / 6, 5 / 6, 1 / 6]
    # numpy's sum of fewer than 8 terms: left to right
    total = 0.0 + 0.0 + 1 / 6 + 5 / 6 + 6 / 6 + 1 / 6 + 5 / 6 + 1 / 6
    assert table[:3, 0].tolist() == [total, 7.0, 3.0]
    assert bounds[1] == 3 and freq[:3].tolist() == [0.25, 0.5, 0.25]  # C, A, B
    assert status == 3  # several layouts (the entropy is the caller's), the uniforms read
    from tests.sim.reference_layout import divergence_table

    assert divergence_table(layout, np.ones(4, bool), np.array([0]), np.array([4]),
                            np.array([4.0, 1.0, 1.0]), u)[:, 0].tolist() == [total, 7.0, 3.0, 1.5]


def test_a_few_layouts_and_one_more_give_the_numpy_formula(monkeypatch):
    # blocks of exactly FEW distinct layouts (compared row by row, their pairs looked up) and of
    # FEW + 1 (sorted by keys, each pair's distance summed), in a random order of appearance and
    # with unequal counts (a wrong order shows in the entropy's sum), with 500 pairs (every block
    # in its sample) and with 50 (the two larger blocks sampled); in half the trials negative
    # entries (-2..0, one kind with -32768): the few path's insertion sort compares them signed,
    # and the keyed path falls back to its stable sorts; the pass and distinct_rows as plain
    # Python too (they index as the compiled code does, with bounds checked)
    import numpy as np

    from outcome_gym.sim import layout as lay
    from outcome_gym.sim.layout import FEW
    from tests.sim.reference_layout import divergence_table

    rng = np.random.default_rng(23)
    kinds = rng.permutation(np.array([[a, b, c] for a in range(3) for b in range(3)
                                      for c in range(3)], np.int16))
    for trial in range(24):
        m = FEW + trial % 2
        pick = rng.choice(m, 600, p=np.arange(1, m + 1) / (m * (m + 1) / 2))
        few = kinds[:m] if trial % 4 < 2 else kinds[:m] - 2
        if trial % 4 == 3:
            few[trial % m, 0] = -32768
        layout = few[pick]
        active = rng.random(600) < 0.9
        starts, stops = np.array([0, 40, 200]), np.array([40, 200, 600])
        w = np.array([4.0, 1.0, 2.0])
        u = rng.random((3, 3, 500))
        for pairs in (500, 50):
            up = np.ascontiguousarray(u[:, :, :pairs])
            got = divergence_table(layout, active, starts, stops, w, up)
            want = np.array([_divergence_by_numpy(layout, active, a, b, w, up[i])
                             for i, (a, b) in enumerate(zip(starts, stops, strict=True))]).T
            assert got.tobytes() == want.tobytes(), (trial, pairs)
            if pairs == 500:
                assert got[2, 2] == m  # the large block has every layout
            elif trial < 4:  # compiled above; plain Python here (both paths, negatives too)
                for fn in (lay.sample_blocks, lay.distinct_rows):
                    monkeypatch.setattr(fn, "_dispatcher", fn.py_func)
                plain = divergence_table(layout, active, starts, stops, w, up)
                monkeypatch.undo()
                assert plain.tobytes() == want.tobytes(), trial


def test_whole_number_weights_are_exact_in_any_order():
    # 4 + 1 + 1: every subset sum (0..6) is a whole number, exact in any order; 2.3 is not (e.g.
    # (2.3 + 1) + 1 and 2.3 + (1 + 1) may round apart), nor is an empty weight vector
    import numpy as np

    from outcome_gym.sim.layout import exact_weights

    assert exact_weights(np.array([4.0, 1.0, 1.0]))
    assert not exact_weights(np.array([2.3, 1.0, 1.0]))
    assert not exact_weights(np.zeros(0))


def test_divergence_distances_in_the_pass_equal_the_matvec():
    # the compiled pass's pair distances (whole-number weights) give the BLAS matvec's bits:
    # the same sums, entropies and counts over many shapes, block layouts and activity
    import numpy as np

    from tests.sim.reference_layout import divergence_table

    rng = np.random.default_rng(5)
    for _ in range(40):
        s = int(rng.integers(1, 12))
        layout = rng.integers(0, 6, (700, s)).astype(np.int16)
        active = rng.random(700) < rng.uniform(0.2, 1.0)
        starts, stops = np.array([0, 100, 101, 300]), np.array([100, 101, 300, 700])
        w = rng.integers(1, 9, s).astype(np.float64)
        u = rng.random((4, 3, 500))
        fast = divergence_table(layout, active, starts, stops, w, u, exact=True)
        slow = divergence_table(layout, active, starts, stops, w, u, exact=False)
        assert fast.tobytes() == slow.tobytes()
        assert fast[1, 1] == 0  # a block of one user has no pairs
    # by hand: two users, layouts (1, 2) and (1, 3), weights (4, 1): every pair differs at the
    # second position only, distance 1 / 5 = 0.2, 500 pairs -> sum 100.0 (up to summation)
    two = divergence_table(np.array([[1, 2], [1, 3]], np.int16), np.ones(2, bool),
                           np.array([0]), np.array([2]), np.array([4.0, 1.0]),
                           np.full((1, 3, 500), 0.25), exact=True)
    assert two[1:, 0].tolist() == [500.0, 2.0, 1.0]  # 2 distinct layouts, equally often: 1 bit
    assert abs(two[0, 0] - 100.0) < 1e-9


def test_the_exact_distance_equals_the_matvec_for_every_shape():
    """The compiled row distance (``distance_rows``/``row_distance``, what the recorder's and the
    context events' passes sum with whole-number weights) against ``layout_distance``'s BLAS
    matvec, for the three shapes of ``b`` the passes use (one layout, 1 x S, n x S); the matvec
    refuses a ``b`` of the wrong length."""
    import numpy as np

    from outcome_gym.sim.layout import layout_distance
    from tests.sim.reference_layout import exact_distance

    rng = np.random.default_rng(3)
    a = rng.integers(0, 5, (50, 6))
    w = np.array([4.0, 4.0, 1.0, 1.0, 1.0, 1.0])
    for b in (a[0], a[:1], rng.integers(0, 5, (50, 6))):
        assert exact_distance(a, b, w).tobytes() == layout_distance(a, b, w).tobytes()
    with pytest.raises(ValueError):  # 6 entries for 3 positions
        layout_distance(np.zeros((4, 3), np.int64), np.zeros(6, np.int64), np.ones(3))
    assert (exact_distance(a, a, w) == 0).all()
    extreme = np.array([2.0**52, 1.0, 1.0, 1.0, 1.0, 1.0])  # still exact: sums below 2**53
    assert exact_distance(a, a[:1], extreme).tobytes() == \
        layout_distance(a, a[:1], extreme).tobytes()


def test_the_step_pass_equals_the_reference_engage_on_random_inputs():
    # the model's StepPass.run (Fixed built once per run, layout memory computed from the counts
    # inside the step) against the tests' engage (Fixed built per call, memory from
    # reference_memory's expertise and selection_minutes of the same counts): the same bits, for
    # every output and the state it updates (attention, residue, memory, channel trust), and
    # engage takes an int64 layout as well
    from dataclasses import replace as _replace
    from types import SimpleNamespace

    import numpy as np

    from outcome_gym.sim.mechanisms import engagement
    from outcome_gym.sim.mechanisms.memory import MemoryParams
    from tests.sim import reference_memory as ref_memory
    from tests.sim import reference_notifications as ref_notifications

    n, f32 = 200, np.float32
    um, inp, appeal, cost, value, u = _session_args(n)
    rng = np.random.default_rng(1)
    opened, ignored = rng.random((n, 2)) < 0.2, rng.random((n, 2)) < 0.2
    started = rng.random(n) < 0.5
    pushed, channel_of = np.array([1, 4]), np.array([0, 1])
    memory = MemoryParams(0.8, 0.1, 0.5, 0.3, 0.2)
    count = (3 * rng.random((n, 4))).astype(f32)
    element = rng.integers(-1, 6, (n, 4)).astype(np.int16)
    rows = np.flatnonzero(started)
    e = ref_memory.expertise(memory, count, element, inp.layout, rows)
    mem = (e, ref_memory.selection_minutes(memory, e))
    assert (e > 0).any()  # some users reach remembered positions
    built = ref_engagement.engage(um, inp, opened, started, pushed, appeal, cost, value, u,
                                  memory_rows=mem)
    wide = _fields(ref_engagement.engage(um, _replace(inp, layout=inp.layout.astype(np.int64)),
                                         opened, started, pushed, appeal, cost, value, u,
                                         memory_rows=mem))
    fixed = engagement.Fixed.of(um, pushed, appeal, cost, value, 4, np.dtype(f32))
    # the scan thresholds: 1 - cont^m up to roundings (the depth's geometric)
    assert np.allclose(fixed.scan_at, 1.0 - um.cascade_continue ** np.arange(1, 4))
    step = engagement.StepPass(um, memory, 0.1, 0.2, fixed, channel_of, n, np.dtype(f32))
    state = dict(attention_left=inp.attention_left.copy(), residue=inp.residue.copy(),
                 channel_trust=rng.random((n, 2)).astype(f32), memory_count=count.copy(),
                 memory_element=element.copy())
    trust_before = state["channel_trust"].copy()
    eng, trust = step.run(opened, ignored, started, inp.layout, inp.need, inp.remaining, u,
                          (inp.susceptibility, inp.goal_weight, inp.habit, inp.fatigue), **state)
    assert built.clicks.sum() > 50
    given = _fields(eng)
    for name, value_built in _fields(built).items():
        assert value_built.dtype == given[name].dtype, name
        assert value_built.tobytes() == given[name].tobytes(), name
        assert value_built.tobytes() == wide[name].tobytes(), name
    assert state["attention_left"].tobytes() == built.attention_left.astype(f32).tobytes()
    assert state["residue"].tobytes() == built.residue.astype(f32).tobytes()
    learned = count.copy(), element.copy()
    ref_memory.remember(*learned, inp.layout, built.seen_positions, rows)
    assert state["memory_count"].tobytes() == learned[0].tobytes()
    assert state["memory_element"].tobytes() == learned[1].tobytes()
    drift = SimpleNamespace(channel_trust_gain=0.1, channel_trust_loss=0.2)
    want = ref_notifications.update_channel_trust(drift, trust_before, ignored, opened,
                                                  built.useful_opens, channel_of)
    assert trust.dtype == f32 and trust.tobytes() == want.tobytes()
    assert not np.array_equal(trust, trust_before)  # the drift moved someone's trust


def test_float32_callers_pass_engage_rows_the_types_of_the_step(monkeypatch):
    # run_sessions on a model's float32 traits, without layout memory or with float32 expertise,
    # passes engage_rows its placeholders in the step's types: one compiled signature for all
    # three (not a second ~3 s compilation); numba.typeof is what the dispatcher keys on
    from dataclasses import replace as _replace

    import numba
    import numpy as np

    from outcome_gym.sim.mechanisms import engagement

    engagement.compile_kernel()  # from now on the target is the dispatcher
    calls, dispatcher = [], engagement.engage_rows._dispatcher

    def typed(*args):
        calls.append(tuple(numba.typeof(a) for a in args))
        return dispatcher(*args)

    monkeypatch.setattr(engagement.engage_rows, "_dispatcher", typed)
    engagement.compile_kernel()  # a model's step
    um, inp, appeal, cost, value, u = _session_args(3)
    for memory in ((None, None), (inp.expertise.astype(np.float32), inp.select_minutes)):
        given = _replace(inp, expertise=memory[0], select_minutes=memory[1])
        engagement.run_sessions(um, given, appeal, cost, value, u)
    assert len(calls) == 3 and calls[1] == calls[0] and calls[2] == calls[0]


def test_after_the_first_call_a_compiled_function_calls_the_dispatcher_directly(monkeypatch):
    # compiled is a functools.partial: its target is a loader until the first call, then the
    # numba dispatcher itself (no Python frame per call); setting _dispatcher moves the target
    import numpy as np

    from outcome_gym.sim import _rows
    from outcome_gym.sim._jit import compiled

    def ones(a):  # pragma: no cover - never compiled here
        return 1

    fresh = compiled(ones)
    assert fresh._dispatcher is None and fresh.func == fresh._load  # nothing compiled yet
    k = _rows.finite_rows
    k(np.zeros(1))  # the first call compiles (or loads) it
    assert k.func is k._dispatcher is k.dispatcher and k.dispatcher.signatures
    assert not k(np.array([1.0, np.inf])) and k(np.ones(3))
    monkeypatch.setattr(k, "_dispatcher", k.py_func)
    assert k.func is k.py_func and k(np.ones(2))  # the plain Python
    monkeypatch.undo()
    assert k.func is k._dispatcher and k._dispatcher is not k.py_func


def test_written_zeros_are_zeros_of_the_shape_and_dtype():
    # zeros like np.zeros (their pages written at once: not observable here, see its docstring)
    import numpy as np

    from outcome_gym.sim._jit import written_zeros

    for shape, dtype in (((5,), bool), ((2, 3), np.float64), (4, np.int64)):
        got = written_zeros(shape, dtype)
        want = np.zeros(shape, dtype)
        assert got.dtype == want.dtype and got.shape == want.shape and not got.any()
    assert written_zeros(3).dtype == np.float64


# A caller in one module, its callee in another (a sub-package), both compiled; the script prints
# what the caller returns and whether its machine code came from the disk cache.
CALLER = """
from outcome_gym.sim._jit import compiled
from pkg.sub.callee import inner


@compiled
def outer(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += inner(a[i])
    return s
"""
CALLEE = """
from outcome_gym.sim._jit import compiled


@compiled
def inner(x):
    return x + {step}
"""
CALL = r"""
import json, sys, numpy as np
from pkg.caller import outer
from pkg.sub.callee import inner
inner(1.0)  # the callee first (from the cache when it is there), then the caller links it
got = outer(np.ones(3, dtype=sys.argv[1]))
d = outer.dispatcher
print(json.dumps({"got": got, "hits": sum(d.stats.cache_hits.values())}))
"""


def _package(root: Path, step: float) -> None:
    (root / "pkg" / "sub").mkdir(parents=True, exist_ok=True)
    for init in (root / "pkg" / "__init__.py", root / "pkg" / "sub" / "__init__.py"):
        init.touch()
    (root / "pkg" / "caller.py").write_text(CALLER)
    (root / "pkg" / "sub" / "callee.py").write_text(CALLEE.format(step=step))


def _call(root: Path, dtype: str = "float64") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["PYTHONPATH"] = os.pathsep.join((str(root), str(SRC)))
    proc = subprocess.run([sys.executable, "-c", CALL, dtype], env=env, capture_output=True, text=True,
                          check=False, timeout=600, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_compiled_function_calls_one_in_another_module_and_an_edited_callee_recompiles_it(
        tmp_path):
    # numba's own cache checks only the caller's file: after the callee's edit it would load the
    # caller's stale machine code and answer 6.0 again (checked by hand with njit(cache=True))
    _package(tmp_path, 1.0)
    assert _call(tmp_path) == {"got": 6.0, "hits": 0}  # 3 x (1 + 1), compiled and cached
    assert _call(tmp_path) == {"got": 6.0, "hits": 1}  # loaded from the cache
    _package(tmp_path, 2.0)  # only the callee's module changes
    assert _call(tmp_path) == {"got": 9.0, "hits": 0}  # recompiled with the new callee
    assert _call(tmp_path) == {"got": 9.0, "hits": 1}
    # a new signature of the caller compiles and links the callee loaded from the cache
    assert _call(tmp_path, "float32") == {"got": 9.0, "hits": 0}
    assert _call(tmp_path, "float32") == {"got": 9.0, "hits": 1}


def test_the_package_stamp_covers_every_module_with_compiled_functions_and_only_those(tmp_path):
    from outcome_gym.sim import _jit

    _package(tmp_path, 1.0)
    caller = tmp_path / "pkg" / "caller.py"

    def stamp() -> str:
        _jit._digest.cache_clear()  # read once per process otherwise
        return _jit.package_stamp(caller, "pkg.caller")

    first = stamp()
    # one package: its modules, its __init__.py, a module of a subpackage
    assert first == _jit.package_stamp(tmp_path / "pkg" / "sub" / "callee.py", "pkg.sub.callee")
    assert first == _jit.package_stamp(tmp_path / "pkg" / "__init__.py", "pkg")
    (tmp_path / "pkg" / "plain.py").write_text("X = 1\n")  # no compiled function: not covered
    assert stamp() == first
    _package(tmp_path, 2.0)
    assert stamp() != first
    alone = tmp_path / "script.py"  # outside a package: its own source only
    alone.write_text(CALLEE.format(step=1.0))
    assert _jit.package_stamp(alone, "script") != stamp()


def test_the_package_stamp_crosses_a_folder_without_init(tmp_path):
    # outcome_gym's sim/ has no __init__.py (a namespace folder): a stamp that looked for
    # __init__.py files stopped there and covered each sim module's own source only, so an
    # edited callee (layout.py) left its caller's (recording.py) stale code in the cache
    from outcome_gym.sim import _jit

    _package(tmp_path, 1.0)
    (tmp_path / "pkg" / "sub" / "__init__.py").unlink()
    _jit._digest.cache_clear()
    caller = _jit.package_stamp(tmp_path / "pkg" / "caller.py", "pkg.caller")
    assert caller == _jit.package_stamp(tmp_path / "pkg" / "sub" / "callee.py", "pkg.sub.callee")
    _package(tmp_path, 2.0)  # the callee's edit changes its caller's stamp
    (tmp_path / "pkg" / "sub" / "__init__.py").unlink()
    _jit._digest.cache_clear()
    assert _jit.package_stamp(tmp_path / "pkg" / "caller.py", "pkg.caller") != caller


def test_every_compiled_module_of_the_package_shares_one_stamp():
    from outcome_gym.product import guardrails
    from outcome_gym.sim import _jit, layout, recording
    from outcome_gym.sim.mechanisms import goals

    stamps = {_jit.package_stamp(m.__file__, m.__name__)
              for m in (layout, recording, goals, guardrails)}
    assert len(stamps) == 1


INLINED = r"""
import json, numpy as np
from outcome_gym.sim._jit import compiled


@compiled.inlined
def row_total(a, i):
    s = 0.0
    for j in range(a.shape[1]):
        s += a[i, j]
    return s


@compiled
def row_called(a, i):  # the same body, plain @compiled: the control
    s = 0.0
    for j in range(a.shape[1]):
        s += a[i, j]
    return s


@compiled
def totals(a, out):
    for i in range(a.shape[0]):
        out[i] = row_total(a, i)


@compiled
def totals_called(a, out):
    for i in range(a.shape[0]):
        out[i] = row_called(a, i)


import io, re


def calls(caller, callee):
    typed = io.StringIO()
    caller.dispatcher.inspect_types(file=typed)  # numba's typed IR: a call is "call $var(...)"
    loads = re.findall(rf"(\$[\w.]+) = global\({callee}", typed.getvalue())
    return any(f"call {var}(" in typed.getvalue() for var in loads)


a = np.arange(6.0).reshape(2, 3)
out, control = np.empty(2), np.empty(2)
totals(a, out)
totals_called(a, control)
print(json.dumps({"out": out.tolist(), "direct": row_total(a, 1),
                  "called": calls(totals, "row_total"),
                  "control": calls(totals_called, "row_called")}))
"""


def test_an_inlined_compiled_function_is_copied_into_its_caller(tmp_path):
    # compiled in a fresh cache (numba inspects only code it compiled in this process)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(SRC), NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    script = tmp_path / "inlined.py"
    script.write_text(INLINED)
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                          check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    # by hand: rows 0+1+2 and 3+4+5; no call to row_total is left in the caller's typed IR,
    # while the plain @compiled twin's call is found there (the search sees calls)
    assert got == {"out": [3.0, 12.0], "direct": 12.0, "called": False, "control": True}
