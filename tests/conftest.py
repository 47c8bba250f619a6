"""Shared fixtures: tiny models and data that train in well under a second."""

import subprocess

import numpy as np
import pytest

from helpers import setup_notebook


@pytest.fixture(scope="session", autouse=True)
def _quiet_tensorflow():
    setup_notebook(seed=0, plots=False)


@pytest.fixture
def keras():
    import keras as k

    k.utils.set_random_seed(0)
    return k


@pytest.fixture
def tiny_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype("float32")
    y = (x[:, :1] + x[:, 1:2] > 0).astype("float32")
    return x, y


def make_tiny(keras, *, dropout=0.0, batchnorm=False, noise=0.0, compile=True):
    """A small binary classifier with the requested training-mode layers."""
    layers = [keras.Input((5,)), keras.layers.Dense(8, activation="relu")]
    if batchnorm:
        layers.append(keras.layers.BatchNormalization(momentum=0.9))
    if noise:
        layers.append(keras.layers.GaussianNoise(noise))
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(1, activation="sigmoid"))
    model = keras.Sequential(layers)
    if compile:
        model.compile(
            optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy", metrics=["accuracy"]
        )
    return model


@pytest.fixture
def tiny_model(keras):
    return lambda **kw: make_tiny(keras, **kw)


_TRAINED: dict = {}


@pytest.fixture
def trained_tiny(tiny_data):
    """``trained_tiny(**make_tiny kwargs)``: a tiny model fitted 2 epochs (batch 8), made once per session.

    Shared between tests to save building, tracing and training the same model
    again: use it only for measurements that leave the model as it was
    (``evaluate()``, ``evaluate_in_mode``); a test that trains needs ``tiny_model``.
    """
    import keras as k

    def get(**kw):
        key = tuple(sorted(kw.items()))
        if key not in _TRAINED:
            k.utils.set_random_seed(0)
            model = make_tiny(k, **kw)
            model.fit(*tiny_data, epochs=2, batch_size=8, verbose=0)
            _TRAINED[key] = model
        return _TRAINED[key]

    return get


def snapshot(model):
    return [np.array(v.numpy(), copy=True) for v in model.variables]


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def run_checked(args, *, env, cwd, timeout, what):
    """Run a command of a test's own environment; on failure, fail the test with its last 30 lines."""
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode:
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-30:])
        pytest.fail(f"{what} failed (exit {out.returncode}):\n{tail}")
    return out
