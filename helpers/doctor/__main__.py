"""The doctor from a terminal: ``python -m helpers.doctor model.keras data.npz``.

Prints the same report as ``diagnose()`` for a model saved with
``model.save("model.keras")`` (compiled, so that its loss and metrics are
saved with it) and training data saved with ``np.savez("data.npz", x=x_train,
y=y_train)``. Options: ``--history history.json`` (``json.dump(history.history,
f)``), ``--validation val.npz`` (arrays ``x`` and ``y``), ``--batch-size``.
Exit status 0 with a report, 2 with a one-line error saying what to fix.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.doctor",
        description="Name every cause of the gap between fit()'s numbers and evaluate()'s.",
    )
    parser.add_argument("model", help="a model saved with model.save('model.keras'), compiled")
    parser.add_argument("data", help="training data: np.savez('data.npz', x=x_train, y=y_train)")
    parser.add_argument("--history", help="json.dump(history.history, f) of the model's fit()")
    parser.add_argument("--validation", help="validation data: an .npz file with x and y")
    parser.add_argument("--batch-size", type=int, default=32, help="fit()'s batch size (32)")
    return parser


def _existing(path: str, what: str) -> Path:
    found = Path(path)
    if not found.is_file():
        raise ValueError(f"{what} {path!r} does not exist; check the path")
    return found


def _arrays(path: str, what: str):
    import numpy as np

    with np.load(_existing(path, what), allow_pickle=False) as archive:
        keys = set(archive.files)
        for x_key, y_key in (("x", "y"), ("x_train", "y_train"), ("x_val", "y_val")):
            if {x_key, y_key} <= keys:
                weights = archive["sample_weight"] if "sample_weight" in keys else None
                return archive[x_key], archive[y_key], weights
    raise ValueError(
        f"{what} {path!r} holds arrays {sorted(keys)}; expected 'x' and 'y', e.g. "
        "np.savez('data.npz', x=x_train, y=y_train)"
    )


def run(argv=None) -> str:
    """Parse ``argv``, load everything, diagnose; the report as text (errors raise ValueError)."""
    args = _parser().parse_args(argv)
    model_path = _existing(args.model, "model file")
    x, y, weights = _arrays(args.data, "data file")
    history = None
    if args.history:
        try:
            history = json.loads(_existing(args.history, "history file").read_text())
        except json.JSONDecodeError as error:
            raise ValueError(
                f"history file {args.history!r} is not JSON ({error}); write it with "
                "json.dump(history.history, open('history.json', 'w'))"
            ) from None
    validation = None
    if args.validation:
        x_val, y_val, w_val = _arrays(args.validation, "validation file")
        validation = (x_val, y_val) if w_val is None else (x_val, y_val, w_val)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from helpers.doctor import diagnose

    try:
        model = keras.saving.load_model(model_path)
    except Exception as error:  # Keras raises many types for a bad file
        raise ValueError(
            f"model file {args.model!r} could not be loaded ({type(error).__name__}: {error}); "
            "save it with model.save('model.keras')"
        ) from None
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        raise ValueError(
            f"model {model.name!r} in {args.model!r} was saved without compile(); compile it "
            "(model.compile(loss=..., metrics=[...])) before model.save(), so that its loss and "
            "metrics are saved with it"
        )
    diagnosis = diagnose(
        model,
        x,
        y,
        history=history,
        batch_size=args.batch_size,
        sample_weight=weights,
        validation_data=validation,
    )
    return str(diagnosis)


def main(argv=None) -> int:
    """The command: print the report (status 0) or the error (status 2)."""
    try:
        print(run(argv))
    except ValueError as error:
        print(f"python -m helpers.doctor: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
