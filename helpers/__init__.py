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

# Module -> the public names it defines. Modules load on first access (PEP 562), so
# `import helpers` never imports TensorFlow by itself. No public name may equal a
# submodule's name (tests/test_import_surface.py).
_MODULES = {
    "reproducibility": ["setup_notebook", "scratch_dir"],
    "data": ["load_mnist", "load_bn_images", "DataError"],
    "table": ["Table"],
    "gap_probe": ["GapProbe"],
    "step_recorder": ["StepRecorder"],
    "stop_at_threshold": ["StopAtThreshold"],
    "fit_order": ["fit_orders"],
    "modes": ["evaluate_in_mode", "preserved_state", "families_present", "fingerprint"],
    "decompose": ["decompose_gap", "GapDecomposition"],
    "batchnorm": [
        "recalibrate_batchnorm",
        "compare_statistics",
        "batch_statistics",
        "batchnorm_layers",
        "travelled",
        "updates_needed",
    ],
    "plots": ["plot_probe", "plot_batches", "plot_waterfall"],
    "models": [
        "build_checkpoint_mlp",
        "build_mnist_cnn",
        "build_threshold_model",
        "build_resnet50",
    ],
    "memory": ["peak_memory_mb", "release_memory", "large_buffers_mapped"],
    "selfcheck": ["check_exercise"],
    "doctor": ["diagnose", "Diagnosis"],
    "widgets": ["Explorer", "ExploreResult"],
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted([*_EXPORTS, "DEFINITION", "HEADER", "gap"])


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value  # cache: later lookups skip __getattr__
        return value
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
