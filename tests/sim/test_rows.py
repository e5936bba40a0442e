"""A model of a subset of the users (sim/rng.py ``Rows``, ``Teams.take``): hand-worked pieces.

The whole subset replay is compared with the full run row by row in tests/cli/test_story_subset.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.sim.network import Teams
from outcome_gym.sim.rng import Rows, skip_uniforms


def _teams() -> Teams:
    # six users in three teams: team 0 = users 0, 2, 5; team 1 = users 1, 4; team 2 = user 3
    # (members listed by team in slot order; position = place in its team's list)
    return Teams(team=np.array([0, 1, 0, 2, 1, 0], np.int32),
                 members=np.array([0, 2, 5, 1, 4, 3]), start=np.array([0, 3, 5, 6]),
                 position=np.array([0, 0, 1, 0, 1, 2]))


def test_keep_takes_the_subsets_entries_along_the_user_axis():
    a = np.arange(8).reshape(2, 4)  # 2 x N with N = 4
    assert Rows(4).keep(a) is a  # everyone: the draw itself, no copy
    assert Rows(4, np.array([1, 3])).keep(a, axis=1).tolist() == [[1, 3], [5, 7]]
    assert Rows(4, np.array([1, 3])).n == 2 and Rows(4).ids.tolist() == [0, 1, 2, 3]


def test_closure_is_the_users_whole_teams():
    t = _teams()
    assert t.closure(np.array([4])).tolist() == [1, 4]
    assert t.closure(np.array([2, 3])).tolist() == [0, 2, 3, 5]


def test_a_subsets_colleague_draws_pick_the_full_teams_colleagues():
    t = _teams()
    rows = np.array([0, 2, 5])
    sub = t.take(rows)
    u = np.array([0.0, 0.5, 0.99])
    # by hand: team of 3, offset = 1 + floor(u * 2) = 1, 2, 2; place = (position + offset) % 3
    # = (0+1, 1+2, 2+2) % 3 = 1, 0, 1 -> members 2, 0, 2 of team 0
    assert t.colleague(rows, u).tolist() == [2, 0, 2]
    assert rows[sub.colleague(np.arange(3), u)].tolist() == [2, 0, 2]
    pair = t.take(np.array([1, 4]))  # team of 2: the other member, whatever u
    assert np.array([1, 4])[pair.colleague(np.arange(2), np.array([0.3, 0.9]))].tolist() == [4, 1]
    assert sub.sizes().tolist() == [3, 3, 3]


def test_a_subset_that_splits_a_team_is_refused():
    with pytest.raises(ValueError, match="whole teams"):
        _teams().take(np.array([0, 2]))


@pytest.mark.parametrize("index", [[3], [0, 1, 2, 7, 8, 19], [19], list(range(0, 20, 2))])
@pytest.mark.parametrize(("shape", "axis"), [
    ((20,), 0), ((20, 7), 0), ((2, 20, 3), 1),
    # empty draws: no instrumented events (0 x N), no notification templates (2 x N x 0)
    ((0, 20), 1), ((2, 20, 0), 1), ((20, 0), 0)])
def test_uniform_skips_the_other_users_and_ends_where_the_full_draw_ends(index, shape, axis):
    """The subset's numbers of a full draw, and the stream left where the full draw leaves it."""
    import outcome_gym.sim.rng as rng_mod

    rows = Rows(20, np.array(index))
    for max_runs in (64, 1):  # skipping, and (many runs) one full draw
        old, rng_mod.MAX_RUNS = rng_mod.MAX_RUNS, max_runs
        try:
            full, sub = np.random.default_rng(7), np.random.default_rng(7)
            full.random(3), sub.random(3)  # mid-stream
            want = rows.keep(full.random(shape), axis)
            got = rows.uniform(sub, shape, axis)
        finally:
            rng_mod.MAX_RUNS = old
        assert got.shape == want.shape and got.tobytes() == want.tobytes()
        assert full.random(4).tobytes() == sub.random(4).tobytes()
    assert Rows(20).uniform(np.random.default_rng(7), shape, axis).shape == shape


@pytest.mark.parametrize("make", [
    # a buffered 32-bit half (left by a float32 draw): advance would drop it
    lambda: _after(np.random.Generator(np.random.PCG64(7)), lambda g: g.random(3, np.float32)),
    # Philox counts advance in 4-output blocks, not in outputs
    lambda: np.random.Generator(np.random.Philox(7)),
])
def test_uniform_draws_for_everyone_where_skipping_would_not_land_exactly(make):
    rows = Rows(20, np.array([2, 3, 11]))
    full, sub = make(), make()
    want = rows.keep(full.random((20, 2)))
    assert rows.uniform(sub, (20, 2)).tobytes() == want.tobytes()
    # both streams go on alike, float32 draws included (the buffered half was kept)
    assert full.random(5, np.float32).tobytes() == sub.random(5, np.float32).tobytes()


