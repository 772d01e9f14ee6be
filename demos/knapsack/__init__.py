"""KNAPSACK from sentence descriptions (CombOptNet paper, Sec. 4.3).

Run as ``python -m demos knapsack ...`` (or ``python -m demos.knapsack ...``); see
``docs/knapsack.md``. ``main(argv)`` is the entry point for the ``demos`` dispatch table.
"""

from .cli import main

__all__ = ["main"]
