"""The loader of the optional compiled kernels: NumPy without numba, a named error on demand."""

from __future__ import annotations

import importlib.util
import sys
import types
import warnings

import pytest

from combopt_core import kernels


@pytest.fixture
def fresh_loader():
    kernels.load_kernel.cache_clear()
    yield
    kernels.load_kernel.cache_clear()


def test_without_numba_every_kernel_is_none_and_numba_is_refused(monkeypatch, fresh_loader):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "numba" else real(name, *a)
    )
    assert kernels.load_kernel("gradient_kernel") is None
    assert kernels.kernel_for("gradient_kernel", "auto", "the compiled backward") is None
    assert kernels.kernel_for("gradient_kernel", "numpy", "the compiled backward") is None
    with pytest.raises(ImportError, match=r"the compiled backward needs numba.*combopt\[fast\]"):
        kernels.kernel_for("gradient_kernel", "numba", "the compiled backward")


def test_a_kernel_that_fails_to_import_warns_once_and_falls_back(monkeypatch, fresh_loader):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    monkeypatch.setitem(sys.modules, "combopt_core.broken_kernel", None)  # import fails
    with pytest.warns(RuntimeWarning, match="combopt_core.broken_kernel failed to load"):
        assert kernels.load_kernel("broken_kernel") is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cached: a second call neither imports nor warns
        assert kernels.load_kernel("broken_kernel") is None


def test_an_importable_kernel_is_loaded_once(monkeypatch, fresh_loader):
    fake = types.ModuleType("combopt_core.fake_kernel")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    monkeypatch.setitem(sys.modules, "combopt_core.fake_kernel", fake)
    assert kernels.kernel_for("fake_kernel", "numba", "the fake") is fake
    monkeypatch.delitem(sys.modules, "combopt_core.fake_kernel")
    assert kernels.load_kernel("fake_kernel") is fake
