"""The backward pass: walk the graph from the output in topological order, call each node's
backward once with the sum of its incoming gradients, and add the results into the leaves.

Iterative (no recursion limit), so a graph thousands of ops deep is fine.
"""
from __future__ import annotations

from heapq import heappop, heappush
from operator import attrgetter

from numpy import asarray as _np_asarray, generic as _np_generic, ndarray as _ndarray

from ..errors import AutogradError, DTypeError, ShapeError
from ..tensor import Tensor
from .grad_mode import _state, no_grad
from .node import AccumulateGrad, Node, RetainGrad, ensure_not_freed


def backward_order(root) -> list[Node]:
    """The nodes reachable from `root` (a tensor, a node, or a list of them), in the order the
    engine runs them: newest first. A node is always created after the nodes it sends gradients
    to, so newest-first runs every node after all the nodes that send it a gradient."""
    roots = root if isinstance(root, (list, tuple)) else [root]
    found = []
    seen = {None}  # an input without an edge counts as seen
    for r in roots:
        node = r._grad_node() if isinstance(r, Tensor) else r
        if node not in seen:
            seen.add(node)
            found.append(node)
    for node in found:  # grows while walked: a breadth-first search
        for child, _ in node.next_functions:
            if child not in seen:
                seen.add(child)
                found.append(child)
    found.sort(key=_seq_of, reverse=True)
    return found


_seq_of = attrgetter("_seq")


def unbroadcast(grad, shape: tuple):
    """Sum a gradient of a broadcast result back to the shape of the input that was broadcast."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        return grad.reshape(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, s in enumerate(shape)
                                       if s == 1 and grad.shape[i + extra] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if extra:
        grad = grad.reshape(shape)
    if grad.shape != shape:
        raise ShapeError(f"internal: gradient of shape {grad.shape} does not fit input {shape}")
    return grad


def _run(roots, grads, retain_graph: bool, capture: dict | None = None):
    """Run backward from `roots` (nodes) seeded with `grads` (arrays).

    Nodes wait in a heap, newest first, from the moment their first gradient arrives; by the time
    one is popped, every node that sends it a gradient has run (senders are always newer), so it
    runs once, on the sum of its gradients, summed over broadcast dimensions and cast to fit its
    output when popped (or before two gradients are added).

    With `capture` (a set of nodes), gradients arriving at those nodes are returned instead of
    being accumulated into leaves (this is `autograd.grad`).
    """
    pending: dict = {}
    heap: list = []
    for node, g in zip(roots, grads):
        if node in pending:
            pending[node] = pending[node] + g
        else:
            pending[node] = g
            heappush(heap, (-node._seq, node))
    captured = {}
    given = set()  # ids of arrays already stored as some leaf's .grad in this pass
    while heap:
        node = heappop(heap)[1]
        g = pending.pop(node)
        if g.__class__ is not _ndarray and isinstance(g, _np_generic):
            g = _np_asarray(g)  # numpy arithmetic on 0-d arrays returns scalars
        g = _conform(g, node.output_shape, node.output_dtype)
        if node._pre_hooks:
            g = _call_tensor_hooks(node, g)
        if capture is not None and node in capture:
            captured[node] = g
        if node.__class__ is AccumulateGrad:
            if capture is None:
                _accumulate(node, g, given)
            continue
        if node._freed:
            ensure_not_freed(node)
        for counter, version, _ in node._saved_versions:
            if counter[0] != version:
                node._check_versions()
        in_grads = node.backward(g)
        if node._hooks:
            _call_hooks(node, g, in_grads)
        if not retain_graph:
            node.__dict__.clear()
            node._freed = True
        for (nxt, _), ig in zip(node.next_functions, in_grads):
            if nxt is None or ig is None:
                continue
            prev = pending.get(nxt)
            if prev is None:
                pending[nxt] = ig
                heappush(heap, (-nxt._seq, nxt))
            else:  # shaped first: two broadcast uses need not broadcast against each other
                shape, dtype = nxt.output_shape, nxt.output_dtype
                pending[nxt] = _conform(prev, shape, dtype) + _conform(ig, shape, dtype)
    return captured


def _conform(g, shape: tuple, dtype):
    """g summed over broadcast dimensions and cast, to fit an output of `shape` and `dtype`."""
    if g.shape != shape:
        g = unbroadcast(g, shape)
    if g.dtype is not dtype and g.dtype != dtype:
        g = g.astype(dtype)
    return g


def _accumulate(node: AccumulateGrad, g, given: set):
    leaf = node.variable
    if leaf._grad is None:
        # the engine may pass one array to several consumers: a leaf gets its own copy unless
        # the array is fresh, writable and not yet any other leaf's gradient
        if g.base is not None or not getattr(g.flags, "writeable", True) or id(g) in given:
            g = g.copy()
        given.add(id(g))
        leaf._grad = Tensor._make(g, leaf._device)
    else:
        leaf._grad = _add_grad(leaf._grad, g, leaf)
    if node._hooks:
        _call_hooks(node, g, ())


def _add_grad(old: Tensor | None, g, owner: Tensor) -> Tensor:
    """Accumulate g into a .grad: in place when the stored array allows it (as PyTorch does),
    so a training loop that zeroes its grads allocates no new gradient arrays."""
    if old is None:
        return Tensor._make(g.copy(), owner._device)
    a = old._data
    if a.base is None and a.shape == g.shape and a.dtype == g.dtype:
        try:
            a += g
        except ValueError:  # a read-only array (numpy's flag): replace it below
            pass
        else:
            old._vc[0] += 1
            return old
    new = a + g
    old._data = _np_asarray(new) if isinstance(new, _np_generic) else new
    return old


def _call_hooks(node: Node, grad_out, grad_ins):
    dev = getattr(node, "_device", None)
    wrap = lambda a: None if a is None else Tensor._make(a, dev) if dev else Tensor._make(a)
    gi = tuple(wrap(a) for a in grad_ins)
    go = (wrap(grad_out),)
    for fn in list(node._hooks):
        fn(gi, go)


def _call_tensor_hooks(node: Node, g):
    """The hooks on a node's gradient (an array here)."""
    dev = node.variable._device if node.__class__ is AccumulateGrad else _device_of(g)
    return call_tensor_hooks(node, g, lambda a: Tensor._make(a, dev),
                             lambda out: out._data.copy(),  # the hook's tensor stays the hook's
                             _add_grad)


