"""``python -m demos <task> [options]``: run one of the paper's demonstrations.

Each task is a module with a ``main(argv) -> int``; the table names them, one line a task,
and imports only the one you run. The run is guarded like the ``combopt`` command: a user
error is one line and exit code 2 (1 for a missing backend or package), Ctrl-C exits 130,
a closed output pipe 141; ``COMBOPT_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from combopt_core.cli import run_guarded

TASKS: dict[str, tuple[str, str]] = {
    "random-constraints": ("demos.random_constraints", "Random Constraints (paper Sec. 4.1)"),
    "set-cover": ("demos.set_cover", "Weighted Set Covering (paper Sec. 4.2)"),
    "knapsack": ("demos.knapsack", "KNAPSACK from sentence descriptions (paper Sec. 4.3)"),
    "keypoints": ("demos.keypoints", "Keypoint matching, synthetic and SPair-71k (Sec. 4.4)"),
    "sudoku": ("demos.sudoku", "Sudoku 4x4 / 6x6 / 9x9 with learned rules, beside an MLP"),
    "cost-rules": ("demos.cost_rules", "Cost rules beside CombOptNet's on a fixed ILP"),
    "merge-results": ("demos.merge_results", "One report from the CSVs of several synthetic runs"),
}


def usage() -> str:
    width = max(map(len, TASKS))
    lines = [f"  {name.ljust(width)}  {help_}" for name, (_, help_) in TASKS.items()]
    head = "usage: python -m demos TASK [options]   (TASK --help for its options)\n\ntasks:\n"
    return head + "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    task, rest = argv[0], argv[1:]
    if task not in TASKS:
        print(f"python -m demos: unknown task {task!r}\n\n{usage()}", file=sys.stderr)
        return 2

    def run() -> int:
        module = importlib.import_module(TASKS[task][0])
        return int(module.main(rest) or 0)

    return run_guarded(f"python -m demos {task}", run)


if __name__ == "__main__":
    sys.exit(main())
