"""Optimizers, one per module, registered by stable name in :data:`OPTIMIZERS`."""

from . import sd, sgd, momentum, vlbp, cg, lm, adam  # noqa: F401, I001  (registration order)
from .base import OPTIMIZERS, Hyper, Optimizer, StepResult, make_optimizer

__all__ = ["OPTIMIZERS", "Hyper", "Optimizer", "StepResult", "make_optimizer"]
