"""The placebo of the per-user analysis: the reference against itself, its choices re-dealt.

A placebo run is the reference policy on the same seed with the ``choice`` stream (in-session
choices) advanced by one draw before the first step. Traits, arrivals, availability and the
product are those of the reference run; only chance inside sessions differs, so every user's
difference from the reference is noise. Its share of users "worse off" beyond the per-user margin
is the noise floor the report shows beside each policy's (docs/who-is-harmed.md). It goes through
the executor's ``runner`` hook (``outcome_gym.analysis.placebo:run_placebo``), so its run id
differs from the reference's and it is cached like any run.
"""

from __future__ import annotations

from typing import Any

from outcome_gym.policies.spec import PolicySpec

RUNNER = "outcome_gym.analysis.placebo:run_placebo"
LABEL = "placebo"


def run_placebo(scenario: Any, spec: PolicySpec, seed: int, *, guardrails: Any = None) -> Any:
    """The reference run with its in-session choice draws shifted by one (see module doc)."""
    from outcome_gym.policies import make as make_policy
    from outcome_gym.runner import run

    policy = make_policy(spec.policy, **dict(spec.params))
    shifted: list[bool] = []

    def shift_choices(model: Any) -> None:
        if not shifted:  # once, before the first step: every later choice draw moves by one
            model.streams["choice"].random()
            shifted.append(True)

    return run(scenario, policy, seed, guardrails=guardrails, before_act=shift_choices)


__all__ = ["LABEL", "RUNNER", "run_placebo"]
