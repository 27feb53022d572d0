"""The objective: network + data + performance index + the set of free parameters.

Optimizers see only the free parameters ``x`` (a vector of length ``n_free``); the
objective places them into the full vector ``theta`` (the others fixed at ``base``)
and returns values, gradients and Jacobians with respect to ``x``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bpgui_engine.model.data import Dataset
from bpgui_engine.model.fused import Fused
from bpgui_engine.model.labels import ParamLabels
from bpgui_engine.model.network import NetworkSpec
from bpgui_engine.model.penalty import BoundPenalty, Penalty
from bpgui_engine.model.performance import Performance, get_performance
from bpgui_engine.train.kernel import BatchKernel

__all__ = ["Objective", "check_problem"]

#: Batched evaluations run in chunks of at most this many neuron-sample values, so that
#: temporaries stay below glibc's 128 KiB mmap threshold (fresh pages on every allocation
#: above it): twice as fast as one pass over 1,000 start points at once.
CHUNK_ELEMENTS = 12_000


def check_problem(
    spec: NetworkSpec, data: Dataset, performance: str, validation: Dataset | None = None
) -> Performance:
    """That ``data`` fits ``spec`` and the performance index the output layer; the
    performance index.  ``ValueError`` naming what does not fit."""
    if data.n_inputs != spec.n_inputs:
        raise ValueError(
            f"data: the network has {spec.n_inputs} input(s) but P has {data.n_inputs} row(s)"
        )
    if data.n_outputs != spec.n_outputs:
        raise ValueError(
            f"data: the network has {spec.n_outputs} output(s) but T has {data.n_outputs} row(s)"
        )
    if validation is not None and (
        validation.n_inputs != data.n_inputs or validation.n_outputs != data.n_outputs
    ):
        raise ValueError("data: the validation set's shape differs from the training set's")
    perf = get_performance(performance)
    out_t = spec.transfers[-1]
    if perf.name == "ce" and out_t not in ("logsig", "softmax"):
        raise ValueError(
            f"performance: cross-entropy needs a logsig or softmax output layer, not {out_t}"
        )
    return perf


class Objective:
    """Binds a network, a dataset, a performance index and the free parameters.

    Parameters
    ----------
    spec : NetworkSpec
    data : Dataset            training set, ``P (R, Q)``, ``T (S_M, Q)``
    theta : array (N,)        full parameter vector; the non-free entries stay fixed
    free : labels or indices  the trained parameters (default: all)
    performance : str         ``"sse"`` (default), ``"mse"`` or ``"ce"``
    validation : Dataset      optional validation set
    penalty : Penalty         L2/L1 weight penalties added to ``F``
                              (:mod:`bpgui_engine.model.penalty`); the validation set's
                              value and :meth:`sse` stay plain

    Notes
    -----
    ``value_and_grad`` for one parameter vector runs a fused kernel with preallocated
    buffers (:mod:`bpgui_engine.model.fused`, about 2x faster than the general batched
    code; :meth:`with_kernel` gives the BLAS path's variant); the batched methods
    accept ``X`` of shape ``(B, n_free)``.  An objective is not thread-safe: give each
    thread its own (``copy()``).
    """

    def __init__(
        self,
        spec: NetworkSpec,
        data: Dataset,
        theta: np.ndarray | None = None,
        free: Sequence[str | int] | None = None,
        performance: str = "sse",
        validation: Dataset | None = None,
        penalty: Penalty | None = None,
    ) -> None:
        self.perf: Performance = check_problem(spec, data, performance, validation)
        self.spec = spec
        self.data = data
        self.validation = validation
        theta = np.zeros(spec.n_params) if theta is None else np.array(theta, dtype=float)
        if theta.shape != (spec.n_params,):
            raise ValueError(f"theta: expected {spec.n_params} values, got {theta.shape}")
        if not np.all(np.isfinite(theta)):
            raise ValueError("theta: parameters must be finite")
        self.base = theta
        self.base.flags.writeable = False
        free = ParamLabels.all(spec) if free is None else ParamLabels.free(spec, free)
        self.free_idx = free.idx
        self.all_free = free.is_all()
        self.set_penalty(penalty or Penalty())
        self.lr_scale = self.perf.lr_scale(data.n_samples)
        self.n_value = 0  # evaluation counters
        self.n_grad = 0
        self.n_jac = 0
        self._fused = Fused(self)
        out_t = spec.transfers[-1]
        self._batch_fused = self.perf.name != "ce" and out_t != "softmax"  # BatchKernel's
        self._batch_kernel: BatchKernel | None = None  # built on first use

    def set_penalty(self, penalty: Penalty) -> None:
        """Change the weight penalties (a run's live edit: from the next evaluation)."""
        self.penalty = penalty
        #: the penalty over the free parameters (None without one)
        self._pen = BoundPenalty(penalty, self.spec, self.base, self.free_idx) if penalty else None

    # ---- parameter mapping ----------------------------------------------------------------
    @property
    def n_free(self) -> int:
        return self.free_idx.size

    @property
    def free_labels(self) -> tuple[str, ...]:
        return tuple(ParamLabels(self.spec, self.free_idx))

    def x0(self) -> np.ndarray:
        """The free parameters' values in ``base``."""
        return self.base[self.free_idx].copy()

    def full(self, x: np.ndarray) -> np.ndarray:
        """Full parameter vector(s) for free values ``x`` (shape ``(..., n_free)``)."""
        x = np.asarray(x, dtype=float)
        if self.all_free:
            return x
        theta = np.broadcast_to(self.base, (*x.shape[:-1], self.base.size)).copy()
        theta[..., self.free_idx] = x
        return theta

    def copy(self) -> Objective:
        return Objective(
            self.spec,
            self.data,
            self.base,
            self.free_idx,
            self.perf.name,
            self.validation,
            self.penalty,
        )

    # ---- general (batched) path -----------------------------------------------------------
    def _chunk(self, x: np.ndarray, n_samples: int) -> int | None:
        """Rows per chunk for a ``(B, n)`` batch, or None to evaluate it in one pass."""
        if x.ndim != 2:
            return None
        rows = max(1, CHUNK_ELEMENTS // (n_samples * max(self.spec.sizes)))
        return rows if x.shape[0] > rows else None

    def value(self, x: np.ndarray, data: Dataset | None = None) -> np.ndarray | float:
        """``F(x)``; ``x`` may carry a leading batch shape."""
        d = data or self.data
        x = np.asarray(x, dtype=float)
        rows = self._chunk(x, d.n_samples)
        if rows:
            return np.concatenate([self.value(x[i : i + rows], d) for i in range(0, len(x), rows)])
        self.n_value += 1
        fw = self.spec.forward(self.full(x), d.P)
        with np.errstate(over="ignore", invalid="ignore"):
            F = self.perf.value(fw.n[-1], fw.a[-1], d.T, self.spec.transfers[-1])
            if self._pen is not None and data is None:
                F = F + self._pen.value(x)
        return float(F) if np.ndim(F) == 0 else F

    def sse(self, x: np.ndarray, data: Dataset | None = None) -> np.ndarray | float:
        """The sum of squared errors, whatever the performance index."""
        last = self._fused.sse_at
        if data is None and last is not None and np.array_equal(last[0], x):
            return last[1]  # kept by the last value_and_grad at this very point
        d = data or self.data
        e = d.T - self.spec.output(self.full(np.asarray(x, dtype=float)), d.P)
        s = np.einsum("...ij,...ij->...", e, e)
        return float(s) if np.ndim(s) == 0 else s

    def value_and_grad_batch(
        self, X: np.ndarray, samples: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``F`` and ``dF/dx`` by the general code; ``samples`` restricts the data."""
        X = np.asarray(X, dtype=float)
        if samples is None and X.ndim == 2 and self._batch_fused:
            self.n_grad += 1
            if self._batch_kernel is None:
                self._batch_kernel = BatchKernel(self)
            return self._penalized(X, *self._batch_kernel(X))
        d = self.data if samples is None else self.data.subset(samples)
        rows = self._chunk(X, d.n_samples)
        if rows:
            parts = [
                self.value_and_grad_batch(X[i : i + rows], samples) for i in range(0, len(X), rows)
            ]
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        theta = self.full(X)
        fw = self.spec.forward(theta, d.P)
        t_out = self.spec._t[-1]
        self.n_grad += 1
        with np.errstate(over="ignore", invalid="ignore"):
            F = self.perf.value(fw.n[-1], fw.a[-1], d.T, t_out.name)
            s = self.perf.output_sensitivity(fw.n[-1], fw.a[-1], d.T, t_out)
            g = self.spec.backward(theta, d.P, fw, s)
        return self._penalized(X, F, g[..., self.free_idx])

    def _penalized(self, x, F, g):
        """``F`` and ``g`` with the penalty's value and gradient added."""
        if self._pen is None:
            return F, g
        with np.errstate(over="ignore", invalid="ignore"):
            return F + self._pen.value(x), self._pen.add_grad(x, g)

    def residuals_and_jacobian(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scaled errors ``e`` (``F = e.e``) and ``J = de/dx`` for Levenberg-Marquardt.

        ``x`` may carry a leading batch shape: ``e`` is then ``(..., S_M*Q)`` and ``J``
        ``(..., S_M*Q, n_free)``.
        """
        c = self.perf.residual_scale(self.data.n_samples, self.data.n_outputs)
        x = np.asarray(x, dtype=float)
        theta = self.full(x)
        fw = self.spec.forward(theta, self.data.P)
        self.n_jac += 1
        e = (self.data.T - fw.output).reshape((*x.shape[:-1], -1))
        J = self.spec.jacobian(theta, self.data.P, fw)[..., self.free_idx]
        if c != 1.0:
            e, J = e * c, J * c
        if self._pen is not None:  # the L2 penalty as more residuals (L1 raises)
            r, Jr = self._pen.residuals(x)
            e, J = np.concatenate([e, r], axis=-1), np.concatenate([J, Jr], axis=-2)
        return e, J

    def value_grad_hessian(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``F``, ``dF/dx`` and the exact Hessian (:mod:`bpgui_engine.analysis.hessian`); ``x`` may
        carry a
        leading batch shape ``(..., n_free)``: ``H`` is then ``(..., n_free, n_free)``."""
        from bpgui_engine.analysis.hessian import value_grad_hessian

        x = np.asarray(x, dtype=float)
        self.n_grad += 1
        F, g, H = value_grad_hessian(
            self.spec, self.data.P, self.data.T, self.perf, self.full(x), self.free_idx
        )
        if self._pen is not None:
            F, g = self._penalized(x, F, g)
            H = self._pen.add_hessian(H)
        return (float(F) if np.ndim(F) == 0 else F), g, H

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """The exact Hessian of ``F`` over the free parameters
        (:mod:`bpgui_engine.analysis.hessian`)."""
        return self.value_grad_hessian(x)[2]

    def hessian_fd(self, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
        """Hessian of ``F`` by central differences of the analytic gradient (symmetrized);
        kept as a test oracle for :meth:`hessian`."""
        x = np.asarray(x, dtype=float)
        n = x.size
        X = np.repeat(x[None, :], 2 * n, axis=0)
        steps = h * np.maximum(1.0, np.abs(x))
        X[np.arange(n), np.arange(n)] += steps
        X[n + np.arange(n), np.arange(n)] -= steps
        _, G = self.value_and_grad_batch(X)
        H = (G[:n] - G[n:]) / (2 * steps[:, None])
        return 0.5 * (H + H.T)

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """``F(x)`` and ``dF/dx`` for one vector of free parameters."""
        self.n_grad += 1
        if self._pen is None:
            return self._fused(x)
        F, g = self._fused(x)
        F, g = self._penalized(x, F, g)
        return float(F), g

    def with_kernel(self, activations=None, dtype: str = "float64") -> Objective:
        """A copy whose :meth:`value_and_grad` runs the BLAS path: compiled transfer
        functions (``activations``: :func:`bpgui_engine.jit.activations_module`) and/or
        products in ``float32`` (:class:`bpgui_engine.model.fused.Fused`)."""
        obj = self.copy()
        obj._fused = Fused(obj, activations=activations, dtype=dtype)
        return obj

    @property
    def kernel_dtype(self) -> str:
        return self._fused.dtype.name
