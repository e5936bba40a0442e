"""The team network: users grouped into teams (cliques) whose members share screens.

Teams are stored as compressed rows (members sorted by team), so drawing a random colleague is a
few array lookups (:func:`colleague_of`, which the context events' compiled pass calls too).
:func:`team_graph` builds the same structure as a ``networkx.Graph`` for inspection and for Mesa's
network tooling at small N.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from outcome_gym.scenario.distributions import Param, sample_param
from outcome_gym.sim._jit import compiled


@dataclass(frozen=True)
class Teams:
    """Team membership in compressed form.

    Attributes:
        team: N team index per user.
        members: N user indices sorted by team.
        start: T+1 offsets into ``members``; team t is ``members[start[t]:start[t+1]]``.
        position: N position of each user inside its team's member list.
    """

    team: np.ndarray
    members: np.ndarray
    start: np.ndarray
    position: np.ndarray

    def sizes(self) -> np.ndarray:
        """Team size of every user (N; int64): its team's difference of ``start``."""
        return np.diff(self.start)[self.team]

    def colleague(self, users: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A uniformly drawn other member of each user's team (the user itself if alone).

        Args:
            users: User indices (1-D).
            u: Uniform(0, 1) draws, one per user.
        """
        users = np.ascontiguousarray(users, dtype=np.int64)
        out = np.empty(users.shape[0], dtype=np.int64)
        colleague_rows(self.team, self.members, self.start, self.position, users,
                       np.ascontiguousarray(u, dtype=np.float64), out)
        return out

    def closure(self, users: np.ndarray) -> np.ndarray:
        """Every member of the teams of ``users``, sorted: the users they share state with
        (shared screens show a teammate's layout; nothing else couples users).
        """
        return np.flatnonzero(np.isin(self.team, np.unique(self.team[users])))

    def take(self, rows: np.ndarray) -> Teams:
        """The teams of the users ``rows`` (sorted, whole teams) with users renumbered 0..n-1 in
        that order; a colleague draw gives each of them the teammate it gives in the full teams.

        Raises:
            ValueError: ``rows`` splits a team.
        """
        teams = np.unique(self.team[rows])
        in_rows = np.isin(self.team[self.members], teams)
        if int(in_rows.sum()) != rows.shape[0]:
            raise ValueError("a subset of users must hold whole teams (see Teams.closure)")
        local = np.full(self.team.shape[0], -1, dtype=np.int64)
        local[rows] = np.arange(rows.shape[0])
        sizes = self.start[teams + 1] - self.start[teams]
        return Teams(team=np.searchsorted(teams, self.team[rows]).astype(np.int32),
                     members=local[self.members[in_rows]],
                     start=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
                     position=self.position[rows].copy())


@compiled
def colleague_of(team, members, start, position, i, u
                 ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """The teammate of user ``i`` that the uniform ``u`` picks, uniformly among the other members
    of its team (``i`` itself if alone): with the team's size m and i's position p in it, the
    member at position (p + 1 + floor(u (m - 1))) mod m (p if m = 1).
    """
    t = team[i]
    size = start[t + 1] - start[t]
    offset = 1 + np.int64(np.floor(u * max(size - 1, 1))) if size > 1 else 0
    return members[start[t] + (position[i] + offset) % max(size, 1)]


@compiled
def colleague_rows(team, members, start, position, users, u, out
                   ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out[j]``: the teammate of ``users[j]`` that ``u[j]`` picks (:func:`colleague_of`)."""
    for j in range(users.shape[0]):
        out[j] = colleague_of(team, members, start, position, users[j], u[j])


def build_teams(n: int, size: Param, rng: np.random.Generator) -> Teams:
    """Partition N users into teams with sizes drawn from ``size`` (users in random order)."""
    sizes: list[np.ndarray] = []
    total = 0
    while total < n:
        draw = np.maximum(np.rint(sample_param(size, rng, max(16, n // 2 + 1))), 1).astype(np.int64)
        sizes.append(draw)
        total += int(draw.sum())
    all_sizes = sizes[0] if len(sizes) == 1 else np.concatenate(sizes)  # fresh either way
    # ndarray methods: what np.cumsum and np.searchsorted call, without their wrappers
    ends = all_sizes.cumsum()
    cut = int(ends.searchsorted(n))
    # the team that reaches n is cut to fit: n - ends[cut - 1] >= 1 users (every size is >= 1)
    all_sizes = all_sizes[: cut + 1]
    all_sizes[-1] -= int(ends[cut]) - n
    order = rng.permutation(n)  # int64: the members, grouped by team in slot order
    team_of_slot = np.repeat(np.arange(all_sizes.shape[0], dtype=np.int32), all_sizes)
    team = np.empty(n, dtype=np.int32)
    team[order] = team_of_slot
    start = np.zeros(all_sizes.shape[0] + 1, dtype=np.int64)
    all_sizes.cumsum(out=start[1:])
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n) - start[team_of_slot]
    return Teams(team=team, members=order, start=start, position=position)


def team_graph(teams: Teams) -> nx.Graph:
    """The team network as a graph: one node per user, an edge between any two teammates."""
    g = nx.Graph()
    g.add_nodes_from(range(teams.team.shape[0]))
    for t in range(teams.start.shape[0] - 1):
        members = teams.members[teams.start[t] : teams.start[t + 1]].tolist()
        g.add_edges_from((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
    return g
