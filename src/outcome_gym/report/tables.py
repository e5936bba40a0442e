"""Markdown and HTML tables: the one implementation every report uses.

Cells are text; each table escapes its own: markdown cells get ``|`` escaped and line breaks folded
into spaces (either would break the table), HTML cells are HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence


def md_cell(value: object) -> str:
    """``value`` as one markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(head: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table: a header row, a ``|---|`` rule and one line per row (no final newline)."""
    out = ["| " + " | ".join(md_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def html_table(head: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """An HTML ``<table>`` with a header row, on one line."""
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"
