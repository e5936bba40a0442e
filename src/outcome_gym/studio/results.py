"""A finished comparison folder read back for the page: verdicts, effects, figures, report files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from outcome_gym._io import read_json

FIGURES = ("trap_quadrant", "outcomes", "engagement", "timeseries", "attention", "fragmentation")
"""The report's figures, in the order the page shows them."""


@dataclass(frozen=True)
class Result:
    """One comparison as the page shows it.

    Attributes:
        folder: compare's output folder.
        summary: Its summary.json (every number behind the report).
    """

    folder: Path
    summary: dict[str, Any]

    @classmethod
    def read(cls, folder: Path) -> Result:
        """Read a compare output folder (raises ResultsError if summary.json is unreadable)."""
        return cls(folder, read_json(folder / "summary.json"))

    def verdicts(self) -> pd.DataFrame:
        """One row per policy: verdict, the rule that fired, why, and per-segment verdicts."""
        rows = []
        for label, v in self.summary["verdicts"].items():
            segments = ", ".join(f"{s}: {d['verdict']}" for s, d in v.get("segments", {}).items())
            rows.append({"policy": label, "verdict": v["verdict"], "rule": v["rule"],
                         "why": v.get("rule_text", ""), "segments": segments,
                         "seeds needed": v.get("seeds_needed")})
        return pd.DataFrame(rows)

    def effects(self) -> pd.DataFrame:
        """One row per policy x tested metric: lift, class, p values, margin and the note."""
        rows = []
        for label, v in self.summary["verdicts"].items():
            for name, m in v.get("metrics", {}).items():
                rows.append({"policy": label, "metric": name, "role": m.get("role"),
                             "segment": m.get("segment"), "lift": m.get("lift"),
                             "class": m.get("cls"), "p (Holm)": m.get("p_adj"),
                             "margin": m.get("margin"), "note": m.get("note", "")})
        return pd.DataFrame(rows)

    def harm(self) -> pd.DataFrame:
        """Who is harmed, one row per policy x metric x segment.

        The share of users worse off (with its interval), better off, the per-user quartiles, and
        the placebo's share worse off (the noise floor).
        """
        who = self.summary.get("who_is_harmed") or {}
        effects = who.get("effects") or {}
        placebo = effects.get(who.get("placebo") or "", {})
        rows = []
        for label, by_metric in effects.items():
            if label == who.get("placebo"):
                continue
            for metric, by_segment in by_metric.items():
                for segment, st in by_segment.items():
                    worse = st["share_worse"]
                    floor = placebo.get(metric, {}).get(segment, {}).get("share_worse", {})
                    rows.append({
                        "policy": label, "metric": metric, "segment": segment,
                        "worse off": worse["mean"], "low": worse["low"], "high": worse["high"],
                        "placebo worse off": floor.get("mean"),
                        "better off": st["share_better"]["mean"],
                        "q25": st["q25"]["mean"], "median": st["q50"]["mean"],
                        "q75": st["q75"]["mean"]})
        return pd.DataFrame(rows)

    def harm_rules(self) -> dict[str, list[str]]:
        """Policy -> the harm rules that held on the held-apart seeds, in words."""
        rules = (self.summary.get("who_is_harmed") or {}).get("rules") or {}
        return {label: [r["text"] for r in found] for label, found in rules.items()}

    def stories(self) -> dict[str, list[str]]:
        """Policy -> the plain-language story of its most harmed user of the primary outcome."""
        stories = (self.summary.get("who_is_harmed") or {}).get("stories") or {}
        return {label: list(st.get("summary", [])) for label, st in stories.items()}

    @property
    def headline(self) -> list[str]:
        """The report's plain-language lines (and its warnings)."""
        return list(self.summary.get("headline", []))

    def figures(self) -> list[Path]:
        """The report's figures that exist, in the page's order."""
        paths = [self.folder / "figures" / f"{name}.png" for name in FIGURES]
        return [p for p in paths if p.is_file()]

    def report(self, kind: str) -> Path:
        """``report.md`` or ``report.html``."""
        return self.folder / f"report.{kind}"
