"""Explorers: a thin ipywidgets wrapper over a plain function that trains and draws. Each
scenario's ``explorer.py`` has the plain ``explore()``, which tests call, and the widget over it."""

from __future__ import annotations

import html
import inspect
import io
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import Image, display

from helpers import checks
from helpers.reproducibility import import_tensorflow_quietly


@dataclass
class ExploreResult:
    """What every explorer's plain function returns.

    Attributes:
        figure: The figure the explorer shows.
        summary: One sentence with the run's key numbers, shown under the figure.
        run: The run behind the figure, for readers who want to look further.
        values: The key numbers of ``summary`` by name, for tests and exercises.
    """

    figure: Any
    summary: str
    run: Any = None
    values: dict = field(default_factory=dict)


def explorer_start(explore: Callable, defaults: Mapping, rules: Mapping | None = None) -> dict:
    """Where an explorer's controls start: ``explore()``'s defaults updated by ``defaults``.

    Args:
        explore: The plain function; its keyword defaults are the knobs.
        defaults: The reader's starting values.
        rules: ``{knob: rule(name, value)}`` from :mod:`helpers.checks`, applied to the
            starting values that have one. Defaults to None.

    Raises:
        ValueError: For a setting ``explore()`` does not take, or one its rule refuses.
    """
    rules = rules or {}
    knobs = {
        name: p.default
        for name, p in inspect.signature(explore).parameters.items()
        if name != "progress" and p.default is not inspect.Parameter.empty
    }
    checks.each(defaults, dict.fromkeys(knobs, lambda _, value: value))  # no unknown knob
    start = {**knobs, **defaults}
    return {**start, **checks.each({k: v for k, v in start.items() if k in rules}, rules)}


def progress_callback(progress: Callable | None) -> list:
    """``[a Keras callback calling progress(epoch, epochs, logs) per epoch]``, or ``[]``."""
    if progress is None:
        return []
    keras = import_tensorflow_quietly()[1]

    class _Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            progress(epoch + 1, self.params.get("epochs"), logs or {})

    return [_Progress()]


class Explorer:
    """Controls, a Run button, a progress bar, a status line and a figure replaced in place.

    Args:
        function: The plain function. It gets the controls' values as keyword arguments
            plus ``progress=progress(epoch, epochs, logs)`` and returns an
            :class:`ExploreResult` (or a figure).
        controls: Keyword name -> ipywidgets control.
        title: A heading shown above the controls. Defaults to none.
        run_now: Run once with the starting values when built. Defaults to False.

    Example:
        >>> def square(n, progress=None):
        ...     if n < 1:
        ...         raise ValueError(f"invalid `n`: {n!r}; expected an int >= 1")
        ...     return ExploreResult(figure=None, summary=f"{n} squared is {n * n}")
        >>> ex = Explorer(square, {"n": widgets.IntSlider(value=3, min=0, max=9)})
        >>> ex.run(), ex.status.value
        (True, 'Done in 0.0 s. 3 squared is 9')
        >>> ex.controls["n"].value = 0
        >>> ex.run(), "invalid `n`: 0" in ex.status.value
        (False, True)
    """

    def __init__(
        self,
        function: Callable,
        controls: Mapping[str, widgets.Widget],
        *,
        title: str = "",
        run_now: bool = False,
    ):
        self.function = function
        self.controls = dict(controls)
        self.button = widgets.Button(
            description="Run",
            button_style="primary",
            icon="play",
            tooltip="Train with these settings",
        )
        self.progress = widgets.IntProgress(
            value=0, min=0, max=1, description="epoch", layout=widgets.Layout(width="60%")
        )
        self.status = widgets.HTML(value="Choose settings, then press <b>Run</b>.")
        self.output = widgets.Output()
        self.last_result = None
        self.button.on_click(lambda _: self.run())
        header = [widgets.HTML(f"<h4>{html.escape(title)}</h4>")] if title else []
        row = widgets.HBox(
            list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap")
        )
        self.widget = widgets.VBox(
            [*header, row, widgets.HBox([self.button, self.progress]), self.status, self.output]
        )
        if run_now:
            self.run()

    def values(self) -> dict:
        """The controls' current values, keyed as the plain function expects."""
        return {name: control.value for name, control in self.controls.items()}

    def _progress(self, epoch, epochs, logs):
        self.progress.max = max(int(epochs or 1), 1)
        self.progress.value = int(epoch)
        shown = ", ".join(f"{k} {v:.4f}" for k, v in logs.items() if isinstance(v, (int, float)))
        self.status.value = html.escape(f"epoch {epoch}/{epochs}: {shown}")

    def run(self) -> bool:
        """Run the plain function with the current values and show its figure; False if it
        raised, the error shown in the status line and the previous figure kept."""
        self.button.disabled = True
        self.progress.value = 0
        self.status.value = "Running…"
        start = time.perf_counter()
        try:
            result = self.function(**self.values(), progress=self._progress)
        except Exception as err:  # shown to the reader instead of a traceback
            self.status.value = (
                f'<span style="color:#b00020"><b>{type(err).__name__}:</b> '
                f"{html.escape(str(err))}</span>"
            )
            return False
        finally:
            self.button.disabled = False
        self.last_result = result
        figure = getattr(result, "figure", result)
        if figure is not None:
            # A PNG, not the figure object: the same output in a kernel, a test and the
            # saved notebook, shown once in the output area.
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", bbox_inches="tight")
            plt.close(figure)
            self.output.outputs = ()
            self.output.append_display_data(Image(data=buffer.getvalue(), format="png"))
        seconds = time.perf_counter() - start
        summary = getattr(result, "summary", "")
        self.status.value = html.escape(f"Done in {seconds:.1f} s. {summary}".strip())
        return True

    def _ipython_display_(self):
        display(self.widget)


def build_explorer(
    explore: Callable,
    controls: Mapping[str, widgets.Widget],
    defaults: Mapping,
    rules: Mapping | None = None,
    *,
    title: str = "",
    run_now: bool = False,
) -> Explorer:
    """The :class:`Explorer` over ``explore``, its ``controls`` set to :func:`explorer_start`.

    The steps every scenario's ``explorer()`` takes, written once. A control without a
    description is labelled with its knob's name (``dropout_1``: "dropout 1").

    Example:
        >>> def explore(n_steps=3, progress=None): ...
        >>> ex = build_explorer(explore, {"n_steps": widgets.IntSlider(max=9)}, {"n_steps": 5})
        >>> ex.values(), ex.controls["n_steps"].description
        ({'n_steps': 5}, 'n steps')
        >>> build_explorer(explore, {"n_steps": widgets.IntSlider()}, {"steps": 5})
        Traceback (most recent call last):
        ...
        ValueError: invalid setting 'steps'; expected some of ['n_steps']
    """
    start = explorer_start(explore, defaults, rules)
    for name, control in controls.items():
        control.value = start[name]
        control.description = control.description or name.replace("_", " ")
    return Explorer(explore, controls, title=title, run_now=run_now)
