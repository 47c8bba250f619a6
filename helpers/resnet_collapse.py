"""Scenario 04: ResNet50 learns three images, then predicts one class for all.

Introduced in ``notebooks/04_resnet_batchnorm.ipynb``: plain functions for
the notebook, its explorer and its tests. :func:`train_resnet` runs the
post's training, :func:`diagnose` measures the collapse,
:class:`MomentumSweep` replays BatchNorm's moving averages for several
momenta during one ``fit()``, :func:`collapse_over_seeds` repeats the post
over seeds, and :func:`explore_resnet` / :func:`resnet_explorer` are the
explorer.

Two measured choices keep the post's 197×197 run within a laptop's (and
Binder's) memory; the notebook's "Memory and time" has the numbers:

* ``run_eagerly=True``. With three images there is one step per epoch, so
  tracing ResNet50's training step into a graph costs more time and memory
  (about 80 MB) than it saves. ``predict()`` and ``evaluate()`` then run
  eagerly too, so no second and third trace follow. Graph mode rewrites some
  arithmetic, so the float digits differ from it; the collapse does not.
* The memory goes back: :func:`release_memory` before each model is built,
  and at 197×197 the model is built and trained inside
  :func:`large_buffers_mapped`, so glibc's heap fragmentation (about 110 MB)
  does not add to the peak. Neither changes a computed number.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np

from helpers.batchnorm import (batch_statistics, batchnorm_layers, compare_statistics,
                               predict_with_batch_statistics, recalibrate_batchnorm, travelled)
from helpers.data import load_bn_images
from helpers.memory import large_buffers_mapped, peak_memory_mb, release_memory  # noqa: F401 (re-exported)
from helpers.models import build_resnet50
from helpers.modes import evaluate_in_mode
from helpers.reproducibility import import_tensorflow_quietly
from helpers.table import Table

tf, keras = import_tensorflow_quietly()

POST_SIZE = 197  # the post's input size
SMALL_SIZE = 64  # sweep, explorer and seed test: 9.5 times fewer pixels, the same collapse
MOMENTA = (0.99, 0.9, 0.5, 0.01)
ARCHITECTURES = ("ResNet50", "ResNet50V2")
MAPPED_FROM_SIZE = 128  # input sizes from which train_resnet() runs inside large_buffers_mapped()


def load_images(input_size: int = POST_SIZE):
    """The post's three images as float32 (values 0..255), their one-hot labels and names."""
    x, y, names = load_bn_images(input_size)
    return x.astype("float32"), y, names


