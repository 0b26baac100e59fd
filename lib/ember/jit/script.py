"""`jit.script`: compile a Python function's control flow on tensor values into the graph.

`jit.trace` runs the code once, so an `if` on a tensor is decided once and frozen. `jit.script`
(like `torch.jit.script`, or TF's AutoGraph behind `tf.function`) first rewrites the function's
source: every `if`/`while`, `for` (over `range(n)` or a tensor's rows) and `a if c else b`
becomes a call that, while the function is traced, looks at its condition. A Python value
decides at once, as in plain Python; a tensor computed from the inputs becomes a `cond` or
`while_loop` node whose branches and body are traced into subgraphs (early returns are first
folded into one return after an if/else). What it cannot compile (a `break` in a tensor
`while`, `.item()` or `float()` of a computed tensor) is an error naming the line.

    @ember.jit.script
    def model(x, w1, w2a, w2b, prev_loss):
        w2 = w2a if prev_loss < 5.0 else w2b      # a cond node, decided at every call
        return x.mm(w1).clamp(min=0).mm(w2)
    print(model.code)        # the rewritten Python
    print(model.graph)       # the graph of the last call (compiled once per input signature)
"""
from __future__ import annotations

import ast
import inspect
import linecache
import textwrap
import types

from ..errors import EmberError
from ..tensor import Tensor
from . import control
from .function import TracedFunction


class ScriptError(EmberError, RuntimeError):
    """Code ember.jit.script can't compile; the message names the file and line."""


_UNSUPPORTED = {ast.Try: "try/except", ast.Global: "global", ast.Nonlocal: "nonlocal",
                ast.Yield: "yield", ast.YieldFrom: "yield from", ast.Await: "await",
                ast.AsyncFor: "async for", ast.AsyncWith: "async with"}
if hasattr(ast, "TryStar"):
    _UNSUPPORTED[ast.TryStar] = "try/except*"


def _escapes(stmts) -> bool:
    """A return/break/continue/yield in these statements (not inside a nested def or loop for
    break/continue) leaves the block early: such an if/while stays Python."""
    for s in stmts:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for n in _walk_local(s):
            if isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom, ast.Break, ast.Continue)):
                return True
    return False


def _walk_local(node):
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield from _walk_local(child)


def _assigned(stmts) -> list:
    names = []
    for s in stmts:
        for n in _walk_local(s):
            name = None
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                name = n.id
            elif isinstance(n, (ast.FunctionDef, ast.ClassDef)):
                name = n.name
            if name and not name.startswith("__ember") and name not in names:
                names.append(name)
    return names


def _expr(src: str, like: ast.AST) -> ast.expr:
    e = ast.parse(src, mode="eval").body
    return ast.copy_location(e, like)


