"""Small real data sets, shipped in ``data/``: MNIST digits and the three photographs.

Provenance and licences are in ``data/README.md``. Every load checks the file against
``data/SHA256SUMS`` and never unpickles.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from helpers import checks

SOURCES = ("shipped", "keras")
SHIPPED_TRAIN, SHIPPED_TEST = 4500, 500
POST_TRAIN, POST_TEST = 3000, 500  # the MNIST post's 1/20 of 60,000 and 10,000
BN_IMAGE_NAMES = ("camera.png", "chelsea.png", "coffee.png")
REGENERATE = "run `make data` (or `python data/make_data.py`) in the repository root"


class DataError(RuntimeError):
    """A shipped data file is missing, corrupt, or cannot be fetched."""


def data_dir() -> Path:
    """The shipped data's folder: ``$MIND_THE_GAP_DATA``, or ``data/`` beside ``helpers/``."""
    return Path(
        os.environ.get("MIND_THE_GAP_DATA", Path(__file__).resolve().parent.parent / "data")
    )


def _checked(path: Path) -> Path:
    root = data_dir()
    if not path.is_file():
        raise DataError(f"missing data file {str(path)!r}; {REGENERATE}.")
    sums_file = root / "SHA256SUMS"
    if not sums_file.is_file():
        raise DataError(f"missing checksum file {str(sums_file)!r}; {REGENERATE}.")
    sums = dict(
        reversed(line.split("  ", 1)) for line in sums_file.read_text().splitlines() if line
    )
    key = path.relative_to(root).as_posix()
    if key not in sums:
        raise DataError(f"{key!r} is not listed in {str(sums_file)!r}; {REGENERATE}.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sums[key]:
        raise DataError(
            f"data file {str(path)!r} is corrupt (sha256 {digest[:12]}…, expected "
            f"{sums[key][:12]}…); {REGENERATE}."
        )
    return path


def _check_count(name: str, value, limit: int, source: str) -> int:
    example = f"{limit} for source={source!r}" + (
        " (pass source='keras' for the full MNIST)" if source == "shipped" else ""
    )
    return checks.integer(name, value, low=1, high=limit, example=example)


def load_mnist(source: str = "shipped", *, n_train: int = POST_TRAIN, n_test: int = POST_TEST):
    """Load MNIST digits as ``uint8`` arrays, like ``keras.datasets.mnist``.

    By default the post's scale, the first 1/20 of each split, from the subset shipped in
    ``data/``; ``source="keras"`` keeps the first ``n_train`` and ``n_test`` digits of
    ``keras.datasets.mnist.load_data()`` (11 MB, downloaded once).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: images ``(n, 28, 28)``, labels ``(n,)``.

    Raises:
        DataError: if the shipped file is missing or corrupt, or the download fails.
    """
    checks.choice("source", source, SOURCES)
    limits = (SHIPPED_TRAIN, SHIPPED_TEST) if source == "shipped" else (60000, 10000)
    n_train = _check_count("n_train", n_train, limits[0], source)
    n_test = _check_count("n_test", n_test, limits[1], source)
    if source == "shipped":
        with np.load(_checked(data_dir() / "mnist_subset.npz"), allow_pickle=False) as arrays:
            return (
                (arrays["x_train"][:n_train], arrays["y_train"][:n_train]),
                (arrays["x_test"][:n_test], arrays["y_test"][:n_test]),
            )
    from helpers.reproducibility import import_keras_quietly

    keras = import_keras_quietly()
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as err:  # urllib raises several types; all mean "no data"
        raise DataError(
            "could not download MNIST with keras.datasets.mnist.load_data() and no "
            f"cached copy exists in ~/.keras/datasets ({type(err).__name__}: {err}); "
            "connect to the internet once, or use source='shipped'."
        ) from err
    return (x_train[:n_train], y_train[:n_train]), (x_test[:n_test], y_test[:n_test])


def load_bn_images(size: int = 197):
    """Load the BatchNorm scenario's three grayscale training images, as the post did.

    Each is resized to ``size × size`` with Pillow's LANCZOS filter (the post's
    ``Image.ANTIALIAS``), pixels kept in 0..255; image ``i`` has the one-hot label ``i``.

    Returns:
        ``(x, y, names)``: ``x`` ``uint8 (3, size, size, 1)``, ``y`` ``float32 (3, 3)``, and
        the file names.
    """
    from PIL import Image

    size = checks.integer(
        "size", size, low=32, high=1024, example="the post's 197 (32 is ResNet50's minimum input)"
    )
    images = []
    for name in BN_IMAGE_NAMES:
        path = _checked(data_dir() / "bn_images" / name)
        with Image.open(path) as img:
            images.append(np.array(img.convert("L").resize((size, size), Image.Resampling.LANCZOS)))
    x = np.stack(images).reshape(-1, size, size, 1)
    y = np.eye(len(images), dtype="float32")
    return x, y, BN_IMAGE_NAMES
