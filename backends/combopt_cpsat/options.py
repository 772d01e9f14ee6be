"""CP-SAT parameters, checked when the solver is built and set on every ``CpSolver``.

Names are the fields of the ``SatParameters`` message. Values are set on a scratch copy of
the parameters object the solver really uses, which refuses a wrong type or an assignment
to a repeated field. Enum fields take the enum's value name (``"FIXED_SEARCH"``) or its
number (``1``), as in the protobuf message; ``set_options`` converts either to the enum.
"""

from __future__ import annotations

from typing import Any

from ortools.sat import sat_parameters_pb2
from ortools.sat.python import cp_model

from combopt_core.options import check_option_names, option_value_error

_FIELDS = sat_parameters_pb2.SatParameters.DESCRIPTOR.fields_by_name


def _enum_member(params: Any, key: str, value: Any) -> Any:
    """``value`` (a name or number of the field's enum) as the parameters object's enum."""
    enum = _FIELDS[key].enum_type
    if isinstance(value, str):
        known = enum.values_by_name
    elif isinstance(value, int) and not isinstance(value, bool):
        known = enum.values_by_number
    else:
        raise TypeError(f"expected a name or number of {enum.name}, got {type(value).__name__}")
    if value not in known:
        names = ", ".join(enum.values_by_name)
        raise ValueError(f"{value!r} is not a value of {enum.name} ({names})")
    return getattr(type(params), enum.name)(known[value].number)


def _scalar_kind(key: str) -> str:
    """What a scalar field takes, in Python's words."""
    field = _FIELDS[key]
    kinds = {field.CPPTYPE_BOOL: "bool", field.CPPTYPE_STRING: "str"}
    floats = (field.CPPTYPE_DOUBLE, field.CPPTYPE_FLOAT)
    return kinds.get(field.cpp_type, "float" if field.cpp_type in floats else "int")


def set_options(params: Any, options: dict[str, Any]) -> None:
    """Set ``options`` (field name -> value) on a ``CpSolver``'s ``parameters``."""
    for key, value in options.items():
        field = _FIELDS[key]
        if field.label == field.LABEL_REPEATED:
            raise ValueError("a repeated field, which options cannot set")
        if field.enum_type is not None:
            value = _enum_member(params, key, value)
        try:
            setattr(params, key, value)
        except TypeError:
            raise TypeError(f"expected {_scalar_kind(key)}, got {type(value).__name__}") from None


def check_options(options: dict[str, Any]) -> None:
    """Raise ``SolverOptionError`` unless CP-SAT takes every field of ``options``."""
    check_option_names("cpsat", options, _FIELDS)
    params = cp_model.CpSolver().parameters
    for key, value in options.items():
        try:
            set_options(params, {key: value})
        except (TypeError, ValueError, AttributeError) as exc:
            raise option_value_error("cpsat", key, value, str(exc)) from None
