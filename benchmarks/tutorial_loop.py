"""The baseline: batch steepest descent written as in the tutorial seed (002_...txt).

The same maths as the engine's ``sd`` on the book's 1-2-1 problem (the seed's bugs fixed:
the derivative is taken at the right layer, the gradient averaged over the batch), but
in the tutorial's style: a Python loop over samples with small NumPy arrays per sample.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class TutorialNetwork:
    def __init__(self, W1, b1, W2, b2, lr):
        self.W1 = np.array(W1, dtype=float).reshape(2, 1)
        self.b1 = np.array(b1, dtype=float).reshape(2, 1)
        self.W2 = np.array(W2, dtype=float).reshape(1, 2)
        self.b2 = np.array(b2, dtype=float).reshape(1, 1)
        self.lr = lr

    def epoch(self, P, T, free_mask=None):
        """One batch epoch: per-sample backprop, gradients averaged, then one update."""
        gW1, gb1 = np.zeros_like(self.W1), np.zeros_like(self.b1)
        gW2, gb2 = np.zeros_like(self.W2), np.zeros_like(self.b2)
        sse = 0.0
        for p, t in zip(P, T, strict=True):
            a0 = np.array([[p]])
            a1 = sigmoid(self.W1 @ a0 + self.b1)
            a2 = sigmoid(self.W2 @ a1 + self.b2)
            e = t - a2
            sse += float(e[0, 0] ** 2)
            s2 = -2.0 * a2 * (1.0 - a2) * e
            s1 = a1 * (1.0 - a1) * (self.W2.T @ s2)
            gW2 += s2 @ a1.T
            gb2 += s2
            gW1 += s1 @ a0.T
            gb1 += s1
        q = len(P)
        grads = [gW1, gb1, gW2, gb2]
        for k, (param, grad) in enumerate(
            zip((self.W1, self.b1, self.W2, self.b2), grads, strict=True)
        ):
            if free_mask is None or free_mask[k] is None:
                param -= self.lr * grad / q
            else:
                param -= self.lr * grad / q * free_mask[k]
        return sse
