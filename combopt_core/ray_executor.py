"""``RayExecutor``: solve a batch's chunks on a Ray cluster (optional extra ``combopt[ray]``).

Ray does the scheduling and placement; this module only cuts the batch into chunks and
hands them to a ``ray.util.ActorPool`` of long-lived actors, one CPU each, that keep the
solver (and so its models) alive between calls. ``ray`` is imported when a ``RayExecutor``
is created, never by ``import combopt_core``.
"""

from __future__ import annotations

from typing import Any

from .executors import Executor, check_workers, chunk_bounds, solve_chunk, subproblem
from .result import Solution
from .solver import ILPSolver
from .spec import ILPProblem

INSTALL_HINT = "pip install 'combopt[ray]'"


def _import_ray():
    try:
        import ray
    except ImportError as exc:
        raise ImportError(
            f"executor: the Ray executor needs ray; install with: {INSTALL_HINT}"
        ) from exc
    return ray


class _ChunkSolver:
    """The actor: holds one solver and solves the chunks it is sent."""

    def __init__(self, solver: ILPSolver) -> None:
        self.solver = solver

    def solve(
        self, chunk: ILPProblem, time_limit: float | None, offset: int, on_error: str
    ) -> list[Solution]:
        return solve_chunk(self.solver, chunk, time_limit, offset, on_error)


class RayExecutor(Executor):
    """Sends chunks of a batch to Ray actors.

    Args:
        workers: actors (one CPU each); default: the cluster's CPU count.
        address: the cluster to join when Ray is not initialised yet (``None``: start a
            local instance, ``"auto"``: an existing one). When this executor starts Ray, its
            ``close()`` shuts Ray down again.
        init_options: further keyword arguments for ``ray.init`` (e.g. ``num_cpus``).

    The solver must pickle (Ray serialises it once per actor).
    """

    kind = "ray"

    def __init__(
        self, workers: int | None = None, address: str | None = None, **init_options: Any
    ) -> None:
        ray = _import_ray()
        self._ray = ray
        self._owns_ray = False
        if not ray.is_initialized():
            ray.init(address=address, **init_options)
            self._owns_ray = True
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.workers = check_workers(workers)
        self._actor_cls = ray.remote(num_cpus=1)(_ChunkSolver)
        self._solver: ILPSolver | None = None
        self._actors: list[Any] = []
        self._closed = False

    def __reduce__(self):
        raise TypeError(
            "RayExecutor: cannot be pickled or deep-copied (it holds Ray actors); pass "
            "executor='ray' to share the process's Ray executor instead"
        )

    def _actor_pool(self, solver: ILPSolver):
        if self._closed:
            raise RuntimeError("RayExecutor: used after close()")
        if solver is not self._solver:
            self._kill_actors()
            ref = self._ray.put(solver)
            self._actors = [self._actor_cls.remote(ref) for _ in range(self.workers)]
            self._solver = solver
        from ray.util import ActorPool

        return ActorPool(self._actors)

    def run(self, solver, problem, time_limit=None, on_error="raise"):
        pool = self._actor_pool(solver)
        chunks = [
            (subproblem(problem, slice(a, b)), a)
            for a, b in chunk_bounds(problem.batch_size, self.workers)
        ]
        results = pool.map(
            lambda actor, item: actor.solve.remote(item[0], time_limit, item[1], on_error), chunks
        )
        return [s for chunk_solutions in results for s in chunk_solutions]

    def _kill_actors(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
        self._solver = None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._ray.is_initialized():
            self._kill_actors()
            if self._owns_ray:
                self._ray.shutdown()
