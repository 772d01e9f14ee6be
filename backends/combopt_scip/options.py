"""SCIP parameters checked when the solver is built: the name (``Model.getParams()``) and the
value (``setParam`` on a scratch model, which refuses a wrong type or a value out of range)."""

from __future__ import annotations

from typing import Any

import pyscipopt

from combopt_core.options import check_option_names, option_value_error


def check_options(options: dict[str, Any]) -> None:
    """Raise ``SolverOptionError`` unless SCIP accepts every parameter of ``options``."""
    model = pyscipopt.Model()
    model.hideOutput()
    check_option_names("scip", options, model.getParams())
    for key, value in options.items():
        try:
            model.setParam(key, value)
        except (ValueError, TypeError, KeyError) as exc:
            raise option_value_error("scip", key, value, str(exc)) from None
