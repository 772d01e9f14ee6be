"""Quickstart with JAX: the same layer as a ``custom_vjp`` function, under ``jit``."""

import jax
import jax.numpy as jnp

from combopt_jax import ILPLayer

layer = ILPLayer(lb=0, ub=1, solver="highs", tau=0.5)  # y in {0, 1}^n

# minimize c.y  s.t.  A y <= b: here "pick at most one item"
c = jnp.array([[-1.0, -2.0, 0.5]])  # costs (B, n)
A = jnp.array([[1.0, 1.0, 1.0]])  # constraints (m, n)
b = jnp.array([1.0])  # right-hand sides (m,)
wanted = jnp.array([[1.0, 1.0, 0.0]])  # items 0 and 1


def loss(c, A, b):
    return jnp.sum((layer(c, A, b) - wanted) ** 2)


grad = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))
dc, dA, db = grad(c, A, b)  # dL/dc, dL/dA, dL/db
print(layer(c, A, b), dc, dA, db, sep="\n")
