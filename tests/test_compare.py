"""autograder.compare: each diagnosis fires when its cause is plausible and only then; hints tied to a
cause; thresholds; and the notebook-side behaviour of autograder.check (message first, blame)."""
from __future__ import annotations

import numpy as np
import pytest

from autograder import blame, check
from autograder.compare import diagnose, pick_hint


def cause(*a, **k):
    ok, msg, c = diagnose(*a, **k)
    assert not ok
    return c, msg


def test_constant_factor_needs_several_values_or_an_exact_integer_ratio():
    e = np.array([1.0, 2.0, 3.0])
    assert cause("close", 2 * e, e)[0] == "scale"
    assert cause("close", e / 3, e)[0] == "scale"
    assert cause("close", 1.9, 0.95)[0] == "scale"          # exactly twice: plausible
    c, msg = cause("close", 0.12, 0.95)                       # an accuracy threshold missed: no factor
    assert c == "values" and "factor" not in msg and "expected 0.95, got 0.12" in msg
    assert cause("close", 0.7, 0.3)[0] == "values"


def test_shift_by_one_and_constant_sequences():
    e = [4.0, 3.0, 2.5, 2.0]
    assert cause("close", [3.0, 2.5, 2.0, 1.7], e)[0] == "shift"        # recorded after the update
    assert "after the update" in cause("close", np.array([3.0, 2.5, 2.0, 1.7]), np.array(e))[1]
    assert cause("close", [9.0, 4.0, 3.0, 2.5], e)[0] == "shift"
    c, msg = cause("close", [4.0, 4.0, 4.0, 4.0], e)
    assert c == "constant" and "same value at every step" in msg
    assert cause("equal", [1, 2, 3, 4], [0, 1, 2, 3])[0] == "shift"
    # two-element sequences are too short to call a shift
    assert cause("close", [3.0, 2.0], [4.0, 3.0])[0] != "shift"


def test_integer_zero_where_a_fraction_was_expected():
    c, msg = cause("close", 0, 0.75)
    assert c == "int_zero" and "integer division" in msg
    assert cause("close", 0.0, 0.75)[0] != "int_zero"        # a float 0 has other causes
    assert cause("close", 1, 0.75)[0] != "int_zero"


def test_unchanged_after_a_step_needs_before():
    w0, w1 = np.array([1.0, 2.0]), np.array([0.9, 1.7])
    c, msg = cause("close", w0.copy(), w1, before=w0)
    assert c == "unchanged" and "in place" in msg
    assert cause("close", w0 + 5, w1, before=w0)[0] != "unchanged"
    assert cause("close", [w0, w0], [w1, w1], before=[w0, w0])[0] == "unchanged"
    assert diagnose("close", w1, w1, before=w0)[0]


def test_thresholds_and_chance_level():
    assert diagnose("at_least", 0.97, 0.95)[0] and diagnose("at_most", 0.3, 0.6)[0]
    c, msg = cause("at_least", 0.9, 0.95)
    assert c == "below" and "0.9 is below the required minimum 0.95" in msg
    c, msg = cause("at_least", 0.102, 0.95)
    assert c == "chance" and "1/10" in msg
    assert cause("at_least", 0.51, 0.9)[0] == "chance"
    assert cause("at_most", 1.2, 0.6)[0] == "above"
    assert cause("at_least", np.nan, 0.5)[0] == "nan"
    assert cause("at_least", "0.99", 0.5)[0] == "type"
    assert diagnose("at_least", np.array(0.97), 0.95)[0]


def test_hints_tied_to_a_cause():
    h = {"sign": "flip it", "else": "look again"}
    assert pick_hint(h, "sign") == "flip it"
    assert pick_hint(h, "scale") == "look again"
    assert pick_hint({"sign": "flip it"}, "scale") is None
    assert pick_hint("always", "scale") == "always"
    with pytest.raises(AssertionError) as e:
        check.close(-np.ones(3), np.ones(3), hint=h)
    assert "flip it" in str(e.value) and "look again" not in str(e.value)
    with pytest.raises(AssertionError) as e:
        check.close(np.zeros(3), np.ones(3), hint=h)
    assert "look again" in str(e.value) and "flip it" not in str(e.value)


def test_check_thresholds_locally():
    check.at_least(0.96, 0.95)
    with pytest.raises(check.CheckFailed, match="below the required minimum 0.95"):
        check.at_least(0.5, 0.95, hint="train longer")


