"""The entry notebook's exercises (helpers/scenarios/start/answers.py).

For every exercise: the notebook's reference solution, run on small stand-ins
for the notebook's objects, is right; the student stub ``...`` is wrong; a
wrong answer is wrong; and a check handed the wrong objects says "not yet"
instead of crashing. The notebook's own cells are checked for the exercise
structure and for check cells that hold no value.
"""

import ast
import math
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from helpers.gap import gap
from helpers.gap_probe import GapProbe
from helpers.modes import evaluate_in_mode
from helpers.selfcheck import check_exercise
from helpers.weight_recorder import WeightRecorder

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "00_start_here.ipynb"


def verdict(number, answer, **context):
    return check_exercise("start", number, answer, show=False, **context)


@pytest.fixture(scope="module")
def digits():
    """384 samples of 8 features in 10 classes: 12 batches of 32."""
    rng = np.random.default_rng(0)
    y = np.arange(384) % 10
    x = (rng.normal(size=(384, 8)) + 0.5 * np.eye(10, 8)[y]).astype("float32")
    return x, y


def mlp(keras, *, dropout=0.3):
    """The notebook's tiny_mlp in miniature (``dropout=0``: its `plain`), compiled as there."""
    keras.utils.set_random_seed(0)
    layers = [
        keras.Input((8,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.BatchNormalization(),
    ]
    layers += [keras.layers.Dropout(dropout)] if dropout else []
    model = keras.Sequential(layers + [keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_exercise_1_accuracy_gap_from_the_probe():
    probe = GapProbe(np.zeros((4, 2)), np.zeros(4))
    for epoch in range(5):
        probe.record(epoch, "inference", "accuracy", 0.5 + 0.1 * epoch)
        probe.record(epoch, "inference", "loss", 2.0 - 0.1 * epoch)
        if epoch:
            probe.record(epoch, "fit", "accuracy", 0.45 + 0.1 * epoch)
    row = probe.wide("accuracy")[3]  # the notebook's solution
    answer = gap(row["fit"], row["inference"])
    assert math.isclose(answer, -0.05)
    assert verdict(1, answer, probe=probe)
    assert not verdict(1, ..., probe=probe)
    assert not verdict(1, -answer, probe=probe)  # the sign the other way round
    assert not verdict(1, answer, probe=...)  # stubbed context: "not yet", no crash


def test_exercise_2_replayed_batch_accuracy_matches_keras_logs(keras, digits):
    x, y = digits
    model, recorder = mlp(keras, dropout=0), WeightRecorder(epochs=[2])
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0, callbacks=[recorder])
    replay = keras.models.clone_model(model)
    replay.set_weights(recorder.weights[(2, 10)])  # the notebook's solution
    batch = slice(32 * 10, 32 * 11)
    predicted = np.argmax(replay(x[batch], training=True), axis=-1)
    answer = float(np.mean(predicted == y[batch]))
    assert verdict(2, answer, recorder=recorder)
    assert not verdict(2, ..., recorder=recorder)
    assert not verdict(2, answer + 1 / 32, recorder=recorder)  # one digit more
    assert not verdict(2, answer, recorder=WeightRecorder(epochs=[1]))  # nothing recorded


def test_exercise_3_batchnorm_part_with_one_batch_of_everything(keras, digits):
    x, y = digits
    model = mlp(keras)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    bn_alone = evaluate_in_mode(model, x, y, mode={"batchnorm"}, batch_size=1000)[
        "loss"
    ]  # the solution
    answer = bn_alone - evaluate_in_mode(model, x, y)["loss"]
    at_32 = (
        evaluate_in_mode(model, x, y, mode={"batchnorm"})["loss"]
        - evaluate_in_mode(model, x, y)["loss"]
    )
    assert abs(at_32 - answer) > 1e-3
    assert verdict(3, answer, model=model, x=x, y=y)
    assert not verdict(3, ..., model=model, x=x, y=y)
    assert not verdict(3, at_32, model=model, x=x, y=y)  # section 3's batch size
    assert not verdict(3, answer, model=..., x=x, y=y)


def test_exercise_4_gap_of_a_run_with_the_asked_settings(keras, digits):
    x, y = digits[0][:64], digits[1][:64]
    model = mlp(keras)
    keras.utils.set_random_seed(1)  # the notebook's solution
    model_1 = keras.models.clone_model(model)
    model_1.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history_1 = model_1.fit(x, y, batch_size=32, epochs=5, verbose=0)
    answer = gap(history_1.history["loss"][-1], model_1.evaluate(x, y, verbose=0)[0])
    assert abs(answer) > 1e-3
    context = {"model": model_1, "history": history_1, "x": x, "y": y}
    assert verdict(4, answer, **context)
    assert not verdict(4, ..., **context)
    assert not verdict(4, -answer, **context)  # the sign the other way round
    assert not verdict(
        4, answer, **{**context, "model": model}
    )  # not the model that History trained
    assert not verdict(4, answer, **{**context, "model": ..., "history": ...})
    shorter = model_1.fit(x, y, batch_size=32, epochs=4, verbose=0)  # other settings than asked
    own_gap = gap(shorter.history["loss"][-1], model_1.evaluate(x, y, verbose=0)[0])
    assert not verdict(4, own_gap, **{**context, "history": shorter})


def test_the_notebook_has_its_exercises_with_value_free_check_cells():
    sys.path.insert(0, str(REPO / "tools"))
    from make_assignments import find_exercises

    nb = nbformat.read(NOTEBOOK, as_version=4)
    found = find_exercises(nb)
    assert [(e.scenario, e.number) for e in found] == [("start", k) for k in range(1, 5)]
    for exercise in found:
        call = ast.parse(nb.cells[exercise.check].source).body[0].value
        passed = [call.args[2]] + [keyword.value for keyword in call.keywords]
        assert all(
            isinstance(node, ast.Name) for node in passed
        )  # names only: no value, no computation
        assert "*Hint:*" in nb.cells[exercise.text].source
