"""The KNAPSACK-from-sentences dataset (paper Sec. 4.3), regenerated offline.

The paper's sentences and InferSent embeddings cannot be downloaded here, so this module
rebuilds a dataset of the same shape from templates and word lists of our own:

- ``num_instances`` instances of ``NUM_ITEMS = 10`` items; item weights are integers drawn
  uniformly from ``[15, 35]`` (pounds), prices from ``[10, 45]`` (dollars); the knapsack
  capacity is ``CAPACITY = 100``. The first ``num_train`` instances (4,500 of 5,000 by
  default) are the training split, the rest the test split.
- Each item is one sentence naming an invented item and stating its weight and price.
  Variant ``"main"`` writes every sentence with one fixed template; variant ``"mixed"``
  draws one of five templates per item (harder: the numbers move around the sentence).
  Both variants use the *same* numbers for the same seed; only the wording differs.
- The label is the exact optimum ``y* in {0,1}^10`` of
  ``max price.y  s.t.  weight.y <= 100``, found by enumerating all ``2^10`` subsets.

Ties (several optimal subsets, about 10 % of instances) are broken deterministically: among
the optimal subsets take the one of **least total weight**; if several remain, the one with
the **smallest bitmask** ``sum_i y_i 2^i`` (that is, prefer leaving out high-index items).
``num_optima`` records how many optimal subsets each instance has, so that evaluations can
report "optimal value reached" beside exact match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUM_ITEMS = 10
WEIGHT_RANGE = (15, 35)  # pounds, inclusive
PRICE_RANGE = (10, 45)  # dollars, inclusive
CAPACITY = 100
VARIANTS = ("main", "mixed")

# Invented items (our own list). Only the numbers carry information about the label.
ITEM_NAMES = (
    "glimmer lantern",
    "copper astrolabe",
    "mossweave cloak",
    "brass spyglass",
    "thunderwood staff",
    "frostglass vial",
    "ember kettle",
    "quartz compass",
    "velvet satchel",
    "iron mandolin",
    "starlight amulet",
    "cedar chessboard",
    "silver hourglass",
    "woolen bedroll",
    "obsidian mortar",
    "tin music box",
    "amber inkwell",
    "sailcloth tent",
    "jade teapot",
    "feathered quill set",
    "bronze sundial",
    "marble bookend",
    "pewter goblet",
    "linen kite",
    "walnut birdhouse",
    "crystal prism",
    "leather atlas",
    "clockwork beetle",
    "granite whetstone",
    "porcelain lamp",
)

# Every template states the weight in pounds and the price in dollars.
TEMPLATES = (
    "The {item} weighs {weight} pounds and costs {price} dollars.",
    "For {price} dollars you can buy a {item} that weighs {weight} pounds.",
    "A {weight}-pound {item} is on sale at a price of {price} dollars.",
    "This {item} has a weight of {weight} pounds and sells for {price} dollars.",
    "Weighing {weight} pounds, the {item} is priced at {price} dollars.",
)


@dataclass(frozen=True)
class KnapsackDataset:
    """Instances, sentence parts and exact labels. Shapes ``(N, 10)`` unless stated.

    Attributes:
        weights, prices: integer item weights (pounds) and prices (dollars).
        names, templates: indices into ``ITEM_NAMES`` and ``TEMPLATES`` per item.
        labels: the optimal selection (tie-broken as in the module docstring), ``uint8``.
        optimum: the optimal total price ``(N,)``.
        num_optima: how many subsets reach ``optimum`` ``(N,)``.
        num_train: the first ``num_train`` instances are the training split.
        variant, seed: how it was generated.
    """

    weights: np.ndarray
    prices: np.ndarray
    names: np.ndarray
    templates: np.ndarray
    labels: np.ndarray
    optimum: np.ndarray
    num_optima: np.ndarray
    num_train: int
    variant: str
    seed: int

    def __len__(self) -> int:
        return self.weights.shape[0]

    def sentences(self) -> list[list[str]]:
        """The 10 item sentences of every instance, ``N`` lists of 10 strings."""
        return [
            [
                TEMPLATES[t].format(item=ITEM_NAMES[k], weight=w, price=p)
                for t, k, w, p in zip(ts, ks, ws, ps)
            ]
            for ts, ks, ws, ps in zip(self.templates, self.names, self.weights, self.prices)
        ]

    def split(self, name: str) -> np.ndarray:
        """Instance indices of ``"train"`` or ``"test"``."""
        if name == "train":
            return np.arange(self.num_train)
        if name == "test":
            return np.arange(self.num_train, len(self))
        raise ValueError(f"name: expected 'train' or 'test', got {name!r}")


def as_item_arrays(
    weights: np.ndarray, other: np.ndarray, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """``weights`` and ``other`` as float64 ``(N, n)`` arrays of one shape, else ValueError."""
    weights = np.asarray(weights, dtype=np.float64)
    other = np.asarray(other, dtype=np.float64)
    if weights.ndim != 2 or weights.shape != other.shape:
        raise ValueError(
            f"weights, {name}: expected two (N, n) arrays of one shape, got {weights.shape} "
            f"and {other.shape}"
        )
    return weights, other


def all_subsets(n: int = NUM_ITEMS) -> np.ndarray:
    """Every 0/1 vector of length ``n``, row ``k`` = bits of ``k`` (item ``i`` = bit ``i``)."""
    k = np.arange(2**n)
    return ((k[:, None] >> np.arange(n)) & 1).astype(np.int64)


def solve_exact(
    weights: np.ndarray, prices: np.ndarray, capacity: float = CAPACITY
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact 0/1 knapsack by enumeration, with the documented tie-break.

    Args:
        weights, prices: ``(N, n)`` arrays (any real values; ``n`` small, 2^n subsets).
        capacity: the right-hand side of ``weights.y <= capacity``.

    Returns:
        ``(labels (N, n) uint8, optimum (N,), num_optima (N,))``: the optimal subset of least
        weight, then of smallest bitmask; its total price; and the number of optimal subsets.
    """
    weights, prices = as_item_arrays(weights, prices, "prices")
    subsets = all_subsets(weights.shape[1])
    total_w = weights @ subsets.T  # (N, 2^n)
    total_p = np.where(total_w <= capacity, prices @ subsets.T, -np.inf)
    optimum = total_p.max(axis=1)
    is_opt = np.isclose(total_p, optimum[:, None], rtol=0, atol=1e-9)
    # Least weight among the optima; argmin returns the first, i.e. the smallest bitmask.
    best = np.argmin(np.where(is_opt, total_w, np.inf), axis=1)
    return subsets[best].astype(np.uint8), optimum, is_opt.sum(axis=1)


