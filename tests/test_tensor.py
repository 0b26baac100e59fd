"""Tensors: creation, dtypes, conversion, printing, and the errors students meet first."""
import numpy as np
import pytest

import ember
from ember import DeviceError, DTypeError, ShapeError


def test_creation_defaults_follow_pytorch():
    assert ember.tensor([1.0, 2.0]).dtype == ember.float32
    assert ember.tensor([1, 2]).dtype == ember.int64
    assert ember.tensor([True]).dtype == ember.bool
    assert ember.tensor(np.zeros(2)).dtype == ember.float64  # numpy's dtype is kept
    assert ember.zeros(2, 3).shape == (2, 3) == ember.ones((2, 3)).shape
    assert ember.full((2,), 7).dtype == ember.int64 and ember.full((2,), 0.5).dtype == ember.float32
    assert ember.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert ember.arange(0, 1, 0.25).dtype == ember.float32
    np.testing.assert_allclose(ember.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    np.testing.assert_allclose(ember.eye(3).numpy(), np.eye(3))
    assert ember.randint(0, 10, (100,)).max().item() < 10
    x = ember.randn(3, 4, dtype=ember.float64)
    for like in (ember.zeros_like, ember.ones_like, ember.randn_like, ember.rand_like, ember.empty_like):
        y = like(x)
        assert y.shape == x.shape and y.dtype == ember.float64


def test_manual_seed_makes_random_ops_repeatable():
    ember.manual_seed(3)
    a = ember.randn(4), ember.rand(2), ember.randint(0, 5, (3,)), ember.randperm(5)
    ember.manual_seed(3)
    b = ember.randn(4), ember.rand(2), ember.randint(0, 5, (3,)), ember.randperm(5)
    for p, q in zip(a, b):
        assert p.tolist() == q.tolist()


def test_from_numpy_shares_memory_and_tensor_copies():
    arr = np.zeros(3, dtype=np.float32)
    shared, copied = ember.from_numpy(arr), ember.tensor(arr)
    arr[0] = 5
    assert shared[0].item() == 5 and copied[0].item() == 0


def test_attributes_and_conversions():
    x = ember.tensor([[1.5, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.size() == (2, 2) and x.size(1) == 2 and x.dim() == 2 and x.numel() == 4
    assert x.device == ember.device("cpu") and str(x.device) == "cpu"
    assert x.is_leaf and x.grad is None and x.grad_fn is None
    assert x.detach().tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert x[0, 0].item() == 1.5
    assert isinstance(x.detach().numpy(), np.ndarray)
    assert x.double().dtype == ember.float64 and x.long().dtype == ember.int64
    assert x.to(ember.float64).dtype == ember.float64
    assert repr(x.size()) == "ember.Size([2, 2])"


def test_to_reads_its_arguments_as_pytorch_does():
    from ember.tensor import parse_to_args
    cpu, cuda1 = ember.device("cpu"), ember.device("cuda", 1)
    y = ember.zeros(2, dtype=ember.float64)
    assert parse_to_args((1,)) == (cuda1, None)
    assert parse_to_args(("float64",)) == (None, "float64")
    assert parse_to_args(("cpu", ember.float64)) == ("cpu", ember.float64)
    assert parse_to_args((y,)) == (cpu, ember.float64)
    assert parse_to_args((), cpu, ember.int64) == (cpu, ember.int64)
    assert parse_to_args((True,)) == (None, True)  # a bool is not a device index


def test_repr_like_pytorch():
    assert repr(ember.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(ember.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(ember.tensor([0.5, -1.25], requires_grad=True)) == \
        "tensor([ 0.5000, -1.2500], requires_grad=True)"
    y = ember.tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward0>)"
    assert repr(ember.zeros(2, dtype=ember.float64)) == "tensor([0., 0.], dtype=ember.float64)"
    assert repr(ember.tensor(3.5)) == "tensor(3.5000)"


def test_comparisons_give_bool_tensors_without_grad():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == ember.bool and not m.requires_grad
    assert m.tolist() == [False, True, True]
    assert (x == 2).tolist() == [False, True, False]
    assert ((x > 1) & (x < 3)).tolist() == [False, True, False]
    assert (~m).tolist() == [True, False, False]


def test_masked_assignment_and_basic_views():
    t = ember.tensor([[1.0, -2.0], [-3.0, 4.0]])
    t[t < 0] = 0
    assert t.tolist() == [[1.0, 0.0], [0.0, 4.0]]
    row = t[1]
    row.fill_(9)  # a view: writes show in the base, as in PyTorch
    assert t.tolist() == [[1.0, 0.0], [9.0, 9.0]]
    v = t.view(4)
    v[0] = 7
    assert t[0, 0].item() == 7


def test_inplace_arithmetic_and_clamp_():
    t = ember.tensor([1.0, 2.0, 3.0])
    t += 1
    t *= 2
    t -= ember.tensor([1.0, 1.0, 1.0])
    t /= 2
    t.clamp_(max=3)
    assert t.tolist() == [1.5, 2.5, 3.0]
    assert t.zero_().tolist() == [0.0, 0.0, 0.0]
    assert t.copy_(ember.tensor([1, 2, 3])).tolist() == [1.0, 2.0, 3.0]


def test_type_promotion_like_pytorch():
    f32, f64, i64 = ember.ones(2), ember.ones(2, dtype=ember.float64), ember.ones(2, dtype=ember.int64)
    assert (f32 * 2.5).dtype == ember.float32
    assert (i64 * 2).dtype == ember.int64
    assert (i64 * 2.5).dtype == ember.float32
    assert (i64 + f32).dtype == ember.float32
    assert (f32 + f64).dtype == ember.float64


# ---- errors that teach ----------------------------------------------------------------------
def test_matmul_shape_error_names_inner_dimensions():
    a, b = ember.ones(64, 1000), ember.ones(100, 10)
    with pytest.raises(ShapeError, match=r"matmul: shapes \(64, 1000\) and \(100, 10\).*inner dimensions 1000.*100.*transpose"):
        a @ b
    with pytest.raises(ShapeError, match="mm: expects two 2-d"):
        ember.mm(ember.ones(3), ember.ones(3))
    w = ember.ones(100, 10, requires_grad=True)
    with pytest.raises(ShapeError, match=r"shapes \(64, 1000\) and \(100, 10\).*inner dimensions"):
        a.mm(w)
    with pytest.raises(DTypeError, match="mm: expected both matrices to have the same dtype"):
        a.mm(ember.ones(1000, 2, dtype=ember.float64))


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"add: shapes \(2, 3\) and \(4,\) can't be broadcast"):
        ember.ones(2, 3) + ember.ones(4)
    with pytest.raises(ValueError):  # ShapeError is also a ValueError, for code that expects one
        ember.ones(2, 3) * ember.ones(2)


def test_item_on_many_elements_explains():
    with pytest.raises(ShapeError, match=r"exactly one element.*has 6.*\(2, 3\)"):
        ember.ones(2, 3).item()


def test_reshape_and_index_errors():
    with pytest.raises(ShapeError, match=r"reshape: shape \[4, 4\] is invalid for a tensor of 6 elements"):
        ember.ones(2, 3).reshape(4, 4)
    with pytest.raises(IndexError, match="out of range for a tensor of shape"):
        ember.ones(2, 3)[5]
    with pytest.raises(IndexError, match="dimension 3 is out of range"):
        ember.ones(2, 3).sum(dim=3)


def test_dtype_and_device_errors():
    with pytest.raises(DTypeError, match="unknown dtype 'float8'"):
        ember.zeros(2, dtype="float8")
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        ember.zeros(2, device="tpu")
    with pytest.raises(DTypeError, match="floating point"):
        ember.arange(3).requires_grad_()
    with pytest.raises(DTypeError, match="can't be cast"):
        t = ember.arange(3)
        t += 0.5
    for divide in (lambda t: t.div_(2), lambda t: t.__itruediv__(ember.ones(3)), lambda t: t.div_(2.0)):
        with pytest.raises(DTypeError, match="div_: result type float can't be cast.*int64"):
            divide(ember.arange(3))
    t = ember.arange(3.0)
    t.div_(2)
    assert t.tolist() == [0.0, 0.5, 1.0] and t.div_.__name__ == "div_" and t.mul_.__name__ == "mul_"
    with pytest.raises(DTypeError, match="mean\\(\\) needs a floating point"):
        ember.arange(3).mean()


def test_cuda_request_without_gpu_explains_how_to_install():
    if ember.cuda.is_available():
        pytest.skip("a GPU is present; this checks the CPU-only message")
    with pytest.raises(DeviceError, match="pip install cupy"):
        ember.zeros(2, device="cuda")
    assert ember.cuda.is_available() is False


def test_tensors_refuse_pickle():
    import pickle
    with pytest.raises(TypeError, match="ember.save"):
        pickle.dumps(ember.ones(2))


def test_numpy_interop():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(ember.AutogradError, match="detach"):
        x.numpy()
    out = np.ones(2) + ember.tensor([1.0, 2.0])
    assert isinstance(out, ember.Tensor)
    assert np.asarray(ember.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]
