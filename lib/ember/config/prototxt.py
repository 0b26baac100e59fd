"""Caffe's prototxt (protobuf text format) <-> Python dicts.

    layer {                       {"layer": {"name": "fc1", "type": "InnerProduct",
      name: "fc1"                            "inner_product_param": {"num_output": 10}}}
      type: "InnerProduct"
      inner_product_param { num_output: 10 }
    }

A field written once is a value, written several times a list (`top: "data" top: "label"` ->
["data", "label"]); readers of repeated fields accept both. Enum values (`pool: MAX`) are strings.
"""
from __future__ import annotations

import re

_TOKEN = re.compile(r'\s*(?:(#[^\n]*)|("(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\')|([{}:\[\],;])|'
                    r'([^\s{}:\[\],;#"\']+))')   # a string ends on its line


class PrototxtError(ValueError):
    """Text that is not valid prototxt; the message names the line."""


def _tokens(text: str, source: str):
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            rest = text[pos:].lstrip()
            if rest == "":
                return
            what = "a string whose closing quote is missing" if rest[0] in "\"'" else "this"
            line += text.count("\n", pos, len(text) - len(rest))
            raise PrototxtError(f"{source}, line {line}: can't read {what}: "
                                f"{rest.split(chr(10))[0][:30]!r}")
        line_at = line + text.count("\n", pos, m.start(m.lastindex))
        line += text.count("\n", pos, m.end())
        pos = m.end()
        if m.group(1) is not None:
            continue
        yield m.group(m.lastindex), m.lastindex, line_at


def _scalar(tok: str, kind: int):
    if kind == 2:
        return bytes(tok[1:-1], "utf-8").decode("unicode_escape")
    if tok in ("true", "True"):
        return True
    if tok in ("false", "False"):
        return False
    try:
        return int(tok, 0)
    except ValueError:
        pass
    try:
        return float(tok)
    except ValueError:
        if tok[0] in "0123456789+-.":
            raise ValueError(f"{tok!r} is not a number") from None
        return tok   # an enum value: MAX, TRAIN, INNER_PRODUCT...


def loads(text: str, source: str = "prototxt") -> dict:
    """Parse prototxt text into nested dicts (repeated fields as lists)."""
    toks = list(_tokens(text, source))
    pos = 0

    def fail(msg, at=None):
        line = toks[min(at if at is not None else pos, len(toks) - 1)][2] if toks else 1
        raise PrototxtError(f"{source}, line {line}: {msg}")

    def scalar(tok: str, kind: int):
        try:
            return _scalar(tok, kind)
        except ValueError as e:
            fail(str(e))

    def message(closing: str | None) -> dict:
        nonlocal pos
        out: dict = {}
        while pos < len(toks):
            tok, kind, _ = toks[pos]
            if tok == "}":
                if not closing:
                    fail("unexpected '}'")
                pos += 1
                return out
            if kind != 4:
                fail(f"expected a field name, got {tok!r}")
            name = tok
            pos += 1
            colon = pos < len(toks) and toks[pos][0] == ":"
            if colon:
                pos += 1
            if pos >= len(toks):
                fail(f"field '{name}' has no value")
            tok, kind, _ = toks[pos]
            if tok == "{":
                pos += 1
                value = message(f"the '{{' of '{name}' (line {toks[pos - 1][2]})")
            elif tok == "[":
                pos += 1
                value = []
                while pos < len(toks) and toks[pos][0] != "]":
                    if toks[pos][0] != ",":
                        value.append(scalar(toks[pos][0], toks[pos][1]))
                    pos += 1
                pos += 1
            elif not colon:
                fail(f"expected ':' or '{{' after '{name}'")
            elif kind in (2, 4):
                value = scalar(tok, kind)
                pos += 1
            else:
                fail(f"expected a value for '{name}', got {tok!r}")
            if pos < len(toks) and toks[pos][0] in (",", ";"):
                pos += 1
            if name in out:
                prev = out[name]
                out[name] = (prev if isinstance(prev, list) and getattr(prev, "_repeated", False)
                             else _Repeated([prev])) + ([value] if not isinstance(value, list)
                                                        or value == [] else [value])
                out[name] = _Repeated(out[name])
            else:
                out[name] = value
        if closing:
            fail(f"{closing} is never closed: a '}}' is missing")
        return out

    return _plain(message(None))


class _Repeated(list):
    _repeated = True


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def dumps(msg: dict, indent: int = 0) -> str:
    """Dicts -> prototxt text (lists become repeated fields; strings are quoted, except
    all-capital enum values such as MAX or TRAIN)."""
    pad = "  " * indent
    lines = []
    for key, value in msg.items():
        for v in (value if isinstance(value, list) else [value]):
            if isinstance(v, dict):
                lines.append(f"{pad}{key} {{")
                lines.append(dumps(v, indent + 1))
                lines.append(f"{pad}}}")
            else:
                lines.append(f"{pad}{key}: {_format(v)}")
    return "\n".join(line for line in lines if line)


def _format(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str) and re.fullmatch(r"[A-Z][A-Z0-9_]*", v):
        return v
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def as_list(v) -> list:
    """A repeated field's values, whether it was written once (a value) or several times."""
    if v is None:
        return []
    return list(v) if isinstance(v, list) else [v]