@pytest.mark.parametrize("make, advances", [
    (lambda: np.random.Generator(np.random.PCG64(7)), True),
    (lambda: _after(np.random.Generator(np.random.PCG64(7)), lambda g: g.random(3, np.float32)),
     False),
    (lambda: np.random.Generator(np.random.Philox(7)), False),
])
def test_skip_uniforms_leaves_the_stream_where_their_draw_would(make, advances):
    # advanced past them where that lands exactly (the buffer untouched), drawn into the buffer
    # otherwise; either way the stream goes on as after the draw, float32 draws included
    # (the answer: whether it advanced; given back, it does the same without looking)
    full, skipped = make(), make()
    want = full.random((2, 3, 5))
    out = np.full((2, 3, 5), -1.0)
    assert skip_uniforms(skipped, out) is advances
    assert (out == -1.0).all() if advances else out.tobytes() == want.tobytes()
    assert full.random(7).tobytes() == skipped.random(7).tobytes()
    want = full.random((2, 3, 5))
    skip_uniforms(skipped, out, advances)  # (given the answer, it returns it: not a check)
    assert (out == -1.0).all() if advances else out.tobytes() == want.tobytes()
    assert full.random(7).tobytes() == skipped.random(7).tobytes()
    assert full.random(5, np.float32).tobytes() == skipped.random(5, np.float32).tobytes()


def _after(g: np.random.Generator, draw) -> np.random.Generator:
    draw(g)
    return g


def test_a_draw_without_every_user_on_its_axis_is_refused():
    rows = Rows(20, np.array([1]))
    with pytest.raises(ValueError, match="20 users on axis 1"):
        rows.uniform(np.random.default_rng(0), (20, 7), axis=1)
    with pytest.raises(ValueError, match="20 users on axis 0"):
        rows.keep(np.zeros((19, 2)))


def test_a_reused_draw_has_the_same_numbers_in_a_buffer_kept_per_stream_and_shape():
    rows = Rows(20)
    a, b, ref = (np.random.default_rng(5) for _ in range(3))
    first = rows.uniform(a, (20, 3), reuse=True)
    assert first.tobytes() == ref.random((20, 3)).tobytes()
    kept = first.copy()
    second = rows.uniform(a, (20, 3), reuse=True)
    assert second is first  # the same buffer, overwritten: only a within-step reader may ask
    assert second.tobytes() == ref.random((20, 3)).tobytes() != kept.tobytes()
    assert rows.uniform(b, (20, 3), reuse=True) is not first  # another stream, its own buffer
    third = rows.uniform(a, (2, 20, 3), axis=1, reuse=True)  # another shape, its own buffer
    assert third.tobytes() == ref.random((2, 20, 3)).tobytes()
    assert a.random(2).tobytes() == ref.random(2).tobytes()  # the stream goes on alike
    sub = Rows(20, np.array([4, 5]))  # a subset: a fresh array, the same numbers as a full draw
    c, d = np.random.default_rng(9), np.random.default_rng(9)
    assert sub.uniform(c, (20, 3), reuse=True).tobytes() == sub.keep(d.random((20, 3))).tobytes()


def test_a_pickled_rows_leaves_its_draw_buffers_behind():
    import pickle

    rows = Rows(20)
    rows.uniform(np.random.default_rng(1), (20, 3), reuse=True)
    copy = pickle.loads(pickle.dumps(rows))
    assert copy.n_all == 20 and copy.index is None and copy._scratch == {}
    assert rows._scratch  # the original keeps its own
    sub = pickle.loads(pickle.dumps(Rows(20, np.array([2, 5]))))
    assert sub.index.tolist() == [2, 5] and sub.n == 2


