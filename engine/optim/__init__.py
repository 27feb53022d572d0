"""Optimizers, one per module, registered by stable name in :data:`OPTIMIZERS`."""

from bpgui_engine.optim import sd, sgd, momentum, vlbp, cg, lm, adam  # noqa: F401, I001  (registration order)
from bpgui_engine.optim import rprop, quickprop, modern, scg, quasi_newton, br  # noqa: F401
from bpgui_engine.optim.base import OPTIMIZERS, Hyper, Optimizer, StepResult, make_optimizer

__all__ = ["OPTIMIZERS", "Hyper", "Optimizer", "StepResult", "make_optimizer", "mismatch"]


def mismatch(optimizer: str, performance, l1: float = 0.0, l2: float = 0.0) -> str | None:
    """Why ``optimizer`` cannot minimize ``performance`` (a :class:`Performance`) with an
    L1 penalty of rate ``l1`` (and L2 ``l2``), or None: Levenberg-Marquardt and Bayesian
    regularization need a sum of squares (SSE or MSE, an L2 penalty at most for LM), not
    cross-entropy or an L1 penalty; Bayesian regularization sets its own weight penalty."""
    cls = OPTIMIZERS.get(optimizer)
    if optimizer == "br" and (l1 or l2) and performance.least_squares:
        return (
            "Bayesian regularization sets its own weight penalty (α E_W): set L2 and L1 "
            "to 0, or choose another optimizer"
        )
    if cls is not None and cls.least_squares and not performance.least_squares:
        return (
            f"{cls.title} needs a sum-of-squares performance index (SSE or MSE); "
            f"{performance.name.upper()} is not one: choose another optimizer or index"
        )
    if cls is not None and cls.least_squares and l1:
        return (
            f"{cls.title} needs a sum of squares: an L1 penalty is not one; "
            "set L1 to 0 or choose another optimizer"
        )
    return None
