"""The ``combopt`` command line.

``combopt backends`` prints every registered backend: name, version, whether it can run
here and, if not, why (missing package with its install hint, licence, broken plugin).
Exit codes: 0 success, 1 a requested thing is unavailable, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .registry import DEFAULT_BACKEND, SOLVER_ENV_VAR, default_registry


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows)


def cmd_backends(args: argparse.Namespace) -> int:
    registry = default_registry()
    statuses = registry.statuses()
    selected = registry.resolve_name(None)
    rows = [["name", "version", "available", "plugin", "notes"]]
    for s in statuses:
        mark = " (selected)" if s.name == selected else ""
        rows.append(
            [s.name + mark, s.version or "-", "yes" if s.available else "no", s.plugin, s.reason]
        )
    print(_table(rows))
    print(
        f"\nselection: --solver argument > ${SOLVER_ENV_VAR} > '{DEFAULT_BACKEND}' "
        f"(now: '{selected}')"
    )
    if args.require and not any(s.available for s in statuses if s.name == args.require):
        print(f"combopt: backend '{args.require}' is not available", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="combopt",
        description="Integer linear programs as differentiable neural-network layers.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("backends", help="list solver backends and whether they can run here")
    p.add_argument("--require", metavar="NAME", help="exit 1 unless backend NAME is available")
    p.set_defaults(func=cmd_backends)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
