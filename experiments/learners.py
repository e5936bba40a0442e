"""Do the learners raise the objective they are named after (issue #15, item 3)?

For every world, runs ``static`` and each learner on the same paired seeds (:func:`compare`) and
prints, per learner against static, with 95% t intervals over the seed pairs:

* ``objective``: the learner's own objective summed over the run, per user — the engagement index
  (clicks + sessions + opens + minutes / 10, ``engagement.index``) for an engagement learner, and
  the weighted count of the instrumented outcome events behind the scenario's outcome specs
  (``summary.objective``: true events, weights as
  :func:`outcome_gym.product.objectives.scenario_outcome_weights`) for an outcome learner;
* ``engagement.index`` and the **primary** outcome (the first listed spec of each target segment);
* the verdict of :func:`compare` and the rule's reasons.

    PYTHONPATH=src .venv/bin/python experiments/learners.py --seeds 10 \
        --worlds productivity_tool finance_alerts learning_habits \
        examples/designer_worlds/fitness_coach.yaml examples/designer_worlds/health_companion.yaml

``--json PATH`` also writes every number. Run folders go to ``--out`` (default: a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from outcome_gym import compare
from outcome_gym.analysis.stats import paired
from outcome_gym.scenario import Scenario, load_scenario
from outcome_gym.sweeps import read_summary

LEARNERS = ("engagement_bandit", "outcome_bandit")


def primary_specs(scenario: Scenario) -> list[str]:
    """The first listed outcome spec of each target segment (the primary one)."""
    seen: dict[str, str] = {}
    for spec in scenario.outcomes:
        seen.setdefault(spec.segment, spec.id)
    return list(seen.values())


def _fmt(st: Any) -> str:
    if st.lift is None:
        return f"{st.diff:+.4g} [{st.diff_low:+.4g}, {st.diff_high:+.4g}]"
    lo = st.lift_low if st.lift_low is not None else float("nan")
    hi = st.lift_high if st.lift_high is not None else float("nan")
    return (f"{100 * st.lift:+.1f}% [{100 * lo:+.1f}%, {100 * hi:+.1f}%] "
            f"(diff {st.diff:+.4g} [{st.diff_low:+.4g}, {st.diff_high:+.4g}], ref {st.ref_mean:.4g})")


def measure_world(world: str, learners: list[str], seeds: int, out: Path) -> dict[str, Any]:
    """Compare static and the learners on one world; the numbers of the module docstring."""
    sc = load_scenario(world)
    t0 = time.perf_counter()
    cmp = compare(sc, ["static", *learners], reference="static", seeds=seeds, out=out / sc.name,
                  overwrite=True)
    seconds = time.perf_counter() - t0
    runs = cmp.runs
    obj_out: dict[str, np.ndarray] = {}
    for label in runs["policy"].unique():
        rows = runs[runs["policy"] == label].sort_values("seed")
        obj_out[label] = np.array([
            read_summary(out / sc.name / "runs" / rid)["objective"]["outcome"]
            for rid in rows["run_id"]])
    result: dict[str, Any] = {"world": sc.name, "seconds": seconds, "learners": {}}
    for spec in cmp.policies:
        label = spec.display
        if label == "static":
            continue
        stats = cmp.stats[label]
        own = "outcome" if "outcome" in label or "objective=outcome" in label else "engagement"
        obj = stats["engagement.index"] if own == "engagement" else paired(
            obj_out["static"], obj_out[label])
        prim = {k: stats[f"outcome.{k}"] for k in primary_specs(sc) if f"outcome.{k}" in stats}
        verdict = cmp.verdicts[label]
        result["learners"][label] = {
            "objective": own,
            "objective_stat": obj.__dict__,
            "engagement": stats["engagement.index"].__dict__,
            "minutes": stats["engagement.minutes"].__dict__,
            "primary": {k: v.__dict__ for k, v in prim.items()},
            "verdict": verdict.verdict,
            "reasons": verdict.reasons,
        }
        print(f"{sc.name:18s} {label:28s} verdict={verdict.verdict}")
        print(f"    own objective ({own}): {_fmt(obj)}  p={obj.p_value:.3g}")
        print(f"    engagement.index: {_fmt(stats['engagement.index'])}")
        print(f"    engagement.minutes: {_fmt(stats['engagement.minutes'])}")
        for k, v in prim.items():
            print(f"    primary {k}: {_fmt(v)}  p={v.p_value:.3g}")
        print(f"    reasons: {'; '.join(verdict.reasons)}")
    print(f"{sc.name}: {len(cmp.runs)} runs in {seconds:.0f} s", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worlds", nargs="+",
                    default=["productivity_tool", "finance_alerts", "learning_habits"])
    ap.add_argument("--learners", nargs="+", default=list(LEARNERS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        results = [measure_world(w, args.learners, args.seeds, out) for w in args.worlds]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
