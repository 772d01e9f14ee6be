"""SPair-71k for keypoint matching: the on-disk layout, the paper's filtering, a backbone hook.

Layout (as distributed, ``SPair-71k/``)::

    JPEGImages/<category>/<image>.jpg
    PairAnnotation/{trn,val,test}/<pair id>.json
    Layout/large/{trn,val,test}.txt          one pair id per line, "<idx>-<src>-<trg>:<category>"

A pair annotation holds ``src_imname``, ``trg_imname``, ``category``, ``src_kps`` and
``trg_kps`` (``[[x, y], ...]`` in pixels, in correspondence: row ``k`` of both is keypoint
``kps_ids[k]``), ``kps_ids``, ``src_bndbox`` and ``trg_bndbox`` (``[x1, y1, x2, y2]``).

Filtering (paper, appendix A.1): pairs with fewer than ``p`` common keypoints are dropped;
of the others a random subset of exactly ``p`` keypoints is drawn -- afresh at every access
for training, once per pair (seeded) for validation and test. The target keypoints are
shuffled so that the order reveals nothing; ``KeypointPair.perm`` is the ground truth.

Features come from a backbone the user has on disk (nothing is downloaded): images are
cropped to the object box and resized to ``image_size`` square (as BB-GM does), normalised
with the ImageNet statistics, passed through the backbone, and its feature maps are sampled
bilinearly at the keypoints (several maps are concatenated). Reading images needs Pillow.
"""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .pairs import KeypointPair

SPLIT_FILES = {"train": "trn", "trn": "trn", "val": "val", "test": "test"}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _split_name(split: str) -> str:
    if split not in SPLIT_FILES:
        raise ValueError(f"split: expected one of {sorted(SPLIT_FILES)}, got {split!r}")
    return SPLIT_FILES[split]


def read_layout(root: Path, split: str) -> list[str]:
    """The pair ids of ``Layout/large/<split>.txt`` in file order (blank lines skipped)."""
    path = Path(root) / "Layout" / "large" / f"{_split_name(split)}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"root: no SPair-71k split list at {path}")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def read_annotation(root: Path, split: str, pair_id: str) -> dict:
    """The JSON annotation of one pair, checked for the fields the loader uses."""
    path = Path(root) / "PairAnnotation" / _split_name(split) / f"{pair_id}.json"
    if not path.is_file():
        raise FileNotFoundError(f"root: pair {pair_id!r} of split {split!r} has no {path}")
    ann = json.loads(path.read_text())
    missing = {"src_imname", "trg_imname", "category", "src_kps", "trg_kps", "kps_ids"} - set(ann)
    if missing:
        raise ValueError(f"{path}: missing fields {sorted(missing)}")
    if not len(ann["src_kps"]) == len(ann["trg_kps"]) == len(ann["kps_ids"]):
        raise ValueError(f"{path}: src_kps, trg_kps and kps_ids differ in length")
    return ann


