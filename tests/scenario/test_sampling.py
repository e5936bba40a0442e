"""Sampling a distribution: the draws numpy's own calls give, from the same stream position."""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.scenario.distributions import Categorical


@pytest.mark.parametrize(("values", "probs"), [
    ([1.0, 3.0, 5.0, 8.0], [0.3, 0.3, 0.25, 0.15]),
    ([2.0], [1.0]),
    ([0.0, 1.0, 2.0], [0.0, 1.0, 0.0]),  # zeros: never drawn
    ([4.0, -1.0, 7.5], [1 / 3, 1 / 3, 1 / 3]),  # sums to 1 within the schema's tolerance
    ([1.0, 2.0], [0.1000000001, 0.9]),
])
@pytest.mark.parametrize("n", [0, 1, 17, 1000])
def test_categorical_is_numpys_choice_draw_for_draw(values, probs, n):
    dist = Categorical(dist="categorical", values=values, probs=probs)
    ours, numpys = np.random.default_rng(5), np.random.default_rng(5)
    ours.random(3), numpys.random(3)  # from the middle of a stream
    got = dist.sample(ours, n)
    p = np.asarray(probs)
    want = np.asarray(values)[numpys.choice(len(values), size=n, p=p / p.sum())]
    assert got.dtype == np.float64 and got.tobytes() == want.tobytes()
    assert ours.bit_generator.state == numpys.bit_generator.state  # the same numbers taken


def _dist(**kw):
    from pydantic import TypeAdapter

    from outcome_gym.scenario.distributions import Distribution

    return TypeAdapter(Distribution).validate_python(kw)


# runs of distributions that one call draws: equal ones (any kind), one kind with different
# parameters (bounds given for the same ones, clipping some values), sizes including 0 and 1
STACKS = [
    ([_dist(dist="lognormal", median=25, sigma=0.4, low=3, high=30),
      _dist(dist="lognormal", median=12, sigma=0.5, low=1, high=14),
      _dist(dist="lognormal", median=15, sigma=0.5, low=1, high=18)], [100, 60, 40]),
    ([_dist(dist="lognormal", median=66, sigma=0.65)] * 3, [5, 0, 7]),
    ([_dist(dist="beta", a=2, b=3, low=0.3, high=1.5),
      _dist(dist="beta", a=3, b=2, low=0.5, high=1.8)], [1, 30]),
    ([_dist(dist="normal", mean=1.25, sd=0.1, high=1.3),
      _dist(dist="normal", mean=0.85, sd=0.3, high=0.9)], [40, 41]),
    ([_dist(dist="uniform", low=0.0, high=1.0), _dist(dist="uniform", low=2.0, high=2.5)],
     [9, 11]),
    ([_dist(dist="categorical", values=[1, 2], probs=[0.5, 0.5])] * 2, [13, 17]),
]


@pytest.mark.parametrize(("dists", "sizes"), STACKS)
def test_a_stack_draws_what_its_distributions_draw_one_after_another(dists, sizes):
    from outcome_gym.scenario.distributions import stacked

    joint = stacked(dists, sizes)
    assert joint is not None
    for seed in range(20):
        one, each = np.random.default_rng(seed), np.random.default_rng(seed)
        got = joint.sample(one, sum(sizes))
        want = np.concatenate([d.sample(each, k) for d, k in zip(dists, sizes, strict=True)])
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
        assert one.random(2).tolist() == each.random(2).tolist()  # the stream at one place


def test_what_one_call_cannot_draw_is_not_stacked():
    from outcome_gym.scenario.distributions import stacked

    normal = _dist(dist="normal", mean=1.0, sd=0.1, low=0.5)
    assert stacked([normal, _dist(dist="normal", mean=1.0, sd=0.1)], [3, 3]) is None  # bounds
    assert stacked([normal, _dist(dist="lognormal", median=1.0, sigma=0.1)], [3, 3]) is None
    assert stacked([_dist(dist="categorical", values=[1, 2], probs=[0.5, 0.5]),
                    _dist(dist="categorical", values=[1, 2], probs=[0.4, 0.6])], [3, 3]) is None
