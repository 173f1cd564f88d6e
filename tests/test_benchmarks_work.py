"""benchmarks/work.py: the fastest of repeats, one pass over X, and liblinear's passes
read from its own log."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from benchmarks import work
from builders import logistic_data


def test_fastest_returns_the_smallest_time_and_the_last_result():
    calls = []
    seconds, result = work.fastest(lambda: calls.append(1) or len(calls), 3)
    assert result == 3 and len(calls) == 3 and seconds >= 0


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("columns", [None, 4])
def test_one_pass_is_timed_on_the_data(sparse, columns):
    X, _, _ = logistic_data(n=200, d=6, sparse=sparse, seed=0)
    assert work.one_pass_seconds(X, columns) > 0


def test_output_of_captures_what_c_code_writes_to_descriptor_one():
    import os

    assert work.output_of(lambda: os.write(1, b"iter  1 CG 3\n")) == b"iter  1 CG 3\n"


def test_output_of_captures_what_python_prints_too():
    assert work.output_of(lambda: print("[LibLinear]", end="")) == b"[LibLinear]"


@pytest.mark.parametrize("sparse", [False, True])
def test_liblinear_passes_come_from_its_log(sparse):
    """The iterations read from the log are liblinear's own count (n_iter_), and the
    weights are those of the same fit without the log."""
    X, y, _ = logistic_data(n=400, d=8, sparse=sparse, seed=1)
    w, counts = work.liblinear_fit_work(X, y, 0.1)
    plain = LogisticRegression(C=0.1, fit_intercept=False, solver="liblinear", tol=1e-7,
                               max_iter=1000).fit(X, y)
    assert counts["iterations"] == int(plain.n_iter_[0]) > 0
    assert counts["cg"] >= counts["iterations"]
    assert counts["passes"] == 2 + 2 * counts["iterations"] + 2 * counts["cg"]
    np.testing.assert_allclose(w, plain.coef_.ravel(), rtol=1e-12)
