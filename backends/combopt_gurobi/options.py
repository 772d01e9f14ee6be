"""Gurobi parameters checked when the solver is built: the name (``GRB.Param``, compared
case-insensitively as Gurobi does) and the value (``setParam`` on an empty environment, which
needs no licence and refuses a wrong type or a value out of range)."""

from __future__ import annotations

from typing import Any

import gurobipy as gp
from gurobipy import GRB

from combopt_core.options import check_option_names, option_value_error

PARAMETERS = [name for name in dir(GRB.Param) if not name.startswith("_")]


def check_options(options: dict[str, Any]) -> None:
    """Raise ``SolverOptionError`` unless Gurobi accepts every parameter of ``options``."""
    check_option_names("gurobi", options, PARAMETERS, ignore_case=True)
    env = gp.Env(empty=True)  # not started: no licence is checked
    try:
        env.setParam("OutputFlag", 0)  # Gurobi would print every parameter it sets
        for key, value in options.items():
            try:
                env.setParam(key, value)
            except (gp.GurobiError, TypeError, ValueError, AttributeError) as exc:
                raise option_value_error("gurobi", key, value, str(exc)) from None
    finally:
        env.dispose()
