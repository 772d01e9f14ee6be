"""CP-SAT parameters checked when the solver is built: the name (the fields of the
``SatParameters`` message) and the value (set on a scratch message, which refuses a wrong
type, an unknown enum name, or an assignment to a repeated field)."""

from __future__ import annotations

from typing import Any

from ortools.sat import sat_parameters_pb2

from combopt_core.options import check_option_names, option_value_error


def check_options(options: dict[str, Any]) -> None:
    """Raise ``SolverOptionError`` unless ``SatParameters`` takes every field of ``options``."""
    params = sat_parameters_pb2.SatParameters()
    check_option_names("cpsat", options, params.DESCRIPTOR.fields_by_name)
    for key, value in options.items():
        try:
            setattr(params, key, value)
        except (TypeError, ValueError, AttributeError) as exc:
            raise option_value_error("cpsat", key, value, str(exc)) from None
