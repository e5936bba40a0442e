"""Learning policies: epsilon-greedy, Thompson sampling and contextual LinUCB over named variants.

Each policy runs two factored bandits side by side. At the start of every period (a day, or a step
with ``hold="step"``), for every active user, one bandit picks a layout variant and the other a
notification plan from :func:`~outcome_gym.product.variants.build_variants` (``default`` /
``promote:<id>`` layouts; ``none`` / ``default`` and the schedule's one-edit neighbours
``default-<id>@<slot>`` / ``default-<id>@<slot>+<id>@<slot>`` as day plans, ``send:<id>`` with
``hold="step"``); the user keeps them for the period. The period's reward — the objective's
(:func:`~outcome_gym.product.objectives.make_objective`) step rewards summed over the period, minus
``notify_cost`` per notification actually sent — plus ``discount^k`` times that of each of the
``horizon`` following periods, is credited to both arms that user was given.

Shared hyperparameters (every bandit takes them first, in this order):

* ``objective``: ``engagement``, ``outcome`` or ``mixed`` (any registered objective name);
* ``weight``: lambda of the ``mixed`` objective (outcome share, in [0, 1]; ignored by the others);
* ``granularity``: whose data an arm's estimate pools: ``user`` (each user learns alone),
  ``segment`` (all users of a segment share estimates; the default) or ``global`` (everyone);
* ``notify_cost``: a penalty subtracted from the reward per notification sent (default 0);
* ``levers``: what the policy personalizes: ``both`` (the default), ``layout`` (notifications follow
  the scenario's schedule) or ``notify`` (everyone keeps the default layout). Teams often own one
  surface; the experiments also use it to separate what each lever does;
* ``hold``: how long a user keeps the chosen arms, the credit period: ``day`` (the default) or
  ``step``;
* ``horizon``: how many following periods' rewards are also credited to a period's arms (default
  2: tomorrow's return, a budget adjusted after days of progress);
* ``discount``: the weight ``discount^k`` of the k-th following period (default 0.5).
* ``launch``: how a bandit starts: ``untried`` (the default, the earlier learner: epsilon-greedy
  tries untried arms first, Thompson and LinUCB start from their priors) or ``default`` (a group
  keeps the default layout and the scheduled plan until it has learned from a credited period,
  except a launch share of users given uniformly drawn arms: ``epsilon`` for epsilon-greedy,
  ``launch_share`` for Thompson and LinUCB).
* ``plans``: the day-plan family (with ``hold="day"``): ``local`` (the default: the schedule, the
  schedule without one of its sends, the schedule with one send replaced, ``none``), ``grow``
  (``local`` plus the schedule with one more send) or ``single`` (one send, the schedule
  dropped: the family before issue #15's third pass).

Users who are no longer active get the default layout and no notifications. How a step's reward is
matched to the arms that earned it (delayed events, churn) is described in
:mod:`~outcome_gym.policies.bandits.factored`.

Everything is vectorized over users: loops run over arms, segments or (group, segment) blocks,
never over users, so a step at 100,000 users costs tens of milliseconds (per-user LinUCB, which
keeps a d x d matrix per user and arm, is the exception and says so).

Modules: ``factored`` (the shared base: arms, groups, crediting), ``argmax`` (tie-breaking
choices), ``counting`` (per-arm reward sums), ``epsilon_greedy``, ``thompson``, ``linear`` (ridge
regression maths) and ``linucb``.
"""

from outcome_gym.policies.bandits.epsilon_greedy import EpsilonGreedyPolicy
from outcome_gym.policies.bandits.factored import BANDITS, GRANULARITIES, LEVERS
from outcome_gym.policies.bandits.linucb import LinUCBPolicy
from outcome_gym.policies.bandits.thompson import ThompsonPolicy

__all__ = [
    "BANDITS",
    "GRANULARITIES",
    "LEVERS",
    "EpsilonGreedyPolicy",
    "LinUCBPolicy",
    "ThompsonPolicy",
]
