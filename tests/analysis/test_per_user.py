"""Per-user paired effects (docs/who-is-harmed.md): common random numbers per user, the per-user
values of outcome specs, the shares and quantiles, the margin, the placebo."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from outcome_gym import compare
from outcome_gym.analysis.per_user import (
    classify,
    seed_stats,
    spec_values,
    user_effects,
    user_values,
)
from outcome_gym.errors import ScenarioError
from outcome_gym.policies.base import BasePolicy
from outcome_gym.policies.spec import PolicySpec
from outcome_gym.runner import run
from outcome_gym.scenario import load_scenario
from outcome_gym.scenario.overrides import size_overrides, with_overrides
from outcome_gym.sim.interface import Action, Observation
from outcome_gym.sim.population import Population
from tests.conftest import TINY, variant


class OneUserDiffers(BasePolicy):
    """Static for everyone but user 0, who gets every notification and a reversed layout."""

    name = "one_user_differs"

    def act(self, observation: Observation) -> Action:
        ctx = self.context_
        layout = np.broadcast_to(ctx.default_layout, (ctx.n_users, ctx.n_slots)).copy()
        free = np.flatnonzero(~ctx.core_slot)
        layout[0, free] = layout[0, free[::-1]]
        notify = self.default_notify(observation).copy()
        notify[0] = True
        return Action(layout=layout, notify=notify)


def _trajectory(scenario, policy, seed=3):
    """Every population array of every user at every step (copies), and the users table."""
    snaps: list[dict[str, np.ndarray]] = []

    def grab(model):
        snaps.append({f.name: getattr(model.pop, f.name).copy() for f in fields(Population)})

    res = run(scenario, policy, seed, before_act=grab)
    return snaps, res.users


def _differing_users(a, b) -> set[int]:
    """Users whose state differs at any step in any array (bitwise)."""
    out: set[int] = set()
    for sa, sb in zip(a, b, strict=True):
        for name, x in sa.items():
            y = sb[name]
            diff = x != y
            out |= set(np.flatnonzero(diff.reshape(diff.shape[0], -1).any(axis=1)).tolist())
    return out


@pytest.mark.parametrize("source", [TINY, "finance_alerts"])
def test_a_change_for_user_0_leaves_every_other_trajectory_bit_identical(source):
    # no shared team state: no colleague looks at anyone's screen
    sc = with_overrides(load_scenario(source), {"context.colleague_share_per_day": 0.0,
                                                **size_overrides(150, 10)})
    ref, ref_users = _trajectory(sc, "static")
    pol, pol_users = _trajectory(sc, OneUserDiffers())
    assert _differing_users(ref, pol) == {0}  # user 0 changed (the test can fail) ...
    # ... and every other user's whole run is the same, to the bit
    cols = [c for c in ref_users.columns if c != "segment"]
    pd.testing.assert_frame_equal(ref_users.loc[1:, cols], pol_users.loc[1:, cols])


def test_with_colleagues_a_change_stays_within_the_users_team(tiny):
    """Shared screens read a colleague's layout (sim/model.py _context): the one sanctioned
    coupling between users. A change for user 0 reaches at most user 0's team."""
    sc = variant(tiny, **{"context.colleague_share_per_day": 3.0, "population.size": 150})
    ref, users = _trajectory(sc, "static")
    pol, _ = _trajectory(sc, OneUserDiffers())
    team = set(np.flatnonzero(users["team"].to_numpy() == users["team"].iloc[0]).tolist())
    changed = _differing_users(ref, pol)
    assert 0 in changed and changed <= team


def test_the_reference_against_itself_is_exactly_zero_for_every_user(tiny):
    sc = variant(tiny, **{"population.size": 80, "clock.horizon_days": 8})  # a budget window closes
    cmp = compare(sc, ["static", PolicySpec(policy="static", label="again")], seeds=2)
    t = cmp.harm.table()
    assert not t.empty and set(t["policy"]) == {"again"}
    for stat in ("share_worse", "share_better", "q10", "q25", "q50", "q75", "mean"):
        assert (t.loc[t["stat"] == stat, "mean"] == 0.0).all(), stat
    assert (t.loc[t["stat"] == "share_unchanged", "mean"] == 1.0).all()
    # user by user: the same numbers, not just the same shares
    u = cmp.users
    a = u[u["policy"] == "static"].drop(columns="policy").reset_index(drop=True)
    b = u[u["policy"] == "again"].drop(columns="policy").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert cmp.rules == {"again": []}


def test_classify_by_hand():
    # reference mean 10, margin 5% -> +-0.5: -1 worse, -0.5 unchanged (the edge), +0.6 better
    ref = np.array([10.0, 10.0, 10.0, 10.0])
    diff = np.array([-1.0, -0.5, 0.6, np.nan])
    assert classify(diff, ref, "increase", 0.05)[:3].tolist() == [-1.0, 0.0, 1.0]
    assert np.isnan(classify(diff, ref, "increase", 0.05)[3])
    # a metric where less is better (time to completion): the signs flip
    assert classify(diff, ref, "decrease", 0.05)[:3].tolist() == [1.0, 0.0, -1.0]
    # margin 0: any difference counts
    assert classify(np.array([-1e-9, 0.0]), ref[:2], "increase", 0.0).tolist() == [-1.0, 0.0]