def build_model(architecture: str = "ResNet50", input_size: int = POST_SIZE, *, momentum: float = 0.99):
    """The post's ResNet50, or the ResNet50V2 that answer 3 recommends, compiled as in the post.

    ``"ResNet50"`` is :func:`helpers.models.build_resnet50`. ``"ResNet50V2"``
    is ``keras.applications.ResNet50V2(weights=None, input_shape=(size,
    size, 1), classes=3)`` with the same momentum setting and compile (Adam,
    categorical cross-entropy, accuracy logged as ``acc``).
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown `architecture`: {architecture!r}; expected one of {ARCHITECTURES}")
    if architecture == "ResNet50":
        return build_resnet50(input_size, momentum=momentum)
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 32:
        raise ValueError(f"invalid `input_size`: {input_size!r}; expected an int ≥ 32, e.g. 64")
    travelled(momentum, 0)  # validates `momentum`
    model = keras.applications.ResNet50V2(weights=None, input_shape=(input_size, input_size, 1), classes=3)
    for layer in batchnorm_layers(model):
        layer.momentum = float(momentum)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["acc"])
    return model


def train_resnet(*, input_size: int = POST_SIZE, momentum: float = 0.99, epochs: int = 5,
                 seed: int = 0, architecture: str = "ResNet50", run_eagerly: bool = True,
                 callbacks: Sequence = ()):
    """Train the post's model on its three images, as the post did.

    :func:`build_model`, the three images with one-hot labels, then
    ``fit(x, y, epochs=epochs, shuffle=True)`` with the default batch size:
    one batch of three images per epoch. :func:`release_memory` runs first;
    from ``MAPPED_FROM_SIZE`` (128) up, building and training run inside
    :func:`large_buffers_mapped`.

    Args:
        input_size: Side of the square input. Defaults to the post's 197.
        momentum: BatchNormalization momentum. Defaults to Keras's 0.99.
        epochs: Epochs. Defaults to the post's 5.
        seed: Seed for the initial weights (``keras.utils.set_random_seed``).
            Defaults to 0.
        architecture: ``"ResNet50"`` or ``"ResNet50V2"``. Defaults to
            ``"ResNet50"``.
        run_eagerly: Run ``fit()``, ``predict()`` and ``evaluate()``
            eagerly (see the module docstring). Defaults to True.
        callbacks: Extra Keras callbacks. Defaults to none.

    Returns:
        A namespace with ``model``, ``history`` (the ``History`` dict),
        ``x``, ``y`` and ``names``.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"invalid `epochs`: {epochs!r}; expected a positive int, e.g. the post's 5")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"invalid `seed`: {seed!r}; expected a non-negative int such as 0")
    x, y, names = load_images(input_size)
    release_memory()  # a previous run's model, and the memory it held, go before this one is built
    big = input_size >= MAPPED_FROM_SIZE  # 64×64 peaks far lower, and mapping would cost 0.5 s per step
    with large_buffers_mapped() if big else contextlib.nullcontext():
        keras.utils.set_random_seed(int(seed))
        model = build_model(architecture, input_size, momentum=momentum)
        model.run_eagerly = run_eagerly
        history = model.fit(x, y, epochs=int(epochs), shuffle=True, verbose=0, callbacks=list(callbacks))
    return SimpleNamespace(model=model, history=history.history, x=x, y=y, names=names)


def predict_classes(model, x) -> np.ndarray:
    """Inference-mode classes, as ``predict()`` gives them, from one direct call."""
    return np.asarray(model(x, training=False)).argmax(axis=1)


def diagnose(model, x, y) -> dict:
    """The collapse in numbers.

    Returns:
        ``{"predicted": classes in inference mode, "inference": evaluate()'s
        dict, "training": the same in training mode}``, all of ``x`` as one
        batch, as ``fit()`` had it.
    """
    return {
        "predicted": predict_classes(model, x),
        "inference": evaluate_in_mode(model, x, y, mode="inference", batch_size=len(x)),
        "training": evaluate_in_mode(model, x, y, mode="training", batch_size=len(x)),
    }


def plot_travelled(table: Table, momentum: float, updates: int, *, ax=None, title=None):
    """Draw how far each BatchNorm layer's moving statistics have travelled.

    Args:
        table: A :func:`helpers.batchnorm.compare_statistics` table.
        momentum: The momentum used, for the reference line.
        updates: Training steps so far, for the reference line.
        ax: Axes to draw on. Defaults to the current Axes.
        title: Title; a sensible one if None.

    Returns:
        The Axes.
    """
    ax = ax or plt.gca()
    depth = table.column("depth")
    ax.plot(depth, table.column("mean travelled"), "o", ms=3, color="tab:blue", label="moving mean")
    ax.plot(depth, table.column("var travelled"), "s", ms=3, mfc="none", color="tab:orange",
            label="moving variance")
    ax.axhline(travelled(momentum, updates), color="k", ls="--", lw=1,
               label=f"1 − {momentum:g}^{updates} = {travelled(momentum, updates):.3f}")
    ax.set_xlabel("BatchNormalization layer (input → output)")
    ax.set_ylabel("fraction of the way travelled")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title or "moving statistics: share of the way to the batch's")
    ax.legend(fontsize="small", loc="center right")
    return ax


