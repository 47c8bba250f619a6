"""Scenario 01's exercises: expected values computed out of the notebook's sight.

Read by :func:`helpers.selfcheck.check_exercise` (``check_exercise("checkpoint",
k, answer_k, ...)``) and by the graded assignments' hidden tests. Exercises 2
and 3 ask about a variation the notebook does not run (both Dropout rates at
0.5): their expected values come from one run of :func:`train_checkpointed`
with those rates, which replays the student's plain ``fit()`` bit for bit when
both set the same seed before building the model (the notebook asserts this
for the post's rates). Tolerances are far below the differences between
settings and far above float noise, so they survive a change of CPU: both
sides are computed on the same machine.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from helpers.scenarios.checkpoint.run import LN2, best_checkpoint_gap, post_data, train_checkpointed
from helpers.selfcheck import Exercise

STRONG_DROPOUT = (0.5, 0.5)  # the rates of exercises 2 and 3


@functools.cache
def strong_dropout_run(seed: int = 0) -> dict:
    """The post's run with both Dropout rates at 0.5: its best checkpoint's gap and lucky epochs.

    Returns:
        ``{"gap": best logged loss − evaluate() of the best file,
        "below_ln2": how many of the 50 logged losses are below ln 2}``.
    """
    x, y = post_data()
    run = train_checkpointed(x, y, dropout=STRONG_DROPOUT, seed=seed)
    return {
        "gap": best_checkpoint_gap(run, x, y),
        "below_ln2": int((np.array(run.history["loss"]) < LN2).sum()),
    }


EXERCISES = {
    1: Exercise(
        name="Exercise 1",
        hint="the loss fit() logs for an epoch is computed before that epoch's update, and "
        "history indices count from 0",
        expected=lambda run: run.evaluate_epoch(20, *post_data()),
        atol=1e-5,
    ),
    2: Exercise(
        name="Exercise 2",
        hint="call keras.utils.set_random_seed(0) right before build_checkpoint_mlp(dropout=...), "
        "train as in section 1, load the best file, and subtract in the kit's order: logged "
        "minus evaluated",
        expected=lambda: strong_dropout_run(0)["gap"],
        atol=1e-4,
    ),
    3: Exercise(
        name="Exercise 3",
        hint="compare your run's history['loss'] with ck.LN2 element by element and count",
        expected=lambda: strong_dropout_run(0)["below_ln2"],
        atol=0.0,
    ),
    4: Exercise(
        name="Exercise 4",
        hint="with Dropout off all three copies get the same prediction p; minimise the mean "
        "of −log p₀, −log p₁, −log p₂ over p, as section 4 did for two labels",
        expected=lambda: math.log(3),
        atol=1e-3,
    ),
}
