"""Scenario 02's data, training and result: :func:`train_post` repeats the notebook's plain Keras
(the same history) for the explorer and the tests; :class:`MnistRun` splits each epoch's gap."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from helpers import checks
from helpers.data import load_mnist
from helpers.gap_probe import GapProbe
from helpers.models import build_mnist_cnn
from helpers.reproducibility import import_tensorflow_quietly
from helpers.table import Table
from helpers.widgets import progress_callback

keras = import_tensorflow_quietly()[1]

POST_DROPOUT, POST_EPOCHS = (0.25, 0.5), 50
GAP_HEADER = "gap (fit − val)"  # accuracy − val_accuracy: logged first, as helpers.gap orders it
PROBE_BATCH_SIZE = 500  # no BatchNormalization: the probe's batch size changes only its speed


def load_post_data(n_train: int = 3000):
    """``(x_train, y_train), (x_val, y_val)`` as the post prepared them: 1/20 of MNIST
    (:func:`helpers.load_mnist`, 500 test digits), shaped ``(n, 28, 28, 1)``, in [0, 1], one-hot."""

    def prepare(x, y):
        return x.reshape(-1, 28, 28, 1).astype("float32") / 255, keras.utils.to_categorical(y, 10)

    train, test = load_mnist(n_train=n_train, n_test=500)
    return prepare(*train), prepare(*test)


@dataclasses.dataclass(frozen=True)
class MnistRun:
    """One training of the post's CNN: the model, ``fit()``'s history, its probe, its settings.

    With the probe's measurements of the training digits in both modes, each epoch's gap splits
    into three parts that add up to it by construction::

        accuracy − val_accuracy = generalisation  (inference − validation)
                                + dropout         (training − inference)
                                + drift           (fit − training)
    """

    model: object
    history: object
    probe: GapProbe | None
    settings: dict

    def split(self, epoch: int | None = None) -> dict:
        """The gap at ``epoch`` (the last if None) and its parts, as one table row."""
        if self.probe is None:
            raise ValueError("the run has no probe to split; train it with probe=True")
        epochs = len(self.history.history["accuracy"])
        epoch = epochs if epoch is None else checks.integer("epoch", epoch, low=1, high=epochs)
        sources = ("fit", "training", "inference", "validation")
        f, t, i, v = (float(self.probe.series("accuracy", s)[epoch - 1]) for s in sources)
        parts = {GAP_HEADER: f - v, "generalisation": i - v, "dropout": t - i, "drift": f - t}
        return {"epoch": epoch, "fit": f, "training": t, "inference": i, "validation": v, **parts}

    def splits(self) -> Table:
        """:meth:`split` for every epoch, one row each."""
        return Table(self.split(e) for e in range(1, len(self.history.history["accuracy"]) + 1))


def train_post(
    *,
    dropout_1: float = POST_DROPOUT[0],
    dropout_2: float = POST_DROPOUT[1],
    epochs: int = 10,
    probe: bool = True,
    seed: int = 0,
    data=None,
    progress: Callable | None = None,
) -> MnistRun:
    """Section 1 of the notebook in one call: seed, :func:`~helpers.build_mnist_cnn`, ``fit()``
    with batches of 64 on ``data`` (default :func:`load_post_data`), the test digits as
    ``validation_data`` and, if ``probe``, a :class:`~helpers.GapProbe` measuring the training
    digits in both modes after every epoch."""
    epochs = checks.positive_int("epochs", epochs, example=10)
    probe = checks.flag("probe", probe)
    dropout = (checks.rate("dropout_1", dropout_1), checks.rate("dropout_2", dropout_2))
    keras.utils.set_random_seed(checks.seed("seed", seed))
    (x, y), validation = data if data is not None else load_post_data()
    model = build_mnist_cnn(dropout)
    measuring = dict(batch_size=PROBE_BATCH_SIZE, metrics=["accuracy"], training_mode=True)
    kit_probe = GapProbe(x, y, **measuring, initial=False) if probe else None
    callbacks = [kit_probe] if probe else []
    callbacks += progress_callback(progress)  # after the probe: an epoch counts once measured
    history = model.fit(
        x,
        y,
        batch_size=64,
        epochs=epochs,
        verbose=0,
        validation_data=validation,
        callbacks=callbacks,
    )
    return MnistRun(model, history, kit_probe, dict(dropout=dropout, epochs=epochs))
