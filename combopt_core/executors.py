"""Executors: where the instances of a batch are solved (calling thread, threads, processes).

An executor receives a solver and a validated batch, cuts the batch into contiguous chunks,
solves each chunk with :func:`solve_chunk` and returns one ``Solution`` per instance, in
order. :func:`solve_chunk` calls the backend's optional ``solve_many(chunk)`` (model reuse
across the chunk) when present, else ``solve(instance)`` per instance.

Which executor a batch gets by default follows what the backend declares (see
``combopt_core.solver``): ``parallelism = "threads"`` (or ``releases_gil = True``) -> a
thread pool; ``"processes"`` -> a process pool; ``"serial"`` (or neither attribute) -> the
calling thread. Pools are long-lived, so solver environments and models kept per thread or
per process survive between calls; every pool is shut down by ``close()``, when its executor
is garbage collected, and at interpreter exit, so no worker outlives its owner.

Results do not depend on the executor or worker count, except that on instances with
several optimal points a backend that reuses models may return a different (equally
optimal) point when the solve order changes.

Ctrl-C: called from the main thread, every executor keeps the solves off it, so that the
main thread waits where ``KeyboardInterrupt`` reaches it at once; the batch is then
abandoned: queued chunks are cancelled, running solves interrupted (the backend's
``interrupt()``, ``combopt_core.interrupts``), and the process pool's workers killed (a
new pool starts on next use). ``solve_batch`` returns control when the running solves
have stopped, with nothing of the batch left running.
"""

from __future__ import annotations

import abc
import atexit
import dataclasses
import hashlib
import itertools
import multiprocessing
import os
import pickle
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import Executor as _FuturesExecutor
from typing import TypeVar

import numpy as np

from .errors import SolverError
from .failures import gather, settle, solve_one
from .interrupts import interrupt, interruptible
from .result import Solution
from .solver import ILPSolver
from .spec import ILPProblem

PARALLELISM_KINDS = ("serial", "threads", "processes")
#: Chunks per worker: more balances long-tailed solve times, fewer amortises per-chunk work.
CHUNKS_PER_WORKER = 4


