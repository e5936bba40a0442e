"""Size of paired tests when the paired differences are skewed (issue #15, item 2).

    PYTHONPATH=src .venv/bin/python benchmarks/paired_test_size.py [--trials 5000]

Draws n paired differences with mean 0 from skewed and heavy-tailed laws and prints how often each
two-sided 5% test rejects (a true null: the right answer is 5%): the sign-flip permutation test
(what verdicts used before), the paired Student t-test (what they use now), the equal-tailed
bootstrap-t (2000 resamples) and Hall's (1992) skewness-corrected t. docs/verdicts.md quotes it.
"""

from __future__ import annotations

import argparse
from itertools import product

import numpy as np
from scipy.stats import t as student_t

LAWS = {
    "normal": lambda rng, s: rng.normal(0.0, 1.0, s),
    "exponential - 1": lambda rng, s: rng.exponential(1.0, s) - 1.0,
    "lognormal(0,1) - e^0.5": lambda rng, s: rng.lognormal(0.0, 1.0, s) - np.exp(0.5),
    "chi2(1) - 1": lambda rng, s: rng.chisquare(1.0, s) - 1.0,
    "student t(3)": lambda rng, s: rng.standard_t(3.0, s),
}


def sign_flip(d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rejections of the two-sided sign-flip test (exact for n <= 12, else 2000 random flips)."""
    n = d.shape[1]
    signs = (np.array(list(product((-1.0, 1.0), repeat=n))) if n <= 12
             else rng.choice((-1.0, 1.0), size=(2000, n)))
    null = np.abs(d @ signs.T) / n  # trials x flips
    obs = np.abs(d.mean(axis=1))
    return (null >= obs[:, None] - 1e-12).mean(axis=1) < 0.05


def t_test(d: np.ndarray) -> np.ndarray:
    n = d.shape[1]
    t = d.mean(1) / (d.std(1, ddof=1) / np.sqrt(n))
    return np.abs(t) > student_t.ppf(0.975, n - 1)


def hall(d: np.ndarray) -> np.ndarray:
    n = d.shape[1]
    m, s = d.mean(1), d.std(1, ddof=1)
    t = m / (s / np.sqrt(n))
    g = ((d - m[:, None]) ** 3).mean(1) / s**3
    h = t + g / (6 * np.sqrt(n)) * (1 + 2 * t**2) + g**2 / (27 * n) * t**3
    return np.abs(h) > student_t.ppf(0.975, n - 1)


def boot_t(d: np.ndarray, rng: np.random.Generator, draws: int = 2000) -> np.ndarray:
    n = d.shape[1]
    idx = rng.integers(0, n, size=(draws, n))
    out = np.empty(d.shape[0], dtype=bool)
    for i, row in enumerate(d):
        m, s = row.mean(), row.std(ddof=1)
        b = row[idx]
        bs = b.std(1, ddof=1)
        ok = bs > 1e-12
        tb = (b.mean(1)[ok] - m) / (bs[ok] / np.sqrt(n))
        lo, hi = np.quantile(tb, [0.025, 0.975])
        t0 = m / (s / np.sqrt(n))
        out[i] = t0 > hi or t0 < lo
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=5000)
    args = ap.parse_args()
    print("| law | n | sign-flip | paired t | bootstrap-t | Hall t |")
    print("|---|---|---|---|---|---|")
    for name, law in LAWS.items():
        for n in (5, 10, 20):
            rng = np.random.default_rng(np.random.SeedSequence([n, len(name)]))
            d = law(rng, (args.trials, n))
            cells = [sign_flip(d, rng).mean(), t_test(d).mean(), boot_t(d, rng).mean(),
                     hall(d).mean()]
            print(f"| {name} | {n} | " + " | ".join(f"{c:.1%}" for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
