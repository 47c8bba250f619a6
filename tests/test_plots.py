"""plot_probe's title counts the curves it actually draws."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers.plots import plot_probe  # noqa: E402


class _Probe:
    """Stand-in for a GapProbe: two epochs of made-up values for the given sources."""

    def __init__(self, sources):
        self.sources = sources

    def series(self, metric, source):
        return [0.5, 0.4] if source in self.sources else []

    def epochs(self, metric, source):
        return [1, 2]


@pytest.mark.parametrize(
    "sources, ways",
    [
        (("fit", "inference"), "two ways"),
        (("fit", "training", "inference"), "three ways"),
        (("fit", "training", "inference", "validation"), "four ways"),
    ],
)
def test_title_counts_the_curves(sources, ways):
    fig, ax = plt.subplots()
    try:
        assert plot_probe(_Probe(sources), "loss", ax=ax) is ax
        assert len(ax.get_lines()) == len(sources)
        assert ax.get_title() == f"loss on the training data, measured {ways}"
    finally:
        plt.close(fig)