class SPairKeypoints(Sequence):
    """The pairs of one split with at least ``p`` common keypoints, as ``KeypointPair``s.

    Args:
        root: the ``SPair-71k`` folder.
        split: ``"train"`` (or ``"trn"``), ``"val"`` or ``"test"``.
        p: keypoints per pair.
        resample: draw the ``p``-subset and the target order afresh at every access
            (training); otherwise they are fixed per pair by ``seed`` (evaluation).
        seed: seeds the draws.
        categories: keep only these classes (``None``: all).
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        p: int,
        resample: bool = False,
        seed: int = 0,
        categories: Sequence[str] | None = None,
    ) -> None:
        if p < 2:
            raise ValueError(f"p: need at least 2 keypoints, got {p}")
        self.root, self.split, self.p = Path(root), split, p
        self.resample, self.seed = resample, seed
        self._rng = np.random.default_rng(seed)
        anns = (read_annotation(self.root, split, pid) for pid in read_layout(self.root, split))
        self.annotations = [
            a
            for a in anns
            if len(a["kps_ids"]) >= p and (categories is None or a["category"] in categories)
        ]

    def __len__(self) -> int:
        return len(self.annotations)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(f"index: {index} out of range for {len(self)} pairs")
        index %= len(self)
        rng = self._rng if self.resample else np.random.default_rng((self.seed, index))
        ann = self.annotations[index]
        keep = np.sort(rng.choice(len(ann["kps_ids"]), size=self.p, replace=False))
        order = rng.permutation(self.p)  # target slot t shows keypoint keep[order[t]]
        src = np.asarray(ann["src_kps"], dtype=np.float64)[keep]
        trg = np.asarray(ann["trg_kps"], dtype=np.float64)[keep][order]
        images = self.root / "JPEGImages" / ann["category"]
        return KeypointPair(
            src_pos=src,
            trg_pos=trg,
            perm=np.argsort(order),
            category=ann["category"],
            src_image=str(images / ann["src_imname"]),
            trg_image=str(images / ann["trg_imname"]),
            src_bbox=_bbox(ann.get("src_bndbox"), src),
            trg_bbox=_bbox(ann.get("trg_bndbox"), trg),
        )


def _bbox(box, kps: np.ndarray) -> tuple[float, float, float, float]:
    """The annotated box, or the keypoints' bounding box when the annotation has none."""
    if box is None:
        lo, hi = kps.min(0), kps.max(0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])
    x1, y1, x2, y2 = (float(v) for v in box)
    return x1, y1, x2, y2


# --- backbone hook -----------------------------------------------------------------------


def vgg16_backbone(weights: str | None) -> nn.Module:
    """VGG16 up to ``relu5_1``, returning ``[relu4_2, relu5_1]`` (BB-GM's features).

    ``weights``: a torchvision VGG16 state dict on disk (required; nothing is downloaded).
    Needs torchvision.
    """
    if weights is None:
        raise ValueError("weights: the vgg16 backbone needs --weights (a state dict on disk)")
    try:
        from torchvision.models import vgg16
    except ImportError as exc:
        raise ImportError("the vgg16 backbone needs torchvision: pip install torchvision") from exc
    net = vgg16(weights=None)
    net.load_state_dict(torch.load(weights, map_location="cpu"))
    return TapFeatures(net.features[:27], taps=(20, 26))  # relu4_2, relu5_1


class TapFeatures(nn.Module):
    """Run ``layers`` in order and return the outputs after the indices in ``taps``."""

    def __init__(self, layers: nn.Sequential, taps: Sequence[int]) -> None:
        super().__init__()
        self.layers, self.taps = layers, tuple(taps)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.taps:
                out.append(x)
        return out


BUILTIN_BACKBONES: dict[str, Callable[[str | None], nn.Module]] = {"vgg16": vgg16_backbone}


def load_backbone(spec: str, weights: str | None = None) -> nn.Module:
    """A backbone from a built-in name (``vgg16``) or ``"package.module:factory"``.

    The factory is called as ``factory(weights)`` when ``weights`` is given, else
    ``factory()``, and must return an ``nn.Module`` mapping images ``(B, 3, H, W)`` to a
    feature map ``(B, C, h, w)`` or a list of them.
    """
    if spec in BUILTIN_BACKBONES:
        return BUILTIN_BACKBONES[spec](weights)
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(
            f"backbone: expected one of {sorted(BUILTIN_BACKBONES)} or 'module:factory', got {spec!r}"
        )
    factory = getattr(importlib.import_module(module_name), attr)
    module = factory(weights) if weights is not None else factory()
    if not isinstance(module, nn.Module):
        raise TypeError(f"backbone: {spec!r} returned {type(module).__name__}, not an nn.Module")
    return module