def test_seed_stats_by_hand():
    # diffs -2, -1, 0, 1, 4 on a reference of mean 10 (margin 0.05 -> 0.5):
    # worse 2/5, better 2/5, unchanged 1/5; mean 0.4; np.quantile (linear): q10 -1.6, q25 -1,
    # q50 0, q75 1
    st = seed_stats(np.array([-2.0, -1.0, 0.0, 1.0, 4.0]), np.full(5, 10.0), "increase", 0.05)
    assert st["share_worse"] == pytest.approx(0.4) and st["share_better"] == pytest.approx(0.4)
    assert st["share_unchanged"] == pytest.approx(0.2) and st["mean"] == pytest.approx(0.4)
    assert [st[q] for q in ("q10", "q25", "q50", "q75")] == pytest.approx([-1.6, -1.0, 0.0, 1.0])
    assert st["n_users"] == 5


def test_spec_values_per_user_by_hand(tiny):
    users = pd.DataFrame({
        "user": [0, 1, 2], "segment": ["worker", "worker", "saver"],
        "work.completed": [3.0, 0.0, 0.0], "work.completed_on_time": [2.0, 0.0, 0.0],
        "work.failed": [1.0, 0.0, 0.0], "budget.adjusted_in_time": [0.0, 0.0, 1.0],
        "budget.window_closed": [0.0, 0.0, 2.0], "practice.practised": [5.0, 2.0, 0.0]})
    kinds = {g.id: g.kind for g in tiny.goals}
    spec = {o.id: o for o in tiny.outcomes}
    on_time = spec_values(spec["on_time"], kinds["work"], users, 4)
    assert on_time.tolist() == [2.0, 0.0, 0.0]
    # adjusted in time: 1 of 2 closed windows; undefined (NaN) without a closed window
    adj = spec_values(spec["adjusted"], kinds["budget"], users, 4)
    assert np.isnan(adj[:2]).all() and adj[2] == 0.5
    vals = user_values(tiny, users)
    # a spec's values exist only for its segment
    assert vals["outcome.practised"].tolist()[:2] == [5.0, 2.0]
    assert np.isnan(vals["outcome.practised"].iloc[2])


def test_user_values_match_the_run_summary(tiny):
    """Counts summed over the spec's segment are the summary's per-user value times its users."""
    sc = variant(tiny, **{"population.size": 100})
    res = run(sc, "random", 1)
    vals = user_values(sc, res.users)
    for o in sc.outcomes:
        if o.metric in ("completed_on_time", "days_practised"):
            ov = res.summary.outcomes[o.id]
            got = np.nansum(vals[f"outcome.{o.id}"]) / ov.n_users
            assert got == pytest.approx(ov.value, rel=1e-12)


@pytest.mark.parametrize("bad, expect", [(-0.1, "expected a number >= 0, got -0.1"),
                                         (".nan", "finite number")])
def test_a_negative_or_nan_margin_is_refused_with_file_line_and_key(tmp_path, bad, expect):
    text = TINY.read_text().replace("guardrails:\n", f"verdict:\n  user_margin: {bad}\n"
                                    "guardrails:\n", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    line = text.splitlines().index(f"  user_margin: {bad}") + 1
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert "verdict.user_margin" in msg and f"{path}:{line}" in msg and expect in msg


def test_the_placebo_is_the_reference_with_choices_re_dealt(tiny, tmp_path):
    sc = variant(tiny, **{"population.size": 120, "clock.horizon_days": 8})
    cmp = compare(sc, ["static", "random"], seeds=3, out=tmp_path / "c", placebo_seeds=2,
                  story=False)
    assert cmp.harm.placebo == "placebo"
    plac = cmp.users[cmp.users["policy"] == "placebo"]
    assert sorted(plac["seed"].unique()) == [0, 1]
    ref = cmp.users[(cmp.users["policy"] == "static") & (cmp.users["seed"] == 0)]
    p0 = plac[plac["seed"] == 0]
    # the same people (traits) ...
    assert np.array_equal(ref["attention_budget"].to_numpy(), p0["attention_budget"].to_numpy())
    # ... living different chances: some users' engagement moved
    assert (ref["engagement.index"].to_numpy() != p0["engagement.index"].to_numpy()).any()
    t = cmp.harm.table()
    row = t[(t["policy"] == "placebo") & (t["stat"] == "share_worse")]
    assert len(row) and (row["seeds"] == 2).all()
    # the report shows the placebo's share beside the policy's
    md = (tmp_path / "c" / "report.md").read_text()
    assert "### Who is harmed" in md and "placebo worse off" in md


def test_effects_need_the_same_users_on_both_sides(tiny):
    vals = pd.DataFrame({"user": [0, 1], "segment": ["worker", "worker"],
                         "engagement.index": [1.0, 2.0], "policy": ["a", "b"], "seed": [0, 0]})
    with pytest.raises(KeyError, match="different users"):
        user_effects(tiny, vals, ["a", "b"], "a", [0])
