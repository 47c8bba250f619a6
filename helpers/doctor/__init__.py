"""The gap doctor: one call on your own model names every cause of its gap.

Introduced in ``notebooks/06_the_doctor.ipynb``::

    from helpers import diagnose

    diagnosis = diagnose(model, x_train, y_train, history=history)
    diagnosis.present  # ['batchnorm', 'drift']
    diagnosis.size("batchnorm", "accuracy")

From a terminal: ``python -m helpers.doctor model.keras data.npz``.

* :mod:`.causes`: the vocabulary (:data:`CAUSES`), each cause's comparison,
  fix and notebook;
* :mod:`.examine`: :func:`diagnose`, the measurements and noise floors;
* :mod:`.diagnosis`: :class:`Diagnosis`, the report;
* :mod:`.measure`, :mod:`.layers`, :mod:`.data`, :mod:`.history`,
  :mod:`.state`: forward passes and scores, training-mode layers, the data,
  the logged values, the model's state kept unchanged;
* :mod:`.zoo`: small broken trainings with known causes, for tests and bench.
"""

from helpers.doctor.causes import CAUSES, REMAINDERS, Cause
from helpers.doctor.diagnosis import Diagnosis, Finding
from helpers.doctor.examine import diagnose

__all__ = ["CAUSES", "REMAINDERS", "Cause", "Diagnosis", "Finding", "diagnose"]
