"""Test-wide settings: headless plotting and quiet TensorFlow, for tests and notebook kernels."""

import os

# Set before any kernel or TensorFlow starts; nbval kernels inherit the environment.
# MPLBACKEND is deliberately left alone: notebook kernels must use matplotlib-inline
# (as when the committed outputs were made); headless tests fall back to Agg anyway.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
