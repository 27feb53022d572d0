"""bpgui's engine: pure NumPy backpropagation, optimizers, run loop and error surfaces.

Nothing here imports Qt (installed as ``bpgui_engine``).  Start with
:mod:`bpgui_engine.model.presets`, :class:`bpgui_engine.model.objective.Objective`,
:func:`bpgui_engine.optim.make_optimizer` and :class:`bpgui_engine.train.trainer.Trainer`.
"""

import os

# one BLAS thread per process unless the user says otherwise (see bpgui/__init__.py): set
# before NumPy loads, when this package is imported first
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
