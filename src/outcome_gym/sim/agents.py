"""``UserAgent``: one user as a Mesa agent that is a view onto the population arrays.

Reads and writes go to ``model.pop`` (and ``model.totals``) at the agent's index, so Mesa tooling
(``model.agents``, ``select``, ``agg``, ``DataCollector``) sees real per-user state while the step
stays one vectorized pass with no Python loop over users (docs/design.md section 7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outcome_gym.sim._mesa import mesa

if TYPE_CHECKING:
    from outcome_gym.sim.model import SimulationModel

AGENT_VIEW_LIMIT = 100_000
"""Above this many users a model creates no agent views unless asked (they cost memory, not time)."""


class UserAgent(mesa.Agent):
    """One user, as a view onto the population arrays (reads and writes go to the arrays).

    Args:
        model: The model whose arrays this agent views.
        index: The user's row in every population array.
    """

    model: SimulationModel

    def __init__(self, model: SimulationModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def segment(self) -> str:
        """Segment id."""
        return self.model.world.segment_ids[int(self.model.pop.segment[self.index])]

    @property
    def active(self) -> bool:
        """Still using the product (not churned)."""
        return bool(self.model.pop.active[self.index])

    @property
    def trust(self) -> float:
        """Trust in the product (0..1)."""
        return float(self.model.pop.trust[self.index])

    @trust.setter
    def trust(self, value: float) -> None:
        self.model.pop.trust[self.index] = value

    @property
    def attention_left(self) -> float:
        """Minutes of attention left today."""
        return float(self.model.pop.attention_left[self.index])

    @property
    def fatigue(self) -> float:
        """Notification fatigue (0..1)."""
        return float(self.model.pop.fatigue[self.index])

    @property
    def app_habit(self) -> float:
        """Automaticity of opening the product (0..1)."""
        return float(self.model.pop.app_habit[self.index])

    @property
    def sessions(self) -> int:
        """Sessions so far."""
        return int(self._total("sessions"))

    @property
    def goal_progress(self) -> float:
        """Goal progress so far (reflective value, the welfare proxy)."""
        return float(self._total("goal_progress"))

    def _total(self, key: str) -> float:
        """This user's running total of ``key`` (0 before the first step records any)."""
        totals = self.model.totals
        return float(totals[key][self.index]) if key in totals else 0.0

    def step(self) -> None:
        """Users are stepped together by the model (vectorized); nothing to do per agent."""


def add_agents(model: SimulationModel, n: int) -> None:
    """Create the ``n`` agent views of a model (registered with it by Mesa)."""
    for i in range(n):
        UserAgent(model, i)
