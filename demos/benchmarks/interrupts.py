"""Ctrl-C on a running batch: how long until ``KeyboardInterrupt``, and what is left running.

For each backend and executor (serial, threads, processes, ray) a child process solves a
batch of ILPs that take every backend many seconds each, with no time limit, and sends
itself ``SIGINT`` (``os.kill``, delivered to whichever thread the kernel picks, like a
terminal's Ctrl-C) once the solves run. The child reports how long after the signal
``KeyboardInterrupt`` reached it, the CPU time its own threads used in the half second
after, and which of its worker processes (process pool, Ray actors) were still alive then.

    python -m demos.benchmarks.interrupts                       # every backend and executor
    python -m demos.benchmarks.interrupts --backends highs --executors threads,ray

Exit status 1 when a case took longer than ``--limit`` seconds (default 1), left a solver
thread computing or a worker process alive, or finished before the signal.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EXECUTORS = ("serial", "threads", "processes", "ray")
#: Per backend: solver options and the number of binary variables of the batch. Brute force
#: is allowed a box of 2^26 points (seconds per instance); the others get 120 variables.
SETUP = {"bruteforce": ({"max_points": 2**26}, 26)}
DEFAULT_SETUP: tuple[dict, int] = ({}, 120)
#: Seconds to wait for the pool's processes or Ray's actors to start solving.
START_TIMEOUT = 120.0
ROOT = Path(__file__).resolve().parents[2]


def hard_problem(rng: np.random.Generator, batch: int, n: int = 100, m: int = 20):
    """``(c, A, b, lb, ub)``: binary knapsack-like ILPs with many near-optimal points (a MIP
    solver needs tens of milliseconds to minutes for each at ``n = 100``)."""
    c = -rng.uniform(0.5, 1.5, size=(batch, n))
    A = rng.uniform(0.0, 1.0, size=(batch, m, n))
    A /= np.linalg.norm(A, axis=-1, keepdims=True)
    b = np.full((batch, m), 0.125 * np.sqrt(n))
    return c, A, b, 0.0, 1.0


@dataclass
class Case:
    """One measured case; ``report`` is what the child printed (or why it failed)."""

    backend: str
    executor: str
    workers: int
    report: dict

    def problems(self, limit: float) -> list[str]:
        r = self.report
        if "error" in r:
            return [r["error"]]
        if r.get("finished"):
            return ["the batch finished before Ctrl-C"]
        found = []
        if r["latency"] >= limit:
            found.append(f"KeyboardInterrupt {r['latency']:.2f} s after SIGINT")
        if r["cpu_after"] >= 0.1:
            found.append(f"{r['cpu_after']:.2f} s CPU after Ctrl-C")
        if r["alive"]:
            found.append(f"worker processes alive: {r['alive']}")
        return found


def _ray_actor_pids() -> list[int]:
    """Processes of this machine running an actor of ``RayExecutor`` (Linux ``/proc``)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        if b"ray::_ChunkSolver" in cmdline:
            pids.append(int(entry))
    return sorted(pids)


def process_running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (killed, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped is a zombie: no longer running
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def child(backend: str, executor: str, workers: int) -> dict:
    """Run one case in this process (the child) and return its report."""
    import combopt_core as co
    from combopt_core.executors import shared_executor

    options, n = SETUP.get(backend, DEFAULT_SETUP)
    solver = co.get_solver(backend, **options)
    problem = co.make_problem(*hard_problem(np.random.default_rng(0), 16, n))
    if executor == "ray":
        from combopt_core.ray_executor import RayExecutor

        runner = RayExecutor(
            workers, num_cpus=workers, include_dashboard=False, log_to_driver=False
        )
    else:
        runner = shared_executor(executor, workers)
    sent: dict = {}

    def workers_running() -> list[int]:
        if executor == "ray":
            return _ray_actor_pids()
        if executor == "processes":
            pool = runner._pool
            return sorted(pool._processes) if pool is not None and pool._processes else []
        return []

    def ctrl_c() -> None:
        deadline = time.monotonic() + START_TIMEOUT
        if executor in ("processes", "ray"):
            while len(workers_running()) < workers and time.monotonic() < deadline:
                time.sleep(0.1)
        time.sleep(1.0)  # the solves are running now
        sent["pids"] = workers_running()
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=ctrl_c, daemon=True).start()
    try:
        co.solve_batch(solver, problem, executor=runner)
        report = {"finished": True}
    except KeyboardInterrupt:
        latency = time.monotonic() - sent["at"]
        cpu = time.process_time()
        time.sleep(0.5)
        cpu = time.process_time() - cpu
        alive = [pid for pid in sent.get("pids", []) if process_running(pid)]
        report = {"latency": latency, "cpu_after": cpu, "alive": alive, "workers": sent["pids"]}
    if executor == "ray":
        runner.close()  # it started Ray here: shut it down
    return report


def measure(backend: str, executor: str, workers: int = 2, timeout: float = 300.0) -> Case:
    """Run one case in a fresh child process (a late ``SIGINT`` must not hit the caller)."""
    cmd = [sys.executable, "-m", "demos.benchmarks.interrupts", "--child", backend, executor]
    cmd += ["--workers", str(workers)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return Case(backend, executor, workers, {"error": f"no answer within {timeout:.0f} s"})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-3:]
        return Case(backend, executor, workers, {"error": f"child failed: {' | '.join(tail)}"})
    return Case(backend, executor, workers, json.loads(lines[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="", help="comma-separated; default: every available")
    parser.add_argument("--executors", default=",".join(EXECUTORS), help="comma-separated")
    parser.add_argument("--workers", type=int, default=2, help="workers of the pools and Ray")
    parser.add_argument("--limit", type=float, default=1.0, help="seconds allowed per case")
    parser.add_argument("--child", nargs=2, metavar=("BACKEND", "EXECUTOR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, args.workers)), flush=True)
        return 0
    from combopt_core import list_backends

    backends = [x for x in args.backends.split(",") if x] or [
        s.name for s in list_backends() if s.available
    ]
    executors = [x for x in args.executors.split(",") if x]
    unknown = sorted(set(executors) - set(EXECUTORS))
    if unknown:
        parser.error(f"--executors: unknown {unknown}; expected some of {EXECUTORS}")
    failed = 0
    print("backend  executor  latency_s  cpu_after_s  workers_alive  verdict", flush=True)
    for backend in backends:
        for executor in executors:
            workers = 1 if executor == "serial" else args.workers
            case = measure(backend, executor, workers)
            problems = case.problems(args.limit)
            failed += bool(problems)
            r = case.report
            numbers = (
                f"{r['latency']:.3f}  {r['cpu_after']:.3f}  {len(r['alive'])}/{len(r['workers'])}"
                if "latency" in r
                else "-  -  -"
            )
            verdict = "ok" if not problems else "FAIL: " + "; ".join(problems)
            print(f"{backend}  {executor}  {numbers}  {verdict}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