class MomentumSweep(keras.callbacks.Callback):
    """Replay BatchNorm's moving averages for several momenta during one ``fit()``.

    ``fit()`` never *reads* the moving statistics -- in training mode every
    BatchNormalization layer normalises with the batch's own statistics --
    so the weights follow the same path whatever the momentum; only the
    moving averages differ, and they are a known function of the batch
    statistics: ``moving = m * moving + (1 - m) * batch``. Before each step
    this callback measures the batch statistics the step is about to use
    (:func:`helpers.batchnorm.batch_statistics`, model unchanged) and keeps
    one moving average per momentum. After each epoch it loads each set into
    the model in turn and counts the images that inference mode gets right
    (one traced forward pass, ``model(x, training=False)``),
    then does the same with the statistics of the end-of-epoch weights
    (what :func:`helpers.batchnorm.recalibrate_batchnorm` would write), and
    puts the model's own statistics back. ``fit()`` is not disturbed.

    For the post's setting: one batch per epoch (all of ``x``).

    Args:
        x: The training inputs (all of them: one batch).
        y: One-hot labels.
        momenta: Momenta to replay. Defaults to (0.99, 0.9, 0.5, 0.01).

    Attributes:
        table: A :class:`~helpers.Table`, one row per epoch and set of
            statistics: ``epoch``, ``statistics`` (``"momentum 0.99"``, …,
            ``"PreciseBN"``), ``correct`` (images predicted right) and
            ``images`` (how many there are).
        replay_error: Largest difference between the replayed average for
            the model's own momentum and the moving statistics Keras itself
            kept, relative to each array's largest value -- a check of the
            replay (float32 rounding gives ~1e-6) -- or None if the model's
            momentum is not among ``momenta``.
    """

    def __init__(self, x, y, momenta: Sequence[float] = MOMENTA):
        super().__init__()
        if not len(momenta):
            raise ValueError("`momenta` is empty; pass at least one, e.g. (0.99, 0.01)")
        for m in momenta:
            if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0 <= m < 1:
                raise ValueError(f"invalid momentum {m!r} in `momenta`; expected floats in [0, 1), "
                                 "e.g. (0.99, 0.9, 0.5, 0.01)")
        self.x, self.labels = x, np.asarray(y).argmax(axis=1)
        self.momenta = tuple(float(m) for m in momenta)

    def on_train_begin(self, logs=None):
        if self.params.get("steps") not in (None, 1):
            raise ValueError(f"MomentumSweep replays one batch per epoch, but fit() runs "
                             f"{self.params['steps']}; pass batch_size >= len(x)")
        # The layers batch_statistics() measures: those fit() updates (frozen ones never move).
        self._layers = [layer for layer in batchnorm_layers(self.model) if layer.trainable]
        start = [(layer.moving_mean.numpy().astype("float64"), layer.moving_variance.numpy().astype("float64"))
                 for layer in self._layers]
        self._average = {m: list(start) for m in self.momenta}
        self._next = None  # batch statistics already measured for the coming step
        self.table, self.replay_error = Table([]), None
        # Inference traced once: at 64×64 a call takes 0.02 s instead of 0.22 s eagerly, and the
        # sweep makes five per epoch. The variables are read at each call, so loaded statistics count.
        model = self.model
        self._forward = tf.function(lambda inputs: model(inputs, training=False))

    @property
    def averages(self) -> dict[float, list]:
        """The replayed moving averages so far: momentum -> [(mean, variance) per BN layer]."""
        return {m: [(mean.copy(), var.copy()) for mean, var in average] for m, average in self._average.items()}

    def on_train_batch_begin(self, batch, logs=None):
        stats = self._next or list(batch_statistics(self.model, self.x).values())
        self._next = None
        for m, average in self._average.items():
            self._average[m] = [(m * mean + (1 - m) * b_mean, m * var + (1 - m) * b_var)
                                for (mean, var), (b_mean, b_var) in zip(average, stats)]

    def _correct_with(self, statistics) -> int:
        for layer, (mean, var) in zip(self._layers, statistics):
            layer.moving_mean.assign(mean.astype("float32"))
            layer.moving_variance.assign(var.astype("float32"))
        return int(np.sum(np.asarray(self._forward(self.x)).argmax(axis=1) == self.labels))

    def on_epoch_end(self, epoch, logs=None):
        own = [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in self._layers]
        # The end-of-epoch weights' batch statistics: PreciseBN's values, and the
        # statistics the next step will use (the weights do not change in between).
        self._next = list(batch_statistics(self.model, self.x).values())
        sets = {f"momentum {m:g}": average for m, average in self._average.items()}
        sets["PreciseBN"] = self._next
        try:
            rows = [{"epoch": epoch + 1, "statistics": name, "correct": self._correct_with(stats),
                     "images": len(self.labels)} for name, stats in sets.items()]
        finally:
            for layer, (mean, var) in zip(self._layers, own):
                layer.moving_mean.assign(mean)
                layer.moving_variance.assign(var)
        self.table = Table(self.table.rows + rows)
        own_momentum = self._layers[0].momentum
        if own_momentum in self._average:
            self.replay_error = max(float(np.max(np.abs(replayed - kept)) / max(float(np.max(np.abs(kept))), 1e-12))
                                    for pair, kept_pair in zip(self._average[own_momentum], own)
                                    for replayed, kept in zip(pair, kept_pair))

    def on_train_end(self, logs=None):
        # Keep the results, not the model: a ResNet50 and its optimizer hold ~0.3 GB.
        self._layers, self._next, self._forward = [], None, None
        self.set_model(None)