def default_workers() -> int:
    """The cores this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_workers(workers: int | None) -> int:
    """``workers`` as a positive int (``None`` -> :func:`default_workers`)."""
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)):
        raise TypeError(f"workers: expected an int or None, got {type(workers).__name__}")
    if workers < 1:
        raise ValueError(f"workers: must be at least 1, got {workers}")
    return int(workers)


def solver_parallelism(solver: ILPSolver) -> str:
    """How ``solver`` wants to be parallelised: ``"serial"``, ``"threads"`` or ``"processes"``.

    Its ``parallelism`` attribute when set, else ``"threads"`` if ``releases_gil`` is true,
    else ``"serial"``.
    """
    kind = getattr(solver, "parallelism", None)
    if kind is None:
        return "threads" if getattr(solver, "releases_gil", False) else "serial"
    if kind not in PARALLELISM_KINDS:
        raise ValueError(
            f"solver: backend '{getattr(solver, 'name', solver)}' declares parallelism "
            f"{kind!r}; expected one of {PARALLELISM_KINDS}"
        )
    return kind


def subproblem(problem: ILPProblem, indices: Sequence[int] | slice) -> ILPProblem:
    """The instances ``indices`` of ``problem`` as a batch of their own (shared A stays shared)."""
    if isinstance(indices, slice):
        pick = indices
    else:
        pick = np.asarray(indices, dtype=np.intp)
    return ILPProblem(
        c=problem.c[pick],
        A=problem.A if problem.shared else problem.A[pick],
        b=problem.b if problem.shared else problem.b[pick],
        lb=problem.lb,
        ub=problem.ub,
        shared=problem.shared,
        start=None if problem.start is None else problem.start[pick],
        has_start=None if problem.start is None else problem.has_start[pick],
        A_eq=problem.A_eq if problem.shared else problem.A_eq[pick],
        b_eq=problem.b_eq if problem.shared else problem.b_eq[pick],
    )


def read_only(problem: ILPProblem) -> ILPProblem:
    """``problem`` with every array replaced by a read-only view (no copy): a backend that
    edits its input in place fails on that instance (``ValueError: assignment destination
    is read-only``) instead of silently changing the later instances of a shared ``A`` or
    the bounds the answers are verified against."""
    views = {}
    for field in dataclasses.fields(problem):
        value = getattr(problem, field.name)
        if isinstance(value, np.ndarray):
            value = value.view()
            value.setflags(write=False)
            views[field.name] = value
    return dataclasses.replace(problem, **views)


def solve_chunk(
    solver: ILPSolver,
    chunk: ILPProblem,
    time_limit: float | None,
    offset: int = 0,
    on_error: str = "raise",
    stop: threading.Event | None = None,
) -> list[Solution]:
    """Solve every instance of ``chunk``: ``solver.solve_many`` if it has one, else a loop.

    ``offset`` is the chunk's first index in the caller's batch, used in error messages.
    Failures are raised or flagged as ``on_error`` says (``combopt_core.failures``); when a
    ``solve_many`` call itself raises, the chunk is solved again one instance at a time, so
    that the failing instance is named. ``stop``, once set, ends the loop between instances
    (the batch is being abandoned; what was solved so far is returned); a chunk that raises
    sets it. The backend sees read-only views of the chunk's arrays (:func:`read_only`).
    """
    name = getattr(solver, "name", type(solver).__name__)
    chunk = read_only(chunk)
    solve_many = getattr(solver, "solve_many", None)
    if solve_many is not None:
        try:
            solutions = list(solve_many(chunk, time_limit=time_limit))
        except Exception:  # noqa: BLE001 - retried per instance, which names the culprit
            solutions = None
        if solutions is not None:
            if len(solutions) != chunk.batch_size:
                raise SolverError(
                    f"backend '{name}': solve_many returned {len(solutions)} solutions for "
                    f"{chunk.batch_size} instances"
                )
            return [
                settle(sol, chunk.instance(i), name, offset + i, on_error)
                for i, sol in enumerate(solutions)
            ]
    solutions = []
    try:
        for i in range(chunk.batch_size):
            if stop is not None and stop.is_set():
                break
            solutions.append(solve_one(solver, chunk.instance(i), offset + i, time_limit, on_error))
    except BaseException:
        if stop is not None:
            stop.set()  # the other chunks stop at once, before the caller even wakes up
        raise
    return solutions


def chunk_bounds(batch_size: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous ``[start, stop)`` ranges: ``CHUNKS_PER_WORKER`` per worker, near-equal."""
    count = max(1, min(batch_size, workers * CHUNKS_PER_WORKER))
    edges = np.linspace(0, batch_size, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


_E = TypeVar("_E", bound="Executor")


class Executor(abc.ABC):
    """Solves a batch; ``run(solver, problem, time_limit) -> list[Solution]`` in batch order.

    Executors are context managers; ``close()`` releases their workers (idempotent).
    """

    kind: str = ""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = check_workers(workers)

    @abc.abstractmethod
    def run(
        self,
        solver: ILPSolver,
        problem: ILPProblem,
        time_limit: float | None = None,
        on_error: str = "raise",
    ) -> list[Solution]:
        """One ``Solution`` per instance of ``problem``, in order; failures per ``on_error``."""

    def close(self) -> None:
        """Release the workers; the executor cannot be used afterwards (no-op by default)."""

    def __enter__(self: _E) -> _E:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workers={self.workers})"


class SerialExecutor(Executor):
    """Every instance in order, one at a time (one worker).

    In the calling thread, except for a backend with ``interrupt()`` called from the main
    thread: then on one helper thread (shared by the process), so that Ctrl-C reaches the
    waiting main thread at once and stops the running solve.
    """

    kind = "serial"

    def __init__(self, workers: int | None = 1) -> None:
        super().__init__(1 if workers is None else workers)
        if self.workers != 1:
            raise ValueError(f"workers: a serial executor has exactly 1 worker, got {workers}")

    def run(self, solver, problem, time_limit=None, on_error="raise"):
        if not (interruptible(solver) and threading.current_thread() is threading.main_thread()):
            return solve_chunk(solver, problem, time_limit, on_error=on_error)
        stop = threading.Event()
        job = _helper().submit(solve_chunk, solver, problem, time_limit, 0, on_error, stop)
        return gather([job], on_abort=_stop_and_interrupt(solver, stop))[0]


def _stop_and_interrupt(solver: ILPSolver, stop: threading.Event):
    """``on_abort`` for ``gather``: no new instance starts, the running solves are stopped."""

    def abort(exc: BaseException) -> bool:
        stop.set()
        interrupt(solver)
        return False  # the running solves end by themselves

    return abort


_HELPER: ThreadPoolExecutor | None = None


def _helper() -> ThreadPoolExecutor:
    """The process's one helper thread for serial batches (made on first use)."""
    global _HELPER
    with _SHARED_LOCK:
        if _HELPER is None:
            _HELPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="combopt-serial")
        return _HELPER


