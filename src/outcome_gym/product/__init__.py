"""The product layer: guardrails, objectives and layout variants around the simulated population.

:class:`Product` is the one way to run a policy's action: ``Product.step(action)`` validates it,
passes it through the guardrail layer and advances the model (docs/design.md section 5).
"""

from outcome_gym.product.product import Product, StepResult

__all__ = ["Product", "StepResult"]
