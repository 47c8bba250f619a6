"""The kit's one sign convention for "the gap".

Introduced in ``notebooks/00_start_here.ipynb`` and used in every notebook,
table and plot::

    gap = what fit() logged  -  what evaluate() says

for the same metric and the same data, ``evaluate()`` measuring the weights
at the end of the same epoch in inference mode. For a loss, a positive gap
means ``fit()`` looked *worse* than the model is; for an accuracy, a negative
gap means the same. When a scenario compares with validation numbers
instead, the rule is the same: the number logged during training first, the
number measured afterwards second.
"""

from __future__ import annotations

DEFINITION = "gap = fit() logged − evaluate()"
HEADER = "gap (fit − evaluate)"


def gap(logged: float, evaluated: float) -> float:
    """The gap between a number ``fit()`` logged and the matching ``evaluate()``.

    Example:
        >>> round(gap(0.2432, 0.6981), 4)  # the checkpoint post: fit() looked better
        -0.4549
    """
    return float(logged) - float(evaluated)
