"""ember.set_num_threads / get_num_threads and the one-BLAS-thread default at import."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ember

LIB = str(Path(__file__).resolve().parents[1] / "lib")
CODE = "import numpy, ember; print(ember.get_num_threads())"


def run(env_extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("EMBER_NUM_THREADS",) + ember.threads.BLAS_ENV}
    env.update(env_extra, PYTHONPATH=os.pathsep.join([LIB, env.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True,
                         check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores to tell 1 thread from 2")
def test_import_defaults_to_one_blas_thread_unless_the_environment_says():
    assert run({}) == 1                          # numpy imported first, then limited by ember
    assert run({"EMBER_NUM_THREADS": "2"}) == 2
    assert run({"OPENBLAS_NUM_THREADS": "2"}) == 2   # BLAS's own variable is respected


def test_set_and_get_num_threads():
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        assert ember.get_num_threads() == 1
        if (os.cpu_count() or 1) >= 2:
            ember.set_num_threads(2)
            assert ember.get_num_threads() == 2
    finally:
        ember.set_num_threads(before)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive integer"):
            ember.set_num_threads(bad)
