"""HiGHS backend for combopt (``highspy``), registered through the ``combopt.backends`` entry
point exactly as a third-party plugin would be.

Exactness: ``mip_rel_gap = mip_abs_gap = 0``. Each thread keeps one ``Highs`` object with
``threads = 1`` (set before its first run, as HiGHS requires), and the model is passed in one
``passModel`` call from arrays. HiGHS releases the GIL, so batches run on a thread pool.
"""

from __future__ import annotations

from combopt_core import BackendSpec, hookimpl
from combopt_core import __version__ as __version__  # plugins ship with combopt
from combopt_core.options import check_keywords


def _make(**options):
    from .solver import HighsSolver

    check_keywords("highs", options, HighsSolver)  # a misspelt keyword: the closest ones named
    return HighsSolver(**options)


@hookimpl
def register_backends(register):
    register(
        BackendSpec(
            name="highs",
            factory=_make,
            module="highspy",
            install_hint="pip install 'combopt[highs]'",
            description="HiGHS (MIT licence), the default backend",
        )
    )
