"""A fused kernel for ``F`` and ``dF/dx`` over a batch of free-parameter vectors.

Used by :meth:`Objective.value_and_grad_batch` for ``(B, n_free)`` batches (random
restarts, basin maps, the batched trainer).  Compared with the general code in
:mod:`bpgui_engine.model.network` it

* keeps the parameters in "perm" order -- each layer's ``[W^m b^m]`` row by row -- so
  every layer's augmented matrix is a fixed view of one ``(b, N)`` buffer and one product
  with ``[a^{m-1}; 1]`` gives ``n^m`` (and one product on the way back both ``dF/dW^m``
  and ``dF/db^m``);
* evaluates a first-layer neuron whose weights and bias are all fixed **once** (its output
  is the same for every row of the batch) and skips its gradient: the first layer's
  neurons are reordered, varying ones first (the next layer's columns with them), which
  leaves the network's function unchanged.  On the book's slice (W1[1,1], W2[1,1] free)
  that halves the first layer's work;
* computes the first layer of all rows with one matrix product ``(b*S, R+1) @ (R+1, Q)``;
* writes into buffers preallocated per chunk size.

Rows are processed in chunks of at most ``CHUNK_ELEMENTS`` neuron-sample values so the
temporaries stay in cache.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BatchKernel"]

CHUNK_ELEMENTS = 16_000


class BatchKernel:
    """``F`` (shape ``(B,)``) and ``dF/dx`` (``(B, n_free)``) for an objective's network."""

    def __init__(self, objective) -> None:
        spec, data = objective.spec, objective.data
        self.spec, self.T = spec, data.T
        L, Q = spec.n_layers, data.n_samples
        self.Q = Q
        free = np.zeros(spec.n_params, dtype=bool)
        free[objective.free_idx] = True
        perms = []
        for (w, b), r, s in zip(spec.slices, spec.fan_ins, spec.sizes, strict=True):
            perms.append(
                np.hstack(
                    [np.arange(w.start, w.stop).reshape(s, r), np.arange(b.start, b.stop)[:, None]]
                )
            )
        S0, R0 = spec.sizes[0], spec.fan_ins[0]
        if L > 1:  # first-layer neurons with a free parameter first
            varying = free[perms[0]].any(axis=1)
            order = np.concatenate([np.flatnonzero(varying), np.flatnonzero(~varying)])
            perms[0] = perms[0][order]
            perms[1] = perms[1][:, np.append(order, S0)]
            self.nv = int(varying.sum())
        else:  # a single layer is the output layer: its rows follow the targets
            self.nv = S0
        flat = np.concatenate([p.ravel() for p in perms])  # perm position -> theta index
        where = np.empty(spec.n_params, dtype=np.intp)
        where[flat] = np.arange(spec.n_params)
        self.pidx = where[objective.free_idx]
        self.pbase = objective.base[flat]
        self.shapes = [p.shape for p in perms]
        self.offsets = np.cumsum([0] + [p.size for p in perms]).tolist()
        self.A0 = np.vstack([data.P, np.ones((1, Q))])  # [a^0; 1]
        self.A0T = np.ascontiguousarray(self.A0.T)
        self.t = spec._t
        # the fixed first-layer neurons' outputs, evaluated once
        if L > 1 and self.nv < S0:
            Wc = self.pbase[: S0 * (R0 + 1)].reshape(S0, R0 + 1)[self.nv :]
            self.a_const = self.t[0].forward(Wc @ self.A0)
        else:
            self.a_const = None
        self.mse = objective.perf.name == "mse"
        self.scale = -2.0 / data.T.size if self.mse else -2.0
        self.rows = max(1, CHUNK_ELEMENTS // (Q * max(spec.sizes)))
        self._bufs: dict[int, dict] = {}

    def _buffers(self, b: int) -> dict:
        bufs = self._bufs.get(b)
        if bufs is not None:
            return bufs
        spec, Q, nv = self.spec, self.Q, self.nv
        L = spec.n_layers
        pth = np.empty((b, spec.n_params))
        pgrad = np.empty((b, spec.n_params))
        o = self.offsets
        Wa = [pth[:, o[m] : o[m + 1]].reshape(b, *self.shapes[m]) for m in range(L)]
        G = [pgrad[:, o[m] : o[m + 1]].reshape(b, *self.shapes[m]) for m in range(L)]
        acts = [None]  # acts[m] = [a^m; 1] for m >= 1, shape (b, S_m + 1, Q)
        for m, s in enumerate(spec.sizes):
            last = m == L - 1
            a = np.empty((b, s + (0 if last else 1), Q))
            if not last:
                a[:, s] = 1.0
            if m == 0 and self.a_const is not None:
                a[:, nv:s] = self.a_const
            acts.append(a)
        # n^m and a^m in contiguous buffers (ufuncs run 2x faster than on the strided
        # views of acts); a^m is then copied into acts.  A purelin output layer's product
        # goes straight into a^M.
        n, a = [], []
        for m, s in enumerate(spec.sizes):
            rows = nv if m == 0 else s
            if m == L - 1:
                a.append(acts[L])
                n.append(acts[L] if spec.transfers[m] == "purelin" else np.empty((b, rows, Q)))
            else:
                n.append(np.empty((b, rows, Q)))
                a.append(np.empty((b, rows, Q)))
        bufs = {"pth": pth, "pgrad": pgrad, "Wa": Wa, "G": G, "acts": acts, "n": n, "a": a}
        bufs["e"] = np.empty((b, *self.T.shape))
        if len(self._bufs) >= 4:  # a full chunk size and a few remainders
            self._bufs.clear()
        self._bufs[b] = bufs
        return bufs

    def __call__(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        B = X.shape[0]
        F = np.empty(B)
        G = np.empty((B, self.pidx.size))
        for i in range(0, B, self.rows):
            F[i : i + self.rows], G[i : i + self.rows] = self._chunk(X[i : i + self.rows])
        return F, G

    def _chunk(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = X.shape[0]
        buf = self._buffers(b)
        spec, t, nv, Q = self.spec, self.t, self.nv, self.Q
        L = spec.n_layers
        R1 = spec.fan_ins[0] + 1
        pth, Wa, acts, n, a = buf["pth"], buf["Wa"], buf["acts"], buf["n"], buf["a"]
        pth[:] = self.pbase
        pth[:, self.pidx] = X
        # first layer, varying neurons only: one (b*nv, R+1) @ (R+1, Q) product
        W0 = np.ascontiguousarray(pth[:, : nv * R1]).reshape(b * nv, R1)
        np.dot(W0, self.A0, out=n[0].reshape(b * nv, Q))
        for m in range(L):
            if m:
                np.matmul(Wa[m], acts[m], out=n[m])
            if n[m] is not a[m]:
                t[m].forward_into(n[m], a[m])
            if m < L - 1:
                acts[m + 1][:, : a[m].shape[1]] = a[m]
        a_out = acts[L]
        e = np.subtract(self.T, a_out, out=buf["e"])
        F = np.einsum("bij,bij->b", e, e)
        if self.mse:
            F /= self.T.size
        e *= self.scale
        s = t[L - 1].backward(n[L - 1], a_out, e)
        for m in range(L - 1, 0, -1):
            np.matmul(s, acts[m].transpose(0, 2, 1), out=buf["G"][m])
            k = nv if m == 1 else spec.sizes[m - 1]  # layer 0: the varying neurons only
            back = np.matmul(Wa[m][:, :, :k].transpose(0, 2, 1), s)
            s = t[m - 1].backward(n[m - 1], a[m - 1], back)
        g0 = s.reshape(b * nv, Q).dot(self.A0T)
        pgrad = buf["pgrad"]
        pgrad[:, : nv * R1] = g0.reshape(b, nv * R1)
        return F, pgrad[:, self.pidx]