def generate(
    num_instances: int = 5000, num_train: int = 4500, variant: str = "main", seed: int = 0
) -> KnapsackDataset:
    """Draw a dataset (deterministic in ``seed``; the variants share their numbers)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")
    if not 0 < num_train < num_instances:
        raise ValueError(
            f"num_train: must lie in (0, num_instances={num_instances}), got {num_train}"
        )
    numbers_seq, text_seq = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(numbers_seq)
    shape = (num_instances, NUM_ITEMS)
    weights = rng.integers(WEIGHT_RANGE[0], WEIGHT_RANGE[1] + 1, size=shape)
    prices = rng.integers(PRICE_RANGE[0], PRICE_RANGE[1] + 1, size=shape)
    text = np.random.default_rng(text_seq)
    names = text.integers(len(ITEM_NAMES), size=shape)
    # Drawn in both variants so that the item names agree between them.
    mixed = text.integers(len(TEMPLATES), size=shape)
    templates = mixed if variant == "mixed" else np.zeros(shape, dtype=np.int64)
    labels, optimum, num_optima = solve_exact(weights, prices)
    return KnapsackDataset(
        weights=weights,
        prices=prices,
        names=names,
        templates=templates,
        labels=labels,
        optimum=optimum,
        num_optima=num_optima,
        num_train=num_train,
        variant=variant,
        seed=seed,
    )
