"""Quickstart with JAX: the same layer as a ``custom_vjp`` function, under ``jit``."""

import jax
import jax.numpy as jnp

from combopt_jax import ILPLayer

layer = ILPLayer(lb=0, ub=1, solver="highs", tau=0.5)  # y in {0, 1}^n

c = jnp.array([[-1.0, -2.0, 0.5]])  # costs (B, n): minimize c.y
A = jnp.array([[1.0, 1.0, 1.0]])  # constraints A y <= b, (m, n)
b = jnp.array([1.0])  # right-hand sides (m,): pick at most one
y_wanted = jnp.array([[1.0, 1.0, 0.0]])


def loss(c, A, b):
    return jnp.sum((layer(c, A, b) - y_wanted) ** 2)


grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(c, A, b)  # dL/dc, dL/dA, dL/db
print(layer(c, A, b), *grads, sep="\n")
