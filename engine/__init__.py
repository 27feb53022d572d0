"""bpgui's engine: pure NumPy backpropagation, optimizers, run loop and error surfaces.

Nothing here imports Qt.  Start with :mod:`engine.presets`, :class:`engine.objective.Objective`,
:func:`engine.optim.make_optimizer` and :class:`engine.trainer.Trainer`.
"""
