"""Where the work of K-class RDIA goes: fit, phi and the relabeled refit, in passes over X.

Usage::

    RDIA_DATA_DIR=/path/to/datasets python -m benchmarks.kclass_influence
    python -m benchmarks.kclass_influence --subset 5000 --baselines     # quick, new only
    python -m benchmarks.kclass_influence --dataset digits              # offline, seconds
    python -m benchmarks.kclass_influence --output speed.json --markdown speed.md

One run of RDIA.py's K-class experiment (``mnist10``, symmetric noise 0.5, seed 0,
C = 0.1 by default), stage by stage, each with the new and the old method:

- fit: softmax regression on the noisy labels, trust-region Newton (the default) and
  L-BFGS (``method="lbfgs"``, the previous default), both from zero, and scikit-learn's
  multinomial ``LogisticRegression(C=C, fit_intercept=False)`` (lbfgs) at the same
  tolerance (its objective is this J divided by C n, so its gtol is tol / (C n));
- phi: conjugate gradients at ``--cg-tol`` with the Kronecker preconditioner (the
  default for K classes on dense X) and with Jacobi (the previous default);
- refit: RDIA at ``--alpha``, the samples with phi > alpha relabeled, Newton started
  from the full fit's weights and L-BFGS from zero (the previous behaviour).

For every stage it prints the iterations, the Hessian-vector products, the passes over
X (one pass is one product of X or X^T with K columns: J costs one, its gradient one, a
Hessian-vector product two), the Gram matrices X^T X computed (n d^2 multiply-adds
each; the fit computes one, from scratch at every repeat, and phi and the refit reuse it
as in a run, since it is cached per array) and the seconds. The time of one pass is measured on the same data, as a plain X @ V with V of
shape (d, K), and so is one Gram matrix, so that seconds can be checked against
counts: seconds ~ passes x pass + Grams x Gram. Timings are the minimum of ``--repeat``
runs of each stage and mean something only on a quiet machine; the counts do not
depend on the load.

``--baselines`` with no names skips the old methods (L-BFGS, Jacobi, scikit-learn):
they take most of the time. ``--subset N`` keeps the first N training rows.
"""

import sys
import warnings
from types import SimpleNamespace

import numpy as np

from rdia import influence
from benchmarks.work import add_report_arguments, fastest, one_pass_seconds, write_report
from rdia.data.errors import DataError
from rdia.experiments.config import RunConfig
from rdia.experiments.pipeline import load_in_memory
from rdia.experiments.cli import ConfigError, OneLineParser, run_script
from rdia.models import softmax
from rdia.models.linear import clear_gram_cache

BASELINES = ("lbfgs", "jacobi", "sklearn")


def parse_args(argv=None):
    parser = OneLineParser(prog="benchmarks.kclass_influence",
                           description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist10",
                        help="a K-class dataset of RDIA.py (digits runs offline)")
    parser.add_argument("--noise", type=float, default=0.5,
                        help="rate of symmetric label noise on the training rows")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the noise")
    parser.add_argument("--C", type=float, default=0.1,
                        help="weight of the summed log-loss in J(W)")
    parser.add_argument("--alpha", type=float, default=0.002,
                        help="relabel the samples with phi > alpha for the refit")
    parser.add_argument("--tol", type=float, default=1e-5,
                        help="gradient tolerance of the fits (max |grad J|)")
    parser.add_argument("--cg-tol", type=float, default=1e-10,
                        help="relative residual of the phi solve")
    parser.add_argument("--subset", type=int, default=None, metavar="N",
                        help="keep the first N training rows (default: all)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run every stage this many times and keep the fastest")
    parser.add_argument("--baselines", nargs="*", default=list(BASELINES),
                        choices=BASELINES, help="old methods to run too (none: skip all)")
    add_report_arguments(parser)
    return parser.parse_args(argv)


