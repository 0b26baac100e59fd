"""Fast unit tests: comparisons and their messages, test-cell rewriting, the authoring lint, the
wire format's refusal of anything but plain data."""
from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from autograder import check
from autograder import notebook as nbmod
from autograder.compare import compare, plain
from autograder.wire import decode_value, frame


def test_close_diagnoses_transpose_sign_scale_shape_nan():
    e = np.arange(6.0).reshape(2, 3) + 1
    assert compare("close", e, e)[0]
    assert "transposed" in compare("close", e.T, e)[1]
    assert "opposite sign" in compare("close", -e, e)[1]
    assert "constant factor" in compare("close", 2 * e, e)[1]
    assert "wrong shape" in compare("close", e[:, :1], e)[1]
    assert "NaN" in compare("close", np.full_like(e, np.nan), e)[1]
    assert not compare("close", e.ravel()[:1], e)[0]  # no broadcasting
    assert "expected" not in compare("close", e * 0, e, show_values=False)[1].split("differ")[-1]


def test_equal_is_strict_about_types():
    assert compare("equal", (3, 4), (3, 4))[0]
    assert not compare("equal", True, 1)[0]
    assert not compare("equal", "1", 1)[0]
    assert not compare("equal", [1, 2], [1, 2, 3])[0]


def test_dicts_compare_key_by_key_and_name_the_key():
    e = {"w": np.ones(2), "b": 0.5}
    for kind in ("close", "equal"):
        assert compare(kind, {"b": 0.5, "w": np.ones(2)}, e)[0]
        ok, msg = compare(kind, {"w": np.ones(2)}, e)
        assert not ok and "keys ['b', 'w']" in msg
        ok, msg = compare(kind, {"w": np.ones(2), "b": 0.25}, e)
        assert not ok and "['b']" in msg
    assert "result['w']: values differ" in compare("close", {"w": -np.ones(2), "b": 0.5}, e)[1]


def test_local_check_raises_helpful_assertion():
    with pytest.raises(AssertionError, match="transposed.*\n.*|transposed"):
        check.close(np.ones((2, 3)), np.ones((3, 2)), hint="x @ W")
    check.close(np.ones(3), np.ones(3))


def test_plain_rejects_liars():
    class Liar:
        def __eq__(self, o):
            return True
    with pytest.raises(TypeError):
        plain(Liar())
    with pytest.raises(TypeError):
        plain(np.array([Liar()], dtype=object))


def test_student_version_strips_expected():
    src = ("from autograder import check\nx = 1\n### BEGIN EXPECTED\nsecret = 42\n### END EXPECTED\n"
           "check.close(f(x), secret * 2, hint='h')\ncheck.equal(g(x), expected=(1, 2))\n")
    out = nbmod.student_version(src)
    assert "secret" not in out and "42" not in out and "(1, 2)" not in out
    assert "check.close(f(x), None" in out
    assert nbmod.lint_test_cell(src) == []
    assert any("computed in the cell" in p for p in nbmod.lint_test_cell(
        "from autograder import check\nwant = 3\ncheck.close(f(1), want)\n"))
    assert nbmod.lint_test_cell("assert f(1) == 3\n")


def test_cell_parsing_survives_a_parse_inside_the_garbage_collector():
    """CI saw "AST constructor recursion depth mismatch" from a grading thread: on CPython 3.11 a
    parse started while another tree is being built (here: from a collector callback, as a
    finalizer that formats a traceback would) breaks the outer parse."""
    import ast
    import gc
    calls = []

    def parse_during_collection(phase, info):
        if phase == "start":
            calls.append(phase)
            ast.parse("a + b * c")

    src = "from autograder import check\n" + "".join(f"check.close(f({i}), g(h({i})))\n" for i in range(300))
    threshold = gc.get_threshold()
    gc.callbacks.append(parse_during_collection)
    gc.set_threshold(50)
    try:
        try:
            ast.parse(src)
        except SystemError:
            pass
        assert calls, "the collector never ran during a parse: this test no longer tests anything"
        out = nbmod.student_version(src)
        assert [hint for _, hint in nbmod.hints(src)] == [None] * 300
    finally:
        gc.callbacks.remove(parse_during_collection)
        gc.set_threshold(*threshold)
    assert out.count("check.close(") == 300


def test_a_failed_uid_probe_names_the_closed_directory(tmp_path):
    from autograder.isolation import uid_problem
    open_dir, closed = tmp_path / "open", tmp_path / "checkout"
    open_dir.mkdir(mode=0o755)
    closed.mkdir(mode=0o700)
    msg = uid_problem("Traceback ...\nModuleNotFoundError: No module named 'autograder'\n", [open_dir, closed])
    assert str(closed) in msg and "mode 700" in msg and f"chmod o+rx {closed}" in msg
    closed.chmod(0o755)
    msg = uid_problem("Traceback ...\nModuleNotFoundError: No module named 'autograder'\n", [open_dir, closed])
    assert msg.endswith("No module named 'autograder'") and str(closed) not in msg