class _ReturnsFolder(ast.NodeVisitor):
    """Early returns become one return after an if/else, so the if can be compiled:

        if c:                  if c:                        if c:
            return a     ->        return a           ->        _ember_return = a
        return b               else:                        else:
                                   return b                     _ember_return = b
                                                            return _ember_return
    """

    def generic_visit(self, node):
        super().generic_visit(node)
        for field in ("body", "orelse"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                setattr(node, field, _fold(stmts))


def _ends_in_return(stmts) -> bool:
    return bool(stmts) and isinstance(stmts[-1], ast.Return) and not _escapes(stmts[:-1])


def _fold(stmts: list) -> list:
    out = []
    for i, s in enumerate(stmts):
        out.append(s)
        if isinstance(s, ast.If) and not s.orelse and _ends_in_return(s.body) \
                and i + 1 < len(stmts):
            s.orelse = _fold(stmts[i + 1:])      # what follows runs only when the test is false
            break
    last = out[-1] if out else None
    if isinstance(last, ast.If) and _ends_in_return(last.body) and _ends_in_return(last.orelse):
        for branch in (last.body, last.orelse):
            ret = branch[-1]
            value = ret.value if ret.value is not None else ast.Constant(None)
            branch[-1] = ast.copy_location(ast.Assign(
                targets=[ast.Name(id="_ember_return", ctx=ast.Store())], value=value), ret)
        out.append(ast.copy_location(ast.Return(value=ast.Name(id="_ember_return",
                                                                ctx=ast.Load())), last))
    return out


class _Converter(ast.NodeTransformer):
    def __init__(self, filename: str):
        self.filename = filename
        self.count = 0

    def _fail(self, node, what):
        raise ScriptError(f"jit.script: {self.filename}, line {node.lineno}: {what} can't be "
                          f"compiled into a graph")

    def generic_visit(self, node):
        for kind, what in _UNSUPPORTED.items():
            if isinstance(node, kind):
                self._fail(node, what)
        return super().generic_visit(node)

    def _helpers(self, kind, names, body, node, extra_args=()):
        self.count += 1
        fname = f"__ember_{kind}{self.count}"
        args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=a) for a in (*extra_args, *names)],
                             kwonlyargs=[], kw_defaults=[], defaults=[])
        ret = ast.Return(value=ast.Tuple(elts=[ast.Name(id=n, ctx=ast.Load()) for n in names],
                                         ctx=ast.Load()))
        fn = ast.FunctionDef(name=fname, args=args, body=list(body or [ast.Pass()]) + [ret],
                             decorator_list=[], returns=None, type_params=[])
        return ast.copy_location(fn, node), fname

    def _call(self, node, func: str, args: list, names: list):
        values = ast.Tuple(elts=[_expr(f"_ember_jit.ld(lambda: {n})", node) for n in names],
                           ctx=ast.Load())
        call = ast.Call(func=_expr(f"_ember_jit.{func}", node), keywords=[], args=[
            *args, values, ast.Tuple(elts=[ast.Constant(n) for n in names], ctx=ast.Load()),
            ast.Constant(node.lineno)])
        if not names:
            return ast.copy_location(ast.Expr(value=call), node)
        target = ast.Tuple(elts=[ast.Name(id=n, ctx=ast.Store()) for n in names], ctx=ast.Store())
        return ast.copy_location(ast.Assign(targets=[target], value=call), node)

    def visit_If(self, node):
        self.generic_visit(node)
        if _escapes(node.body) or _escapes(node.orelse):
            return node
        names = _assigned(node.body + node.orelse)
        t, tname = self._helpers("if_true", names, node.body, node)
        f, fname = self._helpers("if_false", names, node.orelse, node)
        call = self._call(node, "if_stmt", [node.test, ast.Name(id=tname, ctx=ast.Load()),
                                            ast.Name(id=fname, ctx=ast.Load())], names)
        return [t, f, call]

    def visit_While(self, node):
        self.generic_visit(node)
        if node.orelse or _escapes(node.body):
            return node
        names = _assigned(node.body)
        c, cname = self._helpers("while_cond", names, [], node)
        c.body = [ast.copy_location(ast.Return(value=node.test), node)]
        b, bname = self._helpers("while_body", names, node.body, node)
        call = self._call(node, "while_stmt", [ast.Name(id=cname, ctx=ast.Load()),
                                               ast.Name(id=bname, ctx=ast.Load())], names)
        return [c, b, call]

    def visit_For(self, node):
        self.generic_visit(node)
        it = node.iter
        if node.orelse or _escapes(node.body) or not isinstance(node.target, ast.Name):
            return node
        names = [n for n in _assigned(node.body) if n != node.target.id]
        b, bname = self._helpers("for_body", names, node.body, node, extra_args=(node.target.id,))
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range" \
                and not it.keywords and 1 <= len(it.args) <= 3:
            rng = ast.Tuple(elts=list(it.args), ctx=ast.Load())
            call = self._call(node, "for_range", [rng, ast.Name(id=bname, ctx=ast.Load())], names)
        else:   # `for x_t in xs`: over a tensor's rows, or any Python iterable
            call = self._call(node, "for_each", [it, ast.Name(id=bname, ctx=ast.Load())], names)
        return [b, call]

    def visit_IfExp(self, node):
        self.generic_visit(node)
        def lam(body):
            return ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                                                 kw_defaults=[], defaults=[]), body=body)
        return ast.copy_location(ast.Call(func=_expr("_ember_jit.if_exp", node), keywords=[], args=[
            node.test, lam(node.body), lam(node.orelse), ast.Constant(node.lineno)]), node)

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        kind = "and_" if isinstance(node.op, ast.And) else "or_"
        thunks = [ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                                                kw_defaults=[], defaults=[]), body=v)
                  for v in node.values]
        return ast.copy_location(ast.Call(func=_expr(f"_ember_jit.{kind}", node), args=thunks,
                                          keywords=[]), node)

    def visit_AugAssign(self, node):
        """`x += 1` -> `x = x + 1`: a compiled function's values are not updated in place."""
        self.generic_visit(node)
        if not isinstance(node.target, ast.Name):
            return node
        value = ast.BinOp(left=ast.Name(id=node.target.id, ctx=ast.Load()), op=node.op,
                          right=node.value)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return ast.copy_location(ast.Call(func=_expr("_ember_jit.not_", node),
                                              args=[node.operand], keywords=[]), node)
        return node


