"""Visual Sudoku: every given digit drawn as a handwritten digit image.

Images are scikit-learn's bundled handwritten digits (``sklearn.datasets.load_digits``:
1,797 grayscale 8x8 images, shipped inside the package, no download), scaled to ``[0, 1]``.
Each digit's images are split once (seeded) into a training pool (60 %) and a test pool
(40 %), so training and test puzzles never share an image; the validation puzzles, carved
from training, draw from the training pool, or (pools ``"fit"`` and ``"val"``) the training
puzzles from 80 % of it and the validation puzzles from the other 20 %, images the CNN never
trains on.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

TRAIN_SHARE = 0.6
VAL_SHARE = 0.2  # of the training pool: the images of pool "val"
POOLS = ("train", "test", "fit", "val")


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


def pools(pool: str, seed: int = 0) -> dict[int, np.ndarray]:
    """``{digit: indices into the image set}`` of ``pool``: ``"train"`` or ``"test"``, or
    ``"fit"`` and ``"val"``, the training pool's split into 80 % and 20 %."""
    if pool not in POOLS:
        raise ValueError(f"pool: expected one of {POOLS}, got {pool!r}")
    _, labels = _digits()
    rng = np.random.default_rng([seed, 7])
    out = {}
    for digit in range(1, 10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        cut = int(TRAIN_SHARE * len(idx))
        train, test = idx[:cut], idx[cut:]
        held = int(VAL_SHARE * len(train))
        out[digit] = {"train": train, "test": test, "fit": train[held:], "val": train[:held]}[pool]
    return out


def draw_images(puzzles: np.ndarray, pool: str, seed: int = 0) -> np.ndarray:
    """Image indices ``(N, s, s)`` for the givens of ``puzzles`` (``-1`` at blanks).

    Each given gets an image of its digit drawn (seeded) from ``pool``.
    """
    choice = pools(pool, seed)
    rng = np.random.default_rng([seed, 11, POOLS.index(pool)])
    out = np.full(puzzles.shape, -1, dtype=np.int64)
    for digit, idx in choice.items():
        where = puzzles == digit
        out[where] = rng.choice(idx, size=int(where.sum()))
    return out


def images(index: np.ndarray) -> np.ndarray:
    """The ``(..., 8, 8)`` images of ``index`` (zeros where ``index`` is ``-1``)."""
    pictures, _ = _digits()
    out = pictures[np.maximum(index, 0)]
    out[index < 0] = 0.0
    return out


def labels(index: np.ndarray) -> np.ndarray:
    """The digit labels of image indices (``0`` where ``index`` is ``-1``)."""
    _, digit = _digits()
    return np.where(index >= 0, digit[np.maximum(index, 0)], 0)


def shift(images, generator=None):
    """``(N, 8, 8)`` images, each moved by a random whole pixel in ``-1..1`` along each axis
    (zero padded): the training augmentation of ``--cnn-shift``. Torch tensors in and out."""
    import torch

    n = images.shape[0]
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1))
    dy = torch.randint(0, 3, (n,), generator=generator)
    dx = torch.randint(0, 3, (n,), generator=generator)
    rows = (torch.arange(8)[None, :] + dy[:, None])[:, :, None]
    cols = (torch.arange(8)[None, :] + dx[:, None])[:, None, :]
    return padded[torch.arange(n)[:, None, None], rows, cols]
