"""What the speed benchmarks share: the fastest of repeated runs, the time of one pass
over X (the memory-bandwidth floor of every stage), and liblinear's passes.

A stage that makes P passes over X cannot take less than about P times the time of one
plain product X @ v on the same data, however it is written; each speed benchmark
prints its stages' passes beside that time, so a reader sees how far each is from
the floor.
"""

import contextlib
import io
import os
import re
import sys
import tempfile
import time
import warnings

import numpy as np


def add_report_arguments(parser):
    """--data-dir, --output PATH.json and --markdown PATH.md, as every speed benchmark
    takes them."""
    parser.add_argument("--data-dir", default=None,
                        help="dataset folder (default: $RDIA_DATA_DIR)")
    parser.add_argument("--output", default=None, metavar="PATH.json",
                        help="also write every measurement as JSON (default: none)")
    parser.add_argument("--markdown", default=None, metavar="PATH.md",
                        help="also write the printed report to this file (default: "
                             "none)")


def write_report(opts, text, record):
    """Print the report and write it (``--markdown``) and the record (``--output``),
    each atomically."""
    from rdia.experiments.files import write_json_atomic, write_text_atomic

    print(text, end="" if text.endswith("\n") else "\n")
    if opts.markdown:
        write_text_atomic(opts.markdown, text)
    if opts.output:
        write_json_atomic(opts.output, record)


def fastest(function, repeat):
    """The smallest wall time of ``repeat`` calls of ``function``, and its last result.

    Returns
    -------
    seconds : float
    result : object
    """
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return min(seconds), result


def one_pass_seconds(X, columns=None, repeat=5):
    """Seconds of one plain pass over X: the product X @ v with v of shape (d,), or
    (d, columns) for a model with that many logit columns; the fastest of ``repeat``
    (at least 5).

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n, d)
    columns : int, optional
    repeat : int, default=5

    Returns
    -------
    seconds : float
    """
    shape = (X.shape[1],) if columns is None else (X.shape[1], columns)
    v = np.random.default_rng(0).normal(size=shape)
    return fastest(lambda: np.asarray(X @ v), max(repeat, 5))[0]


#: A line of liblinear's trust-region Newton log: one iteration and its CG steps.
LIBLINEAR_ITERATION = re.compile(rb"^(?:\[LibLinear\])?iter\s+\d+\b.*\bCG\s+(\d+)", re.M)


def liblinear_fit_work(X, y, C, tol=1e-7):
    """Fit with scikit-learn's liblinear (the paper's learner) and count its passes.

    liblinear does not return its work, so its log (``verbose=1``, written by C code
    to file descriptor 1) is read: every iteration evaluates J and its gradient (a
    pass each) and every CG step one Hessian-vector product (two passes). These are
    passes over liblinear's own copy of X, which holds only the non-zeros.

    Returns
    -------
    w : ndarray of shape (d,)
    work : dict
        ``iterations``, ``cg`` (CG steps over all iterations) and ``passes``
        (2 for the start + 2 per iteration + 2 per CG step).
    """
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, fit_intercept=False, solver="liblinear", tol=tol,
                               max_iter=1000, verbose=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = output_of(lambda: model.fit(X, y))
    cg = [int(steps) for steps in LIBLINEAR_ITERATION.findall(log)]
    return model.coef_.ravel(), dict(iterations=len(cg), cg=sum(cg),
                                     passes=2 + 2 * len(cg) + 2 * sum(cg))


def output_of(function):
    """What ``function`` writes to standard output, from Python (``sys.stdout``) and
    from the C code it calls (file descriptor 1), as bytes: the latter first."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as captured, \
            contextlib.redirect_stdout(io.StringIO()) as printed:
        os.dup2(captured.fileno(), 1)
        try:
            function()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        captured.seek(0)
        return captured.read() + printed.getvalue().encode()
