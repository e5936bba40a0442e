"""One look for every report: the colour palette, the page's CSS and its HTML frame."""

from __future__ import annotations

import html

#: Matplotlib's ``tab10`` palette: series k of a figure is drawn in ``color(k)``.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")

#: Colours that mean the same thing in every figure: time well spent, time lost, time taken.
GOOD, BAD, NEUTRAL = PALETTE[2], PALETTE[3], PALETTE[7]


def color(k: int) -> str:
    """The colour of the k-th series (the palette repeats after ten)."""
    return PALETTE[k % len(PALETTE)]


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;
padding:3px 8px;font-size:13px;text-align:left}th{background:#f3f3f3}img{max-width:100%}
.trap{color:#b00020;font-weight:bold}.harm{color:#b00020}.aligned,.quiet{color:#1b7f3b}"""


def page_start(title: str) -> str:
    """A self-contained page's opening, up to and including ``<body>`` (``title`` is escaped)."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{CSS}</style></head><body>")


PAGE_END = "</body></html>"
