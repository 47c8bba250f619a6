"""The shipped data: shapes, provenance checks, and clear errors."""

import shutil
import subprocess
import sys
import urllib.error

import numpy as np
import pytest

from helpers import data as data_mod
from helpers.data import DataError, load_bn_images, load_mnist


def test_mnist_shipped_default_is_the_posts_scale():
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (3000, 28, 28) and y_train.shape == (3000,)
    assert x_test.shape == (500, 28, 28) and y_test.shape == (500,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8
    assert x_train.max() > 200  # real pixel values, not rescaled


def test_mnist_subset_is_stratified_at_every_size():
    (_, y_train), (_, y_test) = load_mnist(n_train=4500)
    assert np.bincount(y_test).tolist() == [50] * 10
    for n in (100, 3000, 4500):
        counts = np.bincount(y_train[:n], minlength=10)
        assert counts.max() - counts.min() <= 2


def test_mnist_train_and_test_are_disjoint():
    (x_train, _), (x_test, _) = load_mnist(n_train=4500)
    train = {row.tobytes() for row in x_train}
    assert not any(row.tobytes() in train for row in x_test)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (
            {"source": "internet"},
            "invalid `source`: 'internet'; expected one of ('shipped', 'keras')",
        ),
        ({"n_train": 0}, "invalid `n_train`: 0"),
        ({"n_train": 5000}, "source='keras'"),
        ({"n_test": 2.5}, "invalid `n_test`: 2.5"),
        ({"n_train": True}, "invalid `n_train`: True"),
    ],
)
def test_mnist_bad_arguments_name_the_value_and_the_fix(kwargs, fragment):
    with pytest.raises(ValueError, match=None) as err:
        load_mnist(**kwargs)
    assert fragment in str(err.value)


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of data/ that tests may damage."""
    copy = tmp_path / "data"
    shutil.copytree(data_mod.data_dir(), copy, ignore=shutil.ignore_patterns("*.py"))
    monkeypatch.setenv("MIND_THE_GAP_DATA", str(copy))
    return copy


def test_missing_file_names_the_regeneration_command(data_copy):
    (data_copy / "mnist_subset.npz").unlink()
    with pytest.raises(DataError, match="make data"):
        load_mnist()


def test_corrupt_file_is_detected_by_checksum(data_copy):
    path = data_copy / "mnist_subset.npz"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="corrupt.*make data"):
        load_mnist()


def test_corrupt_image_is_detected(data_copy):
    (data_copy / "bn_images" / "camera.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="camera.png.*corrupt"):
        load_bn_images()


def test_arrays_are_loaded_without_pickle(data_copy):
    # An object array needs pickle; the loader must refuse it rather than run it.
    path = data_copy / "mnist_subset.npz"
    np.savez(
        path,
        x_train=np.array([object()], dtype=object),
        y_train=np.zeros(1),
        x_test=np.zeros(1),
        y_test=np.zeros(1),
    )
    import hashlib

    sums = (data_copy / "SHA256SUMS").read_text().splitlines()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (data_copy / "SHA256SUMS").write_text(
        "\n".join(
            f"{digest}  mnist_subset.npz" if line.endswith("mnist_subset.npz") else line
            for line in sums
        )
        + "\n"
    )
    with pytest.raises(ValueError, match="allow_pickle"):
        load_mnist()


def test_keras_source_matches_shipped_shapes_and_dtypes(monkeypatch):
    import keras

    rng = np.random.default_rng(0)
    fake = (
        (
            rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, 60000, dtype=np.uint8),
        ),
        (
            rng.integers(0, 256, (10000, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, 10000, dtype=np.uint8),
        ),
    )
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: fake)
    (xk, yk), (xkt, ykt) = load_mnist("keras")
    (xs, ys), (xst, yst) = load_mnist("shipped")
    for a, b in ((xk, xs), (yk, ys), (xkt, xst), (ykt, yst)):
        assert a.shape == b.shape and a.dtype == b.dtype
    assert np.array_equal(xk, fake[0][0][:3000])  # the post's "first 1/20"


def test_keras_source_without_network_gives_a_clear_error(monkeypatch):
    import keras

    def offline():
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError, match="source='shipped'"):
        load_mnist("keras")


def test_bn_images_load_like_the_post():
    x, y, names = load_bn_images()
    assert x.shape == (3, 197, 197, 1) and x.dtype == np.uint8
    assert np.array_equal(y, np.eye(3))
    assert names == ("camera.png", "chelsea.png", "coffee.png")
    # three different real photographs, full 0..255 range
    assert x.max() > 200 and x.min() < 40
    assert len({img.tobytes() for img in x}) == 3


@pytest.mark.parametrize("size", [16, 0, "197", 197.0, True])
def test_bn_images_bad_size(size):
    with pytest.raises(ValueError, match="invalid `size`"):
        load_bn_images(size)


def test_regeneration_script_documents_itself():
    out = subprocess.run(
        [sys.executable, str(data_mod.data_dir() / "make_data.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Regenerate the small real data sets" in out.stdout