def test_check_failed_renders_the_message_only():
    with pytest.raises(check.CheckFailed) as e:
        check.close(np.ones(2), np.zeros(2) + 2, hint="h")
    lines = e.value._render_traceback_()
    text = "\n".join(lines)
    assert "values differ" in text and "hint: h" in text
    assert "check.py" not in text and "Traceback" not in text


def test_blame_names_the_function_to_fix_first():
    src = ("y = forward(x)\ncheck.close(y, 1)\nloss = l2_loss(y, t)\ncheck.close(loss, 2)\n"
           "g = backward(loss)\ncheck.close(g, 3)\n")
    defined = {"forward", "l2_loss", "backward"}
    assert blame.suspects(src, 4, defined) == ["l2_loss"]
    assert blame.suspects(src, 2, defined) == ["forward"]
    assert blame.used_before(src, 6, defined) == ["backward", "forward", "l2_loss"]
    assert "`l2_loss` is wrong" in blame.fix_first(["l2_loss"]) and "fix it first" in blame.fix_first(["l2_loss"])


def test_blame_in_a_kernel_like_namespace(tmp_path):
    """Two test cells run as IPython runs them (source in linecache): the second names the function
    the first one blamed."""
    import linecache
    ns = {"__name__": "__main__"}
    exec("def l2_loss(a, b):\n    return 2 * sum((a - b) ** 2)\n", ns)     # a factor 2 too many
    check._blamed.clear()

    def run_cell(name, src):
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        exec(compile(src, name, "exec"), ns)

    cell1 = "from autograder import check\nimport numpy as np\ncheck.close(l2_loss(np.ones(2), np.zeros(2)), 2.0)\n"
    with pytest.raises(check.CheckFailed):
        run_cell("<cell1>", cell1)
    cell2 = "from autograder import check\nimport numpy as np\nv = l2_loss(np.ones(3), np.zeros(3)) + 1\ncheck.close(v, 4.0)\n"
    with pytest.raises(check.CheckFailed) as e:
        run_cell("<cell2>", cell2)
    assert str(e.value).startswith("`l2_loss` is wrong") and "fix it first" in str(e.value)
    check._blamed.clear()


def test_in_ipython_a_passing_cell_prints_one_line_and_a_failure_only_its_message():
    """A real IPython shell: the pass line, the message without grader frames, and the blame."""
    import subprocess
    import sys
    script = r'''
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
ip.run_cell("import numpy as np\ndef l2_loss(a, b):\n    return 2 * float(((a - b) ** 2).sum())\n")
ip.run_cell("from autograder import check\ncheck.close(1.0, 1.0)\ncheck.equal(2, 2)\n")
print("---")
ip.run_cell("from autograder import check\ncheck.close(l2_loss(np.ones(2), np.zeros(2)), 2.0, hint='sum of squares')\n")
print("---")
ip.run_cell("from autograder import check\nv = l2_loss(np.ones(3), np.zeros(3)) + 1\ncheck.close(v, 4.0)\n")
'''
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120).stdout
    passed, failed, blamed = out.split("---")
    assert passed.strip().endswith("passed (2 checks)") and len(passed.strip().splitlines()) == 1
    assert "exactly 2 times the expected value" in failed and "hint: sum of squares" in failed
    assert "check.py" not in failed and "Traceback" not in failed and "l2_loss(np.ones(2)" in failed
    assert "`l2_loss` is wrong" in blamed and "fix it first" in blamed


def test_thresholds_and_before_cross_the_wire():
    """The grader decodes at_least/at_most records, and `before` only from the reference run."""
    import json

    from autograder.wire import decode_step
    header = {"status": "ok", "records": [
        {"kind": "at_least", "got": {"__float__": "0.5"}, "expected": {"__float__": "0.9"}, "rtol": 0.0, "atol": 0.0},
        {"kind": "close", "got": [1, 2], "expected": [3, 4], "before": [1, 2], "rtol": 1e-5, "atol": 1e-8}]}
    ref = decode_step(json.loads(json.dumps(header)), [], "reference")
    assert [r["kind"] for r in ref["records"]] == ["at_least", "close"]
    assert ref["records"][1]["before"] == [1, 2]
    graded = decode_step(json.loads(json.dumps(header)), [], "grade")
    assert "before" not in graded["records"][1] and "expected" not in graded["records"][0]
    r = ref["records"][1]
    assert diagnose("close", [1.0, 2.0], r["expected"], before=r["before"])[2] == "unchanged"
