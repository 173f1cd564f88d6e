"""RDIA for L2 logistic regression: relabel harmful training samples, then retrain.

The experiment of METHOD.md section 4, run by ``experiments.lr``: load a dataset, take
the last 30% of its training part as clean validation set, flip labels, fit L2
logistic regression (C = 0.1), compute the influence phi of every training sample on
the validation loss, relabel the harmful set {i : phi_i > alpha} with R, refit, and
compare with Full, Random, Drop, UIDS and Clean (and cleanlab, on request). With
``--model softmax`` (the default for mnist10 and digits) the same runs with K classes.

This script only parses the flags into an ``LRConfig``, runs the engine, prints the
table and writes the files. Run ``python RDIA.py --help`` for the flags.
"""

import os
import sys

import edits
import influence
from data.datasets import BINARY_DATASETS, MULTICLASS_DATASETS
from data.errors import DataError
from data.noise import NOISE_TYPES
from experiments import lr
from experiments.cli import ConfigError, DefaultsFormatter, OneLineParser, run_script
from experiments.files import (check_not_replacing, check_output_paths, figure_suffixes,
                               write_csv_atomic, write_json_atomic)
from models.linear import DenseHessianTooLarge
from models.softmax import FitError


def build_parser():
    """The command-line interface of RDIA.py."""
    parser = OneLineParser(
        prog="RDIA.py",
        description="Influence-based relabeling (RDIA) for L2 logistic regression, "
                    "compared with Full, Random, Drop, UIDS and Clean.",
        formatter_class=DefaultsFormatter)
    parser.add_argument("--dataset", default="cancer",
                        help=f"one of {', '.join(BINARY_DATASETS)} (binary), "
                             f"{', '.join(MULTICLASS_DATASETS)} (10 classes), or the "
                             "path of a LIBSVM file")
    parser.add_argument("--model", choices=lr.MODELS, default=None,
                        help="logreg: binary logistic regression (liblinear); softmax: "
                             "K-class multinomial regression, R trains l_R (default: "
                             "softmax for mnist10 and digits, else logreg)")
    parser.add_argument("--noise-type", choices=NOISE_TYPES, default=None,
                        help="softmax only: resample each training label from this "
                             "transition matrix at rate --noise (default: exact flips "
                             "for 2 classes, symmetric for more)")
    parser.add_argument("--test-file", default=None,
                        help="LIBSVM test file for a --dataset given by path; without "
                             "it, a seeded 70/30 train/test split is used")
    parser.add_argument("--noise", type=float, default=0.4,
                        help="fraction of training labels flipped (with --noise-type: "
                             "the noise rate), in [0, 1)")
    parser.add_argument("--alpha", type=float, default=0.0002,
                        help="harmfulness threshold: relabel or drop samples with "
                             "phi > alpha (units of C x summed validation log-loss)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split, the noise and the subsampling")
    parser.add_argument("--C", type=float, default=0.1,
                        help="weight of the summed log-loss in J(w) = |w|^2/2 + C sum l")
    parser.add_argument("--val-ratio", type=float, default=0.3,
                        help="last fraction of the training part used as clean "
                             "validation set")
    parser.add_argument("--methods", default=",".join(lr.DEFAULT_METHODS),
                        help="comma-separated subset of " + ",".join(edits.EDITS))
    parser.add_argument("--solver", choices=tuple(influence.SOLVERS), default="cg",
                        help="inverse-Hessian-vector solver: conjugate gradients or "
                             "Cholesky (small feature counts)")
    parser.add_argument("--tol", type=float, default=1e-10,
                        help="relative residual at which cg stops")
    parser.add_argument("--max-iter", type=int, default=1000,
                        help="iteration limit of cg")
    parser.add_argument("--data-dir", default=None,
                        help="dataset folder (default: $RDIA_DATA_DIR, else datasets/)")
    parser.add_argument("--output", default=None, metavar="PATH.json",
                        help="results JSON (default: runs/<run name>.json)")
    parser.add_argument("--save-influence", default=None, metavar="PATH.csv",
                        help="write phi of every training sample to this CSV")
    parser.add_argument("--plot", default=None, metavar="PATH.png",
                        help="histogram of phi for clean and flipped samples "
                             "(default: runs/<run name>-phi.png)")
    parser.add_argument("--no-files", action="store_true",
                        help="write no results files unless named explicitly")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing output files even when another run with "
                             "other settings wrote them")
    return parser


#: Flags of the parser that are not settings of the experiment.
OUTPUT_FLAGS = ("output", "save_influence", "plot", "no_files", "overwrite")

#: Errors whose message is for the user: one line, exit status 2.
USER_ERRORS = (ConfigError, DataError, influence.ConvergenceError, DenseHessianTooLarge,
               FitError)


def config_from_args(args):
    """The :class:`experiments.lr.LRConfig` of parsed flags; raises ConfigError."""
    settings = {key: value for key, value in vars(args).items() if key not in OUTPUT_FLAGS}
    settings["methods"] = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    return lr.LRConfig(**settings)


def output_paths(config, args):
    """The files of a run, {flag: path or None}; defaults under runs/ named by the run."""
    stem = f"runs/{lr.run_name(config)}"
    return {"--output": args.output or (None if args.no_files else f"{stem}.json"),
            "--save-influence": args.save_influence,
            "--plot": args.plot or (None if args.no_files else f"{stem}-phi.png")}


def check_outputs(config, args, paths):
    """Before any work: every path writable and distinct, the plot of a known format,
    and no other run's file (unless --overwrite); raises experiments.files.OutputError."""
    check_output_paths({
        "--output": (paths["--output"], None),
        "--save-influence": (paths["--save-influence"], None),
        "--plot": (paths["--plot"], figure_suffixes() if paths["--plot"] else None)})
    check_not_replacing(paths, paths["--output"], lr.settings(config), args.overwrite)


def write_outputs(report, paths):
    """Write the influence CSV, the plot and then the JSON that lists them; return paths."""
    output, table, plot = paths["--output"], paths["--save-influence"], paths["--plot"]
    if table:
        write_csv_atomic(table, lr.INFLUENCE_COLUMNS, lr.influence_table(report))
    if plot:
        lr.plot_influence(plot, report)
    if output:
        record = {key: report[key] for key in ("config", "results", "timings", "solver")}
        record["files"] = {"json": _absolute(output), "influence_csv": _absolute(table),
                           "plot": _absolute(plot)}
        write_json_atomic(output, record)
    return [str(path) for path in (output, table, plot) if path]


def _absolute(path):
    return None if path is None else os.path.abspath(path)


def main(argv=None):
    """Command-line entry point; returns the exit code."""
    args = build_parser().parse_args(argv)

    def body():
        config = config_from_args(args)
        paths = output_paths(config, args)
        check_outputs(config, args, paths)
        print(f"run {lr.run_name(config)}", flush=True)
        report = lr.run(config)
        print(lr.format_table(report))
        written = write_outputs(report, paths)
        if written:
            print("wrote " + ", ".join(written))
        return 0

    return run_script("RDIA.py", body, USER_ERRORS)


if __name__ == "__main__":
    sys.exit(main())
