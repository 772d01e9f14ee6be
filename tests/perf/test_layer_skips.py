"""The layers' exact skips: on by default, same answers and gradients as a cold backend solve,
proofs reported in ``ILPInfo``, memory and warm starts through ``forward``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from combopt_core import Proof, SolutionMemory
from combopt_torch import CombOptNet, ILPLayer
from perf.perf_helpers import CountingSolver, random_problem


def tensors(p, requires_grad=True):
    return [torch.tensor(x, requires_grad=requires_grad) for x in (p.c, p.A, p.b)]


def forward_backward(layer, p, **kwargs):
    c, A, b = tensors(p)
    y, info = layer(c, A, b, return_info=True, **kwargs)
    dy = torch.linspace(-1, 1, y.shape[-1], dtype=y.dtype).expand_as(y)
    (y * dy).sum().backward()
    return y.detach().numpy(), info, [t.grad.numpy() for t in (c, A, b)]


@pytest.mark.parametrize("shared", [True, False])
def test_skips_give_the_backend_answers_and_gradients(shared):
    p = random_problem(32, 10, 3, shared=shared, seed=11)
    solver = CountingSolver("serial")
    y, info, grads = forward_backward(ILPLayer(0, 1, solver=solver, workers=1), p)
    cold = CountingSolver("serial")
    layer = ILPLayer(0, 1, solver=cold, workers=1, skip=False, enumeration="never")
    y_ref, info_ref, grads_ref = forward_backward(layer, p)
    np.testing.assert_array_equal(y, y_ref)
    for g, g_ref in zip(grads, grads_ref):
        np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-12)
    assert cold.calls == 32
    box_minimum = info.proof == int(Proof.BOX_MINIMUM)
    if shared:  # 2^10 points: one enumeration answers what the box minimum does not
        assert solver.calls == 0
        assert (info.proof[~box_minimum] == int(Proof.ENUMERATION)).all()
    else:
        assert solver.calls == 32 - int(box_minimum.sum())
    assert (info_ref.proof == int(Proof.SOLVER)).all()


def test_memory_and_ids_skip_unchanged_samples_between_steps():
    p = random_problem(8, 6, 3, shared=False, seed=12)
    solver = CountingSolver("serial")
    layer = ILPLayer(0, 1, solver=solver, workers=1, memory=SolutionMemory(), skip=False)
    ids = torch.arange(8)
    first = layer(*tensors(p, False), ids=ids)
    y, info = layer(*tensors(p, False), return_info=True, ids=ids)
    assert solver.calls == 8
    assert (info.proof == int(Proof.UNCHANGED)).all()
    torch.testing.assert_close(y, first)


def test_labels_as_warm_starts_reach_the_backend_only_where_feasible():
    p = random_problem(6, 6, 3, shared=False, seed=13)
    layer = ILPLayer(0, 1, solver=CountingSolver("serial"), workers=1, skip=False)
    labels = torch.tensor(layer(*tensors(p, False)).numpy())
    labels[0] = 2.0  # outside the box: ignored, with a warning
    with pytest.warns(RuntimeWarning, match="1 warm start"):
        y = layer(*tensors(p, False), start=labels)
    torch.testing.assert_close(y[1:], labels[1:])


def test_combopt_net_passes_ids_and_starts_through():
    torch.manual_seed(0)
    net = CombOptNet(8, 2, solver=CountingSolver("serial"), workers=1, memory=SolutionMemory())
    c = torch.randn(4, 8)
    net(c, ids=[10, 11, 12, 13])
    _, info = net(c, return_info=True, ids=[10, 11, 12, 13])
    assert (info.proof == int(Proof.UNCHANGED)).all()


def test_bad_skip_options_name_themselves():
    with pytest.raises(ValueError, match="enumeration"):
        ILPLayer(0, 1, solver="bruteforce", enumeration="maybe")
    with pytest.raises(TypeError, match="memory"):
        ILPLayer(0, 1, solver="bruteforce", memory={})
