"""Mesa's ``DataCollector`` on a ``SimulationModel``: default reporters, built only when asked.

Mesa models conventionally own a ``datacollector`` that collects once at construction (the state at
step 0) and after every step, which is what Mesa's ``batch_run`` reads (``model_vars[k]`` is the
state after ``k`` steps). Collecting calls Python once per agent per step, so it is opt-in
(``collect=True`` or reporters given): the run's own record (sim/recording.py) never needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from outcome_gym.sim._mesa import mesa

if TYPE_CHECKING:
    from outcome_gym.sim.model import SimulationModel

Reporter = str | Callable[..., Any]


def _total(key: str) -> Callable[[SimulationModel], float]:
    """A model reporter: the population's total of one running per-user count (0 before any)."""
    return lambda m: float(m.totals[key].sum()) if key in m.totals else 0.0


MODEL_REPORTERS: dict[str, Reporter] = {
    "active_share": lambda m: float(np.mean(m.pop.active)),
    "mean_trust": lambda m: float(np.mean(m.pop.trust)),
    "total_sessions": _total("sessions"),
    "total_minutes": _total("minutes"),
    "total_opens": _total("opens"),
    "total_goal_progress": _total("goal_progress"),
}
"""Model-level series collected by default: shares and means now, totals so far (named apart from
the agent reporters: batch_run merges both into one row)."""

AGENT_REPORTERS: dict[str, Reporter] = {
    name: name for name in ("segment", "active", "trust", "attention_left", "fatigue",
                            "app_habit", "sessions", "goal_progress")
}
"""Per-user series collected by default (attributes of :class:`~outcome_gym.sim.agents.UserAgent`)."""


def make_datacollector(
    model: SimulationModel, collect: bool,
    model_reporters: Mapping[str, Reporter] | None,
    agent_reporters: Mapping[str, Reporter] | None,
) -> mesa.DataCollector | None:
    """The model's ``DataCollector``, or None when nothing is to be collected.

    Args:
        model: The model (its agent views must exist for agent reporters).
        collect: Collect the default reporters (those not given explicitly).
        model_reporters: Model reporters to use instead of the defaults.
        agent_reporters: Agent reporters to use instead of the defaults.

    Raises:
        ValueError: Agent reporters asked for on a model built without agent views.
    """
    if not (collect or model_reporters or agent_reporters):
        return None
    if model_reporters is None:
        model_reporters = MODEL_REPORTERS
    if agent_reporters is None:
        agent_reporters = AGENT_REPORTERS if len(model.agents) else {}
    if agent_reporters and not len(model.agents):
        raise ValueError("agent reporters need agent views: build the model with "
                         "mesa_agents=True (they are off above 100,000 users)")
    return mesa.DataCollector(model_reporters=dict(model_reporters),
                              agent_reporters=dict(agent_reporters))
