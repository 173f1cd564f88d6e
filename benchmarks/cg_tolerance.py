"""Which CG tolerance keeps the harmful set: phi at tol 1e-2 ... 1e-12 against 1e-12.

Usage::

    RDIA_DATA_DIR=/path/to/datasets python -m benchmarks.cg_tolerance
    python -m benchmarks.cg_tolerance --problems cancer --noises 0.8      # seconds
    python -m benchmarks.cg_tolerance --markdown results/cg_tolerance/table.md \\
        --output results/cg_tolerance/rows.json

For every problem and noise level the model is fitted once (RDIA.py's split, noise and
default learner, C = 0.1), then phi is solved by conjugate gradients with the default
preconditioner at every tol of ``TOLERANCES`` and at ``REFERENCE_TOL``. For each of
the paper's alphas it reports the loosest tol from which on (that tol and every
tighter one) the harmful set {phi > alpha} equals the reference's, with the CG
iterations there and the relative error ||phi - phi_ref|| / ||phi_ref|| of phi.

Problems: ``cancer`` and ``mnist`` (1 vs 7) as RDIA.py loads them, and
``realsim-shape``, the seeded sparse problem of ``benchmarks.influence_speed``
(42,000 training rows x 20,958 features; ``--realsim-rows`` makes it smaller); and two
K-class softmax problems as RDIA.py loads them, ``digits`` (scikit-learn's 8 x 8
digits, offline) and ``mnist10`` (41,930 x 784, K = 10), whose CG is preconditioned
by the Kronecker factorisation.

The recommended default is the tightest of those loosest tolerances divided by
``SAFETY`` (100); the report gives the relative error of phi there on every problem.
Counts and set sizes do not depend on the machine's load; no seconds are measured.
"""

import sys
from dataclasses import dataclass

import numpy as np

from rdia import influence
from benchmarks.work import add_report_arguments, write_report
from rdia.data.errors import DataError
from rdia.data.noise import flip_binary
from rdia.experiments.config import RunConfig
from rdia.experiments.pipeline import load_in_memory
from rdia.experiments.cli import ConfigError, OneLineParser, run_script

#: Tolerances studied, loosest first; the last is the reference.
TOLERANCES = tuple(10.0 ** -k for k in range(2, 13))

#: The tolerance of the reference solve.
REFERENCE_TOL = TOLERANCES[-1]

#: The paper's alphas (docs/method.md section 4).
ALPHAS = (0.01, 0.002, 0.0002)

#: The recommended default is this many times tighter than the loosest safe tol.
SAFETY = 100

PROBLEMS = ("cancer", "mnist", "realsim-shape", "digits", "mnist10")

#: CG iteration limit of every solve (far above what any tol here needs).
MAX_ITER = 5000

C = 0.1


@dataclass
class Problem:
    """A fitted problem (binary or K-class): training and validation sets and the
    full-fit weights."""

    name: str
    noise: float
    X: object
    y: np.ndarray
    X_val: object
    y_val: np.ndarray
    model: object
    W: np.ndarray


def parse_args(argv=None):
    parser = OneLineParser(prog="benchmarks.cg_tolerance",
                           description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=PROBLEMS,
                        help="problems to solve at each tolerance")
    parser.add_argument("--noises", nargs="+", type=float, default=[0.8, 0.2],
                        help="label-noise rates of each problem")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the splits, the noise and the synthetic problem")
    parser.add_argument("--realsim-rows", type=int, default=72309,
                        help="rows of the real-sim-shaped problem before its split "
                             "(60,000 train of 72,309, as real-sim)")
    add_report_arguments(parser)
    return parser.parse_args(argv)


def realsim_problem(noise, seed, n_rows):
    """The real-sim-shaped problem with exactly floor(noise n) training labels flipped;
    its split (60,000 of 72,309 rows train, 30% of those validation) scales with
    ``n_rows``."""
    from benchmarks.influence_speed import realsim_shaped

    X, y, X_val, y_val = realsim_shaped(n_rows=n_rows, seed=seed)
    y_noisy, _ = flip_binary(y.astype(np.int64), noise, seed)
    return X, y_noisy, X_val, y_val.astype(np.int64)


def fitted_problem(name, noise, seed, data_dir, realsim_rows):
    """:class:`Problem` of one name and noise, fitted with RDIA.py's default learner."""
    from rdia.models.logreg import Logistic

    if name == "realsim-shape":
        X, y, X_val, y_val = realsim_problem(noise, seed, realsim_rows)
        model = Logistic()
    else:
        part, model, _ = load_in_memory(RunConfig(dataset=name, noise=noise, seed=seed,
                                                  data_dir=data_dir))
        X, y, X_val, y_val = part.X_train, part.y_noisy, part.X_val, part.y_val
    return Problem(name, noise, X, y, X_val, y_val, model, model.fit(X, y, C))


def solve(problem, tol):
    """phi at one CG tolerance, with the solver (its iterations and preconditioner)."""
    solver = influence.ConjugateGradient(tol=tol, max_iter=MAX_ITER)
    phi = influence.influence(problem.model, problem.W, problem.X, problem.y,
                              problem.X_val, problem.y_val, C, solver)
    return phi, solver


