"""Scenario 02's data, training and measurements: validation above training on 1/20 of MNIST.

Introduced in ``notebooks/02_validation_above_training.ipynb``. The post
trained a small CNN with two Dropout layers on 3,000 MNIST digits and saw
``val_acc`` above ``acc`` for all 50 epochs, while ``evaluate()`` ranked the
training set first. The notebook reproduces that in plain Keras; the
functions here then prepare the data exactly as the post did and re-run its
training with :class:`~helpers.GapProbe` attached (measuring both modes in
one pass, :func:`~helpers.scenarios.mnist.forward.measure_one_pass`), so the
gap can be split into its parts (:class:`~helpers.scenarios.mnist.split.GapSplit`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from helpers import checks
from helpers.data import load_mnist
from helpers.gap_probe import GapProbe
from helpers.models import build_mnist_cnn
from helpers.reproducibility import import_tensorflow_quietly
from helpers.scenarios.mnist.forward import PROBE_BATCH_SIZE, accuracies, measure_one_pass
from helpers.scenarios.mnist.split import GAP_HEADER, GapSplit
from helpers.table import Table
from helpers.widgets import progress_callback

keras = import_tensorflow_quietly()[1]

POST_DROPOUT = (0.25, 0.5)
POST_BATCH_SIZE = 64
POST_EPOCHS = 50
N_LABELS = 10
PROBES = (None, "inference", "training")


def prepare(x, y):
    """Shape, scale and encode digits as the post did.

    Args:
        x: ``uint8`` images ``(n, 28, 28)``.
        y: Integer labels ``(n,)`` in 0..9.

    Returns:
        ``(x, y)``: ``float32`` images ``(n, 28, 28, 1)`` in [0, 1] and
        one-hot labels ``(n, 10)``.

    Example:
        >>> x, y = prepare(np.full((2, 28, 28), 255, "uint8"), np.array([3, 7]))
        >>> x.shape, x.dtype, float(x.max()), y.shape, y.argmax(1).tolist()
        ((2, 28, 28, 1), dtype('float32'), 1.0, (2, 10), [3, 7])
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(
            f"invalid digit images of shape {x.shape}; expected (n, 28, 28) as from load_mnist()"
        )
    if y.shape != (len(x),):
        raise ValueError(
            f"invalid labels of shape {y.shape}; expected ({len(x)},), one integer label per image"
        )
    images = x.reshape(len(x), 28, 28, 1).astype("float32") / 255
    return images, keras.utils.to_categorical(y, N_LABELS)


def load_post_data(source: str = "shipped", *, n_train: int = 3000, n_test: int = 500):
    """The post's data, prepared: 1/20 of MNIST by default.

    Args:
        source: ``"shipped"`` (offline subset) or ``"keras"`` (the official
            files, downloaded once). Defaults to ``"shipped"``.
        n_train: Training digits. Defaults to 3000.
        n_test: Test digits, used as ``validation_data``. Defaults to 500.

    Returns:
        ``(x_train, y_train), (x_val, y_val)`` as :func:`prepare` returns them.
    """
    (x_train, y_train), (x_val, y_val) = load_mnist(source, n_train=n_train, n_test=n_test)
    return prepare(x_train, y_train), prepare(x_val, y_val)