def sweep_grid(table: Table) -> Table:
    """A :class:`MomentumSweep` table as a grid: one row per set of statistics, one column per epoch."""
    names = list(dict.fromkeys(table.column("statistics")))
    return Table([{"statistics": name, **{str(r["epoch"]): r["correct"] for r in table.where(statistics=name)}}
                  for name in names])


def first_correct_epoch(table: Table, statistics: str) -> int | None:
    """The first epoch from which all images stay predicted right, or None."""
    rows = table.where(statistics=statistics).rows
    if not rows:
        raise ValueError(f"no rows for statistics={statistics!r}; available: "
                         f"{sorted(set(table.column('statistics')))}")
    first = None
    for row in rows:
        first = (first or row["epoch"]) if row["correct"] == row["images"] else None
    return first


def plot_sweep(table: Table, *, ax=None, title=None):
    """Draw a :class:`MomentumSweep` table: images right per epoch and set of statistics."""
    grid = sweep_grid(table)
    epochs = grid.columns[1:]
    values = np.array([[row[e] for e in epochs] for row in grid], dtype=float)
    images = max(table.column("images"))
    ax = ax or plt.gca()
    ax.imshow(values, cmap="RdYlGn", vmin=0, vmax=images, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8,
                color="white" if v in (0, images) else "black")  # readable on the darkest cells
    ax.set_xticks(range(len(epochs)), epochs)
    ax.set_yticks(range(len(grid)), grid.column("statistics"))
    ax.set_xlabel("epoch")
    ax.grid(False)
    ax.set_title(title or f"images predict() gets right (of {images}), by BatchNorm statistics")
    return ax


def _kernels_in_build_order(model, build_seed: int) -> list:
    """The layers of ``model`` with a random kernel initializer, in the order they were made.

    Keras gives every unseeded initializer a seed from Python's ``random``
    (``randint(1, 10**9)``) when its layer is made; ``model`` must have been
    built just after ``keras.utils.set_random_seed(build_seed)``, so replaying
    those draws ranks the layers. (``model.layers`` is in graph order, which
    differs: a block's shortcut convolution is made before its first one.)
    """
    layers = [layer for layer in model.layers if getattr(layer, "kernel_initializer", None) is not None
              and "seed" in layer.kernel_initializer.get_config()]  # Zeros and Ones have no seed
    draws = random.Random(int(build_seed))
    rank = {draws.randint(1, 10**9): i for i in range(len(layers))}
    if any(layer.kernel_initializer.seed not in rank for layer in layers):
        raise ValueError(f"`model` was not built just after keras.utils.set_random_seed({build_seed})")
    return sorted(layers, key=lambda layer: rank[layer.kernel_initializer.seed])


