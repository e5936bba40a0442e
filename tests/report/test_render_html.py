"""report.html is the report's markdown converted by markdown-it-py: tables, images, escaping."""

from __future__ import annotations

import base64
import re

from outcome_gym.report.render import markdown_page

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def test_the_page_holds_tables_embedded_images_and_escaped_text(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "f.png").write_bytes(PNG)
    text = "\n".join([
        "# World <script>alert(1)</script>",
        "",
        "- engagement_bandit: engagement +5% → trap (rule trap: ...)",
        "- outcome_bandit: engagement +2% → aligned (rule aligned: ...)",
        "",
        "| metric | value |",
        "|---|---|",
        "| a \\| b | <b>1</b> |",
        "",
        "![frontier](figures/f.png)",
    ])
    page = markdown_page(text, "World <x>", tmp_path)
    assert page.startswith("<!doctype html>") and page.endswith("</body></html>")
    assert "<title>World &lt;x&gt;</title>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page  # raw HTML is text, never markup
    assert "<b>1</b>" not in page and "&lt;b&gt;1&lt;/b&gt;" in page
    assert "<table>" in page and "<td>a | b</td>" in page
    assert '<li class="trap">' in page and '<li class="aligned">' in page
    img = re.search(r'<img src="([^"]+)" alt="frontier"', page)
    assert img is not None
    assert img.group(1) == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert not re.search(r"src=['\"](?!data:)", page)  # self-contained
