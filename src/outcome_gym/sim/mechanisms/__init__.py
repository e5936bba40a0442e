"""The user mechanisms of docs/design.md section 4, one small module each.

Each is a set of small pure, vectorized functions of the population arrays, the compiled world's
arrays, the mechanism's own frozen parameter record (``NotificationParams``, ``ChoiceParams``, ...,
built once per model by ``sim/params.py``; never the scenario schema) and uniforms from its own
random stream. Each module's docstring gives its equation and its docs/calibration.md sources;
``docs/model.md`` documents them all in step order.
"""