class BackboneFeatures:
    """``features(pairs) -> (src (B, p, C), trg (B, p, C))`` through ``backbone``.

    Each image is cropped to its pair's box, resized to ``image_size`` square and normalised;
    feature maps are sampled at the keypoints with ``grid_sample`` (bilinear, corners as in
    ``align_corners=False``) and concatenated over maps. Gradients reach the backbone.
    """

    def __init__(self, backbone: nn.Module, image_size: int = 256) -> None:
        self.backbone, self.image_size = backbone, image_size
        self.mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    def crop(self, path: str, box, kps: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Image tensor ``(3, S, S)`` in ``[0, 1]`` and keypoints in ``[-1, 1]`` grid units."""
        try:
            from PIL import Image
        except ImportError as exc:
            raise ImportError("reading SPair-71k images needs Pillow: pip install pillow") from exc
        x1, y1, x2, y2 = box
        w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
        s = self.image_size
        with Image.open(path) as im:
            im = im.convert("RGB").resize((s, s), Image.BILINEAR, box=(x1, y1, x1 + w, y1 + h))
            pixels = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)
        grid = np.stack([(kps[:, 0] - x1) / w, (kps[:, 1] - y1) / h], axis=1) * 2.0 - 1.0
        return pixels, torch.as_tensor(grid, dtype=torch.float32)

    def __call__(self, pairs: Sequence[KeypointPair]) -> tuple[torch.Tensor, torch.Tensor]:
        crops = [self.crop(q.src_image, q.src_bbox, q.src_pos) for q in pairs]
        crops += [self.crop(q.trg_image, q.trg_bbox, q.trg_pos) for q in pairs]
        images = (torch.stack([c[0] for c in crops]) - self.mean) / self.std
        grids = torch.stack([c[1] for c in crops])[:, :, None, :]  # (2B, p, 1, 2)
        maps = self.backbone(images)
        maps = [maps] if isinstance(maps, torch.Tensor) else list(maps)
        sampled = [
            nn.functional.grid_sample(f, grids, mode="bilinear", align_corners=False)[..., 0]
            for f in maps
        ]
        feats = torch.cat(sampled, dim=1).transpose(1, 2)  # (2B, p, C)
        return feats[: len(pairs)], feats[len(pairs) :]


# --- the command --------------------------------------------------------------------------


def add_spair_arguments(parser: argparse.ArgumentParser, protocol_args: Callable) -> None:
    protocol_args(parser)
    parser.add_argument("--root", type=Path, required=True, help="the SPair-71k folder")
    parser.add_argument("--backbone", required=True, help="'vgg16' or 'module:factory'")
    parser.add_argument("--weights", default=None, help="backbone weights on disk")
    parser.add_argument("--backbone-lr", type=float, default=2.5e-6)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--out", type=Path, default=Path("runs/keypoints_spair"))


def run_spair(args: argparse.Namespace, protocol) -> list[dict]:
    """Train and test for each ``--p`` and ``--seeds``; one JSON per run under ``--out``."""
    from .train import DECODERS, KeypointCombOptNet, evaluate, train

    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in args.seeds:
        for p in args.p:
            backbone = load_backbone(args.backbone, args.weights)
            features = BackboneFeatures(backbone, args.image_size)
            train_set = SPairKeypoints(args.root, "train", p, resample=True, seed=seed)
            val_set = SPairKeypoints(args.root, "val", p, seed=seed)
            test_set = SPairKeypoints(args.root, "test", p, seed=seed)
            if not (len(train_set) and len(val_set) and len(test_set)):
                raise ValueError(f"root: a split has no pair with at least p={p} keypoints")
            with torch.no_grad():
                dim = features([train_set[0]])[0].shape[-1]
            model = KeypointCombOptNet(p, dim, protocol, seed=seed, extractor=backbone)
            fit = train(
                model,
                train_set,
                val_set,
                protocol,
                seed=seed,
                features=features,
                extractor_lr=args.backbone_lr,
                log=print,
            )
            test = evaluate(model, test_set, features=features)
            result = {
                "p": p,
                "seed": seed,
                "sizes": {"train": len(train_set), "val": len(val_set), "test": len(test_set)},
                **fit,
                "test": test,
            }
            (args.out / f"spair_p{p}_seed{seed}.json").write_text(json.dumps(result, indent=1))
            print(
                f"SPair-71k p={p} seed={seed}: "
                + ", ".join(f"{d} {100 * test[d]['accuracy']:.1f}%" for d in DECODERS)
            )
            results.append(result)
    return results
