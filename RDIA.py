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

import sys
from pathlib import Path

import edits
import influence
from data.datasets import BINARY_DATASETS, MULTICLASS_DATASETS
from data.errors import DataError
from data.noise import NOISE_TYPES
from experiments import lr
from experiments.cli import ConfigError, DefaultsFormatter, OneLineParser
from experiments.files import write_csv_atomic, write_json_atomic
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
    return parser


#: Flags of the parser that are not settings of the experiment.
OUTPUT_FLAGS = ("output", "save_influence", "plot", "no_files")


def config_from_args(args):
    """The :class:`experiments.lr.LRConfig` of parsed flags; raises ConfigError."""
    settings = {key: value for key, value in vars(args).items() if key not in OUTPUT_FLAGS}
    settings["methods"] = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    return lr.LRConfig(**settings)


def write_outputs(config, args, report):
    """Write the JSON, the optional influence CSV and the plot; return their paths."""
    stem = Path("runs") / lr.run_name(config)
    output = args.output or (None if args.no_files else stem.with_suffix(".json"))
    plot = args.plot or (None if args.no_files else Path(f"{stem}-phi.png"))
    written = []
    if output:
        write_json_atomic(output, {key: report[key] for key in
                                   ("config", "results", "timings", "solver")})
        written.append(str(output))
    if args.save_influence:
        write_csv_atomic(args.save_influence, lr.INFLUENCE_COLUMNS, lr.influence_table(report))
        written.append(str(args.save_influence))
    if plot:
        lr.plot_influence(plot, report)
        written.append(str(plot))
    return written


def main(argv=None):
    """Command-line entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        report = lr.run(config)
        print(lr.format_table(report))
        written = write_outputs(config, args, report)
    except (ConfigError, DataError, influence.ConvergenceError, DenseHessianTooLarge,
            FitError) as error:
        print(f"RDIA.py: error: {error}", file=sys.stderr)
        return 2
    if written:
        print("wrote " + ", ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
