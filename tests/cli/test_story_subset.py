"""A story's subset replay: a side whose policy treats users apart is simulated for the user's team
only, and every simulated user's days are bit for bit those of the full run (issue #21, "a story
replays in at most the time of one run").

The full and the subset model are stepped side by side (lockstep) and compared after every step:
every population array, every running total, the observation, the action and the feedback, row by
row, as bytes. A wrong ``treats_users_apart`` (a policy whose action for one user depends on others)
or a draw site that does not keep the subset's rows of a full-shape draw fails here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from outcome_gym.policies import BasePolicy, make, treats_users_apart
from outcome_gym.policies.baseline import RandomPolicy, StaticPolicy
from outcome_gym.policies.rules import RulesPolicy
from outcome_gym.product import Product
from outcome_gym.scenario import load_scenario
from outcome_gym.scenario.schema import PUSHED_KINDS
from outcome_gym.story import tell

ROOT = Path(__file__).resolve().parents[2]
WORLDS = ["productivity_tool", "learning_habits", "finance_alerts",
          str(ROOT / "examples/designer_worlds/fitness_coach.yaml"),
          str(ROOT / "examples/designer_worlds/health_companion.yaml"),
          str(ROOT / "tests/fixtures/tiny.yaml")]
TESTED = {
    StaticPolicy: (lambda sc: StaticPolicy, WORLDS),
    RulesPolicy: (lambda sc: lambda: RulesPolicy(_probe_rules(sc)), WORLDS[:3]),
}
"""Every policy class that declares it treats users apart: (a factory of policy factories for a
scenario, the worlds) — each run in lockstep against a full run below. The rules are probes built
from the scenario's own ids; the designer worlds and tiny add no observation kind the three
bundled worlds lack."""


def _same(a: object, b: object) -> bool:
    """Bitwise equality of two arrays (dtype, shape and bytes)."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _rows_equal(full: object, sub: object, ids: np.ndarray, what: str, axis: int = 0) -> None:
    assert _same(np.take(np.asarray(full), ids, axis=axis), sub), what


def lockstep(scenario, policy_factory, seed: int, users: list[int]) -> np.ndarray:
    """Step the full run and the subset replay of ``users`` together; assert every row equal.

    Returns:
        The subset's user ids.
    """
    full, sub = Product(scenario, seed), Product(scenario, seed, users=users)
    ids = sub.model.rows.ids
    assert set(users) <= set(ids.tolist()) and len(ids) < scenario.population.size
    pf, ps = policy_factory(), policy_factory()
    pf.reset(full.context, full.model.streams.policy_seed())
    ps.reset(sub.context, sub.model.streams.policy_seed())
    fields = [f.name for f in dataclasses.fields(full.model.pop)]
    while not full.done:
        of, os_ = full.observe(), sub.observe()
        for name in ("active", "session", "clicks", "minutes", "delivered", "opened",
                     "receptivity", "layout"):
            _rows_equal(getattr(of, name), getattr(os_, name), ids, f"obs.{name} t={of.step}")
        for k in of.events:
            _rows_equal(of.events[k], os_.events[k], ids, f"obs.events.{k}")
        af, as_ = pf.act(of), ps.act(os_)
        rf, rs = full.step(af), sub.step(as_)
        t = of.step
        for name in ("layout", "notify"):  # what users saw, after guardrails
            _rows_equal(getattr(rf.action, name), getattr(rs.action, name), ids, f"{name} t={t}")
        for k, v in rf.guardrail_counts.items():
            _rows_equal(v, rs.guardrail_counts[k], ids, f"guardrail {k} t={t}")
        pf.update(of, rf.action, rf.feedback)
        ps.update(os_, rs.action, rs.feedback)
        for name in fields:
            _rows_equal(getattr(full.model.pop, name), getattr(sub.model.pop, name), ids,
                        f"pop.{name} t={t}")
        for k, v in full.model.totals.items():
            _rows_equal(v, sub.model.totals[k], ids, f"totals.{k} t={t}")
        for k in rf.feedback.events:
            _rows_equal(rf.feedback.events[k], rs.feedback.events[k], ids, f"feedback.{k} t={t}")
        for name in ("clicks", "minutes", "sessions", "opens"):
            _rows_equal(getattr(rf.feedback, name), getattr(rs.feedback, name), ids,
                        f"feedback.{name} t={t}")
    # every stream ends where the full draw left it ("metrics" samples the segments simulated)
    for name, g in full.model.streams.generators.items():
        if name != "metrics":
            assert g.bit_generator.state == sub.model.streams[name].bit_generator.state, name
    fu, su = full.model.user_state(), sub.model.user_state()
    assert fu.keys() == su.keys()
    for k in fu:
        _rows_equal(fu[k], su[k], ids, f"users.{k}")
    return ids


def _probe_rules(sc) -> dict:
    """Rules that read every kind of observation (segment, slot, receptivity, sessions, events)
    and keep per-user memories (once_per_days), built from the scenario's own ids.
    """
    elements = {e.id: e for e in sc.product.elements}
    pushed = [e.id for e in sc.product.elements if e.kind in PUSHED_KINDS]
    free = [e for e in sc.product.layout.default if not elements[e].core]
    events = [e.event for e in sc.instrumentation.events]
    rules = [
        {"id": "receptive", "when": {"receptivity_above": 0.3, "active_within_days": 2,
                                     "segments": [sc.population.segments[0].id]},
         "then": {"notify": pushed[:1], "once_per_days": 1,
                  **({"promote": free[-1]} if free else {})}},
        {"id": "lapsed", "when": {"inactive_for_days": 2, "slots": [sc.clock.names[-1]]},
         "then": {"notify": pushed[-1:]}},
    ]
    if events and len(free) > 1:
        rules.append({"id": "seen", "when": {"event_within_days": {"event": events[0],
                                                                   "days": 3}},
                      "then": {"layout": free[::-1]}})
    return {"name": "probe", "default": {"notify": "schedule"}, "rules": rules}


