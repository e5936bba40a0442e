"""CI regression checks for policy behaviour: contracts, baselines, readable failures."""

from outcome_gym.check.contract import Contract, load_contract
from outcome_gym.check.evaluate import CheckResult, ContractReport, plan_lines, run_contract

__all__ = ["CheckResult", "Contract", "ContractReport", "load_contract", "plan_lines",
           "run_contract"]