def test_pairwise_sum_is_numpys_sum_and_reduceat_bit_for_bit():
    # lengths below 8, up to the 128 block and far past it (several levels of halves), values
    # over many magnitudes and both signs (an order of addition would show), signed zeros
    from outcome_gym.sim._rows import pairwise_frames, pairwise_sum

    rng = np.random.default_rng(12)
    frames = pairwise_frames()  # one working stack for every call, left dirty by the last
    for n in [*range(1, 40), 127, 128, 129, 136, 255, 256, 500, 1000, 4099, 100_003]:
        x = rng.random(n) * 10.0 ** rng.integers(-9, 9, n) * rng.choice([1.0, -1.0, 0.0], n)
        if n % 3 == 0:
            x[: n // 2] = -0.0
        s = int(rng.integers(0, n))
        # numpy's sum starts from add's identity (+0.0), reduceat from the first entry (below);
        # compared as bytes, so a -0.0 for a 0.0 would show
        for got in (pairwise_sum(x, 0, n), pairwise_sum(x, 0, n, frames)):
            assert np.array([0.0 + got]).tobytes() == np.array([x.sum()]).tobytes(), n
        want = np.add.reduceat(x[None, :], np.array([s]), axis=1)[0, 0]
        got = x[s] + pairwise_sum(x, s + 1, n)
        assert np.array([got]).tobytes() == np.array([want]).tobytes(), n
    for n in (1, 9, 129, 300):  # all -0.0: the sum is -0.0 from the first entry, 0.0 from 0.0
        x = np.full(n, -0.0)
        assert np.signbit(pairwise_sum(x, 0, n)) and np.signbit(pairwise_sum(x, 0, n, frames))
        assert np.signbit(np.add.reduceat(x[None, :], np.array([0]), axis=1)[0, 0])
        assert not np.signbit(x.sum())


def test_pairwise_sum_by_hand():
    # nine entries: eight accumulators r_j = a_j (no full second round), combined as
    # ((1e16 + 1) + (1 + 1)) + ((-1e16 + 1) + (1 + 1)) = (1e16 + 2) + (-1e16 + 2) = 4 (1e16 + 1
    # rounds to 1e16: the spacing there is 2), then + a_8 = 5. Left to right it would be 4.
    from outcome_gym.sim._rows import pairwise_sum

    a = np.array([1e16, 1, 1, 1, -1e16, 1, 1, 1, 1])
    assert pairwise_sum(a, 0, 9) == 5.0 == a.sum()
    assert sum(a.tolist()) == 4.0  # the order matters
    assert np.signbit(pairwise_sum(np.array([-0.0, -0.0]), 0, 2))  # -0.0 stays -0.0
    assert np.signbit(pairwise_sum(np.zeros(0), 0, 0))  # nothing: -0.0 (x + -0.0 is x)


def test_row_totals_are_numpys_row_sums_bit_for_bit():
    # np.add.reduce(m, axis=1) of each matrix in turn: each row from the identity, pairwise (K up
    # to 128, 8 accumulators above 8), values over many magnitudes and signs, rows of signed
    # zeros (-0.0 summed from 0.0 is 0.0); and row_sums of a MetricRows, wider ones too (numpy's)
    from outcome_gym.sim._rows import row_totals
    from outcome_gym.sim.interface import MetricRows, row_sums

    rng = np.random.default_rng(8)
    for trial in range(200):
        k = int(rng.integers(1, 129))
        matrices = []
        for _ in range(1 + trial % 2):  # one matrix, or two (a product record's)
            r = int(rng.integers(1, 60))
            m = rng.random((r, k)) * 10.0 ** rng.integers(-9, 9, (r, k)) * rng.choice([1, -1, 0], (r, k))
            m[0] = -0.0
            m.setflags(write=False)  # as a record's matrices are
            matrices.append(m)
        out = np.full(sum(m.shape[0] for m in matrices), np.nan)
        assert row_totals(tuple(matrices), out)
        want = np.concatenate([np.add.reduce(m, axis=1) for m in matrices])
        assert out.tobytes() == want.tobytes(), trial
        assert not np.signbit(out[0])
    for k in (128, 129, 300):  # K > 128: row_totals declines, row_sums takes numpy's sums
        m = rng.random((3, k)) * 10.0 ** rng.integers(-9, 9, (3, k))
        m.setflags(write=False)
        assert row_totals((m,), np.empty(3)) is (k <= 128)
        got = row_sums(MetricRows(["a", "b", "c"], m))
        assert np.array(list(got.values())).tobytes() == np.add.reduce(m, axis=1).tobytes()


def test_row_totals_by_hand():
    from outcome_gym.sim._rows import row_totals

    out = np.zeros(3)
    assert row_totals((np.array([[1.0, 2.0, 0.5], [-0.0, -0.0, -0.0]]),
                       np.array([[0.25, 0.25, 0.0]])), out)
    assert out.tolist() == [3.5, 0.0, 0.5]