@pytest.mark.parametrize(("cls", "world"), [(c, w) for c, (_, ws) in TESTED.items() for w in ws],
                         ids=lambda v: v.__name__ if isinstance(v, type) else Path(v).stem)
def test_a_declaring_policys_subset_replay_is_the_full_run_row_by_row(cls, world):
    sc = load_scenario(world)
    n = sc.population.size
    factory = TESTED[cls][0](sc)
    assert isinstance(factory(), cls)
    lockstep(sc, factory, 3, [1, n // 3, n - 2])  # three segments' users, three teams


@pytest.mark.parametrize("world", WORLDS[:3])
def test_rules_probe_fires_every_rule(world):
    """The probe rules act in each world (a rule that never fires would check nothing)."""
    from outcome_gym.runner import simulate

    sc = load_scenario(world)
    policy = make("rules", rules=_probe_rules(sc))
    simulate(sc, policy, 5)
    never = np.iinfo(np.int64).min // 2
    for rule, last in policy.last_fired_.items():
        assert (last > never).sum() > 10, rule


def test_a_user_sharing_screens_with_a_team_gets_the_full_runs_days():
    """productivity_tool has teams of up to 8 sharing screens: the subset is the whole team, and a
    teammate's layout on a shared screen is the full run's (colleague draws map to the same user).
    """
    sc = load_scenario("productivity_tool")
    full = Product(sc, 2)
    team = full.model.pop.team
    sizes = np.bincount(team)
    user = int(np.flatnonzero(sizes[team] == sizes.max())[0])
    ids = lockstep(sc, StaticPolicy, 2, [user])
    assert len(ids) == sizes.max() >= 5
    assert set(ids.tolist()) == set(np.flatnonzero(team == team[user]).tolist())
    shares = Product(sc, 2, users=[user])
    while not shares.done:  # the shared screens happen in this team
        shares.step(shares.model.default_action())
    assert shares.model.totals["colleague_share_events"].sum() > 0


def test_a_policy_that_draws_over_its_users_is_caught(tiny):
    """The lockstep check can fail: 'random' draws its layouts over the users it is given, so a
    subset replay of it deals other numbers (and it does not declare that it treats users apart).
    """
    assert not treats_users_apart(RandomPolicy())
    with pytest.raises(AssertionError):
        lockstep(tiny, RandomPolicy, 1, [3])


def test_only_the_tested_policies_declare_they_treat_users_apart():
    """A new declaration must join TESTED (and so the lockstep tests above)."""
    import outcome_gym.policies.registry  # noqa: F401 (every built-in policy class loaded)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    claimers = {c for c in subclasses(BasePolicy) if vars(c).get("treats_users_apart") is True
                and c.__module__.startswith("outcome_gym.")}
    assert claimers == set(TESTED)
    for name in ("engagement_bandit", "outcome_bandit", "thompson", "linucb", "random"):
        assert not treats_users_apart(make(name)), name


def test_the_declaration_is_not_inherited():
    class Nudged(StaticPolicy):
        """Changes how it acts: must declare again."""

    assert treats_users_apart(StaticPolicy()) and not treats_users_apart(Nudged())


@pytest.mark.parametrize(("world", "policy"), [
    ("productivity_tool", "engagement_bandit"),
    (str(ROOT / "tests/fixtures/tiny.yaml"), "rules"),
])
def test_the_subset_story_is_the_full_story(world, policy):
    from outcome_gym.policies.spec import PolicySpec

    sc, reference = load_scenario(world), "static"
    pol = PolicySpec(policy=policy, params={"rules": str(ROOT / "tests/fixtures/tiny_rules.yaml")}
                     if policy == "rules" else {})
    user = 11
    a = tell(sc, pol, reference, seed=4, user=user, workers=1)
    b = tell(sc, pol, reference, seed=4, user=user, workers=1, subset=False)
    assert a.table().equals(b.table())
    assert (a.events, a.summary, a.traits, a.segment) == (b.events, b.summary, b.traits, b.segment)
    assert a.reference.churn_day == b.reference.churn_day
    assert a.policy.churn_day == b.policy.churn_day
    # and it says how each side was replayed
    assert "team only" in a.reference.replayed and "team only" not in b.reference.replayed
    assert ("team only" in a.policy.replayed) == (pol.policy == "rules")
    assert f"Replayed: {reference} for the user's team only" in a.markdown()
    assert a.as_dict()["replayed"]["reference"] == a.reference.replayed


def test_a_team_of_everyone_is_the_full_run(tiny):
    from tests.conftest import variant

    one_team = variant(tiny, **{"population.size": 40, "clock.horizon_days": 3,
                                "population.team.size": 1000})
    sub = Product(one_team, 0, users=[5])
    assert sub.model.rows.index is None and sub.model.pop.n == 40
    st = tell(one_team, "static", seed=0, user=5, workers=1)
    assert st.reference.replayed == "for all 40 users (the user's team is everyone)"


def test_a_subset_must_name_existing_users(tiny):
    from outcome_gym.sim.model import SimulationModel

    for bad in ([], [-1], [tiny.population.size]):
        with pytest.raises(ValueError, match=r"expected users in 0\.\."):
            SimulationModel(tiny, 0, users=bad)
