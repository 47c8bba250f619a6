"""A digest of a model's variables, to see which ones an operation changed.

Introduced in ``notebooks/04_resnet_batchnorm.ipynb``, where it shows that
PreciseBN changes the BatchNorm statistics and nothing else.
"""

from __future__ import annotations

import hashlib

import numpy as np


def fingerprint(model) -> dict[str, str]:
    """A digest of every variable of ``model`` and its optimizer: path -> hash of the bytes.

    Compare two fingerprints to see which variables an operation changed,
    bit for bit, without keeping a copy of every weight in memory.
    """
    variables = list(model.variables)
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    return {
        v.path: hashlib.blake2b(
            np.ascontiguousarray(v.numpy()).tobytes(), digest_size=16
        ).hexdigest()
        for v in variables
    }
