"""bpgui's engine: pure NumPy backpropagation, optimizers, run loop and error surfaces.

Nothing here imports Qt (installed as ``bpgui_engine``).  Start with
:mod:`bpgui_engine.model.presets`, :class:`bpgui_engine.model.objective.Objective`,
:func:`bpgui_engine.optim.make_optimizer` and :class:`bpgui_engine.train.trainer.Trainer`.
"""
