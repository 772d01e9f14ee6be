"""Sudoku with learned rules: CombOptNet at 4x4, 6x6 and 9x9, symbolic and visual.

``main(argv)`` is the command line (``python -m demos sudoku ...``); see ``cli``.
"""

from .cli import main

__all__ = ["main"]