class _PoolExecutor(Executor):
    """Shared logic of the thread and process pools: chunk, submit, gather in order."""

    def __init__(self, workers: int | None = None) -> None:
        super().__init__(workers)
        self._pool: _FuturesExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    @abc.abstractmethod
    def _make_pool(self) -> _FuturesExecutor: ...

    @abc.abstractmethod
    def _submit(
        self,
        pool,
        solver,
        chunk: ILPProblem,
        time_limit,
        offset: int,
        on_error: str,
        stop: threading.Event,
    ): ...

    def __getstate__(self) -> dict:
        """A copy (``copy.deepcopy``, pickling) has the same settings and starts its own pool
        on first use; the pool's threads or processes stay with the original."""
        keep = {k: v for k, v in self.__dict__.items() if k not in _POOL_STATE}
        return {**keep, "_pool": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _get_pool(self) -> _FuturesExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{type(self).__name__}: used after close()")
            if self._pool is None:
                self._pool = self._make_pool()
                # Shut the pool down when this executor is collected, even without close().
                self._finalizer = weakref.finalize(self, _shutdown, self._pool)
            return self._pool

    def run(self, solver, problem, time_limit=None, on_error="raise"):
        pool = self._get_pool()
        stop = threading.Event()
        futures = [
            self._submit(
                pool, solver, subproblem(problem, slice(a, b)), time_limit, a, on_error, stop
            )
            for a, b in chunk_bounds(problem.batch_size, self.workers)
        ]
        try:
            chunks = gather(futures, on_abort=self._aborter(solver, stop))
        except BrokenExecutor as exc:
            raise SolverError(
                f"{type(self).__name__}: a worker died while solving for backend "
                f"'{getattr(solver, 'name', solver)}' ({exc}). With the forkserver or spawn "
                "start method, a script must start its work under "
                "`if __name__ == '__main__':`"
            ) from exc
        return [s for chunk in chunks for s in chunk]

    def _aborter(self, solver: ILPSolver, stop: threading.Event):
        """``on_abort`` for ``gather`` (see :func:`_stop_and_interrupt`)."""
        return _stop_and_interrupt(solver, stop)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            self._finalizer.detach()
            _shutdown(pool)


#: What a copied pool executor does not take over (it makes its own).
_POOL_STATE = ("_pool", "_lock", "_finalizer", "_payloads")


def _shutdown(pool: _FuturesExecutor) -> None:
    pool.shutdown(wait=True, cancel_futures=True)


class ThreadExecutor(_PoolExecutor):
    """A thread pool: for backends that release the GIL (HiGHS, Gurobi, CP-SAT).

    The backend must be safe to call from several threads (typically one model per thread).
    """

    kind = "threads"

    def _make_pool(self):
        return ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="combopt-solve")

    def _submit(self, pool, solver, chunk, time_limit, offset, on_error, stop):
        return pool.submit(solve_chunk, solver, chunk, time_limit, offset, on_error, stop)


def _default_start_method() -> str:
    # forkserver: safe in a process that already runs threads (torch, thread pools), and
    # cheaper than spawn once its server is up; spawn where forkserver does not exist.
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