def test_wire_refuses_pickles_and_objects():
    buf = io.BytesIO()
    np.save(buf, np.array([1, None], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        decode_value({"__nd__": 0}, [buf.getvalue()])
    buf = io.BytesIO()
    np.save(buf, np.arange(3.0))
    assert decode_value({"__nd__": 0}, [buf.getvalue()]).tolist() == [0, 1, 2]
    with pytest.raises(ValueError):
        decode_value({"__class__": "os.system"}, [])
    big = struct.pack("<Q", 1 << 40)
    with pytest.raises(ValueError):
        frame(bytearray(big), 1 << 20)


def test_parse_wrong():
    text = "# %% a\ndef f():\n    return 1\n# %% b\nx = 2\n"
    assert nbmod.parse_wrong(text) == {"a": "def f():\n    return 1\n", "b": "x = 2\n"}


@pytest.mark.slow
def test_release_is_deterministic(tmp_path):
    from autograder.release import release
    from course_helpers import FIXTURE_COURSE
    a = release(FIXTURE_COURSE, None, tmp_path / "a", quiet=True)
    b = release(FIXTURE_COURSE, None, tmp_path / "b", quiet=True)
    assert [p.name for p in a] == ["00_demo.ipynb", "scale.txt"]
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes()
    text = (tmp_path / "a" / "00_demo.ipynb").read_text()
    assert "BEGIN HIDDEN" not in text and "1000.0" not in text and "YOUR CODE HERE" in text
    assert '"outputs": []' in text and not (tmp_path / "a" / "wrong.py").exists()


def test_wrong_numpy_scalar_is_diagnosed_not_crashed():
    import numpy as np
    from autograder import check
    with pytest.raises(AssertionError, match="expected 3, got 2"):
        check.close(np.float64(2.0), 3.0)


def _frame(header: bytes, blobs: bytes = b"") -> bytearray:
    payload = struct.pack("<I", len(header)) + header + blobs
    return bytearray(struct.pack("<Q", len(payload)) + payload)


def test_wire_refuses_oversized_parts_before_reading_them():
    from autograder.wire import HEADER_BYTES, MAX_STR
    huge = struct.pack("<Q", 1 << 20) + struct.pack("<I", HEADER_BYTES + 1)  # only the first 12 bytes arrived
    with pytest.raises(ValueError, match="header"):
        frame(bytearray(huge), 64 << 20)
    with pytest.raises(ValueError, match="blob"):
        frame(_frame(b'{"blobs": [100]}', b"x" * 10), 1 << 20)
    ok = _frame(b'{"blobs": [3]}', b"abc")
    header, blobs = frame(ok, 1 << 20)
    assert bytes(blobs[0]) == b"abc" and not ok
    with pytest.raises(ValueError, match="string"):
        decode_value("x" * (MAX_STR + 1), [])


def test_wire_refuses_npy_headers_that_claim_more_than_they_hold():
    buf = io.BytesIO()
    np.save(buf, np.arange(4.0))
    good = buf.getvalue()
    assert decode_value({"__nd__": 0}, [memoryview(good)]).tolist() == [0, 1, 2, 3]
    lying = good.replace(b"'shape': (4,), ", b"'shape': (10000000000,), ")
    with pytest.raises(ValueError, match="does not match"):
        decode_value({"__nd__": 0}, [lying])
    f = np.asfortranarray(np.arange(6).reshape(2, 3))
    buf = io.BytesIO()
    np.save(buf, f)
    assert (decode_value({"__nd__": 0}, [buf.getvalue()]) == f).all()


def test_student_markdown_and_raw_cells_carry_no_html_or_links():
    md = nbmod.safe_markdown("<script>x</script> &lt;b&gt; [a](javascript:y)\n[r]: javascript:z\n**bold** $a<b$")
    assert "<" not in md and "&amp;lt;b&amp;gt;" in md and "](" not in md and "\\[r]:" in md and "**bold**" in md
    assert nbmod.safe_raw("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"


def test_notebooks_claiming_odd_formats_or_ids_are_read(tmp_path):
    import json
    p = tmp_path / "nb.ipynb"
    p.write_text(json.dumps({"nbformat": 5, "nbformat_minor": "x", "metadata": {}, "cells": [
        {"cell_type": "code", "source": ["x = 1"], "metadata": {"nbgrader": {"grade_id": ["a"]}}, "outputs": []},
        {"cell_type": "markdown", "source": "hi", "metadata": {"nbgrader": {"grade_id": {"b": 1}}}},
        {"cell_type": "weird", "source": 3, "metadata": []}]}))
    nb, err = nbmod.read_notebook_safely(p)
    assert err is None and nb.nbformat == 4
    assert [nbmod.nbmeta(c).get("grade_id") for c in nb.cells] == [None, None, None]
    assert [c.cell_type for c in nb.cells] == ["code", "markdown", "raw"] and nb.cells[2].source == ""


def test_grade_exit_status_is_documented_and_a_failed_grader_exits_2(tmp_path):
    import subprocess
    import sys
    run = [sys.executable, "-m", "autograder", "grade"]
    h = subprocess.run(run + ["--help"], capture_output=True, text=True).stdout
    assert "exit status" in h and "need attention" in h and "grader itself failed" in h
    (tmp_path / "source").mkdir()
    (tmp_path / "nbgrader_config.py").write_text("")
    r = subprocess.run(run + ["missing", "--course", str(tmp_path), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 2 and "the grader failed" in r.stderr, r.stderr


def test_after_a_hidden_test_feedback_echoes_nothing_the_submission_chose():
    from autograder.grade import PRIVATE_NOTE, AssignmentGrader
    step = nbmod.Step("test", "from autograder import check\ncheck.equal(f(), 5)\n", "t", 1.0, False)
    ref = [{"kind": "equal", "expected": 5, "rtol": 0.0, "atol": 0.0, "line": 2}]
    judge = AssignmentGrader._judge.__get__(object.__new__(AssignmentGrader))
    got = {"status": "ok", "records": [{"kind": "equal", "got": "SECRET"}]}
    assert "SECRET" in judge(step, got, ref)[1]
    assert "SECRET" not in judge(step, dict(got, after_hidden=True), ref)[1]
    assert PRIVATE_NOTE in judge(step, dict(got, after_hidden=True), ref)[1]
    assert "x" * 300 not in judge(step, {"status": "ok", "records": [{"kind": "equal", "got": "x" * 300}]}, ref)[1]
    err = {"status": "error", "exc": "SECRET_NAME", "msg": "SECRET text", "line": 2, "records": []}
    assert "SECRET" in judge(step, err, ref)[1]
    msg = judge(step, dict(err, after_hidden=True), ref)[1]
    assert "SECRET" not in msg and msg.startswith("Exception")
    assert judge(step, dict(err, exc="ValueError", after_hidden=True), ref)[1].startswith("ValueError")


def test_the_sandbox_root_hides_the_checkout_even_inside_a_needed_folder(monkeypatch):
    """rootfs.plan binds the system folders, the interpreter and the two packages; a checkout or
    course that lies inside one of them (a clone under /usr) is covered, parents before children."""
    from autograder import rootfs
    plan = rootfs.plan()
    binds = [p for k, p in plan.ops if k == "bind"]
    assert rootfs.package_dirs()[0] in binds and str(rootfs.REPO) not in binds
    assert not any(p == str(rootfs.REPO) or rootfs.REPO.as_posix().startswith(p + "/") for p in binds)
    monkeypatch.setattr(rootfs, "REPO", rootfs.Path("/usr/share"))
    ops = rootfs._plan(["/etc/ssl"], 256).ops  # uncached: REPO is patched
    assert ("cover", "/usr/share") in ops and ("cover", "/etc/ssl") in ops
    assert ops.index(("cover", "/usr/share")) > ops.index(("bind", "/usr"))


def test_a_notebook_too_large_to_parse_safely_is_refused(tmp_path):
    p = tmp_path / "big.ipynb"
    p.write_text("[" + "[]," * (nbmod.MAX_NOTEBOOK_BYTES // 3) + "[]]")
    nb, err = nbmod.read_notebook_safely(p)
    assert nb is None and "MiB" in err


@pytest.mark.slow
def test_sharded_grading_and_merge_report_who_needs_attention(tmp_path):
    import json
    import subprocess
    import sys
    import nbformat
    from course_helpers import FIXTURE_COURSE, make_course, submit
    from test_autograder_attacks import CORRECT
    root = make_course(tmp_path, FIXTURE_COURSE, ["00_demo"])
    src = nbformat.read(root / "source" / "00_demo" / "00_demo.ipynb", as_version=4)
    submit(root, "alice", "00_demo", nbmod.apply_replacements(src, CORRECT))
    submit(root, "bob", "00_demo", "{ not json")
    run = [sys.executable, "-m", "autograder"]
    codes = []
    for k in (1, 2):
        r = subprocess.run(run + ["grade", "00_demo", "--course", str(root), "--shard", f"{k}/2", "--results",
                                  str(tmp_path / f"s{k}.json"), "--quiet"], capture_output=True, text=True)
        codes.append(r.returncode)
    assert codes == [0, 1]  # alice, then bob (unreadable)
    r = subprocess.run(run + ["merge", "00_demo", "--course", str(root), str(tmp_path / "s1.json"),
                              str(tmp_path / "s2.json")], capture_output=True, text=True)
    assert r.returncode == 1 and "needs attention: bob: unreadable notebook" in r.stderr, r.stdout + r.stderr
    assert json.loads((root / "autograded" / "alice" / "00_demo" / "ember-result.json").read_text())["score"] == 10
