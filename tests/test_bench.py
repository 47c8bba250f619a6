"""`make bench` scales each notebook by the calibration readings taken right around it."""

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import bench  # noqa: E402
import run_notebooks  # noqa: E402


def test_each_notebook_is_calibrated_by_its_own_readings(monkeypatch):
    readings = itertools.count(40.0, 8.0)  # the host slows by 8 ms per step between readings
    monkeypatch.setattr(bench, "calibrate", lambda steps: next(readings))
    monkeypatch.setattr(run_notebooks, "execute", lambda path: {"seconds": 100.0, "peak_mb": 900})
    report = bench.Report(45.0)
    bench.notebooks(report)
    rows = [line for line in report.text().splitlines() if line.startswith("| 0")]
    assert len(rows) == len(list((bench.REPO / "notebooks").glob("*.ipynb"))) >= 7
    first, last = rows[0].split(" | "), rows[-1].split(" | ")
    # First notebook between 40 and 48 ms: 100 s x 32 / 44 = 72.7 s, within 90.
    assert first[2:5] == ["40.0–48.0", "72.7", "yes"]
    # Last between 88 and 96 ms: 34.8 s; the median of all readings scales every row alike.
    assert last[2:5] == ["88.0–96.0", "34.8", "yes"]
    assert first[5] == last[5] == f"{100 * 32 / report.ms:.1f}"
    assert len(report.readings) == len(rows) + 2  # the start, then one before and one after each


def test_a_notebook_over_budget_by_its_readings_says_so(monkeypatch):
    monkeypatch.setattr(bench, "calibrate", lambda steps: 32.0)
    monkeypatch.setattr(run_notebooks, "execute", lambda path: {"seconds": 91.0, "peak_mb": 1600})
    report = bench.Report(32.0)
    bench.notebooks(report)
    row = next(line for line in report.text().splitlines() if line.startswith("| 00"))
    assert row.split(" | ")[3:5] == ["91.0", "**no**"] and row.endswith("**no** |")
