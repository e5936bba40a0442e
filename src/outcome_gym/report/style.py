"""One look for every report: the palette, each policy's colour and marker, the page's CSS and frame."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import NamedTuple

#: Okabe & Ito's colour-universal-design palette (Okabe and Ito 2008, "Color Universal Design"),
#: without its grey: the colours stay distinct under the common colour-vision deficiencies
#: (deutan, protan, tritan). Series k of a figure is drawn in ``color(k)``; yellow, the weakest on
#: white, comes last.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000",
           "#F0E442")

#: The reference policy's colour in every comparison figure: a neutral grey no policy gets.
REFERENCE_COLOR = "#8C8C8C"

#: Markers repeat the colour's information in shape (legible in greyscale print and for readers
#: who cannot tell two palette colours apart); the reference's diamond is not among them. Seven
#: markers against eight colours: no two of the first 56 policies share both.
MARKERS = ("o", "s", "^", "v", "P", "X", "h")
REFERENCE_MARKER = "D"

#: The colour of a threshold or limit drawn on a figure (never a policy's colour).
THRESHOLD_COLOR = "#B00020"


def color(k: int) -> str:
    """The colour of the k-th series (the palette repeats after eight)."""
    return PALETTE[k % len(PALETTE)]


class PolicyStyle(NamedTuple):
    """How one policy is drawn in every figure of a comparison."""

    color: str
    marker: str
    is_reference: bool


def policy_styles(labels: Sequence[str], reference: str) -> dict[str, PolicyStyle]:
    """Each policy's colour and marker: the reference grey, the others the palette in order.

    The mapping depends only on the order of ``labels`` (the comparison's policy order), so a
    policy keeps its colour in every figure of one report; the reference is skipped when counting,
    so the first policy compared against it is always the palette's first colour.

    Args:
        labels: The policies' display labels, in the comparison's order (the reference among
            them or not).
        reference: The reference's display label.
    """
    out = {reference: PolicyStyle(REFERENCE_COLOR, REFERENCE_MARKER, True)}
    others = [lab for lab in dict.fromkeys(labels) if lab != reference]
    for k, lab in enumerate(others):
        out[lab] = PolicyStyle(color(k), MARKERS[k % len(MARKERS)], False)
    return out


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;
padding:3px 8px;font-size:13px;text-align:left}th{background:#f3f3f3}img{max-width:100%}
.trap{color:#b00020;font-weight:bold}.harm{color:#b00020}.aligned,.quiet{color:#1b7f3b}"""


def page_start(title: str) -> str:
    """A self-contained page's opening, up to and including ``<body>`` (``title`` is escaped)."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{CSS}</style></head><body>")


PAGE_END = "</body></html>"