def _reset_to_seed(seed: int, initial: Sequence[tuple], kernels: Sequence) -> None:
    """Give a model the starting weights a fresh build has after ``keras.utils.set_random_seed(seed)``.

    Every variable in ``initial`` (pairs of variable and starting value,
    BatchNorm statistics and Adam's state included) goes back to its value;
    then the ``kernels`` (from :func:`_kernels_in_build_order`) are redrawn
    in that order, each with the seed a fresh build would give its
    initializer. ``tests/test_batchnorm.py`` checks this against a fresh
    build, bit for bit.
    """
    draws = random.Random(int(seed))  # not set_random_seed(): a new TensorFlow seed would retrace fit()
    for variable, value in initial:
        variable.assign(value)
    for layer in kernels:
        config = {**layer.kernel_initializer.get_config(), "seed": draws.randint(1, 10**9)}
        initializer = type(layer.kernel_initializer).from_config(config)
        layer.kernel.assign(initializer(layer.kernel.shape, layer.kernel.dtype))


def collapse_over_seeds(seeds: Sequence[int] = range(10), *, input_size: int = SMALL_SIZE,
                        epochs: int = 5, momentum: float = 0.99) -> Table:
    """Repeat the post's training from several random initialisations.

    One compiled model is reused in Keras's default graph mode, so
    ResNet50's training step is traced once rather than once per seed
    (tracing costs more than five steps). Its metrics are built before the
    trace, or ``fit()`` would trace the step twice. For each seed the model
    gets exactly the starting weights a fresh ``build_resnet50`` would have
    after ``keras.utils.set_random_seed(seed)``, with Adam's state and the
    BatchNorm statistics reset; then ``fit()`` runs as in the post.

    Args:
        seeds: Seeds for the initial weights. Defaults to 0..9.
        input_size: Side of the input. Defaults to ``SMALL_SIZE`` (64).
        epochs: Epochs. Defaults to the post's 5.
        momentum: BatchNormalization momentum. Defaults to 0.99.

    Returns:
        A :class:`~helpers.Table`, one row per seed: ``seed``, ``fit acc``
        (last epoch, as logged), ``training-mode acc``, ``inference acc``,
        ``predicted`` (classes, as a string) and ``one class`` (whether
        ``predict()`` gives the same class for all three images).
    """
    x, y, _ = load_images(input_size)
    labels = y.argmax(axis=1)
    release_memory()
    keras.utils.set_random_seed(0)
    model = build_resnet50(input_size, momentum=momentum)
    kernels = _kernels_in_build_order(model, build_seed=0)
    model.optimizer.build(model.trainable_variables)
    model.compute_metrics(x, y, model(x, training=False))  # builds `acc` now, not inside the trace
    model.reset_metrics()
    initial = [(v, v.numpy()) for v in [*model.variables, *model.optimizer.variables]]
    rows = []
    for seed in seeds:
        _reset_to_seed(seed, initial, kernels)
        history = model.fit(x, y, epochs=epochs, shuffle=True, verbose=0).history
        predicted = predict_classes(model, x)
        rows.append({
            "seed": int(seed),
            "fit acc": float(history["acc"][-1]),
            "training-mode acc": evaluate_in_mode(model, x, y, mode="training", batch_size=len(x))["acc"],
            "inference acc": float(np.mean(predicted == labels)),
            "predicted": " ".join(map(str, predicted)),
            "one class": bool(len(set(predicted.tolist())) == 1),
        })
    return Table(rows)