def noisy_split(opts):
    """The run's training and validation rows (cut to ``--subset`` training rows), K and
    the model, as attributes."""
    part, model, source = load_in_memory(RunConfig(
        dataset=opts.dataset, noise=opts.noise, seed=opts.seed, noise_type="symmetric",
        C=opts.C, data_dir=opts.data_dir))
    keep = slice(0, opts.subset)
    return SimpleNamespace(X_train=part.X_train[keep], y_noisy=part.y_noisy[keep],
                           X_val=part.X_val, y_val=part.y_val, model=model,
                           n_classes=source.n_classes)


def unit_costs(X, n_classes, repeat):
    """Seconds of one pass X @ V, V of shape (d, K), and of one Gram matrix X^T X."""
    gram_seconds, _ = fastest(lambda: X.T @ X, repeat)
    return one_pass_seconds(X, n_classes, repeat), gram_seconds


def from_scratch(fit, *args, **kwargs):
    """``fit(*args, **kwargs)`` with no Gram matrix cached: each repeat computes its own,
    as the first fit of a run does (phi and the refits then reuse it)."""
    clear_gram_cache()
    return fit(*args, **kwargs)


def fit_row(stage, method, result, seconds):
    """A report row of a :class:`models.softmax.FitResult`."""
    return dict(stage=stage, method=method, iterations=result.n_iter, hvp=result.n_hvp,
                passes=result.passes, grams=result.n_gram, seconds=seconds)


def fit_stage(split, opts, rows):
    """Fit on the noisy labels; returns the Newton weights."""
    X, y, K, C = split.X_train, split.y_noisy, split.n_classes, opts.C
    seconds, result = fastest(lambda: from_scratch(softmax.minimise, X, y, C, n_classes=K,
                                                   tol=opts.tol), opts.repeat)
    add_row(rows, fit_row("fit", f"newton ({result.preconditioner})", result, seconds))
    if "lbfgs" in opts.baselines:
        seconds, old = fastest(lambda: softmax.minimise(X, y, C, n_classes=K, tol=opts.tol,
                                                        method="lbfgs"), opts.repeat)
        add_row(rows, dict(fit_row("fit", "lbfgs", old, seconds),
                           relative_difference=relative_difference(old.W, result.W)))
    if "sklearn" in opts.baselines:
        add_row(rows, sklearn_row(X, y, C, opts, result.W))
    return result.W


def sklearn_row(X, y, C, opts, W):
    """scikit-learn's multinomial fit of the same J, at the same gradient tolerance."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, fit_intercept=False, tol=opts.tol / (C * X.shape[0]),
                               max_iter=100000)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(X, y)
    seconds, fitted = fastest(fit, opts.repeat)
    return dict(stage="fit", method="sklearn lbfgs", iterations=int(fitted.n_iter_[0]),
                hvp=0, passes=None, grams=0, seconds=seconds,
                relative_difference=relative_difference(fitted.coef_.T, W))


def phi_stage(split, W, opts, rows):
    """phi of every training sample; returns the default solver's phi."""
    phis = {}
    names = ["auto"] + (["jacobi"] if "jacobi" in opts.baselines else [])
    for name in names:
        solver = influence.ConjugateGradient(tol=opts.cg_tol, max_iter=5000,
                                             preconditioner=name)
        seconds, phis[name] = fastest(lambda: influence.influence(
            split.model, W, split.X_train, split.y_noisy, split.X_val, split.y_val,
            opts.C, solver), opts.repeat)
        row = dict(stage="phi", method=f"cg ({solver.preconditioner_})",
                   iterations=solver.n_iter_, hvp=solver.n_iter_ + 1,
                   passes=influence.influence_passes(solver),
                   grams=solver.n_gram_, seconds=seconds)
        if name != "auto":
            row["relative_difference"] = relative_difference(phis[name], phis["auto"])
        add_row(rows, row)
    return phis["auto"]


