"""JAX adapter for combopt: the CombOptNet ILP layer as a ``jax.custom_vjp`` function.

``ILPLayer(lb, ub, solver, tau)(c, A, b) -> y`` solves
``min c.y s.t. A y <= b, lb <= y <= ub, y integer`` in the forward pass (a real ILP solver,
on the host, through ``jax.pure_callback``) and returns the paper's gradients for ``c``,
``A`` and ``b`` in the backward pass. Both passes call the same framework-free core as the
PyTorch adapter (``combopt_core.solve_batch`` and ``combopt_core.combopt_gradients``), so the
two adapters agree to floating-point precision. Works eagerly and under ``jax.jit``.
"""

try:
    import jax  # noqa: F401 - only to name the missing framework clearly
except ImportError as exc:
    raise ImportError(
        'combopt_jax needs JAX, which is not installed: pip install "combopt[jax]"'
    ) from exc

from combopt_core import __version__ as __version__

from .layer import ILPInfo, ILPLayer

__all__ = ["ILPInfo", "ILPLayer"]
