"""Checking a backend's options when the solver is built, not at its first solve.

A backend passes the names its user gave and the solver's own list of names; a name not in
the list raises an error naming it and the closest valid names (``difflib``), so that a
misspelt option fails at once instead of on every instance. ``check_option_names`` is for a
solver's own options (the ``options`` dict: ``SolverOptionError``); ``check_keywords`` for
the keyword arguments of a backend's factory (``TypeError``, as Python raises for an
unexpected keyword, with the suggestions Python does not give).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from .errors import SolverOptionError


def closest(name: str, valid: Iterable[str], count: int = 3) -> list[str]:
    """The valid names closest to ``name``, best first (case-insensitive), at most ``count``."""
    by_lower: dict[str, str] = {}
    for v in valid:
        by_lower.setdefault(v.lower(), v)
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=count, cutoff=0.6)
    return [by_lower[f] for f in found]


def _unknown(given: Iterable[Any], valid: list[str], ignore_case: bool) -> list[str]:
    """``'name' (did you mean 'x' or 'y'?)`` for every name of ``given`` not in ``valid``."""
    known = {v.lower() for v in valid} if ignore_case else set(valid)
    problems = []
    for name in given:
        if not isinstance(name, str):
            raise SolverOptionError(
                f"options: option names must be strings, got {type(name).__name__} {name!r}"
            )
        if (name.lower() if ignore_case else name) in known:
            continue
        near = closest(name, valid)
        hint = f"did you mean {' or '.join(map(repr, near))}?" if near else "no close name"
        problems.append(f"{name!r} ({hint})")
    return problems


def check_option_names(
    backend: str, given: Iterable[Any], valid: Iterable[str], *, ignore_case: bool = False
) -> None:
    """Raise ``SolverOptionError`` unless every name in ``given`` is one of ``valid``.

    Args:
        backend: the backend's name, for the message.
        given: the option names the user passed (the keys of ``options``).
        valid: the solver's own option names.
        ignore_case: compare names case-insensitively (as Gurobi does).
    """
    problems = _unknown(given, list(valid), ignore_case)
    if problems:
        raise SolverOptionError(f"options: {backend} has no option {', '.join(problems)}")


def option_value_error(backend: str, name: str, value: Any, detail: str) -> SolverOptionError:
    """The error for a value the solver refused for one of its options."""
    return SolverOptionError(f"options[{name!r}]: {backend} refused {value!r}: {detail}")


def check_keywords(backend: str, given: Iterable[str], factory: Callable[..., Any]) -> None:
    """Raise ``TypeError`` unless every name in ``given`` is a keyword argument of
    ``factory`` (a factory taking ``**kwargs`` accepts any)."""
    params = inspect.signature(factory).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    valid = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    problems = _unknown(given, valid, ignore_case=False)
    if problems:
        raise TypeError(
            f"{backend} takes no keyword argument {', '.join(problems)}; "
            f"its keywords: {', '.join(valid) or 'none'}"
        )
