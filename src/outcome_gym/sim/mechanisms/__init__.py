"""The user mechanisms of docs/design.md section 4, one small module each.

Each is a vectorized function of the population arrays, the scenario's parameters and its own
random stream (or uniform draws from it), documented with its equation and docs/calibration.md source
in ``docs/model.md``.
"""
