"""Comparing policies: paired runs over seeds, bootstrap intervals, effect sizes, verdicts."""
