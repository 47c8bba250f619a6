"""Set-up call, lazy import, scratch folder, and the Explorer wrapper."""

import subprocess
import sys
from pathlib import Path

import pytest

import helpers
from helpers import scratch_dir, setup_notebook

REPO = Path(__file__).resolve().parent.parent


def test_import_has_no_side_effects():
    code = (
        "import sys, helpers, matplotlib as mpl; "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules, mpl.rcParams['axes.grid'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.split() == ["False", "False", "False"]
    assert out.stderr == ""


def test_setup_is_quiet_and_sets_the_style():
    code = (
        "from helpers import setup_notebook; import matplotlib as mpl; "
        "print(setup_notebook(seed=7), mpl.rcParams['axes.grid'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.split() == ["7", "True"]
    assert out.stderr == "", "TensorFlow start-up chatter leaked into stderr"


def test_same_seed_same_training(tiny_model, tiny_data):
    x, y = tiny_data
    losses = []
    for _ in range(2):
        setup_notebook(seed=11, plots=False)
        model = tiny_model(dropout=0.3)
        losses.append(model.fit(x, y, epochs=3, batch_size=8, verbose=0).history["loss"])
    assert losses[0] == losses[1]


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, None])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match=r"invalid `seed`.*setup_notebook\(seed=0\)"):
        setup_notebook(seed=seed)


def test_scratch_dir_is_outside_the_repository():
    path = scratch_dir()
    assert path.is_dir() and REPO not in path.parents
    assert scratch_dir() == path


def test_unknown_export():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = helpers.nope


def test_every_export_resolves():
    for name in helpers.__all__:
        assert getattr(helpers, name) is not None


def test_explorer_reports_errors_and_stays_usable():
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from helpers.widgets import Explorer

    calls = []

    def draw(slope, progress=None):
        if slope < 0:
            raise ValueError(f"invalid `slope`: {slope!r}; expected a number ≥ 0")
        for epoch in (1, 2):
            progress(epoch, 2, {"loss": 1.0 / epoch})
        calls.append(slope)
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, slope])
        return fig

    ex = Explorer(draw, {"slope": widgets.FloatSlider(value=1.0, min=-1, max=2)}, title="Lines")
    assert ex.run() and ex.progress.value == 2 and "Done" in ex.status.value
    ex.controls["slope"].value = -0.5
    assert not ex.run()
    assert "invalid `slope`: -0.5" in ex.status.value and not ex.button.disabled
    ex.controls["slope"].value = 2.0
    assert ex.run() and calls == [1.0, 2.0]
    assert len(ex.output.outputs) == 1  # the figure is replaced, not appended
