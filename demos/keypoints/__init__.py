"""Keypoint matching with learned assignment constraints (CombOptNet paper, Sec. 4.4).

``main(argv)`` is the command line (``python -m demos keypoints ...``); see ``cli``.
"""

from .cli import main

__all__ = ["main"]
