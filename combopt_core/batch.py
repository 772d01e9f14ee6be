"""Solving a batch: one backend call per instance, spread over an executor.

``solve_batch`` picks where instances run from what the backend declares (a thread pool for
``parallelism = "threads"`` / ``releases_gil``, a process pool for ``"processes"``, else the
calling thread; see ``combopt_core.executors``) unless an executor is given, answers what it
can by exact skips (an opt-in ``SolutionCache`` or ``SolutionMemory``, the box-minimum
certificate, enumeration of a small shared feasible set; ``combopt_core.certificates``,
``combopt_core.enumeration``) or from an opt-in ``SolutionPool`` (not exact), solves the
rest, with checked warm starts where known, and verifies every returned point. A backend
that does not declare ``supports_equalities`` gets each equality row as its two ``<=``
halves (``combopt_core.spec.lower_equalities``). Results are the same whatever the worker count:
each instance is solved single-threaded and independently.

Failure semantics (``combopt_core.failures``): when ``solve_batch`` returns or raises, none
of its solves is still running; a failing instance is named, and raised or flagged
(``on_error``).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np

from .cache import SolutionCache, SolutionPool, instance_keys
from .certificates import box_minimum_answers, check_starts
from .conditioning import condition, restore
from .enumeration import check_enumeration, solve_by_enumeration, worth_enumerating
from .errors import ProblemValidationError
from .executors import Executor, default_workers, resolve_executor, subproblem
from .failures import check_not_all_failed, check_on_error, warn_failed
from .memory import SolutionMemory, instance_digests
from .registry import get_solver
from .result import BatchSolution, Solution
from .solver import ILPSolver
from .spec import ILPProblem, check_time_limit, lower_equalities, make_problem
from .verify import verify_batch

__all__ = ["default_workers", "solve", "solve_batch"]


def solve_batch(
    solver: ILPSolver,
    problem: ILPProblem,
    *,
    workers: int | None = None,
    time_limit: float | None = None,
    verify: bool = True,
    on_error: str = "raise",
    executor: Executor | str | None = None,
    cache: SolutionCache | None = None,
    pool: SolutionPool | None = None,
    memory: SolutionMemory | None = None,
    ids: Any = None,
    start: Any = None,
    skip: bool = False,
    enumeration: str = "never",
) -> BatchSolution:
    """Solve every instance of ``problem`` with ``solver``.

    Exact skips come first, each with its proof in ``BatchSolution.proof``: answers from
    ``cache`` or ``memory`` for unchanged instances; with ``skip``, instances whose box
    minimiser is feasible; then, for a shared ``A, b`` on a small box (``enumeration``), every
    remaining cost from one enumeration of the feasible set. The rest go to the backend,
    with a checked warm start where one is known (``start``, else ``memory``).

    Args:
        solver: any ``ILPSolver``.
        problem: a validated batch (see ``make_problem``).
        workers: parallel workers; default the cores available. Not with an ``Executor``.
        time_limit: seconds per instance, ``None`` for none.
        verify: check every returned point against the float problem (cheap, O(B m n)).
        on_error: a backend failure on one instance (it raises or returns
            ``Status.ERROR``) ``"raise"``-s a ``SolverError``, or is ``"flag"``-ged as
            ``Status.ERROR`` with the fallback point and a ``RuntimeWarning`` while the
            rest is solved. Time-outs never raise: see ``Status.TIME_LIMIT``. Permanent
            failures raise ``PermanentSolverError`` either way: a licence or size limit, an
            option the solver rejects, or the same error on every instance (two or more).
        executor: ``None``/``"auto"`` (what the backend declares), ``"serial"``,
            ``"threads"``, ``"processes"``, ``"ray"``, or an ``Executor`` instance.
        cache: an opt-in ``SolutionCache``: instances seen before are not solved again.
        pool: an opt-in ``SolutionPool``: only a fraction of instances is solved, the others
            get the best feasible pooled point (not proven optimal; status ``TIME_LIMIT``).
        memory: an opt-in ``SolutionMemory``: each sample's last proven answer, returned when
            its instance is unchanged and otherwise offered as a warm start.
        ids: one hashable id per instance for ``memory`` (e.g. dataset indices); without
            them the memory keys samples by their exact cost vector.
        start: warm starts, ``(B, n)`` or ``(n,)`` for every instance (a row with NaN: none),
            e.g. training labels. Used only where it is an integral, in-box, feasible point;
            others are ignored with one counted ``RuntimeWarning``. Takes precedence over
            ``memory``'s point.
        skip: answer instances whose box minimiser satisfies every row without a solve.
        enumeration: ``"auto"`` answers a shared constraint set by enumeration when the box
            is small enough to pay (``combopt_core.enumeration``), ``"always"`` for any
            shared set, ``"never"`` leaves every instance to the backend.
            Both are off here, so that a named backend answers everything; the layers
            (``combopt_core.layer.LayerOptions``) turn them on by default.

    Ties: a skip or a warm start may return another optimal point than a cold solve would
    (same objective). Proofs: see ``combopt_core.result.Proof``.

    Raises:
        PermanentSolverError: a failure no instance escapes (see ``on_error``).
        KeyboardInterrupt: Ctrl-C; the running solves are stopped first (on backends with
            ``interrupt()``, every built-in one), so nothing of the batch keeps running.
        SolverError: naming the backend and the instance, when the backend fails (with
            ``on_error="raise"``) or returns a malformed answer, or (with ``verify``) a point
            that is not a feasible integer point.
    """
    time_limit = check_time_limit(time_limit)
    check_on_error(on_error)
    check_enumeration(enumeration)
    if ids is not None and memory is None:
        raise ValueError("ids: only used with a memory (pass memory=SolutionMemory())")
    B = problem.batch_size
    solutions: list[Solution | None] = [None] * B
    keys = instance_keys(problem, solver.name) if cache is not None else None
    if keys is not None:
        for i, key in enumerate(keys):
            solutions[i] = cache.get(key)
    candidates = None
    if memory is not None:
        memory_keys, digests = memory.keys(problem, ids), instance_digests(problem)
        unchanged, candidates = memory.recall(memory_keys, digests)
        for i, answer in unchanged.items():
            solutions[i] = solutions[i] or answer
    if start is not None:
        candidates = _user_starts(start, problem, candidates)
    _exact_skips(problem, solutions, skip, enumeration)
    if pool is not None:
        missing = np.array([i for i in range(B) if solutions[i] is None], dtype=np.intp)
        for i, answer in pool.answer(problem, missing).items():
            solutions[i] = answer

    todo = [i for i in range(B) if solutions[i] is None]
    started = np.zeros(B, dtype=bool)
    if todo:
        if candidates is not None:
            started, rejected = check_starts(problem, candidates, np.array(todo))
            if rejected and start is not None:
                _warn_rejected(rejected)
            problem = replace(problem, start=candidates, has_start=started)
        chosen = resolve_executor(executor, solver, workers, len(todo))
        chunk = problem if len(todo) == B else subproblem(problem, todo)
        if not getattr(solver, "supports_equalities", False):
            chunk = lower_equalities(chunk)  # a backend that predates equality rows
        conditioned = condition(chunk)  # exact power-of-two scaling: same argmin
        solved = chosen.run(solver, conditioned.problem, time_limit, on_error)
        # the same error on every instance is the backend's, not theirs: raised, not flagged
        check_not_all_failed(
            [s for i, s in enumerate(solved) if i not in conditioned.extreme], solver.name
        )
        solved = restore(solved, conditioned, solver.name, on_error, todo)
        for i, solution in zip(todo, solved):
            solutions[i] = solution

    result = BatchSolution.stack(solutions, problem.fallback_point(), started)
    if verify:  # under on_error="flag", points outside the tolerance become Status.ERROR
        result = verify_batch(problem, result, solver.name, on_error=on_error)
    warn_failed(result)
    # Only answers that passed verification are kept for later calls.
    kept = [s if result.status[i] == s.status else None for i, s in enumerate(solutions)]
    if keys is not None:
        for i in todo:
            if kept[i] is not None:
                cache.put(keys[i], kept[i])
    if pool is not None and todo:
        pool.record([kept[i] for i in todo if kept[i] is not None])
    if memory is not None:
        memory.remember(memory_keys, digests, kept)
    return result


def _exact_skips(
    problem: ILPProblem, solutions: list[Solution | None], skip: bool, mode: str
) -> None:
    """Fill in the instances that a certificate answers without the backend (in place)."""
    todo = np.array([i for i, s in enumerate(solutions) if s is None], dtype=np.intp)
    if skip and todo.size:
        for i, answer in box_minimum_answers(problem, todo).items():
            solutions[i] = answer
        todo = np.array([i for i in todo if solutions[i] is None], dtype=np.intp)
    if worth_enumerating(problem, mode, todo.size):
        for i, answer in zip(todo, solve_by_enumeration(problem, todo)):
            solutions[i] = answer


def _user_starts(start: Any, problem: ILPProblem, candidates: np.ndarray | None) -> np.ndarray:
    """The caller's starts ``(B, n)``, with ``memory``'s candidates where a row has none."""
    B, n = problem.batch_size, problem.num_vars
    try:
        points = np.array(start, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ProblemValidationError(f"start: cannot be read as numbers ({exc})") from exc
    if points.shape == (n,):
        points = np.broadcast_to(points, (B, n)).copy()
    if points.shape != (B, n):
        raise ProblemValidationError(
            f"start: expected shape ({B}, {n}) or ({n},) for c of shape ({B}, {n}), "
            f"got {points.shape}"
        )
    if candidates is not None:
        none = np.isnan(points).any(axis=1)
        points[none] = candidates[none]
    return points


def _warn_rejected(rejected: Counter) -> None:
    reasons = ", ".join(f"{count} {why}" for why, count in sorted(rejected.items()))
    warnings.warn(
        f"start: {sum(rejected.values())} warm start(s) ignored ({reasons}); those instances "
        "were solved cold",
        RuntimeWarning,
        stacklevel=3,
    )


def solve(
    c: Any,
    A: Any,
    b: Any,
    lb: Any = 0.0,
    ub: Any = 1.0,
    *,
    solver: ILPSolver | str | None = None,
    workers: int | None = None,
    time_limit: float | None = None,
    verify: bool = True,
    on_error: str = "raise",
    executor: Executor | str | None = None,
    cache: SolutionCache | None = None,
    pool: SolutionPool | None = None,
    memory: SolutionMemory | None = None,
    ids: Any = None,
    start: Any = None,
    skip: bool = False,
    enumeration: str = "never",
    A_eq: Any = None,
    b_eq: Any = None,
) -> BatchSolution:
    """Validate and solve ``min c.y s.t. A y <= b, A_eq y == b_eq, lb <= y <= ub, y integer``
    for a batch.

    ``solver`` is an ``ILPSolver`` or a backend name; ``None`` selects by
    ``$COMBOPT_SOLVER``, else HiGHS. ``A_eq``, ``b_eq``: optional equality rows. Shapes and
    the rest as in ``make_problem`` and ``solve_batch``.
    """
    if not hasattr(solver, "solve"):
        solver = get_solver(solver)
    return solve_batch(
        solver,
        make_problem(c, A, b, lb, ub, A_eq, b_eq),
        workers=workers,
        time_limit=time_limit,
        verify=verify,
        on_error=on_error,
        executor=executor,
        cache=cache,
        pool=pool,
        memory=memory,
        ids=ids,
        start=start,
        skip=skip,
        enumeration=enumeration,
    )