def call_tensor_hooks(node: Node, g, wrap, unwrap, add):
    """Tensor.register_hook functions: each sees the gradient (`wrap(g)`) and may return a
    replacement of its shape; then retain_grad's stores it with `add` (last, as in PyTorch)."""
    hooks = node._pre_hooks
    for fn in list(hooks):
        if fn.__class__ is RetainGrad:
            continue
        out = fn(wrap(g))
        if out is not None:
            if not isinstance(out, Tensor) or tuple(out.shape) != tuple(g.shape):
                raise AutogradError(
                    f"a hook registered with register_hook must return None or a tensor of the "
                    f"gradient's shape {tuple(g.shape)}, got "
                    f"{tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__}")
            g = unwrap(out)
    for fn in hooks:
        if fn.__class__ is RetainGrad:
            t = fn.ref()
            if t is not None:
                t._grad = add(t._grad, g, t)
    return g


def _device_of(a):
    from ..backend import device_of
    return device_of(a)


def _seed(t: Tensor, gradient, who: str):
    if gradient is None:
        if t._data.size != 1:
            raise AutogradError(
                f"{who}: grad can be implicitly created only for scalar outputs, but this tensor "
                f"has shape {tuple(t.shape)}. Reduce it first (e.g. loss = out.sum()) or pass "
                f"gradient= a tensor of the same shape")
        g = t._data.copy()  # a one-element array of t's dtype and device, the cheapest way
        g.fill(1)
        return g
    g = gradient._data if isinstance(gradient, Tensor) else t.xp.asarray(gradient)
    if g.shape != t._data.shape:
        raise ShapeError(f"{who}: gradient has shape {tuple(g.shape)} but the output has shape "
                         f"{tuple(t.shape)}; they must match")
    return g.astype(t._data.dtype, copy=False)


