"""One user's story (outcome_gym.story, ``outcome-gym story``): a deterministic replay whose
numbers are the runs' own, and bad input refused with one line, exit 2, nothing written."""

from __future__ import annotations

import contextlib
import json
import sys
import threading

import numpy as np
import pytest
from typer.testing import CliRunner

from outcome_gym import compare
from outcome_gym.cli import app
from outcome_gym.errors import InputError
from outcome_gym.policies.spec import parse_policy
from outcome_gym.runner import run
from outcome_gym.story import most_harmed, story_from_dir, tell
from tests.conftest import variant

runner = CliRunner()


@pytest.fixture(scope="module")
def small(tiny):
    return variant(tiny, **{"population.size": 60, "clock.horizon_days": 8})


@pytest.fixture(scope="module")
def cmp_dir(tmp_path_factory, small):
    out = tmp_path_factory.mktemp("story") / "cmp"
    cmp = compare(small, ["static", "random"], seeds=2, out=out, placebo_seeds=0)
    return cmp, out


def test_the_story_adds_up_to_the_runs_own_totals(small):
    st = tell(small, "random", "static", seed=1, user=7, workers=1)
    for tl, policy in ((st.reference, "static"), (st.policy, "random")):
        users = run(small, policy, 1).users
        row = users.iloc[7]
        assert len(tl.days) == 8
        for col in ("sessions", "minutes", "delivered", "opens", "goal_progress"):
            assert tl.days[col].sum() == pytest.approx(row[col], rel=1e-9, abs=1e-9), col
    # deterministic: told again with the two sides in forked children, the same story
    again = tell(small, "random", "static", seed=1, user=7, workers=2)
    assert again.markdown() == st.markdown()
    md = st.markdown("story.png")
    assert md.startswith("# User 7 of tiny, seed 1: random vs static")
    assert "## Day by day" in md and "![the two timelines](story.png)" in md


@contextlib.contextmanager
def _another_thread():
    stop = threading.Event()
    th = threading.Thread(target=stop.wait)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join()


@pytest.mark.skipif(sys.platform != "linux", reason="replays fork on Linux only")
def test_replays_fork_only_from_a_single_threaded_process(small, monkeypatch):
    """Forked children start in milliseconds, but a child forked while another thread holds a
    lock can hang: with a second thread alive the replays run here (default) or spawn (asked).
    """
    from concurrent.futures import ProcessPoolExecutor

    from outcome_gym import _pool, story

    contexts = []

    def pool(n, mp_context):
        contexts.append(mp_context)
        return ProcessPoolExecutor(n, mp_context=mp_context)

    monkeypatch.setattr("concurrent.futures.ProcessPoolExecutor", pool)
    monkeypatch.setattr(_pool, "default_workers", lambda: 2)
    # The rule is about threads this process starts around the replays: an idle daemon thread an
    # earlier test left in the pytest process (Dask's offload thread, alive for good once Dask
    # ran) is not counted, or the single-threaded case could not be reached after Dask's tests.
    before = set(threading.enumerate()) - {threading.current_thread()}
    monkeypatch.setattr(
        threading, "active_count", lambda: len(set(threading.enumerate()) - before)
    )
    # 'random' is replayed in full (a static side, replayed for the user's team only, runs here)
    task = (small, parse_policy("random"), 0, 1, None, True)
    assert _pool.fork_context() is not None, threading.enumerate()
    story._replays([task, task])
    assert [c.get_start_method() for c in contexts] == ["fork"]
    with _another_thread():
        assert _pool.fork_context() is None
        serial = story._replays([task, task])  # no pool: in this process
        assert len(contexts) == 1
        story._replays([task, task], workers=2)
    assert [c.get_start_method() for c in contexts] == ["fork", "spawn"]
    assert serial[0][0].days.equals(serial[1][0].days)
    assert story._replays([task, task], workers=1)[0][0].days.equals(serial[0][0].days)
    assert len(contexts) == 2


def test_a_user_that_does_not_exist_names_the_valid_range(small):
    with pytest.raises(InputError, match=r"user 60 does not exist: expected 0\.\.59"):
        tell(small, "random", seed=0, user=60)


