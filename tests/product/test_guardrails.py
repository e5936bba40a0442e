"""The guardrail layer: projection, counting, strict mode, off."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from outcome_gym.errors import ActionError
from outcome_gym.product.guardrails import KINDS, RunTables, make_guardrails, project_rows
from outcome_gym.runner import run
from outcome_gym.sim.interface import Action
from outcome_gym.sim.model import SimulationModel
from tests.conftest import variant


def core_rows(layout, default, core_slot, core_element, count, restore):
    """``count +=`` the lock_core counts of project_rows with only lock_core on (the layout
    rebuilt in place when ``restore``)."""
    from outcome_gym.product.guardrails import project_rows

    counts = np.full((4, len(layout)), -1, np.int64)
    sums = np.zeros((4, 1))
    project_rows(layout, np.zeros((len(layout), 0), bool), np.asarray(default, np.int64),
                 core_slot, core_element, True, restore, np.ones(len(default)), 1.0, False, 0.0,
                 False, -1, np.zeros(len(layout), np.int64), np.zeros(len(layout), np.int64),
                 counts, sums)
    assert (counts[1:] == 0).all()  # the other kinds are off, and written as zeros
    assert sums[:, 0].tolist() == [counts[0].sum(), 0, 0, 0]  # everyone in segment 0
    count += counts[0]


def cap_rows(notify, sent, cap, count):
    """``count +=`` the capped counts of project_rows with only the daily cap on."""
    from outcome_gym.product.guardrails import project_rows

    n = len(notify)
    counts = np.full((4, n), -1, np.int64)
    project_rows(np.zeros((n, 1), np.int64), notify, np.zeros(1, np.int64), np.zeros(1, bool),
                 np.zeros(1, bool), False, True, np.ones(1), 1.0, False, 0.0, False, cap, sent,
                 np.zeros(n, np.int64), counts, np.zeros((4, 1)))
    assert (counts[[0, 1, 3]] == 0).all()
    count += counts[2]


def revert_row(layout, i, default, weight, weight_sum, bound):
    """The reverted count of row i by project_rows with only the distance limit on."""
    from outcome_gym.product.guardrails import project_rows

    counts = np.zeros((4, 1), np.int64)
    row = layout[i:i + 1]  # a view: reverted in place
    project_rows(row, np.zeros((1, 0), bool), np.asarray(default, np.int64),
                 np.zeros(len(default), bool), np.zeros(10, bool), False, True, weight,
                 weight_sum, True, bound, False, -1, np.zeros(1, np.int64), np.zeros(1, np.int64),
                 counts, np.zeros((4, 1)))
    return int(counts[1, 0])


def _setup(tiny, **overrides):
    m = SimulationModel(tiny, 0, mesa_agents=False)
    layer = make_guardrails(m.context, overrides or None)
    return m, layer


def test_core_positions_are_restored_and_counted(tiny):
    m, layer = _setup(tiny)
    obs = m.observe()
    a = m.default_action()
    lay = a.layout.astype(np.int64)
    lay[0, [0, 1]] = lay[0, [1, 0]]  # swap the two core elements (home, tasks_list) for user 0
    lay[1, 2] = m.world.default_layout[0]  # core 'home' shown in a non-core slot for user 1
    out = layer.apply(Action(layout=lay, notify=a.notify), obs)
    d = m.world.default_layout
    assert (out.action.layout[:, :2] == d[:2]).all()
    # user 1's free slots keep the policy's order of its non-core elements (d3, d4, d5), and the
    # one it dropped to show 'home' twice (d2) comes last: every element exactly once
    assert out.action.layout[1, 2:].tolist() == [d[3], d[4], d[5], d[2]]
    counts = out.matrix[KINDS.index("core_restored")]
    assert counts[0] == 2 and counts[1] == 1 and counts[2:].sum() == 0


def test_a_policys_action_is_left_as_it_was_unless_the_caller_owns_it(tiny):
    # the layer projects a copy of a policy's arrays (it may keep them); the env's own fresh
    # arrays (own=True) are projected in place, the same result either way
    m, layer = _setup(tiny)
    obs = m.observe()
    lay = m.default_action().layout.astype(np.int64)
    lay[0, [0, 1]] = lay[0, [1, 0]]  # breaks the core lock: the layer changes row 0
    notify = np.ones((m.pop.n, m.world.n_pushed), dtype=bool)
    given = lay.copy(), notify.copy()
    copied = layer.apply(Action(layout=lay, notify=notify), obs)
    assert (lay == given[0]).all() and (notify == given[1]).all()
    assert not np.shares_memory(copied.action.layout, lay)
    owned = layer.apply(Action(layout=lay, notify=notify), obs, own=True)
    assert owned.action.layout is lay and owned.action.notify is notify
    assert (lay != given[0]).any() and (lay == copied.action.layout).all()


def test_layout_distance_limited_bottom_first(tiny):
    m, layer = _setup(tiny, max_layout_distance=0.25)
    obs = m.observe()
    d = m.world.default_layout.astype(np.int64)
    lay = np.broadcast_to(d, (m.pop.n, d.size)).copy()
    lay[0, 2:] = np.roll(d[2:], 1)  # 4 non-core positions differ: distance 4 / (2*4 + 4) = 1/3
    out = layer.apply(Action(layout=lay, notify=m.default_action().notify), obs)
    # reverting the bottom slot gives 3/12 = 0.25 <= 0.25
    assert out.matrix[KINDS.index("layout_reverted")][0] == 1
    # d[5] is swapped back into the bottom slot from slot 2, whose element d[4] moves up into
    # it (overwriting would show d[5] twice and drop d[4])
    assert out.action.layout[0, 2:].tolist() == [d[4], d[2], d[3], d[5]]


@pytest.mark.parametrize("limit", [None, 0.0, 0.2, 0.5])
def test_projection_keeps_every_layout_a_permutation(tiny, limit):
    """Random layouts through lock_core and max_layout_distance: each element shown exactly once."""
    m, layer = _setup(tiny, max_layout_distance=limit)
    obs = m.observe()
    d = m.world.default_layout.astype(np.int64)
    rng = np.random.default_rng(5)
    lay = np.stack([rng.permutation(d) for _ in range(m.pop.n)])
    out = layer.apply(Action(layout=lay, notify=m.default_action().notify), obs)
    assert (np.sort(out.action.layout, axis=1) == np.sort(d)).all()
    core = np.asarray(m.context.core_slot)
    assert (out.action.layout[:, core] == d[core]).all()
    if limit is not None:
        from outcome_gym.sim.layout import layout_distance

        w = np.where(core, m.scenario.context.core_weight, 1.0)
        dist = layout_distance(out.action.layout, np.broadcast_to(d, out.action.layout.shape), w)
        assert (dist <= limit + 1e-12).all()


def test_quiet_slots_and_daily_cap(tiny):
    m, layer = _setup(tiny, max_notifications_per_day=1, quiet_slots=["night"])
    n, mm = m.pop.n, m.world.n_pushed
    sent = []
    for _ in range(4):  # one day: morning, afternoon, evening, night
        obs = m.observe()
        out = layer.apply(Action(layout=m.default_action().layout,
                                 notify=np.ones((n, mm), bool)), obs)
        sent.append(out.action.notify.sum(axis=1))
        m.advance(out.action)
    sent = np.array(sent)
    assert (sent.sum(axis=0) == 1).all()  # cap of one per day
    assert (sent[3] == 0).all()  # night is quiet
    assert layer._sent_today.max() == 1


def test_strict_mode_names_user_and_slot(tiny):
    m = SimulationModel(tiny, 0, mesa_agents=False)
    layer = make_guardrails(m.context, None, mode="strict")
    a = m.default_action()
    lay = a.layout.astype(np.int64)
    lay[4, [0, 1]] = lay[4, [1, 0]]
    with pytest.raises(ActionError, match=r"user 4, slot 0: a core element was moved"):
        layer.apply(Action(layout=lay, notify=a.notify), m.observe())


def test_off_lets_everything_through_and_run_shows_the_difference(tiny):
    sc = variant(tiny, **{"population.size": 100})
    guarded = run(sc, "random", 0, policy_params={"keep_core": False})
    free = run(sc, "random", 0, policy_params={"keep_core": False}, guardrails=False)
    fg = guarded.summary.segments["worker"].fragmentation
    ff = free.summary.segments["worker"].fragmentation
    assert fg.core_consistency == 1.0 and ff.core_consistency < 0.5
    assert guarded.steps["guardrail_core_restored"].sum() > 0
    assert free.steps["guardrail_core_restored"].sum() == 0
    assert ff.context_failure_rate_all > fg.context_failure_rate_all
    assert guarded.manifest["guardrails"]["mode"] == "project"
    assert free.manifest["guardrails"]["mode"] == "off"


def test_revert_row_by_hand():
    # default [0, 1, 2], weights [4, 1, 1] (sum 6).
    # row 0 = [3, 4, 2], limit 1/3: distance (4 + 1) / 6 > 1/3; slot 2 already default; slot 1:
    #   4 -> 1 (1 is nowhere else) -> [3, 1, 2], distance 4/6 still > 1/3; slot 0: 3 -> 0.
    #   Two reverts, the default layout.
    # row 1 = [1, 0, 2]: distance 5/6; slot 1 wants 1, which sits in slot 0: swapped ->
    #   [0, 1, 2], one revert (slot 0 is then default).
    # row 2 = [0, 1, 5]: distance 1/6 <= 1/3, kept.
    from outcome_gym.product.guardrails import DISTANCE_TOLERANCE

    default, weight = np.array([0, 1, 2]), np.array([4.0, 1.0, 1.0])
    layout = np.array([[3, 4, 2], [1, 0, 2], [0, 1, 5]], dtype=np.int64)
    count = [revert_row(layout, i, default, weight, 6.0, 1 / 3 + DISTANCE_TOLERANCE)
             for i in range(3)]
    assert layout.tolist() == [[0, 1, 2], [0, 1, 2], [0, 1, 5]]
    assert count == [2, 1, 0]
    # stopping part-way, limit 0.2: [0, 4, 5] is at 2/6 > 0.2; slot 2: 5 -> 2 gives [0, 4, 2] at
    # 1/6 <= 0.2, so slot 1 keeps 4 and one revert is counted
    layout = np.array([[0, 4, 5]], dtype=np.int64)
    assert revert_row(layout, 0, default, weight, 6.0, 0.2 + DISTANCE_TOLERANCE) == 1
    assert layout.tolist() == [[0, 4, 2]]


def _revert_every_slot(row, default, weight, weight_sum, bound):
    """The reversion as specified, every slot k = S-1 .. 0 checked with its distance summed
    again (what project_rows did before it stopped at the first slot found within the limit).
    """
    reverted = 0
    for k in range(len(row) - 1, -1, -1):
        if row[k] == default[k]:
            continue
        diff = 0.0
        for j in range(len(row)):
            if row[j] != default[j]:
                diff += weight[j]
        if not diff / weight_sum > bound:
            continue
        where = [j for j in range(len(row)) if row[j] == default[k]]
        if where:
            row[where[0]] = row[k]
        row[k] = default[k]
        reverted += 1
    return reverted


@pytest.mark.parametrize("core_weight", [4.0, 2.3])
def test_reverting_stops_where_a_row_is_within_the_limit(core_weight):
    # a row found within the limit stays within it: stopping there reverts what checking every
    # slot reverts, with whole and fractional weights, over random rows and limits
    rng = np.random.default_rng(7)
    default = np.arange(7)
    weight = np.where(np.arange(7) < 2, core_weight, 1.0)
    for _ in range(300):
        if rng.random() < 0.5:  # anything (distinct elements, some of the default's)
            row = rng.permutation(12)[:7]
        else:  # near the default: two slots swapped, one element replaced by a new one
            row = default.copy()
            i, j = rng.choice(7, 2, replace=False)
            row[[i, j]] = row[[j, i]]
            row[rng.integers(7)] = 7 + rng.integers(5)
        bound = float(rng.choice([0.0, 0.1, 0.3, 0.5, 0.8]))
        want = row.copy()
        n_want = _revert_every_slot(want, default, weight, weight.sum(), bound)
        got = row[None, :].copy()
        assert revert_row(got, 0, default, weight, float(weight.sum()), bound) == n_want
        assert got[0].tolist() == want.tolist()


def test_strict_mode_names_the_first_layout_over_the_distance(tiny):
    """tiny: default [0..5], slots 0-1 core. Limit 0: any moved element is over. User 7 swaps slots
    2 and 3, users 5 and 9 slots 4 and 5: projection would revert the bottom slot (5) first, where
    user 5 is the first to differ, so strict mode names user 5, slot 5 (distance 2 / weight sum)."""
    m = SimulationModel(tiny, 0, mesa_agents=False)
    layer = make_guardrails(m.context, {"max_layout_distance": 0.0}, mode="strict")
    a = m.default_action()
    lay = a.layout.astype(np.int64)
    lay[7, [2, 3]] = lay[7, [3, 2]]
    lay[[5, 9], 4], lay[[5, 9], 5] = lay[[5, 9], 5], lay[[5, 9], 4]
    weight_sum = 2 * tiny.context.core_weight + 4
    with pytest.raises(ActionError, match=rf"user 5, slot 5: layout distance "
                                          rf"{2 / weight_sum:.2f} exceeds max_layout_distance 0.0"):
        layer.apply(Action(layout=lay, notify=a.notify), m.observe())
    lay[[5, 9], 4:] = m.world.default_layout[4:]  # only user 7 left: slot 3 is the bottom one
    with pytest.raises(ActionError, match=r"user 7, slot 3: "):
        layer.apply(Action(layout=lay, notify=a.notify), m.observe())


def test_lock_core_and_cap_by_hand():
    # default (5, 6, 7), slot 0 core, element 5 the core element:
    #   (6, 5, 7): slot 0 shows 6 (not 5) and slot 1 shows core element 5 -> 2
    #   (5, 6, 7): nothing -> 0;   (5, 7, 5): core element 5 in slot 2 -> 1
    # cap 2, sent today (1, 0, 3): allowed (1, 2, 0)
    #   (T, T, T) keeps the first, drops 2;  (T, F, T) keeps both;  (T, F, F) drops its one
    core_element = np.zeros(8, bool)
    core_element[5] = True
    count = np.zeros(3, np.int64)
    core_rows(np.array([[6, 5, 7], [5, 6, 7], [5, 7, 5]]), np.array([5, 6, 7]),
              np.array([True, False, False]), core_element, count, False)
    assert count.tolist() == [2, 0, 1]
    notify = np.array([[True, True, True], [True, False, True], [True, False, False]])
    capped = np.zeros(3, np.int64)
    sent = np.array([1, 0, 3])
    cap_rows(notify, sent, 2, capped)
    assert capped.tolist() == [2, 0, 1]
    assert sent.tolist() == [2, 2, 3]  # the sends let through (1, 2, 0) added to today's
    assert notify.tolist() == [[True, False, False], [True, False, True], [False, False, False]]


def _restore_core_numpy(rows, default, core_slot, core_element):
    """The numpy rebuild ``GuardrailLayer._restore_core`` did before the compiled pass (kept
    here only as the reference the pass must equal bit for bit)."""
    free = np.flatnonzero(~core_slot)
    out = np.broadcast_to(default, rows.shape).copy()
    if not free.size:
        return out
    noncore = ~core_element[rows]
    order = np.argsort(~noncore, axis=1, kind="stable")
    kept = np.take_along_axis(rows, order, axis=1)
    n_kept = noncore.sum(axis=1)
    fill = default[free]
    for i in np.flatnonzero(n_kept < free.size):
        have = set(kept[i, : n_kept[i]].tolist())
        extra = [e for e in fill.tolist() if e not in have]
        kept[i, n_kept[i]: free.size] = extra[: free.size - n_kept[i]]
    out[:, free] = kept[:, : free.size]
    return out


def test_lock_core_restores_rows_by_hand():
    # default (5, 6, 7, 8), slots 0 and 2 core (elements 5 and 7), free slots 1 and 3:
    #   (6, 5, 7, 8): slot 0 not 5, core 5 in slot 1 -> 2; non-core kept in order (6, 8)
    #       -> (5, 6, 7, 8)
    #   (5, 8, 7, 6): compliant -> 0, untouched (the policy's order of the free slots stays)
    #   (7, 5, 5, 7): every slot breaks it -> 4; no non-core element kept: fillers 6, 8
    #       in default order -> (5, 6, 7, 8)
    #   (5, 9, 8, 5): slot 2 not 7, core 5 in slot 3 -> 2; kept (9, 8) -> (5, 9, 7, 8)
    #   (8, 5, 7, 9): slot 0 not 5, core 5 in slot 1 -> 2; kept (8, 9) -> (5, 8, 7, 9)
    #   (5, 7, 6, 6): core 7 in slot 1, slot 2 not 7 -> 2; kept (6, 6) -> (5, 6, 7, 6)
    #   (7, 9, 5, 5): -> 3; kept (9); filler: 6 (not shown) -> (5, 9, 7, 6)
    #   (5, 6, 7, 5): core 5 in slot 3 -> 1; kept (6); filler 6 shown, 8 not -> (5, 6, 7, 8)
    default = np.array([5, 6, 7, 8])
    core_slot = np.array([True, False, True, False])
    core_element = np.zeros(10, bool)
    core_element[[5, 7]] = True
    layout = np.array([[6, 5, 7, 8], [5, 8, 7, 6], [7, 5, 5, 7], [5, 9, 8, 5], [8, 5, 7, 9],
                       [5, 7, 6, 6], [7, 9, 5, 5], [5, 6, 7, 5]])
    count = np.zeros(len(layout), np.int64)
    core_rows(layout, default, core_slot, core_element, count, True)
    assert count.tolist() == [2, 0, 4, 2, 2, 2, 3, 1]
    assert layout.tolist() == [[5, 6, 7, 8], [5, 8, 7, 6], [5, 6, 7, 8], [5, 9, 7, 8],
                               [5, 8, 7, 9], [5, 6, 7, 6], [5, 9, 7, 6], [5, 6, 7, 8]]
    # restore=False (strict mode) counts and leaves the layout as the policy chose it
    before = np.array([[6, 5, 7, 8]])
    kept = before.copy()
    count = np.zeros(1, np.int64)
    core_rows(kept, default, core_slot, core_element, count, False)
    assert count.tolist() == [2] and kept.tolist() == before.tolist()


@pytest.mark.parametrize("seed", range(6))
def test_lock_core_equals_the_numpy_rebuild(seed):
    """On random layouts (permutations and draws with repeats, random core slots, all-core and
    no-core layouts) the compiled rebuild equals the numpy one bit for bit."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n_el = int(rng.integers(1, 12))
        s = int(rng.integers(1, n_el + 1))
        default = rng.permutation(n_el)[:s].astype(np.int64)
        core_slot = rng.random(s) < rng.choice([0.0, 0.3, 0.7, 1.0])
        core_element = np.zeros(n_el, bool)
        core_element[default[core_slot]] = True
        n = 50
        if rng.random() < 0.5:
            layout = np.stack([rng.permutation(n_el)[:s] for _ in range(n)]).astype(np.int64)
        else:
            layout = rng.integers(0, n_el, size=(n, s)).astype(np.int64)
        count = np.zeros(n, np.int64)
        got = layout.copy()
        core_rows(got, default, core_slot, core_element, count, True)
        fix = count.nonzero()[0]
        want = layout.copy()
        want[fix] = _restore_core_numpy(layout[fix], default, core_slot, core_element)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype


