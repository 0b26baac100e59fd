"""Library messages for typical mistakes name the cause (and raise or warn where PyTorch does).

Each test makes the mistake as a student would and checks that the message points at the real cause;
the PyTorch behaviour it follows is noted beside it (checked by hand against PyTorch 2.13)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember as torch
from ember import static as tf


def test_mm_of_float32_and_float64_raises():
    # PyTorch: RuntimeError: expected m1 and m2 to have the same dtype, but got: float != double
    a, b = torch.randn(2, 3), torch.randn(3, 2, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="same dtype.*float32.*float64"):
        a.mm(b)
    assert a.mm(b.float()).shape == (2, 2)


def test_tensor_of_a_list_of_tensors_raises_and_names_stack():
    # PyTorch: ValueError: only one element tensors can be converted to Python scalars
    with pytest.raises(ValueError, match="only one element tensors.*stack"):
        torch.tensor([torch.ones(2), torch.ones(2)])
    assert torch.tensor([torch.tensor(1.0), torch.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_scheduler_step_before_optimizer_step_warns():
    # PyTorch: UserWarning: Detected call of `lr_scheduler.step()` before `optimizer.step()`
    m = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match=r"lr_scheduler.step\(\)` before `optimizer.step\(\)"):
        sched.step()
    opt2 = torch.optim.SGD(m.parameters(), lr=0.1)
    sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
        sched2.step()
    assert sched2.get_last_lr() == [0.1 * 0.1]


def test_float_index_is_not_called_out_of_range():
    # PyTorch: IndexError: only integers, slices (`:`), ellipsis (`...`), None and long or byte ... (got float)
    t = torch.arange(6.0).reshape(2, 3)
    with pytest.raises(IndexError) as e:
        t[1.0]
    assert "out of range" not in str(e.value) and "float index" in str(e.value) and "int(" in str(e.value)


def test_if_grad_suggests_is_not_none():
    # PyTorch: RuntimeError: Boolean value of Tensor with more than one value is ambiguous
    w = torch.ones(3, requires_grad=True)
    (w * 2).sum().backward()
    with pytest.raises(RuntimeError, match="is not None"):
        if w.grad:
            pass


def test_load_state_dict_of_a_path_says_load_the_file_first(tmp_path):
    # PyTorch: TypeError: Expected state_dict to be dict-like, got <class 'str'>.
    m = torch.nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"load_state_dict\(ember.load\(path\)\)"):
        m.load_state_dict(str(tmp_path / "model.pt"))
    with pytest.raises(TypeError, match="load the file first"):
        m.load_state_dict(tmp_path / "model.pt")


def test_dtype_mismatch_in_a_layer_suggests_the_right_direction():
    # PyTorch: RuntimeError: mat1 and mat2 must have the same dtype, but got Double and Float
    m = torch.nn.Linear(2, 2)
    with pytest.raises(RuntimeError) as e:
        m(torch.ones(1, 2, dtype=torch.float64))
    assert "x.float()" in str(e.value) and "model.double()" in str(e.value)
    with pytest.raises(RuntimeError) as e:
        m.double()(torch.ones(1, 2))
    assert "x.double()" in str(e.value) and "model.float()" in str(e.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here")
def test_cuda_without_a_gpu_suggests_the_cpu_first():
    with pytest.raises(RuntimeError) as e:
        torch.ones(2).to("cuda")
    msg = str(e.value)
    assert "device='cpu'" in msg and "ember.cuda.is_available()" in msg
    assert msg.index("device='cpu'") < msg.index("CuPy built")


def test_empty_parameter_list_names_used_up_generator_and_modulelist():
    # PyTorch: ValueError: optimizer got an empty parameter list
    m = torch.nn.Linear(2, 2)
    params = m.parameters()
    list(params)                                    # used up, e.g. by an earlier optimizer
    with pytest.raises(ValueError) as e:
        torch.optim.SGD(params, lr=0.1)
    assert "used up" in str(e.value) and "nn.ModuleList" in str(e.value)


def test_static_node_as_loop_bound_or_iterated_points_to_while_loop():
    tf.reset_default_graph()
    depth = tf.placeholder(tf.int64, shape=())
    with pytest.raises(TypeError, match="while_loop"):
        for _ in range(depth):
            pass
    h = tf.placeholder(tf.float64, shape=(3,))
    with pytest.raises(TypeError, match="while_loop"):
        for _ in h:
            pass
