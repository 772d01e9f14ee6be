"""The conformance kit's fixed problems, usable outside pytest (e.g. to try a gradient rule).

Every problem here is deterministic (seeded) and built on coefficient grids or from the
paper's data, so that "feasible" and "optimal" are unambiguous: any integer point's slack is
zero or far above every solver's tolerance. ``conformance_problems()`` yields them all by
name; the kit's tests use the builders one by one.

The Random Constraints rows are a sample shipped with combopt
(``data/random_constraints_sample.npz``): for each of the paper's 40 datasets (binary and
dense, m = 1, 2, 4, 8, seeds 0-4; ``demos/data/random_constraints`` in the repository) the
constraints, 8 seeded test rows (costs and the published optimal points) and, for the
thread test, the first 16 test costs of ``binary_m2_seed1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from ..spec import ILPInstance, ILPProblem, make_problem

SAMPLE_FILE = "random_constraints_sample.npz"
SAMPLE_ROWS = 8  # test rows per Random Constraints dataset
THREAD_DATASET = "binary_m2_seed1"
#: Beyond enumeration: (n, m, lb, ub) of the random instances every backend must agree on.
MEDIUM_CASES: dict[str, tuple[int, int, int, int]] = {
    "binary-n30": (30, 8, 0, 1),
    "int-n12": (12, 6, -4, 4),
}
MEDIUM_INSTANCES = 6  # per case


@dataclass(frozen=True)
class ConformanceProblem:
    """One named problem of the kit.

    Attributes:
        name: a stable identifier (``"set-cover-3"``, ``"random-constraints/dense_m4_seed3"``).
        problem: the batch; shared or per-instance constraints, as the test uses it.
        note: what it exercises.
    """

    name: str
    problem: ILPProblem
    note: str


@dataclass(frozen=True)
class RandomConstraintsRows:
    """Seeded test rows of one Random Constraints dataset, with the published optima.

    ``rows`` are the row numbers in the dataset's test split; ``labels[i]`` is the optimum the
    paper's authors computed for ``c[i]`` (Gurobi at its default relative gap of 1e-4).
    """

    name: str
    rows: np.ndarray
    c: np.ndarray
    labels: np.ndarray
    A: np.ndarray
    b: np.ndarray
    lb: float
    ub: float

    def problem(self) -> ILPProblem:
        return make_problem(self.c, self.A, self.b, self.lb, self.ub)


def wide_box() -> ILPInstance:
    """No constraints, wide and fixed bounds: each variable goes to the bound its cost points
    at (``np.where(c > 0, lb, ub)``)."""
    lb = np.array([-1000.0, -3.0, 0.0, 7.0, -20.0, 5.0])
    ub = np.array([1000.0, -3.0, 1.0, 9.0, 20.0, 5.0])
    c = np.array([1.0, -1.0, -0.5, -2.0, 0.25, 3.0])
    return make_problem(c, np.zeros((0, 6)), np.zeros(0), lb, ub).instance(0)


def set_cover(rng: np.random.Generator, n: int = 12, elements: int = 8) -> ILPInstance:
    """Unit-cost set cover, every element coverable: usually many tied optima."""
    cover = rng.random((elements, n)) < 0.3
    cover[np.arange(elements), rng.integers(0, n, elements)] = True
    return make_problem(np.ones(n), -cover.astype(float), -np.ones(elements), 0, 1).instance(0)


def set_covers(count: int = 20, seed: int = 2021) -> list[ILPInstance]:
    rng = np.random.default_rng(seed)
    return [set_cover(rng) for _ in range(count)]


def medium(rng: np.random.Generator, n: int, m: int, lo: float, hi: float) -> ILPInstance:
    """Random unit-norm rows with a feasible origin: too large to enumerate, easy to solve."""
    A = rng.normal(size=(m, n))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    b = rng.uniform(0.0, 1.0, m) * np.sqrt(n) * 0.5
    return make_problem(rng.uniform(-1, 1, n), A, b, lo, hi).instance(0)


def medium_instances(case: str) -> list[ILPInstance]:
    """The ``MEDIUM_CASES[case]`` instances (seeded by their shape)."""
    n, m, lo, hi = MEDIUM_CASES[case]
    rng = np.random.default_rng(n * 100 + m)
    return [medium(rng, n, m, lo, hi) for _ in range(MEDIUM_INSTANCES)]


def hard_instances() -> list[ILPInstance]:
    """Instances no backend finishes in a millisecond, largest first: 150 binaries under 30
    random rows (Gurobi without presolve solved some 100 x 20 ones within 1 ms), then 20
    binaries under 8 equal rows (2^20 points, for enumeration)."""
    return [
        medium(np.random.default_rng(7), 150, 30, 0, 1),
        make_problem(np.ones(20), np.ones((8, 20)), np.full(8, 10.0), 0, 1).instance(0),
    ]


def interrupt_instances() -> list[ILPInstance]:
    """Instances a backend needs a long time for without a time limit, largest first: 120
    binaries under 20 positive unit-norm rows with capacity ``sqrt(n) / 8`` and uneven costs
    (every MIP backend seconds or more), then 20 binaries under 20 such rows (2^20 points, for
    enumeration). Each has a feasible point (``y = 0``)."""
    found = []
    for n in (120, 20):
        rng = np.random.default_rng(n)
        A = rng.uniform(0.0, 1.0, size=(20, n))
        A /= np.linalg.norm(A, axis=1, keepdims=True)
        c = -rng.uniform(0.5, 1.5, size=n)
        found.append(make_problem(c, A, np.full(20, np.sqrt(n) / 8), 0, 1).instance(0))
    return found


def quarter_grid_chunk(rng: np.random.Generator, shared: bool, batch: int = 12) -> ILPProblem:
    """A ``solve_many`` chunk: rows on a 1/4 grid, continuous costs (one optimum each), box
    ``[-1, 1]^6``. Per-instance: instances 4-6 repeat one constraint set back to back (a kept
    model is reused), 2 is integer-infeasible, 9 has an empty box row."""
    n, m = 6, 3
    shape = (m, n) if shared else (batch, m, n)
    A = rng.integers(-4, 5, shape) / 4.0
    b = rng.integers(0, 8, shape[:-1]) / 4.0
    if not shared:
        A[4:7], b[4:7] = A[4], b[4]
        row = np.where(np.arange(n) < 2, 2.0, 0.0)  # 2 y0 + 2 y1 == 1 has no integer point
        A[2, 0], b[2, 0] = row, 1.0
        A[2, 1], b[2, 1] = -row, -1.0
        A[9, 0], b[9, 0] = np.eye(n)[0], -2.0  # y0 <= -2 leaves the box
    c = rng.uniform(-1, 1, (batch, n))
    return make_problem(c, A, b, -1, 1)


def solve_many_chunk(shared: bool) -> ILPProblem:
    return quarter_grid_chunk(np.random.default_rng(11 if shared else 12), shared)


def infeasible_shared_chunk() -> ILPProblem:
    """A shared constraint set ``2 y0 + 2 y1 == 1`` with no integer point, three costs."""
    A = np.array([[2.0, 2.0, 0.0], [-2.0, -2.0, 0.0]])
    return make_problem(np.eye(3), A, np.array([1.0, -1.0]), 0, 1)


def equality_instances() -> dict[str, ILPInstance]:
    """Fixed problems with equality rows ``A_eq y == b_eq``, by name.

    ``assignment``: two "exactly one of three" rows and a ``<=`` row over 6 binaries,
    continuous costs (one optimum); ``no-integer-point``: the single equality
    ``2 y0 + 2 y1 == 1`` (LP-feasible, integer-infeasible); ``out-of-reach``:
    ``y0 + y1 + y2 == 4`` over binaries; ``mixed``: two equalities and two ``<=`` rows on a
    1/4 grid over ``[-2, 2]^5`` with negative coefficients; ``equalities-only``: ``m = 0``.
    """
    rng = np.random.default_rng(31)
    one_of = np.kron(np.eye(2), np.ones(3))  # y0 + y1 + y2 == 1, y3 + y4 + y5 == 1
    mixed_eq = np.array([[1.0, -2.0, 0.5, 0.0, 1.0], [0.0, 1.0, 1.0, -1.0, 0.0]])
    mixed_le = rng.integers(-4, 5, (2, 5)) / 4.0
    point = np.array([1.0, 1.0, -2.0, 0.0, 2.0])
    problems = {
        "assignment": make_problem(
            rng.uniform(-1, 1, 6), [[1.0, 0, 0, 1, 0, 0]], [1.0], 0, 1, one_of, np.ones(2)
        ),
        "no-integer-point": make_problem(
            rng.uniform(-1, 1, 3), np.zeros((0, 3)), np.zeros(0), 0, 1, [[2.0, 2.0, 0]], [1.0]
        ),
        "out-of-reach": make_problem(
            -np.ones(4), [[0, 0, 0, 1.0]], [1.0], 0, 1, [[1.0, 1.0, 1.0, 0]], [4.0]
        ),
        "mixed": make_problem(
            rng.uniform(-1, 1, 5),
            mixed_le,
            mixed_le @ point + 0.25,
            -2,
            2,
            mixed_eq,
            mixed_eq @ point,
        ),
        "equalities-only": make_problem(
            rng.uniform(-1, 1, 4), np.zeros((0, 4)), np.zeros(0), -1, 1, [[1.0, 1, 1, 1]], [2.0]
        ),
    }
    return {name: problem.instance(0) for name, problem in problems.items()}


def equality_chunk(shared: bool, batch: int = 10) -> ILPProblem:
    """A ``solve_many`` chunk with equality rows (``y0 + y1 + y2 == k`` and a 1/4-grid row)
    and ``<=`` rows, box ``[-1, 1]^6``, continuous costs. Per-instance: instances 3-5 repeat
    one constraint set (a kept model is reused), 1 asks ``y0 + y1 + y2 == 4`` (out of reach),
    7 differs from 6 only in ``b_eq``."""
    rng = np.random.default_rng(41 if shared else 42)
    n = 6
    A_eq = np.array([[1.0, 1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.5, -0.25, 1.0]])
    A = rng.integers(-4, 5, (2, n)) / 4.0
    b = np.full(2, 1.0)
    c = rng.uniform(-1, 1, (batch, n))
    if shared:
        return make_problem(c, A, b, -1, 1, A_eq, np.array([1.0, 0.25]))
    A_eq = np.repeat(A_eq[None], batch, 0)
    A_eq[:, 1, 3:] += rng.integers(-1, 2, (batch, 3)) / 4.0
    b_eq = np.stack([rng.integers(-2, 3, batch).astype(float), np.full(batch, 0.25)], 1)
    A_eq[3:6], b_eq[3:6] = A_eq[3], b_eq[3]
    b_eq[1, 0] = 4.0
    A_eq[7], b_eq[7] = A_eq[6], b_eq[6] + np.array([1.0, 0.0])
    return make_problem(
        c, np.repeat(A[None], batch, 0), np.repeat(b[None], batch, 0), -1, 1, A_eq, b_eq
    )


@cache
def _sample() -> dict[str, np.ndarray]:
    path = resources.files(__package__).joinpath("data", SAMPLE_FILE)
    with path.open("rb") as fh, np.load(fh) as data:
        return {key: data[key] for key in data.files}


def random_constraints() -> list[RandomConstraintsRows]:
    """The shipped sample of every Random Constraints dataset, sorted by name."""
    data = _sample()
    names = sorted({key.split("/")[0] for key in data if key.split("/")[1] == "rows"})
    return [
        RandomConstraintsRows(
            name,
            data[f"{name}/rows"],
            data[f"{name}/c"],
            data[f"{name}/labels"],
            data[f"{name}/A"],
            data[f"{name}/b"],
            float(data[f"{name}/lb"]),
            float(data[f"{name}/ub"]),
        )
        for name in names
    ]


def thread_batch() -> ILPProblem:
    """16 instances of ``binary_m2_seed1`` with per-instance ``A`` (the data's plus seeded
    noise of 0.05): a batch whose answers must not depend on how many threads solve it."""
    data = _sample()
    c, A, b = (data[f"threads/{key}"] for key in ("c", "A", "b"))
    batch = len(c)
    noisy = A[None] + np.random.default_rng(5).normal(0, 0.05, (batch, *A.shape))
    return make_problem(c, noisy, np.broadcast_to(b, (batch, len(b))), 0, 1)


def conformance_problems() -> Iterator[ConformanceProblem]:
    """Every fixed problem of the kit, by name (the generated ones are in ``strategies``)."""
    yield ConformanceProblem("wide-box", _batch(wide_box()), "bounds, no constraints")
    for i, inst in enumerate(set_covers()):
        yield ConformanceProblem(f"set-cover-{i}", _batch(inst), "unit costs: tied optima")
    for rc in random_constraints():
        yield ConformanceProblem(
            f"random-constraints/{rc.name}", rc.problem(), "the paper's data, published optima"
        )
    for case in MEDIUM_CASES:
        for i, inst in enumerate(medium_instances(case)):
            yield ConformanceProblem(f"{case}-{i}", _batch(inst), "beyond enumeration")
    yield ConformanceProblem("threads", thread_batch(), "per-instance constraints")
    for shared in (True, False):
        label = "shared" if shared else "per-instance"
        yield ConformanceProblem(
            f"solve-many-{label}", solve_many_chunk(shared), "a chunk for solve_many"
        )
    yield ConformanceProblem("infeasible-chunk", infeasible_shared_chunk(), "no integer point")
    for name, inst in equality_instances().items():
        yield ConformanceProblem(f"equality-{name}", _batch(inst), "equality rows")
    for shared in (True, False):
        label = "shared" if shared else "per-instance"
        yield ConformanceProblem(
            f"equality-chunk-{label}", equality_chunk(shared), "equality rows in a chunk"
        )
    for i, inst in enumerate(hard_instances()):
        yield ConformanceProblem(f"hard-{i}", _batch(inst), "time limits")
    for i, inst in enumerate(interrupt_instances()):
        yield ConformanceProblem(f"interrupt-{i}", _batch(inst), "interrupt() of a long solve")


def _batch(inst: ILPInstance) -> ILPProblem:
    return make_problem(inst.c[None], inst.A, inst.b, inst.lb, inst.ub, inst.A_eq, inst.b_eq)