def _strict_cap_of_one(tiny):
    """A model, a strict guardrail layer with a daily cap of 1 and no quiet slots, and the action
    sends of one notification (the first template) to every user.
    """
    m = SimulationModel(tiny, 0, mesa_agents=False)
    layer = make_guardrails(m.context, {"max_notifications_per_day": 1, "quiet_slots": []},
                            mode="strict")
    one = np.zeros((m.pop.n, m.world.n_pushed), bool)
    one[:, 0] = True
    return m, layer, one


def test_strict_cap_violation_raises_and_leaves_todays_sends(tiny):
    # cap 1: the first step's one send each is let through and counted; a second send on the
    # same day raises in strict mode, and today's sends stay as they were before that action
    m, layer, one = _strict_cap_of_one(tiny)
    n = m.pop.n
    out = layer.apply(Action(layout=m.default_action().layout, notify=one), m.observe())
    assert layer._sent_today.tolist() == [1] * n
    m.advance(out.action)
    with pytest.raises(ActionError, match=r"user 0 exceeds the daily notification cap"):
        layer.apply(Action(layout=m.default_action().layout, notify=one), m.observe())
    assert layer._sent_today.tolist() == [1] * n


def test_strict_refusal_of_a_moved_core_leaves_todays_sends(tiny):
    # one pass counts every kind before strict mode names the first violation: an action that
    # moves a core element and sends is refused for the core, and its sends (which the pass
    # added to today's) are not counted against the cap afterwards
    m, layer, one = _strict_cap_of_one(tiny)
    n = m.pop.n
    lay = m.default_action().layout.astype(np.int64)
    lay[2, [0, 1]] = lay[2, [1, 0]]
    with pytest.raises(ActionError, match=r"user 2, slot 0: a core element was moved"):
        layer.apply(Action(layout=lay, notify=one), m.observe())
    assert layer._sent_today.tolist() == [0] * n
    out = layer.apply(Action(layout=m.default_action().layout, notify=one), m.observe())
    assert layer._sent_today.tolist() == [1] * n and out.matrix[KINDS.index("notification_capped")].sum() == 0


