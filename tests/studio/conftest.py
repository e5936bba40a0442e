"""Shared by the studio tests: a small copy of the tiny world (60 users, 3 days) that runs fast."""

from __future__ import annotations

from tests.conftest import TINY

SMALL = TINY.read_text().replace("size: 200", "size: 60").replace("horizon_days: 14",
                                                                   "horizon_days: 3")