class ProcessExecutor(_PoolExecutor):
    """A process pool: for backends that hold the GIL (e.g. SCIP's plain ``optimize()``).

    The solver must be picklable. It is pickled once per executor (later changes to the
    object are not seen by the workers: make a new solver instead), and each worker
    unpickles it once and keeps it, with its models, for later calls.

    Args:
        workers: processes (default: the cores available).
        start_method: ``multiprocessing`` start method; default ``"forkserver"`` (safe in
            a threaded parent such as a PyTorch training loop), else ``"spawn"``.
    """

    kind = "processes"

    def __init__(self, workers: int | None = None, start_method: str | None = None) -> None:
        super().__init__(workers)
        method = start_method or _default_start_method()
        if method not in multiprocessing.get_all_start_methods():
            raise ValueError(
                f"start_method: {method!r} is not available here; expected one of "
                f"{multiprocessing.get_all_start_methods()}"
            )
        self.start_method = method
        self._payloads: weakref.WeakKeyDictionary[object, tuple[str, bytes]] = (
            weakref.WeakKeyDictionary()
        )

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._payloads = weakref.WeakKeyDictionary()

    def _make_pool(self):
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context(self.start_method)
        )

    def _payload(self, solver) -> tuple[str, bytes]:
        try:
            return self._payloads[solver]
        except (KeyError, TypeError):
            pass
        try:
            data = pickle.dumps(solver)
        except Exception as exc:
            raise TypeError(
                f"solver: backend '{getattr(solver, 'name', solver)}' cannot be sent to worker "
                f"processes because it does not pickle ({exc}); use threads or serial"
            ) from exc
        payload = (hashlib.blake2b(data, digest_size=16).hexdigest(), data)
        try:
            self._payloads[solver] = payload
        except TypeError:  # not weak-referenceable: pickle again next time
            pass
        return payload

    def _submit(self, pool, solver, chunk, time_limit, offset, on_error, stop):
        # A threading.Event does not cross processes: on Ctrl-C the workers are killed.
        key, data = self._payload(solver)
        return pool.submit(_solve_chunk_in_worker, key, data, chunk, time_limit, offset, on_error)

    def _aborter(self, solver, stop):
        """On ``KeyboardInterrupt`` kill the workers (their solves cannot be reached from
        here; a new pool starts on next use); after an error, let the running chunks end."""

        def abort(exc: BaseException) -> bool:
            if isinstance(exc, KeyboardInterrupt):
                self._kill_workers()
                return True  # nothing of the batch runs any more
            return False

        return abort

    def _kill_workers(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        self._finalizer.detach()
        processes = getattr(pool, "_processes", None) or {}  # concurrent.futures' record
        for process in list(processes.values()):
            process.kill()
        _shutdown(pool)  # joins the pool's manager thread, which reaps the killed workers


# Solvers unpickled in a worker process, by payload digest; a few, most recent last.
_WORKER_SOLVERS: OrderedDict[str, ILPSolver] = OrderedDict()
_WORKER_SOLVERS_MAX = 4


def _solve_chunk_in_worker(
    key: str,
    data: bytes,
    chunk: ILPProblem,
    time_limit: float | None,
    offset: int,
    on_error: str,
) -> list[Solution]:
    solver = _WORKER_SOLVERS.get(key)
    if solver is None:
        solver = pickle.loads(data)
        _WORKER_SOLVERS[key] = solver
        while len(_WORKER_SOLVERS) > _WORKER_SOLVERS_MAX:
            _WORKER_SOLVERS.popitem(last=False)
    _WORKER_SOLVERS.move_to_end(key)
    return solve_chunk(solver, chunk, time_limit, offset, on_error)


_SHARED: dict[tuple[str, int], Executor] = {}
_SHARED_LOCK = threading.Lock()


def shared_executor(kind: str, workers: int | None = None) -> Executor:
    """The process-wide executor of ``kind`` and ``workers`` (created on first use).

    ``kind``: ``"serial"``, ``"threads"``, ``"processes"`` or ``"ray"`` (a
    ``RayExecutor`` on the running Ray instance, or a local one it starts). Shared
    executors are closed at interpreter exit or by :func:`close_shared_executors`.
    """
    if kind == "serial":
        return SerialExecutor()
    factories = {"threads": ThreadExecutor, "processes": ProcessExecutor}
    if kind == "ray":
        from .ray_executor import RayExecutor

        factories["ray"] = RayExecutor
    if kind not in factories:
        raise ValueError(
            f"executor: unknown kind {kind!r}; expected 'auto', 'serial', 'threads', "
            "'processes', 'ray' or an Executor"
        )
    workers = check_workers(workers)
    with _SHARED_LOCK:
        executor = _SHARED.get((kind, workers))
        if executor is None:
            executor = factories[kind](workers)
            _SHARED[(kind, workers)] = executor
        return executor


def close_shared_executors() -> None:
    """Close every shared executor (their workers exit); new ones are made on next use."""
    global _HELPER
    with _SHARED_LOCK:
        executors = list(_SHARED.values())
        _SHARED.clear()
        helper, _HELPER = _HELPER, None
    for executor in executors:
        executor.close()
    if helper is not None:
        _shutdown(helper)


atexit.register(close_shared_executors)


def _forget_shared_in_child() -> None:
    """A forked child starts with no shared executors: the parent's pool threads do not
    exist there, and submitting to their queues would hang (e.g. DataLoader workers)."""
    global _SHARED_LOCK, _HELPER
    _SHARED.clear()
    _HELPER = None
    _SHARED_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_shared_in_child)


def resolve_executor(
    executor: Executor | str | None,
    solver: ILPSolver,
    workers: int | None,
    batch_size: int,
) -> Executor:
    """The executor a batch runs on.

    ``executor``: an ``Executor`` (then ``workers`` must be ``None``), a kind name, or
    ``None``/``"auto"``: the kind the backend declares (:func:`solver_parallelism`), and
    serial for one worker or one instance.
    """
    if isinstance(executor, Executor):
        if workers is not None:
            raise ValueError(
                "workers: set the worker count on the executor, not both "
                f"(got workers={workers} and {executor!r})"
            )
        return executor
    if executor is not None and not isinstance(executor, str):
        raise TypeError(
            f"executor: expected an Executor, a kind name or None, got {type(executor).__name__}"
        )
    workers = check_workers(workers)
    kind = solver_parallelism(solver) if executor in (None, "auto") else executor
    if kind in PARALLELISM_KINDS and (workers == 1 or batch_size == 1):
        kind = "serial"
    return shared_executor(kind, workers)