def test_project_rows_quiet_slot_drops_without_touching_todays_sends():
    # two users, three columns, cap 1, user 1 sent one already today; in a quiet slot every send
    # is dropped and counted as quiet (3 and 1), nothing is capped and today's sends stay (0, 1)
    from outcome_gym.product.guardrails import project_rows

    notify = np.array([[True, True, True], [False, True, False]])
    sent = np.array([0, 1])
    counts = np.full((4, 2), -1, np.int64)
    sums = np.zeros((4, 3))  # user 0 in segment 2, user 1 in segment 0; segment 1 empty
    project_rows(np.zeros((2, 1), np.int64), notify, np.zeros(1, np.int64), np.zeros(1, bool),
                 np.zeros(1, bool), False, True, np.ones(1), 1.0, False, 0.0, True, 1, sent,
                 np.array([2, 0]), counts, sums)
    assert counts.tolist() == [[0, 0], [0, 0], [0, 0], [3, 1]]
    assert sums.tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 0], [1, 0, 3]]
    assert not notify.any() and sent.tolist() == [0, 1]


def test_the_run_tables_are_the_pass_parameters_after_the_action_in_order():
    # the layer splices them positionally into project_rows: a reordered kernel must fail here
    # (several are bools or floats, which a mismatch would pass silently)
    params = list(inspect.signature(project_rows.py_func).parameters)
    assert params[:2] == ["layout", "notify"]
    assert params[2:2 + len(RunTables._fields)] == list(RunTables._fields)


def test_a_layers_settings_are_read_only(tiny):
    # the run tables are derived from them at reset: a layer changed afterwards would
    # mix the old tables with the new settings
    layer = make_guardrails(SimulationModel(tiny, 0).context, {"quiet_slots": []}, "strict")
    with pytest.raises(AttributeError):
        layer.mode = "project"
    with pytest.raises(AttributeError):
        layer.config = layer.config.model_copy(update={"lock_core": False})
    assert layer.mode == "strict" and layer._tables.restore is False