def convert(fn):
    """(the rewritten function, its source text, the code objects it is made of)."""
    try:
        lines, first = inspect.getsourcelines(fn)
        filename = inspect.getsourcefile(fn) or "<unknown>"
    except (OSError, TypeError) as e:
        raise ScriptError(f"jit.script: can't read the source of {fn!r} ({e}); script needs a "
                          f"function defined in a file or notebook cell") from None
    if fn.__name__ == "<lambda>":
        raise ScriptError(f"jit.script: {filename}, line {first}: a lambda can't be scripted; "
                          f"write a `def` (or use jit.trace)")
    tree = ast.parse(textwrap.dedent("".join(lines)))
    ast.increment_lineno(tree, first - 1)
    fdef = tree.body[0]
    if not isinstance(fdef, ast.FunctionDef):
        raise ScriptError(f"jit.script: {filename}, line {first}: expected a `def`")
    fdef.decorator_list = []
    _ReturnsFolder().visit(fdef)
    fdef = _Converter(filename).visit(fdef)
    module = ast.fix_missing_locations(ast.Module(body=[fdef], type_ignores=[]))
    namespace = dict(fn.__globals__)
    if fn.__closure__:
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__):
            try:
                namespace[name] = cell.cell_contents
            except ValueError:
                pass
    namespace["_ember_jit"] = control
    code = compile(module, filename, "exec")
    exec(code, namespace)
    return namespace[fdef.name], ast.unparse(fdef), _code_objects(code)


def _code_objects(code) -> set:
    out = {code}
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out |= _code_objects(c)
    return out


def _as_input(k: int, a) -> Tensor:
    """Python numbers become 0-d tensors (int64, float32, bool), as in a loop on a tensor."""
    t = control.promote(a)
    if isinstance(t, Tensor):
        return t
    raise TypeError(f"jit.script: argument {k} is a {type(a).__name__}; a scripted function takes "
                    f"tensors and Python numbers")


def refuse(node, what: str, codes: set):
    """A Python decision on a traced tensor in scripted code: an error naming the line."""
    frame = inspect.currentframe()
    while frame is not None and frame.f_code not in codes:
        frame = frame.f_back
    where = "in scripted code"
    if frame is not None:
        text = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        where = f"{frame.f_code.co_filename}, line {frame.f_lineno}: `{text}`"
    raise ScriptError(
        f"jit.script: {where}: a Python {what} reads the value of tensor '{node.name}', which "
        f"depends on the inputs, so it can't be compiled into the graph. jit.script compiles "
        f"if/while, `for i in range(...)` and `a if c else b` on tensors (a loop without break, "
        f"continue or return; an if whose returns end its branches); move the decision into "
        f"one of those, or use jit.trace to freeze it")


class ScriptFunction:
    """A scripted function (or module): compiled on the first call for each input signature
    (dtypes, ranks, sizes but the first); each call runs the graph, differentiably."""

    def __init__(self, fn, module=None):
        self.fn, self.module = fn, module
        self._python, self.code, self._codes = convert(fn)
        self._compiled: dict = {}
        self._last: TracedFunction | None = None
        self.__name__ = getattr(fn, "__name__", "script")
        self.__doc__ = fn.__doc__

    def python(self, *args):
        """Run the rewritten Python directly (what tracing runs; also used when a scripted
        function calls another)."""
        out = self._python(self.module, *args) if self.module is not None else \
            self._python(*args)
        for o in (out if isinstance(out, tuple) else (out,)):
            if isinstance(o, control.UndefinedVariable):
                o._fail()
        return out

    def compiled(self, *args) -> TracedFunction:
        """The traced graph for these inputs' signature (compiling it on first use)."""
        return self._compiled_for([_as_input(k, a) for k, a in enumerate(args)])

    def _compiled_for(self, tensors: list) -> TracedFunction:
        from .trace import _trace
        key = tuple((t._data.dtype.str, tuple(t.shape[1:]), t.ndim) for t in tensors)
        traced = self._compiled.get(key)
        if traced is None:
            traced, tracer = _trace(self.python, tensors, setup=self._setup, module=self.module)
            control.prune(traced.graph)
            self._compiled[key] = traced
        self._last = traced
        return traced

    def _setup(self, tracer):
        tracer.on_decision = lambda node, what: refuse(node, what, self._codes)

    def __call__(self, *args):
        from .trace import _active
        if _active:          # inside another script or trace: inline the rewritten Python
            return self.python(*args)
        tensors = [_as_input(k, a) for k, a in enumerate(args)]
        return self._compiled_for(tensors)(*tensors)

    @property
    def graph(self):
        if self._last is None:
            raise RuntimeError("jit.script compiles on the first call: call the function once "
                               "(or use .compiled(*example_args).graph)")
        return self._last.graph

    def __repr__(self):
        return f"<ember.jit.ScriptFunction {self.__name__}>"


def script(obj):
    """Compile a function (or an nn.Module's forward) with its control flow; see the module doc."""
    if isinstance(obj, ScriptFunction):
        return obj
    if hasattr(obj, "forward") and hasattr(obj, "named_parameters"):
        return ScriptFunction(type(obj).forward, module=obj)
    if not callable(obj):
        raise TypeError(f"jit.script takes a function or a Module, got {type(obj).__name__}")
    return ScriptFunction(obj)
