"""Dollars: what tokens cost at a model's batch price, and how a sum is shown.

The estimate prepare prints, the pilot's projection, its later stages and the
report all price tokens the same way; one function keeps them agreeing.
"""

from __future__ import annotations

from .config import Config, Price


def batch_cost(config: Config, price: Price, prompt: float, completion: float = 0.0) -> float:
    """USD for ``prompt`` and ``completion`` tokens at ``price`` (per 1M tokens, list),
    less the batch discount."""
    return (prompt * price.input + completion * price.output) * (1 - config.batch_discount) / 1e6


def money(value: float) -> str:
    """Cents and below shown to four places ($0.0042), larger sums to two ($12.50)."""
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"
