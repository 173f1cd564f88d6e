"""Time the fit, the inverse-HVP solve and the per-sample scores, beside their passes.

Usage::

    python -m benchmarks.influence_speed            # real-sim shape + MNIST 1 vs 7
    python -m benchmarks.influence_speed --repeat 3 --skip-mnist
    python -m benchmarks.influence_speed --markdown results/influence_speed/table.md

Data:

- ``realsim-shape``: synthetic sparse data shaped like LIBSVM real-sim, 72,309 rows x
  20,958 columns, about 51 non-zeros per row, unit-norm rows, column popularity
  following a power law as in bag-of-words data; 60,000 training rows (the last 30% of
  them validation, as in RDIA.py), the rest test.
- ``mnist``: MNIST 1 vs 7 as loaded by RDIA.py (needs the files; see README).

Each problem is fitted by both learners of ``models.logreg``: the trust-region Newton
method (the default) and liblinear (the paper's). For each, the fit, the solve at the
default CG tolerance and the scores are timed ``--repeat`` times (the minimum is
reported) and their passes over X are counted: Newton's from its own counts,
liblinear's from its log (over its own copy of the non-zeros,
``benchmarks.work.liblinear_fit_work``), the solve's and the scores' with
``influence.influence_passes``. The time of one plain pass X @ v on the same data is
measured too: seconds / (passes x one pass) says how far a stage is from the memory
bandwidth floor. The influence stage is the solve plus the scores.
"""

import sys

import numpy as np
import scipy.sparse as sp

from rdia import influence
from benchmarks.work import fastest, liblinear_fit_work, one_pass_seconds
from rdia.experiments.cli import OneLineParser
from rdia.experiments.files import write_text_atomic
from rdia.models import logreg
from rdia.models.linear import clear_gram_cache
from rdia.models.logreg import Logistic

C = 0.1


#: real-sim's rows, and the training rows RDIA.py draws from them.
REALSIM_ROWS, REALSIM_TRAIN = 72309, 60000


def realsim_shaped(n_rows=REALSIM_ROWS, n_cols=20958, nnz_per_row=51, n_train=None, seed=0):
    """Synthetic CSR data shaped like real-sim; returns train, val and labels.

    ``n_train`` defaults to real-sim's share of training rows (60,000 of 72,309); the
    last 30% of them are validation rows, as in RDIA.py.
    """
    if n_train is None:
        n_train = int(round(n_rows * REALSIM_TRAIN / REALSIM_ROWS))
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
    from rdia.data.datasets import load_binary, split_validation
    from rdia.data.errors import DataError
    try:
        dataset = load_binary("mnist", data_dir=data_dir)
    except DataError as error:
        print(f"skipping mnist: {error}", file=sys.stderr)
        return None
    return split_validation(dataset.X_train, dataset.y_train, 0.3)


def time_stages(X, y, X_val, y_val, repeat, learner):
    """Seconds and passes over X of the fit, the solve and the scores of one learner.

    Returns
    -------
    stages : dict
        ``fit``, ``solve``, ``scores`` (seconds), ``fit_iterations``, ``fit_passes``,
        ``iterations`` (CG), ``phi_passes`` and ``residual``.
    """
    model = Logistic(learner=learner, progress=False)

    def fit_from_scratch():
        clear_gram_cache()  # every repeat computes the Gram matrix, as a run's first fit
        return model.minimise(X, y, C)

    t_fit, fit = fastest(fit_from_scratch, repeat)
    work = dict(iterations=fit.n_iter, passes=fit.passes)
    if learner == "liblinear":
        work = liblinear_fit_work(X, y, C)[1]
    g_val = model.validation_gradient(fit.W, X_val, y_val, C)
    solver = influence.ConjugateGradient()

    def solve():
        return solver.inverse_hvp(model.hessian(fit.W, X, C), g_val)

    t_solve, s = fastest(solve, repeat)
    t_scores, _ = fastest(lambda: influence.sample_influence(model, fit.W, X, y, s, C),
                          repeat)
    return dict(fit=t_fit, solve=t_solve, scores=t_scores, fit_iterations=work["iterations"],
                fit_passes=work["passes"], iterations=solver.n_iter_,
                phi_passes=influence.influence_passes(solver), residual=solver.residual_)


HEADER = ("| data | train X | non-zeros | one pass X @ v ms | learner | fit s | fit "
          "iterations | fit passes | solve s (CG it) | scores s | phi passes | influence s "
          "| influence / fit |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def format_row(name, X, pass_seconds, learner, stages):
    """One markdown row of a problem and a learner."""
    nnz = X.nnz if sp.issparse(X) else X.size
    influence_s = stages["solve"] + stages["scores"]
    return (f"| {name} | {X.shape[0]:,} x {X.shape[1]:,} | {nnz:,} | "
            f"{pass_seconds * 1e3:.2f} | {learner} | {stages['fit']:.3f} | "
            f"{stages['fit_iterations']} | {stages['fit_passes']} | "
            f"{stages['solve']:.3f} ({stages['iterations']} it) | {stages['scores']:.3f} | "
            f"{stages['phi_passes']} | {influence_s:.3f} | {influence_s / stages['fit']:.2f} |")


def main(argv=None):
    parser = OneLineParser(prog="benchmarks.influence_speed",
                           description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timings per stage")
    parser.add_argument("--skip-mnist", action="store_true",
                        help="time the real-sim-shaped problem only")
    parser.add_argument("--realsim-rows", type=int, default=REALSIM_ROWS,
                        help="rows of the real-sim-shaped problem (60,000 of 72,309 "
                             "train, as real-sim)")
    parser.add_argument("--data-dir", default=None,
                        help="dataset folder (default: $RDIA_DATA_DIR, else datasets/)")
    parser.add_argument("--learners", nargs="+", default=list(logreg.LEARNERS),
                        choices=list(logreg.LEARNERS), help="learners whose fits are timed")
    parser.add_argument("--markdown", default=None, metavar="PATH.md",
                        help="also write the table to this file (default: none)")
    args = parser.parse_args(argv)

    problems = [("realsim-shape", realsim_shaped(n_rows=args.realsim_rows))]
    if not args.skip_mnist:
        mnist = mnist_1v7(args.data_dir)
        if mnist is not None:
            problems.append(("mnist 1v7", mnist))

    lines = [HEADER]
    print(HEADER, flush=True)
    for name, (X, y, X_val, y_val) in problems:
        pass_seconds = one_pass_seconds(X, repeat=args.repeat)
        for learner in args.learners:
            stages = time_stages(X, y, X_val, y_val, args.repeat, learner)
            lines.append(format_row(name, X, pass_seconds, learner, stages))
            print(lines[-1], flush=True)
    if args.markdown:
        write_text_atomic(args.markdown, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
