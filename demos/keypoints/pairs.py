"""The data every keypoint-matching source produces: one pair of p matched keypoints.

Convention: source keypoint ``i`` matches target keypoint ``perm[i]``. The ILP's variable
``y[i * p + j]`` (row-major ``p x p``) is 1 iff source ``i`` is matched to target ``j``;
``assignment_vector(perm)`` is the ground-truth ``y*``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KeypointPair:
    """One matching instance.

    Attributes:
        src_pos, trg_pos: keypoint positions, ``(p, 2)`` float, ``(x, y)`` in any frame
            (normalised per view by the model).
        src_feat, trg_feat: per-keypoint descriptors ``(p, d)``, or ``None`` when the
            features come from images through a backbone (SPair-71k).
        perm: ``(p,)`` int, source ``i`` matches target ``perm[i]``; a permutation.
        category: the object class (name or index as a string).
        src_image, trg_image: image paths (SPair-71k) or ``None``.
        src_bbox, trg_bbox: object boxes ``(x1, y1, x2, y2)`` in pixels (SPair-71k) or ``None``.
    """

    src_pos: np.ndarray
    trg_pos: np.ndarray
    perm: np.ndarray
    category: str
    src_feat: np.ndarray | None = None
    trg_feat: np.ndarray | None = None
    src_image: str | None = None
    trg_image: str | None = None
    src_bbox: tuple[float, float, float, float] | None = None
    trg_bbox: tuple[float, float, float, float] | None = None

    @property
    def num_keypoints(self) -> int:
        return self.perm.shape[0]


def assignment_vector(perm: np.ndarray) -> np.ndarray:
    """The ``p x p`` permutation matrix of ``perm`` flattened row-major, float64 ``(p*p,)``."""
    perm = np.asarray(perm)
    p = perm.shape[0]
    y = np.zeros((p, p))
    y[np.arange(p), perm] = 1.0
    return y.ravel()
