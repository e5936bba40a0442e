"""Global sensitivity analysis: which user parameters move a policy's lift and its verdict.

:mod:`.design` checks the inputs and samples the points (SALib), :mod:`.run` runs them on the one
sweep executor and computes each point's paired comparison, :mod:`.indices` turns the per-point
responses into Morris or Sobol indices and verdict shares. The report is written by
:mod:`outcome_gym.report.sensitivity`; the parameters and ranges come from
:mod:`outcome_gym.scenario.provenance`.
"""

from outcome_gym.sensitivity.design import (
    METHODS,
    Design,
    Factor,
    SensitivityInputError,
    load_ranges,
    resolve_factors,
    sample,
)
from outcome_gym.sensitivity.indices import all_indices, indices, verdict_shares
from outcome_gym.sensitivity.run import DEFAULT_POPULATION, SensitivityResult, run_sensitivity

__all__ = ["DEFAULT_POPULATION", "METHODS", "Design", "Factor", "SensitivityInputError",
           "SensitivityResult", "all_indices", "indices", "load_ranges", "resolve_factors",
           "run_sensitivity", "sample", "verdict_shares"]
