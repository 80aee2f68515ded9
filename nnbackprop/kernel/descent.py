"""Gradient descent fused into the kernel: one start on data that fits one block.

A speed path of :func:`nnbackprop.training.train`, which finds it through
:meth:`nnbackprop.kernel.Kernel.descent`; the same numbers, an epoch in 12 NumPy calls.
"""

from __future__ import annotations

import numpy as np


class Descent:
    """Gradient descent of one start on data that fits one block, an epoch in 12 NumPy calls.

    The same numbers as :class:`Kernel` then ``step = gradient * rate``, kept doubled:
    the parameters live as 2 theta in the two blocks' own buffers, used in turn (so the
    last good ones survive a refused step), and ``step`` is 2 step.  Doubling is exact,
    so (S * 2 w_out) * rate = 2 ((S * w_out) * rate) and S * (2 rate) = 2 (S * rate), to
    the last bit, with the gradient made as :func:`finish` makes it.  :meth:`advance`
    moves to the next parameters and returns their SSR; :meth:`reject` moves back.
    ``loss`` is the SSR at the start.
    """

    scale = 2.0  # step and theta here are doubled

    def __init__(self, spaces, theta, rate):
        p = len(theta)
        h = (p - 1) // 3
        self.spaces = spaces
        self.thetas = [space.theta[:, :p] for space in spaces]  # 2 theta, (1, P)
        self.rows = [t[0] for t in self.thetas]
        for space in spaces:
            space.rate_in[:] = rate[: 2 * h]
            space.rate_out[:] = rate[2 * h :] * 2.0
        zero = np.zeros((1, p))
        self.loss = spaces[1].descend(np.multiply(theta, 2.0)[None], zero)  # 2 theta into block 1
        # plan[k]: to step into block k, from the other block's parameters and step
        self.plan = [(spaces[k].descend, self.thetas[1 - k], spaces[1 - k].step, self.rows[k]) for k in (0, 1)]
        self.next, self.pinned, self.kept = 0, None, None
        self.row = self.rows[1]

    def advance(self):
        """Move to the next parameters, theta - step; return the SSR there.

        ``applied`` is the step taken and ``row`` the parameters reached (both doubled)."""
        k = self.next
        if self.pinned == k:  # about to overwrite the best parameters so far: keep them
            self.kept, self.pinned = self.thetas[k].copy(), None
        descend, source, step, self.row = self.plan[k]
        self.next, self.applied = 1 - k, step
        return descend(source, step)

    def reject(self):
        """Move back to the parameters before the last :meth:`advance`."""
        self.next = k = 1 - self.next
        self.row = self.rows[1 - k]

    @property
    def theta(self):
        return self.thetas[1 - self.next] * 0.5

    def pin(self):
        """Remember the current parameters as the best so far; :meth:`best` gives them back."""
        self.pinned, self.kept = 1 - self.next, None

    def best(self):
        return (self.thetas[self.pinned] if self.pinned is not None else self.kept) * 0.5
