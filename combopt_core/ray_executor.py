"""``RayExecutor``: solve a batch's chunks on a Ray cluster (optional extra ``combopt[ray]``).

Ray does the placement; this module cuts the batch into chunks and hands each to the next
idle one of its long-lived actors, one CPU each, that keep the solver (and so its models)
alive between calls. ``ray`` is imported when a ``RayExecutor`` is created, never by
``import combopt_core``.

Ctrl-C and errors: the main thread waits in ``ray.wait`` calls of ``ABORT_POLL`` seconds, so
``KeyboardInterrupt`` reaches it at once. When a batch is abandoned (Ctrl-C, or a chunk that
raised) every actor is killed (``ray.kill``: Ray cannot stop a running task of a regular
actor), the executor waits until Ray reports their running tasks ended, and the next batch
starts new actors. The killed actors' processes exit a fraction of a second later (0.1 s
measured on a local instance).
"""

from __future__ import annotations

from typing import Any

from .executors import Executor, check_workers, chunk_bounds, solve_chunk, subproblem
from .failures import ABORT_POLL
from .result import Solution
from .solver import ILPSolver
from .spec import ILPProblem

INSTALL_HINT = "pip install 'combopt[ray]'"
#: Seconds an abandoned batch waits for Ray to report its killed actors' tasks ended.
KILL_WAIT = 5.0


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

    def _actors_for(self, solver: ILPSolver) -> list[Any]:
        """The actors holding ``solver`` (new ones, and the old killed, for a new solver)."""
        if self._closed:
            raise RuntimeError("RayExecutor: used after close()")
        if solver is not self._solver or not self._actors:
            self._kill_actors()
            ref = self._ray.put(solver)
            self._actors = [self._actor_cls.remote(ref) for _ in range(self.workers)]
            self._solver = solver
        return self._actors

    def run(self, solver, problem, time_limit=None, on_error="raise"):
        actors = self._actors_for(solver)
        queue = [
            (subproblem(problem, slice(a, b)), a)
            for a, b in chunk_bounds(problem.batch_size, self.workers)
        ]
        results: dict[int, list[Solution]] = {}
        running: dict[Any, tuple[Any, int]] = {}  # ref -> (its actor, its chunk's offset)
        idle = list(actors)
        try:
            while queue or running:
                while queue and idle:
                    chunk, offset = queue.pop(0)
                    actor = idle.pop()
                    ref = actor.solve.remote(chunk, time_limit, offset, on_error)
                    running[ref] = (actor, offset)
                done, _ = self._ray.wait(list(running), num_returns=1, timeout=ABORT_POLL)
                for ref in done:
                    actor, offset = running.pop(ref)
                    results[offset] = self._ray.get(ref)  # a chunk's error is raised here
                    idle.append(actor)
        except BaseException:
            self._abandon(list(running))
            raise
        return [s for offset in sorted(results) for s in results[offset]]

    def _abandon(self, refs: list[Any]) -> None:
        """Kill every actor and wait (up to ``KILL_WAIT`` s) until ``refs`` have ended."""
        self._kill_actors()
        if refs:
            self._ray.wait(refs, num_returns=len(refs), timeout=KILL_WAIT)

    def _kill_actors(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor, no_restart=True)
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
