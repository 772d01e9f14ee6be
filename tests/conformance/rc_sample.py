"""Builds the conformance kit's Random Constraints sample from ``demos/data``.

The kit ships ``combopt_core/testing/data/random_constraints_sample.npz`` so that it runs
outside a checkout; ``test_kit_sample.py`` checks that the file equals what this builds.
Rebuild it (after changing the data or the sampling) from the repository root with::

    python tests/conformance/rc_sample.py
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from combopt_core.testing.problems import SAMPLE_FILE, SAMPLE_ROWS, THREAD_DATASET

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "demos" / "data" / "random_constraints"
TARGET = REPO / "combopt_core" / "testing" / "data" / SAMPLE_FILE
THREAD_ROWS = 16


def build_sample(data_dir: Path = DATA) -> dict[str, np.ndarray]:
    """Per dataset: ``SAMPLE_ROWS`` test rows drawn with a seed from its name (``rows``, their
    costs ``c`` and published optima ``labels``) and its ``A``, ``b``, ``lb``, ``ub``; plus
    the first ``THREAD_ROWS`` test costs of ``THREAD_DATASET`` for the thread test."""
    out: dict[str, np.ndarray] = {}
    for path in sorted(data_dir.glob("*.npz")):
        data = np.load(path)
        rows = np.random.default_rng(zlib.crc32(path.stem.encode())).choice(
            len(data["c_test"]), SAMPLE_ROWS, replace=False
        )
        out[f"{path.stem}/rows"] = rows
        out[f"{path.stem}/c"] = data["c_test"][rows]
        out[f"{path.stem}/labels"] = data["y_test"][rows]
        for key in ("A", "b", "lb", "ub"):
            out[f"{path.stem}/{key}"] = data[key]
    threads = np.load(data_dir / f"{THREAD_DATASET}.npz")
    out["threads/c"] = threads["c_test"][:THREAD_ROWS]
    out["threads/A"], out["threads/b"] = threads["A"], threads["b"]
    return out


if __name__ == "__main__":
    np.savez_compressed(TARGET, **build_sample())
    print(f"wrote {TARGET.relative_to(REPO)}")
