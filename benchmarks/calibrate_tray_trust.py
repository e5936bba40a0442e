"""Measure what issue #14 items 2 and 3 fit: open rate, trust saturation and churn under static.

For each bundled world under its static product (default layout, default schedule, no
guardrails), over ``--seeds`` seeds: the open rate per delivery over the first 4 weeks; the share
of users whose trust is above 0.95 (and at least 0.99) after 12 weeks; and retention (share not
churned) at days 7, 30 and 84, against the target curve (recurly2023, 3.95% voluntary churn a
month). Also the volume study's 1/day arm (productivity_tool, one task reminder a day at the most
receptive slot, first 4 weeks), the row results/README.md judges against pielot2018's 15-25%.

    PYTHONPATH=src python benchmarks/calibrate_tray_trust.py [--seeds 5] [--set open_base=-1.2]

Uses only the public model API, so the same script measures an older checkout (the "before").
"""

from __future__ import annotations

import argparse

import numpy as np

from outcome_gym.scenario.loading import load_scenario
from outcome_gym.scenario.schema import ScheduledNotification
from outcome_gym.sim.model import SimulationModel

WORLDS = ("productivity_tool", "learning_habits", "finance_alerts")
MONTHLY_CHURN = 0.0395  # recurly2023: voluntary churn, median over subscription sites
DAYS = (7, 30, 84)


def _scenario(name: str, days: int, overrides: dict[str, float], schedule=None):
    sc = load_scenario(name)
    clock = sc.clock.model_copy(update={"horizon_days": days, "horizon_steps": None})
    um = sc.user_model.model_copy(update=overrides)
    product = sc.product
    if schedule is not None:
        product = product.model_copy(update={"schedule": schedule})
    return sc.model_copy(update={"clock": clock, "user_model": um, "product": product})


def _run(sc, seed: int, open_days: int = 28) -> dict[str, float]:
    model = SimulationModel(sc, seed, mesa_agents=False)
    opens = delivered = 0.0
    while not model.done:
        rec = model.advance(model.default_action())
        if rec.day < open_days:
            opens += float(np.sum(rec.segment_metrics["opens"]))
            delivered += float(np.sum(rec.segment_metrics["delivered"]))
    pop = model.pop
    out = {"open_rate": opens / delivered if delivered else float("nan"),
           "trust>0.95": float(np.mean(pop.trust > 0.95)),
           "trust>=0.99": float(np.mean(pop.trust >= 0.99)),
           "trust_mean": float(np.mean(pop.trust))}
    for d in DAYS:
        out[f"retained_d{d}"] = float(np.mean((pop.churn_day < 0) | (pop.churn_day > d)))
    return out


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--set", action="append", default=[], help="user_model key=value")
    args = ap.parse_args()
    overrides = {k: float(v) for k, v in (s.split("=", 1) for s in args.set)}
    seeds = range(args.seeds)
    target = {d: (1 - MONTHLY_CHURN) ** (d / 30.44) for d in DAYS}
    print("target retention " + ", ".join(f"d{d} {target[d]:.3f}" for d in DAYS))
    for name in WORLDS:
        m = _mean([_run(_scenario(name, 84, overrides), s) for s in seeds])
        print(f"{name:18s} open rate (default schedule, 4 wk) {m['open_rate']:.3f}  "
              f"trust>0.95 {m['trust>0.95']:.3f}  >=0.99 {m['trust>=0.99']:.3f}  "
              f"mean {m['trust_mean']:.3f}  retained "
              + ", ".join(f"d{d} {m[f'retained_d{d}']:.3f}" for d in DAYS))
    sched = [ScheduledNotification(element="task_reminder", slot="evening")]
    m = _mean([_run(_scenario("productivity_tool", 28, overrides, sched), s) for s in seeds])
    print(f"volume 1/day arm (productivity_tool, task_reminder evening, 4 wk): "
          f"open rate {m['open_rate']:.3f}")


if __name__ == "__main__":
    main()
