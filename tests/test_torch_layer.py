"""The PyTorch adapter: shapes, dtypes, shared constraints, infeasibility, errors, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import rc_files

from combopt_core import ProblemValidationError, Status, combopt_gradients
from combopt_torch import CombOptNet, ILPLayer, LearnableConstraints


@pytest.fixture
def rc():
    """Fresh tensors of one Random Constraints file (tests may set requires_grad)."""
    data = np.load([p for p in rc_files() if p.stem == "binary_m4_seed0"][0])
    return {k: torch.tensor(data[k]) for k in data.files}


@pytest.fixture(scope="module")
def layer():
    return ILPLayer(0, 1, solver="highs", tau=0.5)


def test_forward_solves_the_paper_instances(rc, layer):
    y = layer(rc["c_test"][:8], rc["A"], rc["b"])
    torch.testing.assert_close(y, rc["y_test"][:8].double())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_output_follows_cost_dtype_and_gradients_follow_input_dtypes(rc, layer, dtype):
    c = rc["c_test"][:4].to(dtype).requires_grad_()
    A = rc["A"].float().requires_grad_()
    b = rc["b"].double().requires_grad_()
    y = layer(c, A, b)
    assert y.dtype == dtype and y.shape == c.shape
    (y.float() * torch.arange(16.0)).sum().backward()
    assert c.grad.dtype == dtype and A.grad.dtype == torch.float32 and b.grad.dtype == torch.float64


def test_integer_costs_give_default_float_output(layer):
    c = torch.tensor([[1, -1, 2]])
    y = layer(c, torch.zeros(0, 3), torch.zeros(0))
    assert y.dtype == torch.get_default_dtype()
    assert y.tolist() == [[0.0, 1.0, 0.0]]


def test_single_instance_and_non_contiguous_inputs(rc, layer):
    c = rc["c_test"][:8].t().contiguous().t()  # same values, transposed layout
    assert not c.is_contiguous()
    y = layer(c, rc["A"].t().contiguous().t(), rc["b"])
    torch.testing.assert_close(y, rc["y_test"][:8].double())
    y1 = layer(rc["c_test"][0], rc["A"], rc["b"])
    assert y1.shape == (16,)
    torch.testing.assert_close(y1, rc["y_test"][0].double())


def test_gradients_equal_the_core_rule(rc, layer):
    c = rc["c_train"][:8].clone().requires_grad_()
    A = rc["A"].clone().requires_grad_()
    b = rc["b"].clone().requires_grad_()
    y = layer(c, A, b)
    target = rc["y_train"][8:16].double()
    loss = ((y - target) ** 2).sum()
    loss.backward()
    dy = (2 * (y - target)).detach().numpy()
    g = combopt_gradients(dy, y.detach().numpy(), A.detach().numpy(), b.detach().numpy(),
                          np.zeros(16), np.ones(16), tau=0.5)
    np.testing.assert_allclose(c.grad.numpy(), g.dc)
    np.testing.assert_allclose(A.grad.numpy(), g.dA)
    np.testing.assert_allclose(b.grad.numpy(), g.db)


def test_per_instance_constraints_get_per_instance_gradients(rc, layer):
    B = 6
    A = rc["A"].expand(B, -1, -1).clone().requires_grad_()
    b = rc["b"].expand(B, -1).clone().requires_grad_()
    c = rc["c_train"][:B].clone().requires_grad_()
    y = layer(c, A, b)
    ((y - rc["y_train"][B : 2 * B]) ** 2).sum().backward()
    assert A.grad.shape == (B, 4, 16) and b.grad.shape == (B, 4)

    A2 = rc["A"].clone().requires_grad_()
    b2 = rc["b"].clone().requires_grad_()
    y2 = layer(c.detach(), A2, b2)
    ((y2 - rc["y_train"][B : 2 * B]) ** 2).sum().backward()
    torch.testing.assert_close(A.grad.sum(0), A2.grad)
    torch.testing.assert_close(b.grad.sum(0), b2.grad)


def test_gradients_only_where_required(rc, layer):
    c = rc["c_train"][:4].clone().requires_grad_()
    A, b = rc["A"].clone(), rc["b"].clone()
    layer(c, A, b).sum().backward()
    assert c.grad is not None and A.grad is None and b.grad is None


def test_infeasible_instance_is_flagged_and_still_gets_a_push_out_gradient(layer):
    n = 5
    c = torch.ones(2, n)
    A = torch.ones(2, 1, n)
    b = torch.tensor([[-1.0], [3.0]], requires_grad=True)  # first region is empty
    y, info = layer(c, A, b, return_info=True)
    assert info.infeasible.tolist() == [True, False]
    assert info.status.tolist() == [Status.INFEASIBLE, Status.OPTIMAL]
    assert torch.isnan(info.objective[0]) and info.objective[1] == 0
    torch.testing.assert_close(y[0], torch.zeros(n))
    (-y.sum()).backward()  # the loss wants more ones
    assert b.grad[0, 0] < 0  # descent raises b[0]: the empty region grows


def test_bad_input_names_the_argument(rc, layer):
    with pytest.raises(ProblemValidationError, match=r"^A: "):
        layer(rc["c_test"][:2], torch.zeros(4, 15), rc["b"])
    with pytest.raises(ProblemValidationError, match=r"^b: "):
        layer(rc["c_test"][:2], rc["A"], torch.zeros(3))
    c = rc["c_test"][:2].clone()
    c[1, 3] = float("nan")
    with pytest.raises(ProblemValidationError, match=r"^c: contains NaN"):
        layer(c, rc["A"], rc["b"])
    with pytest.raises(TypeError, match=r"^b: expected a torch.Tensor"):
        layer(rc["c_test"][:2], rc["A"], [0.0] * 4)


def test_layer_rejects_negative_tau():
    with pytest.raises(ValueError, match="tau"):
        ILPLayer(0, 1, tau=-0.1)


def test_layer_rejects_unknown_backward_implementation():
    with pytest.raises(ValueError, match=r"^backward: must be one of auto, numpy, numba"):
        ILPLayer(0, 1, backward="fortran")


def _layer_gradients(rc, layer):
    A = rc["A"].clone().requires_grad_(True)
    b = rc["b"].clone().requires_grad_(True)
    c = rc["c_train"][:16].clone().requires_grad_(True)
    y = layer(c, A, b)
    torch.nn.functional.mse_loss(y, rc["y_train"][:16].double() * 0.5).backward()
    return c.grad, A.grad, b.grad


def test_backward_argument_overrides_the_environment(rc, monkeypatch):
    monkeypatch.setenv("COMBOPT_BACKWARD", "fortran")
    with pytest.raises(ValueError, match="COMBOPT_BACKWARD"):  # the layer defers to the env
        _layer_gradients(rc, ILPLayer(0, 1, solver="highs"))
    assert all(g is not None for g in _layer_gradients(rc, ILPLayer(0, 1, backward="numpy")))


def test_numba_and_numpy_backward_agree_through_the_layer(rc):
    pytest.importorskip("numba")
    numpy_grads = _layer_gradients(rc, ILPLayer(0, 1, solver="highs", backward="numpy"))
    numba_grads = _layer_gradients(rc, ILPLayer(0, 1, solver="highs", backward="numba"))
    assert numpy_grads[1].abs().sum() > 0  # the constraints get a gradient at all
    for got, want in zip(numba_grads, numpy_grads):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lb, ub", [(0.0, 1.0), (-5.0, 5.0)])
def test_learnable_constraints_initialise_as_in_the_paper(lb, ub):
    g = torch.Generator().manual_seed(0)
    module = LearnableConstraints(8, 16, lb, ub, generator=g)
    A, b = module()
    torch.testing.assert_close(A.norm(dim=-1), torch.ones(8))
    torch.testing.assert_close(module.radii, torch.full((8,), 0.2))
    centre, quarter = (lb + ub) / 2, (ub - lb) / 4
    assert (module.origins - centre).abs().max() <= quarter
    torch.testing.assert_close(b, (A * module.origins).sum(-1) - module.radii)
    # The origin lies at distance r on the infeasible side of its own hyperplane.
    torch.testing.assert_close((A * module.origins).sum(-1) - b, module.radii)


def test_normals_are_normalised_in_every_forward():
    module = LearnableConstraints(3, 5)
    with torch.no_grad():
        module.normals.mul_(7.0)
    A, _ = module()
    torch.testing.assert_close(A.norm(dim=-1), torch.ones(3))


def test_direct_parametrization_exposes_plain_parameters():
    module = LearnableConstraints(2, 4, parametrization="direct")
    A, b = module()
    assert A is module.A and b is module.b
    with pytest.raises(ValueError, match="parametrization"):
        LearnableConstraints(2, 4, parametrization="polar")


def test_combopt_net_trains_its_constraints(rc):
    torch.manual_seed(0)
    net = CombOptNet(16, 4, 0, 1, solver="highs")
    before = [p.detach().clone() for p in net.parameters()]
    y = net(rc["c_train"][:8])
    ((y - rc["y_train"][:8]) ** 2).mean().backward()
    torch.optim.SGD(net.parameters(), lr=0.1).step()
    assert any(not torch.equal(p0, p) for p0, p in zip(before, net.parameters()))


def _equality_data(seed=0, B=6, n=6):
    """Shared ``<=`` rows and equality rows that ``y`` meets exactly, in a [-1, 1] box."""
    rng = np.random.default_rng(seed)
    A = rng.integers(-2, 3, size=(2, n)).astype(float)
    b = A @ rng.integers(-1, 2, size=n) + 1.0
    A_eq = rng.integers(-1, 2, size=(2, n)).astype(float)
    A_eq[~A_eq.any(axis=1), 0] = 1.0
    b_eq = A_eq @ rng.integers(-1, 2, size=n)
    return rng.normal(size=(B, n)), A, b, A_eq, b_eq, rng.normal(size=(B, n))


def test_equality_rows_are_met_and_get_the_rule_gradient():
    c, A, b, A_eq, b_eq, w = _equality_data()
    layer = ILPLayer(-1, 1, solver="highs", tau=0.5)
    ts = [torch.tensor(x, requires_grad=True) for x in (c, A, b, A_eq, b_eq)]
    y, info = layer(ts[0], ts[1], ts[2], return_info=True, A_eq=ts[3], b_eq=ts[4])
    assert (info.status == int(Status.OPTIMAL)).all()
    np.testing.assert_allclose(y.detach().numpy() @ A_eq.T, np.broadcast_to(b_eq, (6, 2)))
    (y * torch.tensor(w)).sum().backward()
    want = combopt_gradients(
        w, y.detach().numpy(), A, b, np.full(6, -1.0), np.ones(6), 0.5, A_eq=A_eq, b_eq=b_eq
    )
    for t, g in zip(ts, (want.dc, want.dA, want.db, want.dA_eq, want.db_eq)):
        np.testing.assert_allclose(t.grad.numpy(), g, atol=1e-12)
    assert ts[3].grad.abs().sum() > 0


def test_shared_equalities_beside_per_instance_rows_sum_their_gradient():
    c, A, b, A_eq, b_eq, w = _equality_data(seed=1)
    layer = ILPLayer(-1, 1, solver="highs")
    A3 = torch.tensor(np.repeat(A[None], 6, 0), requires_grad=True)
    b3 = torch.tensor(np.repeat(b[None], 6, 0), requires_grad=True)
    shared = [torch.tensor(x, requires_grad=True) for x in (A_eq, b_eq)]
    y = layer(torch.tensor(c), A3, b3, A_eq=shared[0], b_eq=shared[1])
    (y * torch.tensor(w)).sum().backward()
    per = [torch.tensor(np.repeat(x[None], 6, 0), requires_grad=True) for x in (A_eq, b_eq)]
    y2 = layer(torch.tensor(c), A3.detach(), b3.detach(), A_eq=per[0], b_eq=per[1])
    (y2 * torch.tensor(w)).sum().backward()
    torch.testing.assert_close(y, y2)
    assert shared[0].grad.shape == A_eq.shape
    torch.testing.assert_close(shared[0].grad, per[0].grad.sum(0))
    torch.testing.assert_close(shared[1].grad, per[1].grad.sum(0))


def test_equality_rows_need_both_tensors():
    c, A, b, A_eq, _, _ = _equality_data()
    with pytest.raises(ProblemValidationError, match="^b_eq: equality rows need both"):
        ILPLayer(-1, 1, solver="highs")(
            torch.tensor(c), torch.tensor(A), torch.tensor(b), A_eq=torch.tensor(A_eq)
        )


def test_learnable_equalities_leave_the_inequality_initialisation_unchanged():
    for parametrization in ("origin", "direct"):
        plain = LearnableConstraints(3, 5, -1, 1, parametrization, generator=torch.Generator())
        with_eq = LearnableConstraints(
            3, 5, -1, 1, parametrization, generator=torch.Generator(), num_equalities=2
        )
        for x, y in zip(plain(), with_eq()):
            torch.testing.assert_close(x, y)
        A_eq, b_eq = with_eq.equalities()
        assert A_eq.shape == (2, 5) and b_eq.shape == (2,)
        assert plain.equalities()[0].shape == (0, 5)
    eq = LearnableConstraints(0, 4, num_equalities=1)
    a, beta = eq.equalities()
    torch.testing.assert_close(a.norm(dim=-1), torch.ones(1))  # a unit normal ...
    torch.testing.assert_close(beta, (a * eq.origins_eq).sum(-1))  # ... through its origin
    with pytest.raises(ValueError, match="^num_equalities: need m_eq >= 0"):
        LearnableConstraints(1, 4, num_equalities=-1)


def test_generic_learned_equalities_have_no_integer_point():
    """The documented caution: real-valued equality rows miss every integer point."""
    net = CombOptNet(
        6, 2, -1, 1, solver="highs", num_equalities=1, generator=torch.Generator().manual_seed(0)
    )
    _, info = net(torch.randn(8, 6, dtype=torch.float64), return_info=True)
    assert info.infeasible.all()


def test_learned_equalities_train_with_given_per_instance_rows():
    """``direct`` equality rows set to integral values, plus per-instance given rows: the
    forward meets both, and the learned rows get a gradient."""
    torch.manual_seed(0)
    net = CombOptNet(6, 1, 0, 1, parametrization="direct", solver="highs", num_equalities=1)
    with torch.no_grad():
        net.constraints.A_eq.copy_(torch.tensor([[1.0, 1, 1, 0, 0, 0]]))
        net.constraints.b_eq.fill_(1.0)
        net.constraints.A.zero_()
        net.constraints.b.fill_(1.0)
    B = 8
    given = torch.zeros(B, 1, 6, dtype=torch.float64)
    given[torch.arange(B), 0, 3 + torch.arange(B) % 3] = 1.0  # y_{3 + i % 3} = 1
    c = torch.randn(B, 6, dtype=torch.float64)
    y = net(c, A_eq=given, b_eq=torch.ones(B, 1, dtype=torch.float64))
    assert torch.all(y[:, :3].sum(1) == 1)
    assert torch.all(y[torch.arange(B), 3 + torch.arange(B) % 3] == 1)
    (y * torch.randn_like(y)).sum().backward()
    assert net.constraints.A_eq.grad.abs().sum() > 0 and net.constraints.b_eq.grad is not None
    with pytest.raises(ProblemValidationError, match="^b_eq: equality rows need both"):
        net(c, A_eq=given)
