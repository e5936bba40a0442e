"""Markdown and HTML tables: the one implementation every report uses.

Cells are text; each table escapes its own: markdown cells get ``|`` escaped and line breaks folded
into spaces (either would break the table), HTML cells are HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def md_cell(value: object) -> str:
    """``value`` as one markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(head: Sequence[object], rows: Iterable[Sequence[object]], *,
             align: bool = False) -> str:
    """A markdown table: a header row, a ``|---|`` rule and one line per row (no final newline).

    With ``align``, every column is padded to its widest cell so the table reads as columns in
    plain text too (the rendered table is the same).
    """
    cells = [[md_cell(h) for h in head]] + [[md_cell(c) for c in row] for row in rows]
    if not align:
        out = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(r) + " |" for r in cells[1:]]
        return "\n".join(out)
    width = [max(len(r[i]) for r in cells if i < len(r)) for i in range(len(cells[0]))]
    width = [max(w, 3) for w in width]

    def line(r: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, width, strict=False)) + " |"

    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in width) + "|"]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)
