"""Time the fit, the inverse-HVP solve and the per-sample scores.

Usage::

    python -m benchmarks.influence_speed            # real-sim shape + MNIST 1 vs 7
    python -m benchmarks.influence_speed --repeat 3 --skip-mnist

Data:

- ``realsim-shape``: synthetic sparse data shaped like LIBSVM real-sim, 72,309 rows x
  20,958 columns, about 51 non-zeros per row, unit-norm rows, column popularity
  following a power law as in bag-of-words data; 60,000 training rows (the last 30% of
  them validation, as in RDIA.py), the rest test.
- ``mnist``: MNIST 1 vs 7 as loaded by RDIA.py (needs the files; see README).

Each stage is timed ``--repeat`` times and the minimum is reported. The influence
stage is the solve plus the scores; the target is influence / fit <= 1.
"""

import sys
import time

import numpy as np
import scipy.sparse as sp

import influence
from experiments.cli import OneLineParser
from models.logreg import Logistic

C = 0.1


def realsim_shaped(n_rows=72309, n_cols=20958, nnz_per_row=51, n_train=60000, seed=0):
    """Synthetic CSR data shaped like real-sim; returns train, val and labels."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(nnz_per_row, size=n_rows).clip(1)
    popularity = 1.0 / (np.arange(n_cols) + 10.0) ** 0.8
    popularity /= popularity.sum()
    cols = rng.choice(n_cols, size=counts.sum(), p=popularity)
    rows = np.repeat(np.arange(n_rows), counts)
    values = rng.random(counts.sum())
    X = sp.csr_matrix((values, (rows, cols)), shape=(n_rows, n_cols))
    X.sum_duplicates()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.diags(1.0 / norms) @ X
    w_true = rng.normal(size=n_cols) * 8.0
    p = 1.0 / (1.0 + np.exp(-(X @ w_true)))
    y = (rng.random(n_rows) < p).astype(float)
    X_train, y_train = X[:n_train].tocsr(), y[:n_train]
    n_fit = int(round(0.7 * n_train))
    return X_train[:n_fit], y_train[:n_fit], X_train[n_fit:], y_train[n_fit:]


def mnist_1v7(data_dir=None):
    """MNIST 1 vs 7 with RDIA.py's split; None when the files are missing."""
    from data.datasets import load_binary, split_validation
    from data.errors import DataError
    try:
        dataset = load_binary("mnist", data_dir=data_dir)
    except DataError as error:
        print(f"skipping mnist: {error}", file=sys.stderr)
        return None
    return split_validation(dataset.X_train, dataset.y_train, 0.3)


def best_time(function, repeat):
    """Minimum wall time of ``repeat`` calls, and the last result."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def time_stages(X, y, X_val, y_val, repeat):
    """Seconds for fit, solve and scores, with the CG iteration count."""
    model = Logistic()
    t_fit, w = best_time(lambda: model.fit(X, y, C), repeat)
    g_val = model.validation_gradient(w, X_val, y_val, C)
    solver = influence.ConjugateGradient()

    def solve():
        return solver.inverse_hvp(model.hessian(w, X, C), g_val)

    t_solve, s = best_time(solve, repeat)
    t_scores, _ = best_time(lambda: influence.sample_influence(model, w, X, y, s, C),
                            repeat)
    return dict(fit=t_fit, solve=t_solve, scores=t_scores, iterations=solver.n_iter_,
                residual=solver.residual_)


def format_row(name, X, stages):
    nnz = X.nnz if sp.issparse(X) else X.size
    influence_s = stages["solve"] + stages["scores"]
    return (f"| {name} | {X.shape[0]:,} x {X.shape[1]:,} | {nnz:,} | {stages['fit']:.3f} "
            f"| {stages['solve']:.3f} ({stages['iterations']} it) | {stages['scores']:.3f} "
            f"| {influence_s:.3f} | {influence_s / stages['fit']:.2f} |")


def main(argv=None):
    parser = OneLineParser(prog="benchmarks.influence_speed",
                           description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timings per stage")
    parser.add_argument("--skip-mnist", action="store_true")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)

    problems = [("realsim-shape", realsim_shaped())]
    if not args.skip_mnist:
        mnist = mnist_1v7(args.data_dir)
        if mnist is not None:
            problems.append(("mnist 1v7", mnist))

    print("| data | train X | non-zeros | fit s | solve s | scores s | influence s "
          "| influence / fit |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (X, y, X_val, y_val) in problems:
        print(format_row(name, X, time_stages(X, y, X_val, y_val, args.repeat)),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
