"""The kit's one sign convention, in every notebook, table and plot::

    gap = what fit() logged  -  what evaluate() says   (same metric, same data, same epoch)

For a loss a positive gap means ``fit()`` looked worse than the model is; for an accuracy a
negative one does. Against validation numbers the rule is the same: logged first.
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
