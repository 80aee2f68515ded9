"""The implementations nnbackprop is measured against, each training the same network.

Every ``train_*`` runs ``epochs`` epochs of plain gradient descent from ``theta`` (pack
order w1, b1, ..., wH, bH, w(H+1), ..., w(2H), b(H+1)) and returns ``(theta, losses)``:
the parameters after the last step and the SSR recorded at the start of each epoch.  An
epoch is what training does: the loss and its gradient, the step, the stop check
(largest |step| below ``min_step``) and recording the loss.
"""

from __future__ import annotations

import math

import numpy as np


def train_numpy(x, y, theta, rate, epochs, min_step=0.0):
    """The straightforward vectorized NumPy a user writes first: a temporary per operation."""
    theta = np.array(theta, dtype=np.float64)
    h = (len(theta) - 1) // 3
    losses = []
    for _ in range(epochs):
        w_in, b_in, w_out, b_out = theta[0 : 2 * h : 2], theta[1 : 2 * h : 2], theta[2 * h : 3 * h], theta[3 * h]
        z = np.outer(x, w_in) + b_in  # (n, H)
        a = np.logaddexp(0, z)  # softplus
        da = 1 / (1 + np.exp(-z))  # sigmoid
        predicted = a @ w_out + b_out
        residual = y - predicted
        losses.append(np.sum(residual**2))
        dpredicted = -2 * residual
        dz = dpredicted[:, None] * w_out * da
        dw_in, db_in = x @ dz, dz.sum(axis=0)
        grad = np.concatenate([np.stack([dw_in, db_in], axis=1).ravel(), a.T @ dpredicted, [dpredicted.sum()]])
        step = rate * grad
        theta = theta - step
        if np.abs(step).max() < min_step:
            break
    return theta, losses


def train_loop(x, y, theta, rate, epochs, min_step=0.0):
    """One sample, one neuron at a time, in Python floats."""
    theta = [float(v) for v in theta]
    h = (len(theta) - 1) // 3
    x, y = x.tolist(), y.tolist()
    losses = []
    for _ in range(epochs):
        w_in, b_in, w_out, b_out = theta[0 : 2 * h : 2], theta[1 : 2 * h : 2], theta[2 * h : 3 * h], theta[3 * h]
        grad = [0.0] * len(theta)
        loss = 0.0
        for xn, yn in zip(x, y, strict=True):
            a, da = [], []
            for w, b in zip(w_in, b_in, strict=True):
                z = xn * w + b
                t = math.exp(-abs(z))
                a.append(max(z, 0.0) + math.log1p(t))
                da.append((1.0 if z >= 0 else t) / (1.0 + t))
            predicted = sum(ai * wi for ai, wi in zip(a, w_out, strict=True)) + b_out
            residual = yn - predicted
            loss += residual * residual
            dpredicted = -2.0 * residual
            for i in range(h):
                dz = dpredicted * w_out[i] * da[i]
                grad[2 * i] += dz * xn
                grad[2 * i + 1] += dz
                grad[2 * h + i] += dpredicted * a[i]
            grad[3 * h] += dpredicted
        losses.append(loss)
        step = [rate * g for g in grad]
        theta = [t - s for t, s in zip(theta, step, strict=True)]
        if max(map(abs, step)) < min_step:
            break
    return np.array(theta), losses


def torch_trainer():
    """``train`` with PyTorch eager autograd, or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None

    def train(x, y, theta, rate, epochs, min_step=0.0):
        x, y = torch.from_numpy(np.asarray(x)), torch.from_numpy(np.asarray(y))
        theta = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        h = (len(theta) - 1) // 3
        losses = []
        for _ in range(epochs):
            z = x[:, None] * theta[0 : 2 * h : 2] + theta[1 : 2 * h : 2]
            a = torch.logaddexp(torch.zeros((), dtype=torch.float64), z)
            predicted = a @ theta[2 * h : 3 * h] + theta[3 * h]
            loss = ((y - predicted) ** 2).sum()
            loss.backward()
            losses.append(loss.item())
            with torch.no_grad():
                step = rate * theta.grad
                theta -= step
                theta.grad = None
                if step.abs().max().item() < min_step:
                    break
        return theta.detach().numpy(), losses

    return train


def jax_trainer():
    """``train`` with a jitted JAX epoch, or None when jax is not installed."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def ssr(theta, x, y):
        h = (theta.shape[0] - 1) // 3
        z = x[:, None] * theta[0 : 2 * h : 2] + theta[1 : 2 * h : 2]
        predicted = jax.nn.softplus(z) @ theta[2 * h : 3 * h] + theta[3 * h]
        return jnp.sum((y - predicted) ** 2)

    @jax.jit
    def epoch(theta, x, y, rate):
        loss, grad = jax.value_and_grad(ssr)(theta, x, y)
        step = rate * grad
        return theta - step, loss, jnp.max(jnp.abs(step))

    def train(x, y, theta, rate, epochs, min_step=0.0):
        x, y, theta = jnp.asarray(x), jnp.asarray(y), jnp.asarray(theta, dtype=jnp.float64)
        losses = []
        for _ in range(epochs):
            theta, loss, largest = epoch(theta, x, y, rate)
            losses.append(float(loss))
            if float(largest) < min_step:
                break
        return np.asarray(theta), losses

    return train