def backward(tensor: Tensor, gradient=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """`tensor.backward()`: accumulate d(tensor)/d(leaf) into every leaf's `.grad`. With
    create_graph=True the backward pass is recorded too (`.grad` can be differentiated)."""
    if not tensor._requires_grad:
        raise AutogradError("element 0 of tensors does not require grad and does not have a "
                            "grad_fn: nothing in its computation requires grad. Did you create "
                            "the parameters with requires_grad=True, or compute it under no_grad()?")
    g = _seed(tensor, gradient, "backward")
    if create_graph:
        _backward_graph(tensor, gradient, g, retain_graph, inputs)
        return
    enabled, _state.enabled = _state.enabled, False  # as no_grad(), without its cost per call
    try:
        if inputs is None:
            _run([tensor._grad_node()], [g], bool(retain_graph))
            return
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        got = _run([tensor._grad_node()], [g], bool(retain_graph),
                   capture={t._grad_node() for t in inputs})
        for t in inputs:
            ga = got.get(t._grad_node())
            if ga is not None:
                t._grad = _add_grad(t._grad, ga, t)
    finally:
        _state.enabled = enabled


def _seed_tensor(t: Tensor, gradient, g) -> Tensor:
    """The seed of a recorded backward: the given gradient tensor itself (it may be in a graph,
    as the v of a Hessian-vector product), else the seed array as a constant."""
    if isinstance(gradient, Tensor) and gradient._data.dtype == g.dtype:
        return gradient
    return Tensor._make(g, t._device)


def _backward_graph(tensor: Tensor, gradient, g, retain_graph, inputs) -> None:
    from .higher import run_graph
    retain = True if retain_graph is None else bool(retain_graph)
    seed = _seed_tensor(tensor, gradient, g)
    if inputs is None:
        run_graph([tensor._grad_node()], [seed], retain)
        return
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    got = run_graph([tensor._grad_node()], [seed], retain, capture={t._grad_node() for t in inputs})
    for t in inputs:
        ga = got.get(t._grad_node())
        if ga is not None:
            t._grad = ga if t._grad is None else t._grad + ga


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """d(outputs)/d(inputs), returned as a tuple of tensors; `.grad` fields are left untouched.
    With create_graph=True the result is in the graph: it can be differentiated again."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs_ = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for t in inputs_:
        if not t._requires_grad:
            raise AutogradError("autograd.grad: one of the inputs does not require grad")
    roots, seeds = [], []
    for o, go in zip(outputs, grad_outputs):
        if not o._requires_grad:
            raise AutogradError("autograd.grad: an output does not require grad (no graph to walk)")
        roots.append(o._grad_node())
        seeds.append(_seed(o, go, "autograd.grad"))
    nodes = [t._grad_node() for t in inputs_]
    if create_graph:
        from .higher import run_graph
        seeds = [_seed_tensor(o, go, g) for o, go, g in zip(outputs, grad_outputs, seeds)]
        retain = True if retain_graph is None else bool(retain_graph)
        got = run_graph(roots, seeds, retain, capture=set(nodes))
        return _collect(inputs_, nodes, got, allow_unused, lambda g, t: g)
    with no_grad():
        got = _run(roots, seeds, bool(retain_graph), capture=set(nodes))
    return _collect(inputs_, nodes, got, allow_unused,
                    lambda g, t: Tensor._make(g.copy() if g.base is not None else g, t._device))


def _collect(inputs, nodes, got: dict, allow_unused: bool, wrap) -> tuple:
    result = []
    for i, (t, n) in enumerate(zip(inputs, nodes)):
        g = got.get(n)
        if g is None:
            if not allow_unused:
                raise AutogradError(f"autograd.grad: input {i} was not used to compute the outputs; "
                                    f"pass allow_unused=True to get None for it")
            result.append(None)
        else:
            result.append(wrap(g, t))
    return tuple(result)
