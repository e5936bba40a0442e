"""Sensitivity indices (SALib) and verdict shares from the per-point responses (pure).

A *response* is one number per sample point: a policy's lift on a metric against the reference
(the paired comparison of :mod:`outcome_gym.analysis.paired` at that point), or the indicator of a
verdict (1 where the verdict holds). Morris gives mu* (mean absolute elementary effect, with SALib's
bootstrap interval ``mu_star_conf``) and sigma (spread of the effects: interactions or
non-linearity); Sobol gives first-order S1 and total ST with bootstrap intervals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from outcome_gym.analysis.verdict import NOT_MEASURED, VERDICTS
from outcome_gym.sensitivity.design import MORRIS_LEVELS, Design

ANALYSIS_SEED = 14
RESAMPLES = 1000


def indices(design: Design, y: np.ndarray) -> pd.DataFrame:
    """One row per parameter: Morris mu*, its interval, sigma and mu; or Sobol S1, ST and intervals.

    Args:
        design: The sampled design (method, factors, points).
        y: The response at every point, in point order.

    Raises:
        ValueError: ``y`` does not have one finite value per point.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (len(design.points),) or not np.all(np.isfinite(y)):
        raise ValueError(f"expected {len(design.points)} finite responses, got shape {y.shape}")
    prob = design.problem()
    if design.method == "morris":
        from SALib.analyze import morris

        res: Any = morris.analyze(prob, design.points, y, num_levels=MORRIS_LEVELS,
                                  num_resamples=RESAMPLES, seed=ANALYSIS_SEED)
        cols = ("mu_star", "mu_star_conf", "sigma", "mu")
    else:
        from SALib.analyze import sobol

        res = sobol.analyze(prob, y, calc_second_order=False, num_resamples=RESAMPLES,
                            seed=ANALYSIS_SEED)
        cols = ("S1", "S1_conf", "ST", "ST_conf")
    table = pd.DataFrame({"parameter": prob["names"],
                          **{c: np.asarray(res[c], dtype=np.float64) for c in cols}})
    key = "mu_star" if design.method == "morris" else "ST"
    return table.sort_values(key, ascending=False, kind="stable").reset_index(drop=True)


def all_indices(design: Design, responses: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Indices of every response column (``policy``, ``response`` and the point's values).

    Args:
        design: The design.
        responses: One row per point x policy: ``point``, ``policy`` and one column per response.

    Returns:
        The stacked index table (``policy``, ``response``, ``parameter``, indices) and notes on
        responses left out (undefined at some point, or constant).
    """
    tables, notes = [], []
    value_cols = [c for c in responses.columns if c not in ("point", "policy")]
    for policy, g in responses.groupby("policy", sort=False):
        g = g.sort_values("point")
        for col in value_cols:
            y = g[col].to_numpy(dtype=np.float64)
            if col.startswith("verdict:") and not np.any(np.isfinite(y)):
                continue  # a verdict column of another policy
            if not np.all(np.isfinite(y)):
                notes.append(f"{policy} {col}: undefined at {int((~np.isfinite(y)).sum())} "
                             "point(s) (reference mean 0); left out")
                continue
            if np.ptp(y) == 0:
                if not col.startswith("verdict:"):
                    notes.append(f"{policy} {col}: the same at every point; no parameter moves it")
                continue
            tables.append(indices(design, y).assign(policy=policy, response=col))
    if not tables:
        return pd.DataFrame(), notes
    out = pd.concat(tables, ignore_index=True)
    front = ["policy", "response", "parameter"]
    return out[front + [c for c in out.columns if c not in front]], notes


def verdict_shares(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Share of sample points at which each policy gets each verdict (every verdict listed;
    ``not measured``, which judges nothing, only where it occurs).
    """
    rows = []
    for policy, g in verdicts.groupby("policy", sort=False):
        counts = g["verdict"].value_counts()
        for v in VERDICTS:
            if v == NOT_MEASURED and v not in counts:
                continue
            n = int(counts.get(v, 0))
            rows.append({"policy": policy, "verdict": v, "points": n, "share": n / len(g)})
    return pd.DataFrame(rows)


def verdict_indicators(verdicts: pd.DataFrame) -> pd.DataFrame:
    """``verdict:<v>`` columns (1 where the verdict holds) for verdicts seen at some points only."""
    out = verdicts[["point", "policy"]].copy()
    for _, g in verdicts.groupby("policy", sort=False):
        seen = set(g["verdict"])
        if len(seen) < 2:
            continue
        for v in sorted(seen):
            col = f"verdict:{v}"
            if col not in out:
                out[col] = np.nan
            out.loc[g.index, col] = (g["verdict"] == v).astype(float)
    return out


__all__ = ["all_indices", "indices", "verdict_indicators", "verdict_shares"]
