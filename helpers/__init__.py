"""Mind the Gap: the code the notebooks share.

Importing ``helpers`` only defines names; TensorFlow loads the first time a name needs it, so
``setup_notebook(seed=0)`` in a notebook's first cell can quieten it and seed it first.
"""

from importlib import import_module

# The sign convention, loaded now (it is three names, no TensorFlow): a lazy
# `gap` would be shadowed by the submodule `helpers.gap` the first time any
# module imported from it, and `from helpers import gap` would then give the
# module instead of the function.
from helpers.gap import DEFINITION as DEFINITION
from helpers.gap import HEADER as HEADER
from helpers.gap import gap as gap

# Public name -> module that defines it. Modules load on first access
# (PEP 562), so `import helpers` never imports TensorFlow by itself.
# No public name may equal a submodule's name (tests/test_import_surface.py).
_EXPORTS = {
    "setup_notebook": "reproducibility",
    "scratch_dir": "reproducibility",
    "load_mnist": "data",
    "load_bn_images": "data",
    "DataError": "data",
    "Table": "table",
    "GapProbe": "gap_probe",
    "StepRecorder": "step_recorder",
    "StopAtThreshold": "stop_at_threshold",
    "evaluate_in_mode": "modes",
    "preserved_state": "modes",
    "families_present": "modes",
    "fit_orders": "fit_order",
    "fingerprint": "modes",
    "plot_probe": "plots",
    "plot_batches": "plots",
    "build_checkpoint_mlp": "models",
    "build_mnist_cnn": "models",
    "build_threshold_model": "models",
    "build_resnet50": "models",
    "decompose_gap": "decompose",
    "GapDecomposition": "decompose",
    "plot_waterfall": "plots",
    "recalibrate_batchnorm": "batchnorm",
    "compare_statistics": "batchnorm",
    "batch_statistics": "batchnorm",
    "batchnorm_layers": "batchnorm",
    "travelled": "batchnorm",
    "updates_needed": "batchnorm",
    "peak_memory_mb": "memory",
    "release_memory": "memory",
    "large_buffers_mapped": "memory",
    "check_exercise": "selfcheck",
    "diagnose": "doctor",
    "Diagnosis": "doctor",
    "Explorer": "widgets",
    "ExploreResult": "widgets",
}

__all__ = sorted([*_EXPORTS, "DEFINITION", "HEADER", "gap"])


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value  # cache: later lookups skip __getattr__
        return value
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
