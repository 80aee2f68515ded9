"""The kernel's activation forms: a = activation(z) into ``a`` and da/dz into ``da``, in place.

The same functions as :data:`nnbackprop.network.ACTIVATIONS`, written as NumPy calls
into preallocated buffers so that a block's work allocates nothing.
"""

from __future__ import annotations

import numpy as np

# ``m`` (like z) and ``v`` (two of z) are scratch.  0-d arrays as constants are quicker
# than Python floats in NumPy calls on small arrays, and ``out`` is passed by position:
# a keyword costs about 150 ns a call, which is a third of a call on 3 samples.

ZERO, HALF, ONE = np.zeros(()), np.array(0.5), np.ones(())


def _softplus(z, a, da, m, v):
    """a = max(z, 0) + log1p(t), da/dz = sigmoid(z) = (1 if z >= 0 else t) / (1 + t), t = e^-|z|."""
    t, u = v
    np.abs(z, t)
    np.add(z, t, m)
    np.multiply(m, HALF, m)  # max(z, 0) = (z + |z|) / 2, exactly
    np.negative(t, t)
    np.exp(t, t)  # t = e^-|z|: never overflows
    np.log1p(t, a)
    np.add(a, m, a)  # a = max(z, 0) + log1p(t)
    _sigmoid_parts(z, t, m, u)
    np.divide(m, u, da)  # da/dz = sigmoid(z)


def _sigmoid_parts(z, t, m, u):
    """Into m: 1 where z >= 0, else t (= e^z there); into u: 1 + t."""
    np.add(t, ONE, u)
    np.greater_equal(z, ZERO, m)
    np.maximum(m, t, out=m)  # t <= 1


def _softplus_few_calls(z, a, da, m, v):
    """The same in three calls, for small blocks: a = log(1 + e^z), da/dz = sigmoid(z) = e^(z - a)."""
    np.logaddexp(ZERO, z, a)
    np.subtract(z, a, da)
    np.exp(da, da)


def _sigmoid(z, a, da, m, v):
    """a = (1 if z >= 0 else t) / (1 + t), da/dz = t / (1 + t)^2, t = e^-|z|."""
    t, u = v
    np.abs(z, t)
    np.negative(t, t)
    np.exp(t, t)  # t = e^-|z|
    _sigmoid_parts(z, t, m, u)
    np.divide(m, u, a)  # a = sigmoid(z)
    np.divide(t, u, da)
    np.divide(da, u, da)  # da/dz = t / (1 + t) / (1 + t)


def _tanh(z, a, da, m, v):
    """a = tanh(z), da/dz = 1 - a^2."""
    np.tanh(z, a)
    np.multiply(a, a, da)
    np.subtract(ONE, da, da)


def _relu(z, a, da, m, v):
    """a = max(z, 0), da/dz = 1 where z > 0, else 0."""
    np.maximum(z, ZERO, out=a)
    np.greater(z, ZERO, da)


FORMS = {"softplus": _softplus, "sigmoid": _sigmoid, "tanh": _tanh, "relu": _relu}
FEW_CALLS = {**FORMS, "softplus": _softplus_few_calls}