@dataclasses.dataclass
class MnistRun:
    """One training run of the post's model and everything measured in it.

    Attributes:
        model: The trained model.
        history: What ``fit()`` returned.
        probe: The :class:`~helpers.GapProbe` attached, or None.
        end: Training-data accuracy after the last epoch, ``{"training": …,
            "inference": …}``.
        settings: The arguments of :func:`train_post`.
    """

    model: object
    history: object
    probe: GapProbe | None
    end: dict
    settings: dict

    @classmethod
    def from_fit(
        cls,
        model,
        history,
        probe: GapProbe,
        *,
        batch_size: int = POST_BATCH_SIZE,
        seed: int | None = 0,
    ) -> MnistRun:
        """Wrap a plain ``fit()`` of the post's model, with a probe attached, as a run.

        Args:
            model: The trained model (:func:`~helpers.build_mnist_cnn`).
            history: What ``fit()`` returned.
            probe: The :class:`~helpers.GapProbe` passed to ``fit()``; its last
                measurement must hold both modes (``training_mode=True``, or
                ``measure=measure_one_pass``).
            batch_size: The batch size passed to ``fit()``. Defaults to 64.
            seed: The seed set before building the model. Defaults to 0.
        """
        if set(probe.last) != {"training", "inference"}:
            raise ValueError(
                "the probe has no end-of-training measurement in both modes; attach "
                "GapProbe(..., training_mode=True) to fit() first"
            )
        rates = tuple(
            float(layer.rate) for layer in model.layers if isinstance(layer, keras.layers.Dropout)
        )
        end = {source: probe.last[source]["accuracy"] for source in ("training", "inference")}
        settings = dict(
            dropout=rates,
            epochs=len(history.history["accuracy"]),
            batch_size=batch_size,
            n_train=checks.samples(probe.x),
            shuffle=True,
            probe="training" if probe.training_mode else "inference",
            seed=seed,
        )
        return cls(model, history, probe, end, settings)

    def split(self, epoch: int | None = None) -> GapSplit:
        """The gap at ``epoch`` (the last one if None), split into its parts.

        Any epoch needs a probe created with ``probe="training"``; the last
        epoch is always available.
        """
        logs = self.history.history
        epochs = len(logs["accuracy"])
        epoch = epochs if epoch is None else checks.integer("epoch", epoch, low=1, high=epochs)
        if epoch == epochs:
            training, inference = self.end["training"], self.end["inference"]
        elif self.probe is not None and self.settings["probe"] == "training":
            training, inference = (
                self._probed(source, epoch) for source in ("training", "inference")
            )
        else:
            raise ValueError(
                f"epoch {epoch} was not measured; train with probe='training', "
                f"or split the last epoch ({epochs})"
            )
        return GapSplit(
            epoch,
            float(logs["accuracy"][epoch - 1]),
            training,
            inference,
            float(logs["val_accuracy"][epoch - 1]),
        )

    def _probed(self, source: str, epoch: int) -> float:
        values = self.probe.series("accuracy", source)[
            self.probe.epochs("accuracy", source) == epoch
        ]
        return float(values[0])

    def logs(self) -> Table:
        """What ``fit()`` logged, one row per epoch, with the gap (``accuracy − val_accuracy``)."""
        logs = self.history.history
        return Table(
            [
                {"epoch": e, "accuracy": t, "val_accuracy": v, GAP_HEADER: t - v}
                for e, (t, v) in enumerate(zip(logs["accuracy"], logs["val_accuracy"]), start=1)
            ]
        )

    def splits(self) -> Table:
        """:meth:`split` for every epoch, one row each."""
        return Table(
            [self.split(e).row() for e in range(1, len(self.history.history["accuracy"]) + 1)]
        )


