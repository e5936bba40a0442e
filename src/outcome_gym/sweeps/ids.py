"""Content-addressed run ids: the same simulation gets the same id in any sweep, on any machine.

A run id is a short hash of the resolved run spec: the resolved scenario (the digest of its
canonical JSON), the policy name, its parameters and the seed — plus, only when given, the run
function (``runner``) and guardrail overrides. Leaving the optional parts out of the hash when they
are empty keeps every id written before they existed, so old sweep folders still resume. The
policy's display label and a sweep point's number are never part of the id.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

from outcome_gym.scenario import Scenario, scenario_to_dict

RUN_ID_LENGTH = 12
SPEC_VERSION = 1


def canonical(obj: Any) -> str:
    """Compact JSON with sorted keys: the form that is hashed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def run_id_for(scenario_sha256: str, policy: str, params: dict[str, Any], seed: int, *,
               runner: str = "", guardrails: Any = None) -> str:
    """The short hash of a resolved run spec.

    Args:
        scenario_sha256: Digest of the resolved scenario's canonical JSON.
        policy: Registry name or ``module:Attribute``.
        params: The policy's parameters.
        seed: Root seed.
        runner: ``module:function`` running the simulation instead of the default (hashed only
            when non-empty).
        guardrails: Guardrail overrides, ``False`` for none (hashed only when not ``None``).
    """
    spec: dict[str, Any] = {"v": SPEC_VERSION, "scenario_sha256": scenario_sha256,
                            "policy": policy, "params": params, "seed": seed}
    if runner:
        spec["runner"] = runner
    if guardrails is not None:
        spec["guardrails"] = guardrails
    return hashlib.sha256(canonical(spec).encode()).hexdigest()[:RUN_ID_LENGTH]


def pack_scenario(scenario: Scenario) -> tuple[str, bytes]:
    """``(sha256, zlib-compressed canonical JSON)`` of a validated scenario.

    The compressed form is what a task carries to its worker (a few kB instead of the object).
    """
    blob = canonical(scenario_to_dict(scenario)).encode()
    return hashlib.sha256(blob).hexdigest(), zlib.compress(blob, 6)


__all__ = ["RUN_ID_LENGTH", "SPEC_VERSION", "canonical", "pack_scenario", "run_id_for"]
