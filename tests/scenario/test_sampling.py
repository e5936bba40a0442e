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
