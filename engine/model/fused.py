"""The fused kernel behind :meth:`Objective.value_and_grad`: ``F`` and ``dF/dx`` for one
vector of free parameters, every layer's product one GEMM over all samples into a
preallocated buffer.

The kernel keeps its own copy of the parameters in "perm" order: each layer's
``[W^m b^m]`` row by row, contiguous, so the augmented matrix is a fixed view, and one
product with ``a^{m-1}`` augmented by a row of ones gives ``n^m``; on the way back one
product gives both ``dF/dW^m`` and ``dF/db^m``, written into a gradient kept in the same
order.  The free parameters are scattered in and the gradient gathered out by one fancy
index each (np.take costs 1.5 us at these sizes, indexing 0.2 us).  No ``np.errstate``
here (3 us a call): loop owners wrap whole runs in one.

Two variants make the BLAS path (``FastTrainer``'s kernel ``"blas"``):

* ``activations`` (:mod:`bpgui_engine.jit.activations`, passed in: the model does not
  import the compiler): logsig and tansig layers (forward and derivative) run in compiled
  loops (``np.tanh`` alone costs more than a 50x50 layer's GEMM), and the
  back-propagated products write into preallocated buffers too;
* ``dtype="float32"``: products and transfer functions in single precision (about twice
  as fast for large layers; the value and gradient come back as float64, the optimizer
  steps in float64).  Not for the book's exact figures: a sum over 1,000 samples keeps
  about 5 significant digits.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Fused"]


class _Compiled:
    """A logsig or tansig layer through :mod:`bpgui_engine.jit.activations` (1-D views)."""

    def __init__(self, name: str, ew, Ib: np.ndarray) -> None:
        self.name = name
        self._fwd = ew.tansig_into if name == "tansig" else ew.logsig_into
        self._back = ew.tansig_back if name == "tansig" else ew.logsig_back
        self._Ib = Ib

    def forward_into(self, n: np.ndarray, out: np.ndarray) -> None:
        self._fwd(n.reshape(-1), out.reshape(-1), self._Ib)

    def backward(self, n: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        self._back(a.reshape(-1), g.reshape(-1))  # in place: g is the kernel's buffer
        return g


class Fused:
    """``F`` and ``dF/dx`` of ``objective`` at one point (see the module)."""

    def __init__(self, objective, activations=None, dtype: str = "float64") -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float64, np.float32):
            raise ValueError(f"kernel dtype: float64 or float32, not {dtype!r}")
        spec, data = objective.spec, objective.data
        dt = self.dtype
        P = data.P.astype(dt)
        Q = P.shape[1]
        #: the compiled activations run (given, and float64)
        self.fast = False
        t = list(spec._t)
        ew = activations if dt == np.float64 else None
        if ew is not None:
            self.fast = True
            Ib = np.empty(max(spec.sizes) * Q, dtype=np.int64)
            t = [_Compiled(f.name, ew, Ib) if f.name in ("tansig", "logsig") else f
                 for f in t]  # fmt: skip
        acts = [np.vstack([P, np.ones((1, Q), dt)])]  # acts[m] = [a^m; 1] (a^0 = P)
        perms, nbufs, fs = [], [], []
        for m, ((w, b), r, s) in enumerate(zip(spec.slices, spec.fan_ins, spec.sizes, strict=True)):
            # indices of [W^m b^m] in theta, row by row
            perms.append(
                np.hstack(
                    [np.arange(w.start, w.stop).reshape(s, r), np.arange(b.start, b.stop)[:, None]]
                )
            )
            last = m == spec.n_layers - 1  # the output layer needs no ones row
            acts.append(
                np.empty((s, Q), dt)
                if last
                else np.vstack([np.empty((s, Q), dt), np.ones((1, Q), dt)])
            )
            f = t[m]
            linear = f.name == "purelin"  # n^m is a^m: the product writes a^m directly
            # softmax (output only) runs in place after the loop, into preallocated rows
            fs.append(None if linear or f.name == "softmax" else f)
            nbufs.append(acts[-1][:s] if linear else np.empty((s, Q), dt))
        outs = [a[: spec.sizes[m]] for m, a in enumerate(acts[1:])]  # views: a^m
        order = np.concatenate([p.ravel() for p in perms])  # perm position -> theta index
        where = np.empty(spec.n_params, dtype=np.intp)  # theta index -> perm position
        where[order] = np.arange(spec.n_params)
        self._pidx = where[objective.free_idx]  # the free parameters' perm positions
        self._ptheta = objective.base[order].astype(dt)  # perm order (base + free values)
        self._pgrad = np.empty(spec.n_params, dt)  # the gradient in perm order

        def views(flat: np.ndarray) -> list[np.ndarray]:
            out, lo = [], 0
            for p in perms:
                out.append(flat[lo : lo + p.size].reshape(p.shape))
                lo += p.size
            return out

        waugs, gviews = views(self._ptheta), views(self._pgrad)
        L = spec.n_layers
        # per layer, everything the kernel needs, bound once
        self._fwd = [(waugs[m], acts[m], nbufs[m], outs[m], fs[m]) for m in range(L)]
        # the fast variant's products (W^m)^T s^m land in preallocated buffers
        backs = [np.empty((spec.sizes[m - 1], Q), dt) if m and ew is not None else None
                 for m in range(L)]  # fmt: skip
        self._bwd = [
            (
                gviews[m],
                acts[m].T,
                waugs[m][:, :-1].T if m else None,  # (W^m)^T
                t[m - 1] if m else None,
                nbufs[m - 1] if m else None,
                outs[m - 1] if m else None,
                backs[m],
            )
            for m in range(L - 1, -1, -1)
        ]
        T = data.T.astype(dt)
        self._a_out = acts[-1]
        self._n_out = nbufs[-1]
        self._e = np.empty_like(T)
        self._T = T
        self._t_out = t[-1]
        self._mse = objective.perf.name == "mse"
        self._sens_scale = -2.0 / T.size if self._mse else -2.0
        # cross-entropy, s^M = dF/dn^M in closed form, no general path (einsums and the
        # batch machinery).  F is a sum of non-negative terms (targets in [0, 1]), so that a
        # saturated output's 1e-18 does not cancel to 0 (performance._ce_sum):
        #   logsig:  F = mean_q sum_i t softplus(-n) + (1 - t) softplus(n), s^M = (a - t) / Q
        #   softmax: F = mean_q sum_i t (max - n) + (sum_i t) log1p(r),   s^M = (a sum t - t) / Q
        #            with r the column's sum of exp(n - max) less one maximal entry
        self._ce = objective.perf.name == "ce"
        self._softmax = spec.transfers[-1] == "softmax"
        #: ``(x, SSE)`` kept by the last call (cross-entropy): the trainer records the SSE
        self.sse_at: tuple[np.ndarray, float] | None = None
        self._sp = np.empty_like(T)
        self._sm = np.empty_like(T)
        self._omt = 1.0 - T
        self._cols = np.arange(Q)
        self._inv_q = 1.0 / Q
        self._col = np.empty((1, Q), dt)  # per-sample column max, then the column sums
        self._tsum = T.sum(axis=0, keepdims=True)  # sum_i t_iq

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self._ptheta[self._pidx] = x
        for Wa, A, n, out, f in self._fwd:
            Wa.dot(A, out=n)  # n^m = [W^m b^m] [a^{m-1}; 1]
            if f is not None:
                f.forward_into(n, out)
        n, a, T = self._n_out, self._a_out, self._T
        if self._softmax:  # a = exp(n - max) / sum exp(n - max), column by column
            col = np.max(n, axis=0, keepdims=True, out=self._col)
            np.subtract(n, col, out=a)
            td = -float(T.ravel().dot(a.ravel())) if self._ce else 0.0  # sum t (max - n)
            np.exp(a, out=a)
            if self._ce:  # the exp-sum less one maximal entry (exactly 1), then restored
                top = np.argmax(n, axis=0)
                a[top, self._cols] = 0.0
                np.sum(a, axis=0, keepdims=True, out=col)
                a[top, self._cols] = 1.0
                F = (td + float(self._tsum.ravel().dot(np.log1p(col).ravel()))) * self._inv_q
                col += 1.0
            else:
                np.sum(a, axis=0, keepdims=True, out=col)
            a /= col
        if self._ce:
            if not self._softmax:  # -log a = softplus(-n), -log(1 - a) = softplus(n)
                sp = np.logaddexp(0.0, n, out=self._sp)
                sm = np.logaddexp(0.0, np.negative(n, out=self._sm), out=self._sm)
                F = float(self._omt.ravel().dot(sp.ravel())) + float(T.ravel().dot(sm.ravel()))
                F *= self._inv_q
            d = np.subtract(a, T, out=self._sp).ravel()
            # the SSE at x from the same forward pass: the trainer records it every epoch
            self.sse_at = (x.copy(), float(d.dot(d)))
            if self._softmax:
                s = np.multiply(a, self._tsum, out=self._e)
                s -= T
            else:
                s = np.subtract(a, T, out=self._e)
            s *= self._inv_q
        else:
            e = np.subtract(self._T, self._a_out, out=self._e)
            ev = e.ravel()
            F = float(ev.dot(ev))
            e *= self._sens_scale  # dF/da^M = -2 e (SSE), -2 e / (S Q) (MSE)
            if self._mse:
                F /= e.size
            # s^M = F'^M(n^M) dF/da^M (11.44)
            s = self._t_out.backward(self._n_out, self._a_out, e)
        for gview, AT, WT, f_prev, n_prev, out_prev, back in self._bwd:
            s.dot(AT, out=gview)  # [dW db] = s^m [a^{m-1}; 1]^T
            if WT is not None:  # s^{m-1} = F'^{m-1}(n^{m-1}) (W^m)^T s^m  (book eq. 11.45)
                g = WT.dot(s) if back is None else WT.dot(s, out=back)
                s = f_prev.backward(n_prev, out_prev, g)
        g = self._pgrad[self._pidx]
        return F, (g if self.dtype == np.float64 else g.astype(np.float64))