def refit_stage(split, W, phi, opts, rows):
    """The RDIA refit: samples with phi > alpha trained with l_R."""
    X, y, K, C = split.X_train, split.y_noisy, split.n_classes, opts.C
    relabeled = phi > opts.alpha
    seconds, result = fastest(lambda: softmax.minimise(
        X, y, C, n_classes=K, relabeled=relabeled, tol=opts.tol, W0=W), opts.repeat)
    add_row(rows, dict(fit_row("refit", f"newton ({result.preconditioner}), warm", result,
                               seconds), relabeled=int(relabeled.sum())))
    if "lbfgs" in opts.baselines:
        seconds, old = fastest(lambda: softmax.minimise(
            X, y, C, n_classes=K, relabeled=relabeled, tol=opts.tol, method="lbfgs"),
            opts.repeat)
        add_row(rows, dict(fit_row("refit", "lbfgs, from zero", old, seconds),
                           relabeled=int(relabeled.sum()),
                           relative_difference=relative_difference(old.W, result.W)))


def add_row(rows, row):
    """Append a report row and announce it on stderr (a stage can take minutes)."""
    rows.append(row)
    print(f"{row['stage']} {row['method']}: {row['iterations']} iterations, "
          f"{row['passes']} passes, {row['seconds']:.1f}s", file=sys.stderr, flush=True)


def relative_difference(A, B):
    """||A - B|| / ||B||, a float."""
    return float(np.linalg.norm(A - B) / np.linalg.norm(B))


def stage_table(rows, pass_seconds, gram_seconds):
    """Markdown: one row per stage and method."""
    lines = ["| stage | method | iterations | Hessian-vector products | passes over X | "
             "Gram matrices | seconds | seconds / (passes x pass + Grams x Gram) | "
             "relative difference to the first row of the stage |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        passes = "-" if r["passes"] is None else str(r["passes"])
        ratio = "-" if r["passes"] is None else \
            f"{r['seconds'] / (r['passes'] * pass_seconds + r['grams'] * gram_seconds):.2f}"
        difference = r.get("relative_difference")
        lines.append(f"| {r['stage']} | {r['method']} | {r['iterations']} | {r['hvp']} | "
                     f"{passes} | {r['grams']} | {r['seconds']:.2f} | {ratio} | "
                     f"{'-' if difference is None else f'{difference:.1e}'} |")
    return "\n".join(lines)


def report(opts, split, rows, pass_seconds, gram_seconds):
    """The printed report: the data, the unit costs and the table."""
    n, d = split.X_train.shape
    return "\n".join([
        f"{opts.dataset}: {n} training rows x {d} features, K = {split.n_classes}, "
        f"C = {opts.C:g}, symmetric noise {opts.noise:g}, seed {opts.seed}; fit tol "
        f"{opts.tol:g}, phi tol {opts.cg_tol:g}, refit alpha {opts.alpha:g}.",
        f"One pass X @ V (V: {d} x {split.n_classes}): {pass_seconds * 1e3:.1f} ms; one "
        f"Gram matrix X^T X: {gram_seconds * 1e3:.1f} ms (minimum of the repeats).", "",
        stage_table(rows, pass_seconds, gram_seconds), ""])


def main(argv=None):
    opts = parse_args(argv)
    split = noisy_split(opts)
    pass_seconds, gram_seconds = unit_costs(split.X_train, split.n_classes, opts.repeat)
    rows = []
    W = fit_stage(split, opts, rows)
    phi = phi_stage(split, W, opts, rows)
    refit_stage(split, W, phi, opts, rows)
    text = report(opts, split, rows, pass_seconds, gram_seconds)
    write_report(opts, text, dict(settings=vars(opts), pass_seconds=pass_seconds,
                                  gram_seconds=gram_seconds, rows=rows))
    return 0


if __name__ == "__main__":
    sys.exit(run_script("benchmarks.kclass_influence", main, (ConfigError, DataError)))
