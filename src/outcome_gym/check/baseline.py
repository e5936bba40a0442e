"""Baselines: the metrics of a contract's last accepted run, with an environment fingerprint.

Two kinds of comparison:

* **exact reproduction** — when the fingerprint (package versions, numpy, Python, platform) and the
  contract are unchanged, every metric's seed mean must match the baseline to ``tolerance``
  (relative). Same seed gives bitwise-identical results, so any difference is a behavioural change
  of the code: this catches changes too small for any statistical bound.
* **behavioural bounds** — on any platform, the contract's statistical expectations.

A baseline from another environment is reported as such ("exact reproduction skipped: numpy 2.4.6
here, 2.3.0 in the baseline") rather than failing mysteriously; ``--update-baseline`` rewrites it.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outcome_gym._io import package_versions
from outcome_gym.errors import ContractError, Problem

if TYPE_CHECKING:
    from outcome_gym.check.contract import Contract
    from outcome_gym.check.evaluate import CheckResult
    from outcome_gym.compare import Comparison

FORMAT = 1
PACKAGES = ("outcome-gym", "numpy", "pandas", "pyarrow", "scipy", "mesa", "pydantic")


def fingerprint() -> dict[str, str]:
    """Versions and platform that decide whether results reproduce bit for bit."""
    out = package_versions(PACKAGES)
    out["python"] = sys.version.split()[0]
    out["system"] = platform.system()
    out["machine"] = platform.machine()
    return out


def contract_hash(contract: Contract) -> str:
    """Digest of everything in the contract that changes the runs (not the expectations)."""
    data = contract.model_dump(mode="json", include={"scenarios", "population", "horizon_days",
                                                     "seeds", "candidate", "reference"})
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def metrics_of(cmp: Comparison) -> dict[str, dict[str, float]]:
    """Seed means of every metric, per policy label."""
    return {label: {m: float(g[m].mean()) for m in cmp.info}
            for label, g in cmp.runs.groupby("policy", sort=False)}


def write_baseline(path: Path, contract: Contract,
                   metrics: dict[str, dict[str, dict[str, float]]]) -> None:
    """Write the baseline JSON (deliberately: only with --update-baseline)."""
    doc = {"format": FORMAT, "contract": contract.name, "contract_hash": contract_hash(contract),
           "fingerprint": fingerprint(), "metrics": metrics}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def read_baseline(path: Path) -> dict[str, Any]:
    """Read a baseline file; a missing or malformed one is bad input (a :class:`ContractError`)."""
    if not path.exists():
        raise ContractError([Problem(str(path), "", "baseline file not found; create it "
                                         "deliberately with `outcome-gym check --update-baseline`")])
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ContractError([Problem(str(path), "", f"expected JSON, got: {exc.msg}",
                                         exc.lineno)]) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or "metrics" not in doc:
        raise ContractError([Problem(str(path), "", f"expected an outcome-gym baseline of format "
                                     f"{FORMAT}")])
    return doc


def _differences(fp_then: dict[str, str], fp_now: dict[str, str]) -> list[str]:
    return [f"{k} {fp_now.get(k, '?')} here, {v} in the baseline"
            for k, v in sorted(fp_then.items()) if fp_now.get(k) != v]


def compare_baseline(path: Path, contract: Contract,
                     metrics: dict[str, dict[str, dict[str, float]]]) -> tuple[str, list[CheckResult]]:
    """Exact-reproduction check against a baseline (or a note saying why it was skipped)."""
    from outcome_gym.check.evaluate import CheckResult

    doc = read_baseline(path)
    diffs = _differences(doc.get("fingerprint", {}), fingerprint())
    if diffs:
        return ("exact reproduction skipped: the baseline was recorded in another environment ("
                + "; ".join(diffs) + "); behavioural bounds were checked"), []
    if doc.get("contract_hash") != contract_hash(contract):
        return ("exact reproduction skipped: the contract's scenarios, seeds or policies changed "
                "since the baseline; run with --update-baseline to accept the new setup"), []
    moved: list[str] = []
    for sc, by_policy in doc["metrics"].items():
        for label, values in by_policy.items():
            now = metrics.get(sc, {}).get(label, {})
            for m, then in values.items():
                v = now.get(m)
                if v is None or not math.isfinite(v) or not math.isclose(
                        v, then, rel_tol=contract.tolerance, abs_tol=contract.tolerance):
                    moved.append(f"{sc}/{label}/{m}: {then:.6g} -> "
                                 f"{'missing' if v is None else f'{v:.6g}'}")
    ok = not moved
    msg = "" if ok else (f"{len(moved)} metric(s) no longer reproduce the baseline exactly "
                         f"(behaviour changed): " + "; ".join(moved[:5])
                         + (" ..." if len(moved) > 5 else ""))
    result = CheckResult(contract=contract.name, scenario="*", expectation="exact reproduction",
                         bound=f"baseline {path.name}, rel. tol. {contract.tolerance:g}",
                         observed="identical" if ok else f"{len(moved)} metric(s) moved",
                         passed=ok, message=msg)
    return "exact reproduction checked against the baseline", [result]
