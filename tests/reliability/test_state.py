"""Area 7: state. Learnable constraints save and load through ``state_dict``; the layer
pickles and deep-copies (rebuilding its solver by backend name), and works inside
``DataLoader`` worker processes (fork and spawn) and under ``torch.multiprocessing`` spawn.
"""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from torch.utils.data import DataLoader

from combopt_core import ILPInstance, Solution, Status
from combopt_torch import ILPLayer, LearnableConstraints

from .helpers import available_backends
from .torch_workers import SolvingDataset, costs, forward_backward, make_model, spawned_worker


@pytest.mark.parametrize("parametrization", ["origin", "direct"])
def test_constraints_round_trip_through_state_dict(parametrization, tmp_path):
    trained = LearnableConstraints(4, 7, -5, 5, parametrization,
                                   generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.1)  # as if trained
    torch.save(trained.state_dict(), tmp_path / "cons.pt")
    fresh = LearnableConstraints(4, 7, -5, 5, parametrization,
                                 generator=torch.Generator().manual_seed(1))
    assert not torch.equal(fresh()[0], trained()[0])
    fresh.load_state_dict(torch.load(tmp_path / "cons.pt", weights_only=True))
    for a, b in zip(fresh(), trained()):
        assert torch.equal(a, b)


def test_state_dict_of_wrong_shape_or_kind_is_refused():
    origin = LearnableConstraints(4, 7).state_dict()
    with pytest.raises(RuntimeError, match="size mismatch for normals"):
        LearnableConstraints(5, 7).load_state_dict(origin)
    with pytest.raises(RuntimeError, match="Missing key"):
        LearnableConstraints(4, 7, parametrization="direct").load_state_dict(origin)


def test_combopt_net_resumes_from_a_checkpoint(backend, tmp_path):
    model = make_model(backend, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    c = costs()
    for _ in range(2):
        forward_backward(model, c)
        opt.step()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "ckpt.pt")
    resumed = make_model(backend, seed=7)
    resumed_opt = torch.optim.Adam(resumed.parameters(), lr=0.05)
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    resumed.load_state_dict(ckpt["model"])
    resumed_opt.load_state_dict(ckpt["opt"])
    for m, o in ((model, opt), (resumed, resumed_opt)):  # one more step each: identical
        forward_backward(m, c)
        o.step()
    y1, g1 = forward_backward(model, c)
    y2, g2 = forward_backward(resumed, c)
    assert torch.equal(y1, y2) and all(torch.equal(a, b) for a, b in zip(g1, g2))


def test_layer_pickles_and_deep_copies_with_a_fresh_solver(backend):
    model = make_model(backend)
    c = costs()
    expected = forward_backward(model, c)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert clone.ilp.solver is not model.ilp.solver
        assert clone.ilp.solver.name == model.ilp.solver.name
        y, grads = forward_backward(clone, c)
        assert torch.equal(y, expected[0])
        assert all(torch.equal(a, b) for a, b in zip(grads, expected[1]))


def test_pickled_layer_keeps_the_backend_chosen_by_environment(backend, monkeypatch):
    monkeypatch.setenv("COMBOPT_SOLVER", backend)
    layer = ILPLayer()
    monkeypatch.setenv("COMBOPT_SOLVER", "no-such-backend")  # e.g. a worker's environment
    assert pickle.loads(pickle.dumps(layer)).solver.name == backend


class _Local:
    """A user-made solver object: pickled as it is (a plain class pickles fine)."""

    name, releases_gil = "user", False

    def solve(self, instance: ILPInstance, time_limit=None) -> Solution:
        y = instance.lb.copy()
        return Solution(y, Status.OPTIMAL, float(instance.c @ y))


def test_layer_with_a_user_solver_object_pickles_it():
    clone = pickle.loads(pickle.dumps(ILPLayer(solver=_Local())))
    assert isinstance(clone.solver, _Local)


#: spawned children import torch (about 10 s each on 2 cores): one backend is enough to show
#: the layer's pickling, which rebuilds any backend the same way through the registry
ONE_BACKEND = "highs" if "highs" in available_backends() else available_backends()[0]


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_layer_in_dataloader_workers(backend, context):
    if context == "spawn" and backend != ONE_BACKEND:
        pytest.skip(f"spawn is checked with {ONE_BACKEND} only (slow)")
    model, c = make_model(backend), costs()
    with torch.no_grad():
        expected = model(c)  # the parent has now used the solver threads (matters for fork)
    loader = DataLoader(
        SolvingDataset(model, c),
        batch_size=None,
        num_workers=2,
        multiprocessing_context=context,
        timeout=60,  # a hung worker fails the test instead of hanging it
    )
    got = torch.cat(list(loader))
    assert torch.equal(got, expected)


def test_layer_under_torch_multiprocessing_spawn(tmp_path):
    backend = ONE_BACKEND
    model, c = make_model(backend), costs()
    expected_y, expected_grads = forward_backward(make_model(backend), c)
    out = str(tmp_path / "result")
    torch.multiprocessing.spawn(spawned_worker, args=(model, c, out), nprocs=2, join=True)
    for rank in range(2):
        got = torch.load(f"{out}.{rank}", weights_only=True)
        assert torch.equal(got["y"], expected_y)
        assert all(torch.equal(a, b) for a, b in zip(got["grads"], expected_grads))
