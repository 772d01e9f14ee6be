"""HiGHS options checked when the solver is built: the name (HiGHS' ``getOptionType``) and
the value (``setOptionValue`` on a scratch ``Highs``, which refuses a wrong type or a value
out of range)."""

from __future__ import annotations

from typing import Any

import highspy

from combopt_core.options import check_option_names, option_value_error

_OK = highspy.HighsStatus.kOk


def check_options(options: dict[str, Any], highs: highspy.Highs) -> None:
    """Raise ``SolverOptionError`` unless HiGHS accepts every option; ``highs`` is a scratch
    object (its options are changed)."""
    highs.setOptionValue("output_flag", False)  # HiGHS would print its complaints
    unknown = [k for k in options if not isinstance(k, str) or highs.getOptionType(k)[0] != _OK]
    if unknown:
        names = [n for n in dir(highs.getOptions()) if not n.startswith("_")]
        check_option_names("highs", unknown, names)
    for key, value in options.items():
        if highs.setOptionValue(key, value) != _OK:
            kind = highs.getOptionType(key)[1].name.removeprefix("k").lower()
            detail = f"the option is a {kind} (HiGHS refuses other types and values out of range)"
            raise option_value_error("highs", key, value, detail)
