"""Test-wide settings: headless plotting and quiet TensorFlow, for tests and notebook kernels."""

import os

# Set before any kernel or TensorFlow starts; nbval kernels inherit the environment.
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
