"""Defects a red-team review found, each fixed or turned into a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from combopt_torch import ILPLayer


@pytest.mark.parametrize(
    "dtype, top", [(torch.bfloat16, 259), (torch.float16, 2051), (torch.float32, 2**24 + 3)]
)
def test_y_is_never_rounded_by_a_low_precision_dtype(dtype, top):
    """``y <= top`` with costs that push ``y`` up: bfloat16 would round 259 to 260."""
    c = torch.tensor([[-1.0]], dtype=dtype)
    A = torch.tensor([[[1.0]]], dtype=torch.float64)
    b = torch.tensor([[float(top)]], dtype=torch.float64)
    y = ILPLayer(0, top + 10, solver="highs")(c, A, b)
    assert y.dtype != dtype and y.dtype in (torch.float32, torch.float64)
    assert y.double().item() == top


def test_low_precision_dtype_is_kept_where_it_is_exact():
    c = torch.tensor([[-1.0, 0.5]], dtype=torch.bfloat16)
    y = ILPLayer(0, 1, solver="highs")(c, torch.ones(1, 1, 2), torch.ones(1, 1))
    assert y.dtype == torch.bfloat16 and y.tolist() == [[1.0, 0.0]]


def test_double_backward_raises_clearly():
    c = torch.tensor([[-1.0, 0.5]], requires_grad=True)
    y = ILPLayer(0, 1, solver="highs")(c, torch.ones(1, 1, 2), torch.ones(1, 1))
    # dL/dy = c depends on c: a second derivative would need the rule's own derivative
    (g,) = torch.autograd.grad((y * c).sum(), c, create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        g.sum().backward()


def test_bad_backward_environment_fails_at_layer_construction(monkeypatch):
    monkeypatch.setenv("COMBOPT_BACKWARD", "fortran")
    with pytest.raises(ValueError, match="COMBOPT_BACKWARD.*fortran"):
        ILPLayer(0, 1, solver="highs")
    monkeypatch.setenv("COMBOPT_BACKWARD", "numpy")
    ILPLayer(0, 1, solver="highs")
    with pytest.raises(ValueError, match="backward.*'cuda'"):
        ILPLayer(0, 1, solver="highs", backward="cuda")
