"""Options are checked when the solver is built: a misspelt name or a value the solver
refuses raises there, naming the option and the closest valid names, instead of failing (or,
with HiGHS, being ignored) on every instance."""

from __future__ import annotations

import pytest

from combopt_core import SolverOptionError, Status, get_solver, list_backends, make_problem
from combopt_core.options import check_keywords, check_option_names

AVAILABLE = {s.name for s in list_backends() if s.available}

# backend: (a misspelt option, the name suggested, valid options, a value of the wrong type)
CASES = {
    "highs": (
        {"presolv": "off"},
        "presolve",
        {"presolve": "off", "random_seed": 3},
        {"presolve": 3},
    ),
    "gurobi": ({"MIPGapp": 0.0}, "MIPGap", {"mipgap": 0.0, "Seed": 2}, {"Threads": "abc"}),
    "scip": (
        {"limits/gapp": 0.0},
        "limits/gap",
        {"presolving/maxrounds": 0},
        {"limits/gap": "abc"},
    ),
    "cpsat": ({"random_sed": 1}, "random_seed", {"random_seed": 3}, {"random_seed": 1.5}),
}
PARAMS = [
    pytest.param(name, marks=pytest.mark.skipif(name not in AVAILABLE, reason=f"no {name}"))
    for name in CASES
]


@pytest.mark.parametrize("backend", PARAMS)
def test_misspelt_option_fails_at_construction_with_a_suggestion(backend):
    misspelt, suggested, _, _ = CASES[backend]
    (name,) = misspelt
    with pytest.raises(
        SolverOptionError, match=rf"no option '{name}' \(did you mean '{suggested}'"
    ):
        get_solver(backend, options=misspelt)


@pytest.mark.parametrize("backend", PARAMS)
def test_valid_options_still_solve(backend):
    _, _, valid, _ = CASES[backend]
    solver = get_solver(backend, options=valid)
    sol = solver.solve(make_problem([-1.0, -2.0], [[1.0, 1.0]], [1.0]).instance(0))
    assert sol.status == Status.OPTIMAL and sol.y.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("backend", PARAMS)
def test_wrong_type_fails_at_construction(backend):
    _, _, _, wrong = CASES[backend]
    ((name, value),) = wrong.items()
    with pytest.raises(
        SolverOptionError, match=rf"options\['{name}'\]: {backend} refused {value!r}"
    ):
        get_solver(backend, options=wrong)


@pytest.mark.skipif("highs" not in AVAILABLE, reason="no highs")
def test_highs_value_out_of_range_fails_at_construction():
    """HiGHS used to ignore an option it refused; now the refusal is an error."""
    with pytest.raises(SolverOptionError, match=r"options\['mip_rel_gap'\]: highs refused -1.0"):
        get_solver("highs", options={"mip_rel_gap": -1.0})


@pytest.mark.parametrize("backend", sorted(AVAILABLE & {"highs", "gurobi", "scip", "cpsat"}))
def test_misspelt_keyword_names_the_closest(backend):
    with pytest.raises(
        TypeError, match=r"no keyword argument 'reuse_modle' \(did you mean 'reuse_model'"
    ):
        get_solver(backend, reuse_modle=False)


def test_bruteforce_misspelt_keyword_names_the_closest():
    with pytest.raises(
        TypeError, match=r"'max_pionts' \(did you mean 'max_points'\?\); its keywords: max_points"
    ):
        get_solver("bruteforce", max_pionts=4)


def test_check_option_names_messages():
    with pytest.raises(
        SolverOptionError,
        match=r"^options: demo has no option 'zzz' \(no close name\), 'alpah' \(did you mean 'alpha'\?\)$",
    ):
        check_option_names("demo", ["alpha", "zzz", "alpah"], ["alpha", "beta"])
    with pytest.raises(SolverOptionError, match="option names must be strings, got int 3"):
        check_option_names("demo", [3], ["alpha"])
    check_option_names("demo", ["ALPHA"], ["alpha"], ignore_case=True)
    with pytest.raises(SolverOptionError, match="'ALPHA'"):
        check_option_names("demo", ["ALPHA"], ["alpha"])


def test_check_keywords_accepts_any_keyword_of_a_kwargs_factory():
    def factory(**options):
        return options

    check_keywords("demo", ["anything"], factory)
    with pytest.raises(TypeError, match="its keywords: a, b"):
        check_keywords("demo", ["c"], lambda a, b=1: None)


@pytest.mark.skipif("cpsat" not in AVAILABLE, reason="no cpsat")
@pytest.mark.parametrize("value", ["FIXED_SEARCH", 1])
def test_cpsat_enum_option_by_name_or_number_reaches_the_solve(value):
    # CP-SAT's own parameters object takes only its enum type; the protobuf names and
    # numbers are converted, so the option works in a solve instead of failing there.
    solver = get_solver("cpsat", options={"search_branching": value})
    problem = make_problem([[1.0, -2.0]], [[1.0, 1.0]], [1.0], 0, 1)
    (answer,) = solver.solve_many(problem)
    assert answer.status is Status.OPTIMAL and answer.y.tolist() == [0.0, 1.0]


@pytest.mark.skipif("cpsat" not in AVAILABLE, reason="no cpsat")
@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"search_branching": "NOPE"}, "'NOPE' is not a value of SearchBranching"),
        ({"search_branching": 2.5}, "expected a name or number of SearchBranching, got float"),
        ({"num_workers": "x"}, "expected int, got str"),
        ({"restart_algorithms": [1]}, "a repeated field"),
    ],
)
def test_cpsat_refused_values_say_why(options, why):
    with pytest.raises(SolverOptionError, match=why):
        get_solver("cpsat", options=options)
