"""Helpers shared by the test modules."""
from __future__ import annotations

import numpy as np
import pytest

import ember

CUDA_SKIP_REASON = ("no CUDA device: ember.cuda.is_available() is False (needs an NVIDIA GPU and "
                    "CuPy, `pip install cupy-cuda12x`)")
requires_cuda = pytest.mark.skipif(not ember.cuda.is_available(), reason=CUDA_SKIP_REASON)

# Parametrize a test over devices: `@pytest.mark.parametrize("device", DEVICES)`. 'cpu' always
# runs; 'cuda' is marked `cuda` (select with `-m cuda`) and skips with the reason above.
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, requires_cuda], id="cuda")]


@pytest.fixture(params=DEVICES)
def devices(request) -> str:
    """A fixture form of DEVICES: import it into a test module to run its tests on each device."""
    return request.param


def rand64(*shape, low: float | None = None, seed: int | None = None, requires_grad: bool = True):
    """A float64 tensor of standard normals (or |normal| + low when `low` is given)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if low is not None:
        a = np.abs(a) + low
    return ember.tensor(a, dtype=ember.float64, requires_grad=requires_grad)


def assert_grad_matches(fn, *inputs, atol: float = 1e-5, rtol: float = 1e-4):
    """Autograd gradients of sum(fn(*inputs) * w) equal central differences, for random w."""
    assert ember.autograd.gradcheck(fn, inputs, atol=atol, rtol=rtol)


def assert_module_grads(module, *inputs, atol: float = 1e-5, rtol: float = 1e-4):
    """Gradients of a float64 module's output w.r.t. its inputs that require grad and all its
    parameters match central differences."""
    n = len(inputs)
    params = tuple(module.parameters())
    assert ember.autograd.gradcheck(lambda *a: module(*a[:n]), inputs + params, atol=atol,
                                    rtol=rtol)
