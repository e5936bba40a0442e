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


def test_a_categoricals_table_is_its_own_values_bit_for_bit():
    # -0.0 and 0.0 are equal as numbers (a shared table keyed by them gave the first one's sign
    # to both): each distribution draws its own values; equality still compares the fields only
    neg = Categorical(dist="categorical", values=[-0.0, 1.0, 2.0], probs=[0.5, 0.25, 0.25])
    pos = Categorical(dist="categorical", values=[0.0, 1.0, 2.0], probs=[0.5, 0.25, 0.25])
    for dist in (neg, pos):
        got = dist.sample(np.random.default_rng(1), 64)
        want = np.asarray(dist.values)[np.random.default_rng(1).choice(3, 64, p=dist.probs)]
        assert got.tobytes() == want.tobytes() and (got == 0).any()
    assert neg == pos  # both drawn from: their tables are never compared


def _dist(**kw):
    from pydantic import TypeAdapter

    from outcome_gym.scenario.distributions import Distribution

    return TypeAdapter(Distribution).validate_python(kw)


# one of each kind (clipping some values), sizes including 0 and 1
KINDS = [
    _dist(dist="lognormal", median=25, sigma=0.4, low=3, high=30),
    _dist(dist="beta", a=2, b=3, low=0.3, high=1.5),
    _dist(dist="normal", mean=1.25, sd=0.1, high=1.3),
    _dist(dist="uniform", low=2.0, high=2.5),
    _dist(dist="categorical", values=[1, 2], probs=[0.5, 0.5]),
]


@pytest.mark.parametrize("dist", KINDS)
@pytest.mark.parametrize("sizes", [(100, 60, 40), (5, 0, 7), (1, 30)])
def test_a_draw_of_many_values_is_its_draws_one_after_another(dist, sizes):
    # what lets a population draw a run of segments with one distribution in one call
    for seed in range(10):
        one, each = np.random.default_rng(seed), np.random.default_rng(seed)
        got = dist.sample(one, sum(sizes))
        want = np.concatenate([dist.sample(each, k) for k in sizes])
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
        assert one.random(2).tolist() == each.random(2).tolist()  # the stream at one place
