"""Cost rules beside CombOptNet's on one fixed ILP with learned costs.

Run as ``python -m demos cost-rules [options]``; see ``docs/cost-rules.md``. ``main(argv)``
is the entry point for the ``demos`` dispatch table.
"""

from .cli import main

__all__ = ["main"]
