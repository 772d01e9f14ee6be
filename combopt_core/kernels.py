"""The optional compiled kernels: loaded once, NumPy when numba is missing.

Three loops have a compiled twin written with numba (``pip install 'combopt[fast]'``): the
backward (``gradient_kernel``), the enumeration of a small box (``enumeration_kernel``) and
the ILP-Loss negatives (``negatives_kernel``). Each caller picks its path with an
``implementation`` of ``"auto"``, ``"numpy"`` or ``"numba"``; this module answers the one
question they share: is the compiled module there?
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from functools import cache
from types import ModuleType


@cache
def load_kernel(module: str) -> ModuleType | None:
    """``combopt_core.<module>``, imported once; ``None`` when numba is not installed.

    A kernel that fails to import although numba is installed (a broken numba, say) warns
    once with the reason and gives ``None``, so that the caller runs its NumPy path.
    """
    if importlib.util.find_spec("numba") is None:
        return None
    try:
        return importlib.import_module(f"combopt_core.{module}")
    except ImportError as exc:
        warnings.warn(
            f"numba is installed but combopt_core.{module} failed to load ({exc}); "
            "using the NumPy path",
            RuntimeWarning,
            stacklevel=2,
        )
        return None


def kernel_for(module: str, implementation: str, what: str) -> ModuleType | None:
    """The compiled module for ``implementation``: ``None`` for ``"numpy"``, the module or
    ``None`` for ``"auto"``, the module or an ``ImportError`` saying that ``what`` needs
    numba for ``"numba"``."""
    if implementation == "numpy":
        return None
    kernel = load_kernel(module)
    if kernel is None and implementation == "numba":
        raise ImportError(
            f"implementation='numba': {what} needs numba (pip install 'combopt[fast]'); "
            "use implementation='numpy' or 'auto' without it"
        )
    return kernel