def explore_resnet(momentum: float = 0.99, epochs: int = 5, recalibrate: bool = False, progress=None, *,
                   input_size: int = SMALL_SIZE, seed: int = 0):
    """The explorer's plain function: train, optionally recalibrate, show predictions and statistics.

    Args:
        momentum: BatchNormalization momentum. Defaults to 0.99.
        epochs: Epochs. Defaults to 5.
        recalibrate: Apply :func:`helpers.batchnorm.recalibrate_batchnorm`
            after training. Defaults to False.
        progress: ``progress(epoch, epochs, logs)``, called after each epoch.
        input_size: Side of the input. Defaults to ``SMALL_SIZE`` (64).
        seed: Seed for the initial weights. Defaults to 0.

    Returns:
        A namespace with ``figure``, ``summary``, ``history``,
        ``predicted`` (inference classes), ``inference_correct``,
        ``training_correct`` (images right with batch statistics) and
        ``statistics`` (the :func:`compare_statistics` table).
    """
    from helpers.widgets import progress_callback

    run = train_resnet(input_size=input_size, momentum=momentum, epochs=epochs, seed=seed,
                       callbacks=progress_callback(progress))
    model, x, labels = run.model, run.x, run.y.argmax(axis=1)
    if recalibrate:
        recalibrate_batchnorm(model, x, batch_size=len(x))
    inference = np.asarray(model(x, training=False))
    training = predict_with_batch_statistics(model, x)
    statistics = compare_statistics(model, x)
    predicted = inference.argmax(axis=1)
    result = SimpleNamespace(history=run.history, predicted=predicted, statistics=statistics,
                             inference_correct=int(np.sum(predicted == labels)),
                             training_correct=int(np.sum(training.argmax(axis=1) == labels)))
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), gridspec_kw={"width_ratios": [1, 1.3]})
    where = np.arange(len(x))
    stats = "after PreciseBN" if recalibrate else "moving statistics"
    left.bar(where - 0.2, inference[where, labels], 0.4, color="tab:blue", label=f"predict() ({stats})")
    left.bar(where + 0.2, training[where, labels], 0.4, color="tab:orange", label="training mode (batch statistics)")
    left.set_xticks(where, [n.removesuffix(".png") for n in run.names])
    left.set_ylim(0, 1.25)
    left.set_ylabel("probability of the true class")
    left.set_title(f"predict() right on {result.inference_correct} of 3")
    left.legend(fontsize="small", loc="upper left")
    plot_travelled(statistics, momentum, epochs, ax=right)
    fig.suptitle(f"ResNet50, {input_size}×{input_size}, momentum {momentum:g}, {epochs} epochs"
                 + (", recalibrated" if recalibrate else ""), fontsize=10)
    fig.tight_layout()
    plt.close(fig)  # returned, not shown: the caller (or the explorer) decides where it goes
    result.figure = fig
    del run, model
    release_memory()  # the model is not returned: free its ~0.3 GB now, not at Python's next collection
    travel = float(np.median(statistics.column("mean travelled")))
    result.summary = (f"fit() accuracy {result.history['acc'][-1]:.2f}; predict() right on "
                      f"{result.inference_correct}/3 (classes {' '.join(map(str, predicted))}); training mode "
                      f"{result.training_correct}/3; moving means travelled {travel:.1%} of the way "
                      f"(1 − {momentum:g}^{epochs} = {travelled(momentum, epochs):.1%}).")
    return result


def resnet_explorer():
    """The scenario's explorer: momentum, epochs and a recalibration toggle, at 64×64."""
    import ipywidgets as widgets

    from helpers.widgets import Explorer

    controls = {
        "momentum": widgets.SelectionSlider(options=[0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999], value=0.99,
                                            description="momentum"),
        "epochs": widgets.IntSlider(value=5, min=1, max=30, description="epochs"),
        "recalibrate": widgets.Checkbox(value=False, description="recalibrate (PreciseBN)"),
    }
    return Explorer(explore_resnet, controls,
                    title=f"ResNet50 on the three images at {SMALL_SIZE}×{SMALL_SIZE} (the post used "
                          f"{POST_SIZE}×{POST_SIZE}: same collapse, 9× fewer pixels; about 12 s for 5 epochs)")
