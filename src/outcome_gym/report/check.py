"""Check output: a console table, JUnit XML for CI systems, markdown for a job summary."""

from __future__ import annotations

import io
from pathlib import Path
from xml.etree import ElementTree as ET

from outcome_gym._io import atomic_write
from outcome_gym.check.evaluate import ContractReport
from outcome_gym.report.tables import md_table


def table_lines(reports: list[ContractReport]) -> list[str]:
    """A plain-text table plus one sentence per failure."""
    lines = []
    for rep in reports:
        lines.append(f"contract {rep.contract.name}: {'PASS' if rep.passed else 'FAIL'}")
        cols = [("scenario", [r.scenario for r in rep.results]),
                ("expectation", [r.expectation for r in rep.results]),
                ("bound", [r.bound for r in rep.results]),
                ("observed", [r.observed for r in rep.results]),
                ("result", ["pass" if r.passed else "FAIL" for r in rep.results])]
        widths = [max(len(h), *(len(v) for v in vals)) + 2 if vals else len(h) + 2
                  for h, vals in cols]
        lines.append("  " + "".join(h.ljust(w) for (h, _), w in zip(cols, widths, strict=True)))
        for i in range(len(rep.results)):
            lines.append("  " + "".join(vals[i].ljust(w) for (_, vals), w
                                        in zip(cols, widths, strict=True)).rstrip())
        for r in rep.results:
            if not r.passed:
                lines.append(f"  ✗ {r.scenario}: {r.message}")
        if rep.baseline_note:
            lines.append(f"  baseline: {rep.baseline_note}")
    return lines


def write_junit(reports: list[ContractReport], path: Path) -> None:
    """One testsuite per contract, one testcase per expectation (failures carry the sentence).

    Written atomically, so a CI system never reads half a file.

    Raises:
        ResultsError: The file cannot be written.
    """
    suites = ET.Element("testsuites", name="outcome-gym check")
    for rep in reports:
        failures = sum(not r.passed for r in rep.results)
        suite = ET.SubElement(suites, "testsuite", name=rep.contract.name,
                              tests=str(len(rep.results)), failures=str(failures), errors="0")
        for r in rep.results:
            case = ET.SubElement(suite, "testcase", classname=f"{rep.contract.name}.{r.scenario}",
                                 name=f"{r.expectation} {r.bound}".strip())
            if not r.passed:
                fail = ET.SubElement(case, "failure", message=r.message)
                fail.text = f"observed {r.observed}; expected {r.bound}"
            else:
                out = ET.SubElement(case, "system-out")
                out.text = f"observed {r.observed}"
        if rep.baseline_note:
            props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", name="baseline", value=rep.baseline_note)
    buf = io.BytesIO()
    ET.ElementTree(suites).write(buf, encoding="utf-8", xml_declaration=True)
    atomic_write(path, buf.getvalue(), "JUnit XML")


def markdown_summary(reports: list[ContractReport]) -> str:
    """Markdown fit for a CI job summary."""
    out = ["# outcome-gym check", ""]
    for rep in reports:
        mark = "✅" if rep.passed else "❌"
        out += [f"## {mark} {rep.contract.name}", ""]
        rows = [[r.scenario, r.expectation, r.bound, r.observed,
                 "pass" if r.passed else "**FAIL**"] for r in rep.results]
        out.append(md_table(["scenario", "expectation", "bound", "observed", "result"], rows))
        fails = [r for r in rep.results if not r.passed]
        if fails:
            out += ["", "**What moved:**", ""] + [f"- {r.scenario}: {r.message}" for r in fails]
        if rep.baseline_note:
            out += ["", f"_Baseline: {rep.baseline_note}_"]
        out.append("")
    return "\n".join(out)


def write_markdown_summary(reports: list[ContractReport], path: Path) -> Path:
    """Write :func:`markdown_summary` to ``path`` (atomically).

    Raises:
        ResultsError: The file cannot be written.
    """
    return atomic_write(path, markdown_summary(reports), "markdown summary")
