"""An example third-party outcome-gym policy package."""

from og_nudge.policy import EveningNudge

__all__ = ["EveningNudge"]
