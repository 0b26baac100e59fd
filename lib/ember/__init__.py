"""ember: a small deep-learning library with PyTorch's names and semantics, written to be read.

    import ember as torch   # the lecture's PyTorch code runs with this one change
"""
from . import backend, dtypes
from .backend import Device as device
from .dtypes import (DType as dtype, bool_ as bool, float16, float32, float64, int32, int64,
                     uint8, promote_types)
from .errors import (ArgumentError, AutogradError, DeviceError, DivisionByZeroError, DTypeError,
                     EmberError, IndexBoundsError, ShapeError, ViewError)
from .tensor import Size, Tensor
from . import ops  # installs the operators and math methods on Tensor
from . import autograd
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                       linspace, ones, ones_like, rand, rand_like, randint, randint_like, randn,
                       randn_like, randperm, tensor, zeros, zeros_like)
from .random import Generator, initial_seed, manual_seed, seed
from .ops.compare import (allclose, eq, equal, ge, gt, isfinite, isnan, le, logical_and,
                          logical_not, logical_or, lt, ne)
from .ops.conversion import clone
from .ops.elementwise import (abs, add, ceil, clamp, clamp_max, clamp_min, cos, div, exp, expm1,
                              floor, floor_divide, log, log1p, maximum, minimum, mul, neg, pow,
                              reciprocal, relu, remainder, round, rsqrt, sigmoid, sign, sin, sqrt,
                              square, sub, tanh, trunc)
from .ops.index import masked_fill, where
from .ops.scatter import (gather, index_add, index_select, scatter, scatter_add, unbind)
from .ops.matmul import bmm, dot, matmul, mm
from .ops.reduce import (all, amax, amin, any, argmax, argmin, cumsum, log_softmax, logsumexp, max,
                         mean, min, prod, softmax, std, sum, var)
from .ops.linalg import tensor_norm as norm
from . import linalg
from .ops.shape import (cat, chunk, expand, flatten, flip, movedim, narrow, permute, reshape,
                        select, split, squeeze, stack, t, transpose, unsqueeze)
from .ops.sort import argsort, nonzero, sort, topk
from . import cuda
from .legacy import DoubleTensor, FloatTensor, LongTensor
from . import nn
from . import datasets, optim, utils
from .serialization import load, save
from . import config, keras, models
from .threads import get_num_threads, set_num_threads
from . import threads as _threads

_threads.apply_default()          # one BLAS thread unless the environment says otherwise

clip = clamp
concat = cat
float = float32
double = float64
long = int64
half = float16


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()


def detach(t: Tensor) -> Tensor:
    return t.detach()


def get_default_dtype():
    return dtypes.DEFAULT_FLOAT


__version__ = "0.1.0"


def __getattr__(name):
    """`ember.jit`, `ember.static`, `ember.viz` load on first use, keeping `import ember` light."""
    if name in ("jit", "static", "viz"):
        import importlib
        return importlib.import_module(f"ember.{name}")
    raise AttributeError(f"module 'ember' has no attribute {name!r}")