def train_post(
    *,
    dropout_1: float = POST_DROPOUT[0],
    dropout_2: float = POST_DROPOUT[1],
    epochs: int = 10,
    batch_size: int = POST_BATCH_SIZE,
    n_train: int = 3000,
    shuffle: bool = True,
    probe: str | None = "training",
    probe_batch_size: int = PROBE_BATCH_SIZE,
    initial: bool = False,
    seed: int | None = 0,
    data=None,
    progress: Callable | None = None,
) -> MnistRun:
    """Train the post's CNN as the post did, measuring the training data.

    The same steps as the notebook's plain-Keras reproduction
    (``keras.utils.set_random_seed(seed)``, :func:`~helpers.build_mnist_cnn`
    compiled as the post did, ``fit()`` with batch 64 and the 500 test
    digits as ``validation_data``), plus a :class:`~helpers.GapProbe`. Only
    the epoch count differs from the post (which ran 50). The final weights
    are always measured on the training data in both modes (by the probe's
    last measurement, or once after ``fit()``), so the last epoch can always
    be split (:meth:`MnistRun.split`).

    Args:
        dropout_1: Rate of the Dropout after the convolutions. Defaults to 0.25.
        dropout_2: Rate of the Dropout before the last layer. Defaults to 0.5.
        epochs: Epochs. Defaults to 10.
        batch_size: ``fit()``'s batch size. Defaults to the post's 64.
        n_train: Training digits from the shipped subset (up to 4,500).
            Defaults to 3000.
        shuffle: ``fit()``'s ``shuffle``. Defaults to True, as in the post.
        probe: ``"training"`` records accuracy on the training data after
            every epoch in both modes; ``"inference"`` only as
            ``evaluate()`` does; None attaches no probe. Defaults to
            ``"training"``.
        probe_batch_size: Batch size of the probe's measurements. Defaults
            to 500 (the model has no BatchNormalization, so only speed
            depends on it).
        initial: Also measure the initial weights (epoch 0). Defaults to
            False.
        seed: Passed to ``keras.utils.set_random_seed`` before building the
            model, so each run is repeatable on its own; None leaves the
            random state alone. Defaults to 0.
        data: ``((x_train, y_train), (x_val, y_val))`` already prepared;
            None loads :func:`load_post_data` with ``n_train``. Defaults to
            None.
        progress: Called as ``progress(epoch, epochs, logs)`` after every
            epoch. Defaults to None.

    Returns:
        A :class:`MnistRun`.

    Raises:
        ValueError: for a bad epoch count, batch size, probe, seed or dropout rate.
    """
    epochs = checks.positive_int("epochs", epochs, example=10)
    batch_size = checks.positive_int("batch_size", batch_size, example="64 (the post's)")
    probe_batch_size = checks.positive_int(
        "probe_batch_size", probe_batch_size, example=PROBE_BATCH_SIZE
    )
    probe = checks.choice("probe", probe, PROBES)
    shuffle, initial = checks.flag("shuffle", shuffle), checks.flag("initial", initial)
    dropout = (checks.rate("dropout_1", dropout_1), checks.rate("dropout_2", dropout_2))
    if seed is not None:
        keras.utils.set_random_seed(checks.seed("seed", seed))
    (x, y), (x_val, y_val) = data if data is not None else load_post_data(n_train=n_train)
    model = build_mnist_cnn(dropout)
    callbacks, gap_probe = [], None
    if probe is not None:
        gap_probe = GapProbe(
            x,
            y,
            batch_size=probe_batch_size,
            metrics=["accuracy"],
            training_mode=probe == "training",
            initial=initial,
            measure=measure_one_pass,
        )
        callbacks.append(gap_probe)
    callbacks += progress_callback(progress)  # after the probe: an epoch counts once measured
    history = model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=shuffle,
        verbose=0,
        validation_data=(x_val, y_val),
        callbacks=callbacks,
    )
    if gap_probe is None:  # measure the final weights once, in both modes
        inference, (training,) = accuracies(model, x, y, batch_size=probe_batch_size)
        end = {"training": training, "inference": inference}
    else:  # the probe's last measurement, in both modes
        end = {source: gap_probe.last[source]["accuracy"] for source in ("training", "inference")}
    settings = dict(
        dropout=dropout,
        epochs=epochs,
        batch_size=batch_size,
        n_train=len(x),
        shuffle=shuffle,
        probe=probe,
        seed=seed,
    )
    return MnistRun(model, history, gap_probe, end, settings)


def post_printout(history, train_score: float, val_score: float) -> str:
    """The post's printout: ``evaluate()`` on both sets, then first and last five.

    Reads Keras 3's ``accuracy``/``val_accuracy``, or the post's
    ``acc``/``val_acc`` if that is what the history holds.

    Args:
        history: ``fit()``'s return value (or anything with ``.history``).
        train_score: ``evaluate()`` accuracy on the training data.
        val_score: ``evaluate()`` accuracy on the test (validation) data.

    Returns:
        The text, values rounded to 4 decimals.
    """
    logs = history.history
    key = next((k for k in ("accuracy", "acc") if k in logs and f"val_{k}" in logs), None)
    if key is None:
        raise KeyError(
            f"no training/validation accuracy in the history; available keys: {sorted(logs)}"
        )
    fmt = lambda values: "[" + ", ".join(f"{v:.4f}" for v in values) + "]"
    train, val = logs[key], logs[f"val_{key}"]
    return "\n".join(
        [
            f"Validation: {val_score:.4f}",
            f"Training:   {train_score:.4f}",
            "-" * 20,
            f"First 5 samples validation: {fmt(val[:5])}",
            f"First 5 samples training:   {fmt(train[:5])}",
            "-" * 20,
            f"Last 5 samples validation:  {fmt(val[-5:])}",
            f"Last 5 samples training:    {fmt(train[-5:])}",
        ]
    )
