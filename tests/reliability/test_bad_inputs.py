"""Area 1: every bad input fails early with an error naming the argument and the problem;
unusual but valid inputs (m = 0, integer, half precision, non-contiguous) work.

Without the guards most of these reach the solver: HiGHS answers NaN in ``A`` with
"infeasible", ``m = 0`` crashed the HiGHS backend, and so on.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from combopt_core import (
    BackendNotFoundError,
    BackendSpec,
    BackendUnavailableError,
    ProblemValidationError,
    get_solver,
    hookimpl,
    make_problem,
    register_plugin,
    solve,
)
from combopt_core.registry import default_registry
from combopt_torch import ILPLayer

from .helpers import BruteForceSolver, brute_force, random_problem

B, M, N = 2, 2, 3


def base() -> dict:
    rng = np.random.default_rng(0)
    c, A, b, lb, ub = random_problem(rng, B, N, M)
    return dict(c=c, A=A, b=b, lb=lb, ub=ub)


def with_value(name: str, index: tuple, value: float) -> dict:
    kw = base()
    arr = np.array(kw[name], dtype=np.float64)
    arr[index] = value
    kw[name] = arr
    return kw


def replaced(**changes) -> dict:
    kw = base()
    kw.update(changes)
    return kw


# (id, kwargs of make_problem, words the message must contain)
PROBLEM_CASES = [
    ("nan_c", with_value("c", (1, 2), np.nan), ["c:", "NaN", "(1, 2)"]),
    ("inf_c", with_value("c", (0, 0), np.inf), ["c:", "inf"]),
    ("neg_inf_c", with_value("c", (0, 1), -np.inf), ["c:", "inf"]),
    ("nan_A", with_value("A", (1, 0, 2), np.nan), ["A:", "NaN", "(1, 0, 2)"]),
    ("inf_A", with_value("A", (0, 1, 1), np.inf), ["A:", "inf"]),
    ("nan_b", with_value("b", (0, 1), np.nan), ["b:", "NaN"]),
    ("inf_b", with_value("b", (1, 0), np.inf), ["b:", "inf"]),
    ("neg_inf_b", with_value("b", (1, 1), -np.inf), ["b:", "inf"]),
    ("c_3d", replaced(c=np.zeros((B, N, 1))), ["c:", "shape"]),
    ("c_strings", replaced(c=np.array([["a", "b", "c"]])), ["c:", "dtype"]),
    ("c_complex", replaced(c=np.ones((B, N)) * 1j), ["c:", "complex"]),
    ("c_ragged", replaced(c=[[1.0, 2.0], [3.0]]), ["c:"]),
    ("A_wrong_n", replaced(A=np.zeros((B, M, N + 1))), ["A:", f"n={N}"]),
    ("A_wrong_batch", replaced(A=np.zeros((B + 1, M, N))), ["A:", f"B={B}"]),
    ("A_1d", replaced(A=np.zeros(N)), ["A:", "shape"]),
    ("A_4d", replaced(A=np.zeros((1, B, M, N))), ["A:", "shape"]),
    ("b_wrong_m_shared", replaced(A=np.zeros((M, N)), b=np.zeros(M + 1)), ["b:", f"({M},)"]),
    ("b_wrong_batch", replaced(b=np.zeros((B + 1, M))), ["b:", f"({B}, {M})"]),
    ("b_batched_for_shared_A", replaced(A=np.zeros((M, N)), b=np.zeros((B, M))), ["b:"]),
    ("lb_gt_ub_scalar", replaced(lb=1.0, ub=0.0), ["lb, ub", "lb > ub"]),
    ("lb_gt_ub_vector", replaced(lb=[0, 3, 0], ub=[1, 2, 1]), ["lb, ub", "variable 1"]),
    ("no_integer_in_bounds", replaced(lb=0.2, ub=0.8), ["lb, ub", "no integer"]),
    ("lb_minus_inf", replaced(lb=-np.inf), ["lb:", "infinite", "finite bounds"]),
    ("ub_plus_inf_one_var", replaced(ub=[1, np.inf, 1]), ["ub:", "variable 1", "infinite"]),
    ("lb_nan", replaced(lb=np.nan), ["lb:", "NaN"]),
    ("ub_wrong_length", replaced(ub=[1.0, 1.0]), ["ub:", f"({N},)"]),
    ("lb_not_numbers", replaced(lb="zero"), ["lb:"]),
    ("empty_batch", replaced(c=np.zeros((0, N)), A=np.zeros((M, N)), b=np.zeros(M)),
     ["c:", "empty"]),
    ("no_variables", replaced(c=np.zeros((B, 0)), A=np.zeros((M, 0)), b=np.zeros(M)),
     ["c:", "n = 0"]),
]


PROBLEMS = pytest.mark.parametrize(
    "kwargs, words", [c[1:] for c in PROBLEM_CASES], ids=[c[0] for c in PROBLEM_CASES]
)


@PROBLEMS
def test_bad_problem_is_rejected_naming_the_argument(kwargs, words):
    with pytest.raises(ProblemValidationError) as info:
        make_problem(**kwargs)
    for word in words:
        assert word in str(info.value)


@PROBLEMS
def test_bad_problem_never_reaches_the_backend(kwargs, words, backend):
    with pytest.raises(ProblemValidationError, match=words[0]):
        solve(**kwargs, solver=backend)


OPTION_CASES = [
    ("time_limit_zero", dict(time_limit=0), ProblemValidationError, "time_limit"),
    ("time_limit_negative", dict(time_limit=-1.0), ProblemValidationError, "time_limit"),
    ("time_limit_nan", dict(time_limit=float("nan")), ProblemValidationError, "time_limit"),
    ("time_limit_string", dict(time_limit="1"), ProblemValidationError, "time_limit"),
    ("time_limit_bool", dict(time_limit=True), ProblemValidationError, "time_limit"),
    ("workers_zero", dict(workers=0), ValueError, "workers"),
    ("on_error_unknown", dict(on_error="ignore"), ValueError, "on_error"),
]


@pytest.mark.parametrize(
    "options, exc, word", [c[1:] for c in OPTION_CASES], ids=[c[0] for c in OPTION_CASES]
)
def test_bad_solve_option_is_rejected(options, exc, word, backend):
    with pytest.raises(exc, match=word):
        solve(**base(), solver=backend, **options)


def test_infinite_time_limit_means_none(backend):
    res = solve(**base(), solver=backend, time_limit=float("inf"))
    assert res.optimal.all()


# --- backend selection --------------------------------------------------------------------


class _Plugins:
    """Backends that cannot run: a missing package, a missing licence, a failing factory."""

    @hookimpl
    def register_backends(self, register):
        register(
            BackendSpec(
                name="nopackage",
                factory=lambda: None,
                module="combopt_no_such_solver_pkg",
                install_hint="pip install no-such-solver",
            )
        )
        register(
            BackendSpec(
                name="nolicence", factory=lambda: None, check=lambda: "no licence file found"
            )
        )

        def factory(**options):
            raise OSError("licence server unreachable")

        register(BackendSpec(name="startfails", factory=factory))


@pytest.fixture
def unusable_backends():
    register_plugin(_Plugins(), name="test-unusable")
    yield
    default_registry().unregister_plugin("test-unusable")


def test_unknown_solver_lists_known_backends():
    with pytest.raises(BackendNotFoundError) as info:
        get_solver("no-such-backend")
    msg = str(info.value)
    assert "solver:" in msg and "'no-such-backend'" in msg and "highs" in msg


def test_unknown_solver_from_environment_says_so(monkeypatch):
    monkeypatch.setenv("COMBOPT_SOLVER", "typo-solver")
    with pytest.raises(BackendNotFoundError, match=r"typo-solver.*COMBOPT_SOLVER"):
        get_solver()


@pytest.mark.parametrize("bad", [3, 1.5, ["highs"]])
def test_solver_of_wrong_type(bad):
    with pytest.raises(TypeError, match="solver: expected a backend name"):
        get_solver(bad)
    with pytest.raises(TypeError, match="solver: expected a backend name"):
        ILPLayer(solver=bad)


def test_missing_package_names_backend_and_install_hint(unusable_backends):
    with pytest.raises(BackendUnavailableError) as info:
        get_solver("nopackage")
    msg = str(info.value)
    assert "'nopackage'" in msg and "combopt_no_such_solver_pkg" in msg
    assert "pip install no-such-solver" in msg
    with pytest.raises(BackendUnavailableError, match="nopackage"):
        ILPLayer(solver="nopackage")


def test_missing_licence_names_backend_and_reason(unusable_backends):
    with pytest.raises(BackendUnavailableError, match="'nolicence'.*no licence file found"):
        get_solver("nolicence")


def test_failing_factory_is_reported_as_unavailable(unusable_backends):
    with pytest.raises(BackendUnavailableError, match="'startfails' failed to start.*unreach"):
        get_solver("startfails")


def test_unknown_solver_option_names_backend(backend):
    with pytest.raises(TypeError, match=f"solver options for backend '{backend}'"):
        get_solver(backend, no_such_option_xyz=1)


# --- the torch layer ----------------------------------------------------------------------


def tensors(dtype=torch.float64):
    kw = base()
    return (torch.tensor(kw["c"], dtype=dtype), torch.tensor(kw["A"], dtype=dtype),
            torch.tensor(kw["b"], dtype=dtype))


def test_layer_rejects_non_tensor():
    c, A, b = tensors()
    with pytest.raises(TypeError, match="c: expected a torch.Tensor"):
        ILPLayer()(c.numpy(), A, b)


def test_layer_rejects_complex():
    c, A, b = tensors()
    with pytest.raises(ProblemValidationError, match="A: complex"):
        ILPLayer()(c, A.to(torch.complex64), b)


def test_layer_rejects_sparse():
    c, A, b = tensors()
    with pytest.raises(ProblemValidationError, match=r"A: .*sparse.*A.to_dense\(\)"):
        ILPLayer()(c, A[0].to_sparse(), b[0])


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
@pytest.mark.parametrize("name", ["c", "A", "b"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_layer_rejects_nonfinite_in_any_dtype(dtype, name, value):
    ts = dict(zip("cAb", tensors(dtype)))
    ts[name].view(-1)[1] = value
    with pytest.raises(ProblemValidationError, match=f"{name}: contains"):
        ILPLayer()(ts["c"], ts["A"], ts["b"])


def test_layer_rejects_mismatched_batch():
    c, A, b = tensors()
    with pytest.raises(ProblemValidationError, match="b: "):
        ILPLayer()(c, A, b[:1])


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(tau=-0.5), "tau"),
        (dict(tau=float("nan")), "tau"),
        (dict(tau=float("inf")), "tau"),
        (dict(time_limit=-1), "time_limit"),
        (dict(workers=0), "workers"),
        (dict(workers=1.5), "workers"),
        (dict(on_error="skip"), "on_error"),
        (dict(solver=BruteForceSolver(), solver_options={"x": 1}), "solver_options"),
    ],
)
def test_layer_rejects_bad_options(kwargs, word):
    with pytest.raises((ValueError, TypeError), match=word):  # TypeError for a wrong type
        ILPLayer(**kwargs)


def test_layer_rejects_bad_bounds_at_forward():
    c, A, b = tensors()
    with pytest.raises(ProblemValidationError, match="lb, ub"):
        ILPLayer(lb=1, ub=0)(c, A, b)


# --- unusual but valid inputs: must work and agree with brute force ----------------------


def reference(c, A, b, lb, ub) -> np.ndarray:
    problem = make_problem(c, A, b, lb, ub)
    return np.stack([brute_force(problem.instance(i)).y for i in range(problem.batch_size)])


def test_box_only_problem_m0_shared_and_batched(backend):
    rng = np.random.default_rng(1)
    c = rng.normal(size=(4, 5))
    for A, b in [(np.zeros((0, 5)), np.zeros(0)), (np.zeros((4, 0, 5)), np.zeros((4, 0)))]:
        res = solve(c, A, b, -2, 3, solver=backend)
        assert res.optimal.all()
        np.testing.assert_array_equal(res.y, np.where(c < 0, 3.0, -2.0))


def test_box_only_problem_through_layer(backend):
    c = torch.tensor([[1.0, -1.0, 2.0]], requires_grad=True)
    A = torch.zeros(0, 3, requires_grad=True)
    b = torch.zeros(0, requires_grad=True)
    y = ILPLayer(0, 1, solver=backend)(c, A, b)
    assert y.tolist() == [[0.0, 1.0, 0.0]]
    y.sum().backward()
    assert c.grad.shape == c.shape and A.grad.shape == (0, 3) and b.grad.shape == (0,)


def test_single_variable(backend):
    res = solve([-1.0], [[1.0]], [2.5], 0, 5, solver=backend)
    assert res.y.tolist() == [[2.0]]


def test_non_integer_bounds_are_rounded_inward(backend):
    res = solve([[1.0, -1.0]], np.zeros((0, 2)), np.zeros(0), -0.5, 2.7, solver=backend)
    assert res.y.tolist() == [[0.0, 2.0]]


def test_python_lists_and_integer_arrays(backend):
    c = [[-3, 1, -2]]
    A = [[[2, 1, 2]]]
    b = [[3]]
    res = solve(c, A, b, 0, 1, solver=backend)
    np.testing.assert_array_equal(res.y, reference(c, A, b, 0, 1))


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool])
def test_integer_and_bool_tensors(dtype, backend):
    c = torch.tensor([[-3, 1, -2], [1, -1, -1]]).to(dtype)
    A = torch.tensor([[1, 1, 1]]).to(dtype)
    b = torch.tensor([2 if dtype != torch.bool else 1]).to(dtype)
    y = ILPLayer(0, 1, solver=backend)(c, A, b)
    assert y.dtype == torch.get_default_dtype()
    expected = reference(c.double().numpy(), A.double().numpy(), b.double().numpy(), 0, 1)
    np.testing.assert_array_equal(y.numpy(), expected)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_low_precision_tensors_give_gradients_in_their_dtype(dtype, backend):
    rng = np.random.default_rng(2)
    c, A, b, lb, ub = random_problem(rng, 3, 4, 2)
    # the reference solves the same (rounded) values the layer sees
    c, A, b = (torch.tensor(x).to(dtype).requires_grad_() for x in (c, A, b))
    y = ILPLayer(lb, ub, solver=backend)(c, A, b)
    assert y.dtype == dtype
    np.testing.assert_array_equal(
        y.detach().double().numpy(),
        reference(*(t.detach().double().numpy() for t in (c, A, b)), lb, ub),
    )
    (y * torch.arange(4, dtype=dtype)).sum().backward()
    for t in (c, A, b):
        assert t.grad.dtype == dtype and t.grad.shape == t.shape
        assert torch.isfinite(t.grad).all()


def test_non_contiguous_tensors_match_contiguous_ones(backend):
    rng = np.random.default_rng(3)
    c, A, b, lb, ub = random_problem(rng, 4, 5, 3)
    c_wide = torch.tensor(np.repeat(c, 2, axis=1))[:, ::2]  # strided view
    A_t = torch.tensor(A.transpose(0, 2, 1).copy()).transpose(1, 2)  # transposed view
    b_wide = torch.tensor(np.stack([b, b], -1))[..., 0]
    assert not (c_wide.is_contiguous() or A_t.is_contiguous() or b_wide.is_contiguous())
    views = [t.clone().requires_grad_() for t in (c_wide, A_t, b_wide)]
    dense = [torch.tensor(x, requires_grad=True) for x in (c, A, b)]
    layer = ILPLayer(lb, ub, solver=backend)
    y_view, y_dense = layer(*views), layer(*dense)
    torch.testing.assert_close(y_view, y_dense)
    w = torch.linspace(-1, 1, 5, dtype=torch.float64)
    (y_view @ w).sum().backward()
    (y_dense @ w).sum().backward()
    for v, d in zip(views, dense):
        torch.testing.assert_close(v.grad, d.grad)


def test_inputs_are_copied_not_aliased(backend):
    """The problem kept for backward must not change when an input is edited in place."""
    rng = np.random.default_rng(4)
    c, A, b, lb, ub = random_problem(rng, 2, 4, 2)
    A1 = torch.tensor(A, requires_grad=True)
    A2 = torch.tensor(A, requires_grad=True)
    c_t, b_t = torch.tensor(c), torch.tensor(b)
    layer = ILPLayer(lb, ub, solver=backend)
    y1, y2 = layer(c_t, A1, b_t), layer(c_t, A2, b_t)
    with torch.no_grad():
        A1.mul_(-3.0)  # e.g. an optimizer step between forward and backward
    w = torch.arange(4, dtype=torch.float64)
    (y1 @ w).sum().backward()
    (y2 @ w).sum().backward()
    torch.testing.assert_close(A1.grad, A2.grad)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32])
def test_cuda_tensors_in_any_layout_come_back_on_their_device(dtype, backend):
    rng = np.random.default_rng(5)
    c, A, b, lb, ub = random_problem(rng, 4, 5, 3)
    cpu = [torch.tensor(x).to(dtype).requires_grad_() for x in (c, A, b)]
    gpu = [t.detach().cuda().requires_grad_() for t in cpu]
    gpu[1] = gpu[1].detach().transpose(1, 2).contiguous().transpose(1, 2).requires_grad_()
    layer = ILPLayer(lb, ub, solver=backend)
    y_cpu, y_gpu = layer(*cpu), layer(*gpu)
    assert y_gpu.device.type == "cuda" and y_gpu.dtype == dtype
    torch.testing.assert_close(y_gpu.cpu(), y_cpu)
    w = torch.linspace(-1, 1, 5, dtype=dtype)
    (y_cpu @ w).sum().backward()
    (y_gpu @ w.cuda()).sum().backward()
    for tc, tg in zip(cpu, gpu):
        assert tg.grad.device.type == "cuda" and tg.grad.dtype == dtype
        torch.testing.assert_close(tg.grad.cpu(), tc.grad)
