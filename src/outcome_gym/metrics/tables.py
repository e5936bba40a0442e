"""From step records to tidy tables (metrics read records, never the model's internals).

* ``steps``: one row per step x segment: clock, segment, and every per-segment metric of the
  record (engagement, outcome events, attention, fragmentation, trust, churn, guardrail counts).
* ``positions``: one row per step x layout position: scans and clicks.
* ``elements``: one row per step x element: engagements.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from outcome_gym.sim.interface import StepRecord


class StepCollector:
    """Accumulates step records into column arrays (cheap per step; tables built at the end)."""

    def __init__(self, segment_ids: tuple[str, ...], element_ids: tuple[str, ...]) -> None:
        self.segment_ids = segment_ids
        self.element_ids = element_ids
        self._clock: list[tuple[int, int, int, int]] = []
        self._metrics: dict[str, list[np.ndarray]] = {}
        self._pos_clicks: list[np.ndarray] = []
        self._pos_views: list[np.ndarray] = []
        self._el_clicks: list[np.ndarray] = []

    def update(self, record: StepRecord) -> None:
        """Keep what the record says."""
        self._clock.append((record.step, record.day, record.slot, record.weekday))
        for name, values in record.segment_metrics.items():
            self._metrics.setdefault(name, []).append(np.asarray(values, dtype=np.float64))
        self._pos_clicks.append(np.asarray(record.position_clicks))
        self._pos_views.append(np.asarray(record.position_views))
        self._el_clicks.append(np.asarray(record.element_clicks))

    def steps_table(self) -> pd.DataFrame:
        """One row per step x segment."""
        k = len(self.segment_ids)
        clock = np.asarray(self._clock, dtype=np.int64).reshape(-1, 4)
        cols: dict[str, np.ndarray] = {
            "step": np.repeat(clock[:, 0], k),
            "day": np.repeat(clock[:, 1], k),
            "slot": np.repeat(clock[:, 2], k),
            "weekday": np.repeat(clock[:, 3], k),
        }
        df = pd.DataFrame(cols)
        df["segment"] = pd.Categorical(
            np.tile(np.array(self.segment_ids, dtype=object), clock.shape[0]),
            categories=list(self.segment_ids),
        )
        for name in sorted(self._metrics):
            df[name] = np.concatenate(self._metrics[name]) if self._metrics[name] else []
        return df

    def positions_table(self) -> pd.DataFrame:
        """One row per step x layout position."""
        clicks = np.asarray(self._pos_clicks, dtype=np.int64)
        views = np.asarray(self._pos_views, dtype=np.int64)
        steps, s = clicks.shape if clicks.ndim == 2 else (0, 0)
        return pd.DataFrame(
            {
                "step": np.repeat(np.arange(steps, dtype=np.int64), s),
                "position": np.tile(np.arange(s, dtype=np.int64), steps),
                "views": views.reshape(-1),
                "clicks": clicks.reshape(-1),
            }
        )

    def elements_table(self) -> pd.DataFrame:
        """One row per step x element."""
        clicks = np.asarray(self._el_clicks, dtype=np.int64)
        steps, e = clicks.shape if clicks.ndim == 2 else (0, 0)
        return pd.DataFrame(
            {
                "step": np.repeat(np.arange(steps, dtype=np.int64), e),
                "element": pd.Categorical(
                    np.tile(np.array(self.element_ids, dtype=object), steps),
                    categories=list(self.element_ids),
                ),
                "clicks": clicks.reshape(-1),
            }
        )