def tolerance_rows(problem):
    """One row per tol of TOLERANCES: iterations, passes, relative error of phi and,
    per alpha, how many samples the harmful set has in another state than at
    REFERENCE_TOL (the last tol, whose row is the reference's own)."""
    reference, reference_solver = solve(problem, REFERENCE_TOL)
    rows = []
    for tol in TOLERANCES:
        phi, solver = (reference, reference_solver) if tol == REFERENCE_TOL \
            else solve(problem, tol)
        rows.append(dict(
            problem=problem.name, noise=problem.noise, tol=tol,
            iterations=int(solver.n_iter_), passes=influence.influence_passes(solver),
            preconditioner=solver.preconditioner_,
            relative_error=relative_error(phi, reference),
            differing={str(a): int(np.sum((phi > a) != (reference > a))) for a in ALPHAS},
            harmful={str(a): int(np.sum(reference > a)) for a in ALPHAS}))
    return rows


def relative_error(phi, reference):
    """||phi - reference|| / ||reference||, a float."""
    return float(np.linalg.norm(phi - reference) / np.linalg.norm(reference))


def loosest_safe_tol(rows, alpha):
    """The loosest tol from which on every tighter tol gives the reference's harmful
    set at ``alpha``; rows are one problem's, loosest first."""
    safe = None
    for row in reversed(rows):  # tightest first
        if row["differing"][str(alpha)]:
            break
        safe = row
    return safe


def summary_rows(rows):
    """Per problem, noise and alpha: the loosest safe tol and what it costs."""
    summary = []
    for key in dict.fromkeys((r["problem"], r["noise"]) for r in rows):
        group = [r for r in rows if (r["problem"], r["noise"]) == key]
        for alpha in ALPHAS:
            safe = loosest_safe_tol(group, alpha)
            summary.append(dict(problem=key[0], noise=key[1], alpha=alpha,
                                harmful=group[-1]["harmful"][str(alpha)], tol=safe["tol"],
                                iterations=safe["iterations"],
                                relative_error=safe["relative_error"],
                                reference_iterations=group[-1]["iterations"]))
    return summary


def recommended_tol(summary):
    """The tightest loosest-safe tol over every problem, noise and alpha, / SAFETY."""
    return min(row["tol"] for row in summary) / SAFETY


def error_at(rows, tol):
    """Per problem and noise: the relative error of phi and the iterations at ``tol``
    (the nearest studied tol at or below it)."""
    at = []
    for key in dict.fromkeys((r["problem"], r["noise"]) for r in rows):
        group = [r for r in rows if (r["problem"], r["noise"]) == key]
        row = next(r for r in group if r["tol"] <= tol * (1 + 1e-9))
        at.append(dict(problem=key[0], noise=key[1], tol=row["tol"],
                       iterations=row["iterations"], relative_error=row["relative_error"]))
    return at


def format_report(rows, summary, default_tol, at_default):
    """Markdown: every solve, the loosest safe tol per alpha, and the default."""
    lines = ["| problem | noise | tol | preconditioner | CG iterations | passes over X | "
             "relative error of phi | samples in another set at alpha "
             + " / ".join(f"{a:g}" for a in ALPHAS) + " |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['problem']} | {r['noise']:g} | {r['tol']:.0e} | "
                     f"{r['preconditioner']} | {r['iterations']} | {r['passes']} | "
                     f"{r['relative_error']:.1e} | "
                     + " / ".join(str(r["differing"][str(a)]) for a in ALPHAS) + " |")
    lines += ["", "| problem | noise | alpha | harmful at 1e-12 | loosest tol with the "
                  "same set (and every tighter one) | CG iterations there | at 1e-12 | "
                  "relative error of phi there |",
              "|---|---|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {s['problem']} | {s['noise']:g} | {s['alpha']:g} | "
                     f"{s['harmful']:,} | {s['tol']:.0e} | {s['iterations']} | "
                     f"{s['reference_iterations']} | {s['relative_error']:.1e} |")
    lines += ["", f"Loosest tol with identical harmful sets everywhere: "
                  f"{default_tol * SAFETY:.0e}; recommended default (/ {SAFETY}): "
                  f"{default_tol:.0e}.", "",
              "| problem | noise | tol | CG iterations | relative error of phi |",
              "|---|---|---|---|---|"]
    for a in at_default:
        lines.append(f"| {a['problem']} | {a['noise']:g} | {a['tol']:.0e} | "
                     f"{a['iterations']} | {a['relative_error']:.1e} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    opts = parse_args(argv)
    rows = []
    for name in opts.problems:
        for noise in opts.noises:
            problem = fitted_problem(name, noise, opts.seed, opts.data_dir,
                                     opts.realsim_rows)
            rows += tolerance_rows(problem)
            print(f"{name} noise {noise:g}: done", file=sys.stderr, flush=True)
    summary = summary_rows(rows)
    default_tol = recommended_tol(summary)
    at_default = error_at(rows, default_tol)
    text = format_report(rows, summary, default_tol, at_default)
    write_report(opts, text, dict(settings=vars(opts), rows=rows, summary=summary,
                                  recommended_tol=default_tol, at_recommended=at_default))
    return 0


if __name__ == "__main__":
    sys.exit(run_script("benchmarks.cg_tolerance", main, (ConfigError, DataError)))