def test_most_harmed_is_the_largest_fall(cmp_dir):
    cmp, _ = cmp_dir
    seed, user, diff = most_harmed(cmp.users, "static", "random", "outcome.on_time", "increase")
    u = cmp.users
    d = []
    for s in cmp.seeds:
        r = u[(u["policy"] == "static") & (u["seed"] == s)]["outcome.on_time"].to_numpy()
        p = u[(u["policy"] == "random") & (u["seed"] == s)]["outcome.on_time"].to_numpy()
        d.append(p - r)
    import numpy as np

    low = min(np.nanmin(x) for x in d)
    assert diff == low and d[cmp.seeds.index(seed)][user] == low


def test_the_compare_report_tells_the_most_harmed_users_story(cmp_dir):
    cmp, out = cmp_dir
    st = cmp.stories["random"]
    md = (out / "report.md").read_text()
    assert f"user {st.user} ({st.segment}) on seed {st.seed}" in md
    assert (out / "figures" / "story-random.png").stat().st_size > 5000
    doc = json.loads((out / "summary.json").read_text())["who_is_harmed"]
    assert doc["stories"]["random"]["user"] == st.user


def test_cli_story_from_a_compare_folder(cmp_dir, tmp_path):
    cmp, out = cmp_dir
    res = runner.invoke(app, ["story", str(out), "--most-harmed", "on_time",
                              "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    st = cmp.stories["random"]  # the report's story is the most harmed on the primary spec
    assert res.stdout.startswith(f"# User {st.user} of tiny, seed {st.seed}: random vs static")
    assert (tmp_path / "s" / "story.png").is_file() and (tmp_path / "s" / "story.md").is_file()
    res = runner.invoke(app, ["story", str(out), "--user", "3", "--seed", "1", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert (doc["kind"], doc["user"], doc["seed"], doc["policy"]) == ("story", 3, 1, "random")
    # replayed from the folder's manifests: the numbers of the compare's own runs
    from outcome_gym.sweeps import read_table

    rid = cmp.runs.set_index(["policy", "seed"]).loc[("random", 1), "run_id"]
    users = read_table(out / "runs" / rid, "users")
    assert sum(d["pol.minutes"] for d in doc["days"]) == pytest.approx(users["minutes"].iloc[3])


def test_cli_story_from_a_run_folder(small, tmp_path):
    run(small, "random", 2).write(tmp_path / "r")
    st = story_from_dir(tmp_path / "r", user=4)
    assert (st.seed, st.user, st.reference.label, st.policy.label) == (2, 4, "static", "random")
    # --most-harmed: the folder holds only the policy's run, so the reference's users table
    # comes from a replay; the user found is the largest on-time fall against static's own run
    from outcome_gym.analysis.per_user import user_values

    worst = story_from_dir(tmp_path / "r", most_harmed_spec="on_time")
    ref = user_values(small, run(small, "static", 2).users)["outcome.on_time"].to_numpy()
    pol = user_values(small, run(small, "random", 2).users)["outcome.on_time"].to_numpy()
    fall = pol - ref
    assert worst.seed == 2 and fall[worst.user] == np.nanmin(fall)


@pytest.mark.parametrize("args, message", [
    (["--user", "999"], "user 999 does not exist: expected 0..59"),
    (["--most-harmed", "on_tme"], "did you mean 'on_time'?"),
    (["--user", "1", "--policy", "randon"], "did you mean 'random'?"),
    (["--user", "1", "--seed", "7"], "seed 7 is not one of"),
    ([], "expected exactly one of --user and --most-harmed"),
])
def test_cli_bad_input_is_one_line_exit_2_and_nothing_written(cmp_dir, tmp_path, args, message):
    _, out = cmp_dir
    target = tmp_path / "s"
    res = runner.invoke(app, ["story", str(out), *args, "--out", str(target)])
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and message in res.stderr and not res.stdout
    assert not target.exists()


def test_cli_a_folder_that_is_not_an_output(tmp_path):
    res = runner.invoke(app, ["story", str(tmp_path), "--user", "0"])
    assert res.exit_code == 2 and "is not a run or compare output" in res.stderr
