"""What :func:`helpers.decompose_gap` costs beside one training epoch (for ``tools/bench.py``).

Run alone, it prints the measurement as JSON::

    python tools/bench_decompose.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def against_epochs(model, x, y, batch_size: int, repeats: int, measure) -> tuple:
    """``repeats`` rounds of one training epoch, then ``measure(history)``, each timed.

    Returns:
        ``(epoch seconds, measure seconds, the last measure's result)``, lists per round.
    """
    epoch_s, measure_s = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        history = model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        epoch_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = measure(history)
        measure_s.append(time.perf_counter() - start)
    return epoch_s, measure_s, result


def measure_cost(n_train: int = 3000, *, batch_size: int = 64, repeats: int = 2) -> dict:
    """Time :func:`helpers.decompose_gap` against one training epoch of the MNIST CNN.

    Trains :func:`helpers.build_mnist_cnn` on ``n_train`` shipped digits for one
    warm-up epoch (the backend traces its functions then), then times
    ``repeats`` further single epochs and ``repeats`` decompositions and keeps
    the fastest of each.

    Args:
        n_train: Training digits (up to 4,500 shipped). Defaults to 3000.
        batch_size: fit()'s batch size. Defaults to 64.
        repeats: Timed repetitions of each. Defaults to 2.

    Returns:
        A dict with ``epoch_s``, ``decompose_s``, ``ratio`` (decomposition
        seconds per epoch second), ``first_decompose_s`` (including one-off
        tracing), ``passes`` and the settings.
    """
    import keras

    from helpers import build_mnist_cnn, decompose_gap, load_mnist

    (x, y), _ = load_mnist(n_train=n_train)
    x, y = x[..., None].astype("float32") / 255, keras.utils.to_categorical(y, 10)
    model = build_mnist_cnn()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    epoch_s, decompose_s, result = against_epochs(
        model,
        x,
        y,
        batch_size,
        repeats,
        lambda history: decompose_gap(model, x, y, history=history, batch_size=batch_size),
    )
    return {
        "model": model.name,
        "n_train": n_train,
        "batch_size": batch_size,
        "passes": result.passes,
        "epoch_s": min(epoch_s),
        "decompose_s": min(decompose_s),
        "first_decompose_s": decompose_s[0],
        "ratio": min(decompose_s) / min(epoch_s),
    }


if __name__ == "__main__":
    from helpers import setup_notebook

    setup_notebook(seed=0, plots=False)
    print(json.dumps(measure_cost()))
