"""RDIA for L2 logistic regression: relabel harmful training samples, then retrain.

Two kinds of runs:

- ``--dataset`` (a benchmark, docs/method.md section 4), run by ``experiments.lr``: load a
  dataset, take the last 30% of its training part as clean validation set, flip
  labels, fit L2 logistic regression (C = 0.1), compute the influence phi of every
  training sample on the validation loss, relabel the harmful set
  {i : phi_i > alpha} with R, refit, and compare with Full, Random, Drop, UIDS and
  Clean (and cleanlab, on request). With ``--model softmax`` (the default for mnist10
  and digits) the same runs with K classes.
- ``--train`` (your own data), run by ``experiments.own_data``: a noisy training
  file and a trusted ``--val`` file (CSV, Parquet or LIBSVM), no synthetic noise; the
  suspects, the scores before and after relabeling, and with ``--relabeled`` the
  training rows with phi, harmful and a suggested label.

This script only parses the flags into a config, runs the engine, prints the summary
and writes the files. Run ``python RDIA.py --help`` for the flags.
"""

import argparse
import os
import sys

from rdia import edits
from rdia import influence
from rdia.data.datasets import BINARY_DATASETS, MULTICLASS_DATASETS
from rdia.data.shards import is_sharded
from rdia.data.errors import DataError
from rdia.data.noise import NOISE_TYPES
from rdia.experiments import lr, own_data, sharded
from rdia.experiments.cli import ConfigError, DefaultsFormatter, OneLineParser, run_script
from rdia.experiments.files import (check_not_replacing, check_output_path, check_output_paths,
                               figure_suffixes, write_csv_atomic, write_json_atomic,
                               write_text_atomic)
from rdia.models.linear import DenseHessianTooLarge, FitError
from rdia.models.logreg import LEARNERS


def build_parser():
    """The command-line interface of RDIA.py."""
    parser = OneLineParser(
        prog="RDIA.py",
        description="Influence-based relabeling (RDIA) for L2 logistic regression, "
                    "compared with Full, Random, Drop, UIDS and Clean on a benchmark "
                    "(--dataset), or run on your own files (--train, --val).",
        formatter_class=DefaultsFormatter)
    parser.add_argument("--dataset", default=None,
                        help=f"one of {', '.join(BINARY_DATASETS)} (binary), "
                             f"{', '.join(MULTICLASS_DATASETS)} (10 classes), or the "
                             "path of a LIBSVM file (default: cancer; not with --train)")
    parser.add_argument("--model", choices=lr.MODELS, default=None,
                        help="logreg: binary logistic regression; softmax: "
                             "K-class multinomial regression, R trains l_R (default: "
                             "softmax for mnist10, digits and files with more than two "
                             "labels, else logreg)")
    parser.add_argument("--noise-type", choices=NOISE_TYPES, default=None,
                        help="softmax only: resample each training label from this "
                             "transition matrix at rate --noise (default: exact flips "
                             "for 2 classes, symmetric for more)")
    parser.add_argument("--test-file", default=None,
                        help="LIBSVM test file for a --dataset given by path; without "
                             "it, a seeded 70/30 train/test split is used")
    parser.add_argument("--noise", type=float, default=None,
                        help="fraction of training labels flipped (with --noise-type: "
                             "the noise rate), in [0, 1) (default: 0.4; not with "
                             "--train, whose labels are used as they are)")
    parser.add_argument("--alpha", type=alpha_value, default=0.0002,
                        help="harmfulness threshold: relabel or drop samples with "
                             "phi > alpha (units of C x summed validation log-loss); "
                             "with --train also 'auto': the alpha of a grid with the "
                             "lowest validation log-loss of the RDIA refit")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split, the noise and the subsampling")
    parser.add_argument("--C", type=float, default=0.1,
                        help="weight of the summed log-loss in J(w) = |w|^2/2 + C sum l")
    parser.add_argument("--val-ratio", type=float, default=None,
                        help="last fraction of the training part used as clean "
                             "validation set (default: 0.3; not with --train)")
    parser.add_argument("--methods", default=None,
                        help="comma-separated subset of " + ",".join(edits.EDITS)
                             + " (default: " + ",".join(lr.DEFAULT_METHODS) + "; with "
                             "--train " + ",".join(own_data.DEFAULT_METHODS) + ", and "
                             "clean, which needs the true labels, is not offered)")
    parser.add_argument("--solver", choices=tuple(influence.SOLVERS), default="cg",
                        help="inverse-Hessian-vector solver: conjugate gradients or "
                             "Cholesky (small feature counts)")
    parser.add_argument("--tol", type=float, default=influence.DEFAULT_TOL,
                        help="relative residual at which cg stops")
    parser.add_argument("--max-iter", type=int, default=1000,
                        help="iteration limit of cg")
    parser.add_argument("--learner", choices=tuple(LEARNERS), default=None,
                        help="minimiser of binary logreg: newton (trust-region Newton, "
                             "refits start from the full fit; the default) or liblinear "
                             "(the paper's reference learner, tol 1e-7); not with --train "
                             "or shards")
    parser.add_argument("--data-dir", default=None,
                        help="dataset folder (default: $RDIA_DATA_DIR, else datasets/)")
    parser.add_argument("--output", default=None, metavar="PATH.json",
                        help="results JSON (default: runs/<run name>.json)")
    parser.add_argument("--save-influence", default=None, metavar="PATH.csv",
                        help="write phi of every training sample to this CSV")
    parser.add_argument("--plot", default=None, metavar="PATH.png",
                        help="histogram of phi for clean and flipped samples "
                             "(default: runs/<run name>-phi.png; with --train, of all "
                             "training rows and only when given)")
    parser.add_argument("--no-files", action="store_true",
                        help="write no results files unless named explicitly")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing output files even when another run with "
                             "other settings wrote them")
    add_engine_arguments(parser)
    own = parser.add_argument_group(
        "your own data", "a noisy training file and a trusted validation file: CSV "
                         "(.csv, .csv.gz), Parquet (.parquet, .pq) or LIBSVM (any other "
                         "name); no synthetic noise is added")
    own.add_argument("--train", default=None, metavar="PATH",
                     help="the training file, whose labels may be wrong")
    own.add_argument("--val", default=None, metavar="PATH",
                     help="the trusted validation file, with the training file's "
                          "columns (required with --train)")
    own.add_argument("--test", default=None, metavar="PATH",
                     help="a test file, only scored")
    own.add_argument("--label-column", default=None, metavar="NAME",
                     help="the label column of CSV and Parquet files; labels of any "
                          "type (strings, -1/+1, 2/4)")
    own.add_argument("--drop-columns", default=None, metavar="A,B",
                     help="comma-separated columns that are not features (ids)")
    own.add_argument("--impute", action="store_true",
                     help="fill missing feature values with the training file's "
                          "median (numbers) or most frequent value (categories) "
                          "instead of stopping at the first one")
    own.add_argument("--relabeled", default=None, metavar="PATH.csv",
                     help="write the training rows with phi, harmful and "
                          "suggested_label, in the training file's order")
    return parser


def add_engine_arguments(parser):
    """--engine, --scheduler and --workers: RDIA on a dataset written as shards."""
    group = parser.add_argument_group(
        "sharded data", "a --dataset given as a folder or glob of LIBSVM shards (one "
                        "partition each) runs on the shards, in this process "
                        "(--engine memory) or on a Dask cluster (--engine dask)")
    group.add_argument("--engine", choices=sharded.ENGINES, default=None,
                       help="memory: every shard in this process; dask: each worker "
                            "reads its own shards and every step runs as map-reduce "
                            "(default: memory)")
    group.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="address of a running Dask scheduler (tcp://host:8786); "
                            "without it --engine dask starts a LocalCluster here")
    group.add_argument("--workers", type=int, default=None,
                       help="worker processes of that LocalCluster, one thread each "
                            "(default: 2)")


def alpha_value(text):
    """``--alpha``: a number, or "auto" (checked against the mode later)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a number or 'auto', got {text!r}") from None


#: Flags of the parser that are not settings of the experiment.
OUTPUT_FLAGS = ("output", "save_influence", "plot", "no_files", "overwrite", "relabeled")

#: Flags of the benchmark runs only (their parser default is None): attribute -> flag.
BENCHMARK_FLAGS = {"dataset": "--dataset", "noise": "--noise", "noise_type": "--noise-type",
                   "test_file": "--test-file", "val_ratio": "--val-ratio",
                   "data_dir": "--data-dir", "save_influence": "--save-influence",
                   "engine": "--engine", "scheduler": "--scheduler",
                   "workers": "--workers", "learner": "--learner"}

#: Flags of the runs on sharded data only: attribute -> flag.
ENGINE_FLAGS = {"engine": "--engine", "scheduler": "--scheduler", "workers": "--workers"}

#: Flags of the runs on your own data only (default None or False): attribute -> flag.
OWN_DATA_FLAGS = {"val": "--val", "test": "--test", "label_column": "--label-column",
                  "drop_columns": "--drop-columns", "impute": "--impute",
                  "relabeled": "--relabeled"}

#: Errors whose message is for the user: one line, exit status 2.
USER_ERRORS = (ConfigError, DataError, influence.ConvergenceError, DenseHessianTooLarge,
               FitError)


def config_from_args(args):
    """The config of parsed flags; raises ConfigError.

    Returns
    -------
    config : experiments.lr.LRConfig or experiments.own_data.OwnDataConfig
        The latter when ``--train`` is given.
    """
    check_mode(args)
    if args.train is not None:
        return own_data_config(args)
    if args.dataset is not None and is_sharded(args.dataset) or args.engine == "dask":
        return sharded_config(args)
    refuse_engine_flags(args)
    settings = {key: value for key, value in vars(args).items()
                if key not in OUTPUT_FLAGS + ("train",) + tuple(OWN_DATA_FLAGS)
                + tuple(ENGINE_FLAGS) and value is not None}
    if args.methods is not None:
        settings["methods"] = _comma_list(args.methods)
    return lr.LRConfig(**settings)


# --------------------------------------------------------------- sharded datasets

#: Flags of the benchmark runs that a sharded dataset does not take: attribute -> flag.
NOT_SHARDED_FLAGS = {"model": "--model", "noise_type": "--noise-type",
                     "data_dir": "--data-dir", "learner": "--learner"}


def sharded_config(args):
    """The :class:`experiments.sharded.ShardedConfig` of parsed flags; ConfigError."""
    if args.dataset is None or not is_sharded(args.dataset):
        raise ConfigError(f"--engine dask reads a dataset written as shards: give "
                          f"--dataset a folder or a glob of LIBSVM files, not "
                          f"{args.dataset or 'the default cancer'}")
    given = [flag for key, flag in NOT_SHARDED_FLAGS.items()
             if getattr(args, key) is not None and not (key == "model"
                                                        and args.model == "logreg")]
    if given:
        raise ConfigError(f"{given[0]} does not apply to a sharded dataset, which runs "
                          f"binary logistic regression on the shards as they are")
    if args.engine != "dask" and (args.scheduler is not None or args.workers is not None):
        raise ConfigError(f"{'--scheduler' if args.scheduler else '--workers'} applies "
                          f"to --engine dask")
    settings = dict(dataset=args.dataset, test_file=args.test_file, noise=args.noise,
                    val_ratio=args.val_ratio, engine=args.engine, scheduler=args.scheduler,
                    workers=args.workers, alpha=args.alpha, seed=args.seed, C=args.C,
                    solver=args.solver, tol=args.tol, max_iter=args.max_iter,
                    methods=_comma_list(args.methods) if args.methods else None)
    return sharded.ShardedConfig(**{key: value for key, value in settings.items()
                                    if value is not None})


def refuse_engine_flags(args):
    """--engine, --scheduler and --workers need a sharded --dataset; ConfigError."""
    given = [flag for key, flag in ENGINE_FLAGS.items() if getattr(args, key) is not None]
    if given:
        raise ConfigError(f"{given[0]} applies to a dataset written as shards: give "
                          f"--dataset a folder or a glob of LIBSVM files")


def check_sharded_outputs(config, args, paths):
    """Before any work, as :func:`check_outputs`; --save-influence is a CSV or a folder
    (of Parquet files, one per partition)."""
    table = paths["--save-influence"]
    csv_table = table if table and sharded.is_csv(table) else None
    check_output_paths({
        "--output": (paths["--output"], None),
        "--save-influence": (csv_table, None),
        "--plot": (paths["--plot"], figure_suffixes() if paths["--plot"] else None)})
    if table and not csv_table and os.path.exists(table) and not os.path.isdir(table):
        raise ConfigError(f"--save-influence {table} exists and is not a folder; give a "
                          f".csv file or a folder for Parquet files")
    if table and not csv_table:
        check_output_path(os.path.join(table, "part-00000.parquet"), "--save-influence")
    check_not_replacing(dict(paths, **{"--save-influence": csv_table}), paths["--output"],
                        sharded.settings(config), args.overwrite)


def write_sharded_outputs(report, paths):
    """Write the influence table, the plot and then the JSON that lists them."""
    output, table, plot = paths["--output"], paths["--save-influence"], paths["--plot"]
    alpha = report["config"]["alpha"]
    if table:
        if sharded.is_csv(table):
            sharded.check_influence_path(table, report["config"]["n_train"])
        sharded.write_influence(table, report["partitions"], alpha)
    if plot:
        edges, counts = report["partitions"].histogram()
        sharded.plot_histogram(plot, edges, counts, report["config"])
    if output:
        record = {key: report[key] for key in ("config", "results", "timings", "solver")}
        csv_table = table if table and sharded.is_csv(table) else None
        record["files"] = {"json": _absolute(output), "influence_csv": _absolute(csv_table),
                           "plot": _absolute(plot)}
        if table and not csv_table:
            record["files"]["influence_parquet"] = _absolute(table)
        write_json_atomic(output, record)
    return [str(path) for path in (output, table, plot) if path]


def run_sharded(config, args):
    """The body of a run on shards: check the outputs, run the engine, print, write."""
    from rdia.experiments import dask_engine

    paths = output_paths(sharded.run_name(config), args)
    check_sharded_outputs(config, args, paths)
    print(f"run {sharded.run_name(config)}", flush=True)
    if config.engine == "memory":
        report = sharded.run(config)
        return _finish_sharded(report, paths)
    with dask_engine.session(config) as client:
        return _finish_sharded(dask_engine.run(config, client), paths)


def _finish_sharded(report, paths):
    print(lr.format_table(report))
    written = write_sharded_outputs(report, paths)
    if written:
        print("wrote " + ", ".join(written))
    return 0


def own_data_config(args):
    """The :class:`experiments.own_data.OwnDataConfig` of parsed ``--train`` flags."""
    settings = dict(train=args.train, val=args.val, test=args.test,
                    label_column=args.label_column,
                    drop_columns=_comma_list(args.drop_columns or ""),
                    impute=args.impute, model=args.model, alpha=args.alpha,
                    seed=args.seed, C=args.C, solver=args.solver, tol=args.tol,
                    max_iter=args.max_iter)
    if args.methods is not None:
        settings["methods"] = _comma_list(args.methods)
    return own_data.OwnDataConfig(**settings)


def check_mode(args):
    """Refuse flags of the other kind of run, in one line; raises ConfigError."""
    if args.train is not None:
        given = [flag for key, flag in BENCHMARK_FLAGS.items()
                 if getattr(args, key) is not None]
        if given:
            raise ConfigError(f"{given[0]} applies to the benchmark datasets, not to "
                              f"--train: your training labels are used as they are (no "
                              f"synthetic noise) and --val is the validation set")
        if args.val is None:
            raise ConfigError("--train needs --val: a trusted validation file with the "
                              "training file's columns")
        return
    given = [flag for key, flag in OWN_DATA_FLAGS.items()
             if getattr(args, key) not in (None, False)]
    if given:
        raise ConfigError(f"{given[0]} applies to your own data: give the training "
                          f"file with --train")
    if args.alpha == "auto":
        raise ConfigError("--alpha auto applies with --train; benchmark runs take a "
                          "number (reproduce.py sweeps the grid)")


def _comma_list(text):
    return tuple(part.strip() for part in text.split(",") if part.strip())


def output_paths(run_name, args):
    """The files of a benchmark or sharded run, {flag: path or None}; the JSON and the
    plot default to runs/<run_name>.json and runs/<run_name>-phi.png."""
    stem = f"runs/{run_name}"
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


def own_output_paths(config, args):
    """The files of a --train run, {flag: path or None}; the JSON under runs/ by default."""
    stem = f"runs/{own_data.run_name(config)}"
    return {"--output": args.output or (None if args.no_files else f"{stem}.json"),
            "--relabeled": args.relabeled, "--plot": args.plot}


def check_own_outputs(config, args, paths):
    """Before any work, as :func:`check_outputs` for a --train run (--relabeled is CSV)."""
    check_output_paths({
        "--output": (paths["--output"], None),
        "--relabeled": (paths["--relabeled"], (".csv",) if paths["--relabeled"] else None),
        "--plot": (paths["--plot"], figure_suffixes() if paths["--plot"] else None)})
    check_not_replacing(paths, paths["--output"], own_data.settings(config),
                        args.overwrite)


def write_own_outputs(report, paths):
    """Write the relabeled table, the plot and then the JSON that lists them."""
    output, table, plot = paths["--output"], paths["--relabeled"], paths["--plot"]
    if table:
        write_text_atomic(table, own_data.relabeled_table(report).to_csv(index=False))
    if plot:
        own_data.plot_phi(plot, report)
    if output:
        record = {key: report[key] for key in ("config", "alpha_grid", "results",
                                                "summary", "timings", "solver",
                                                "trusted_check")}
        record["files"] = {"json": _absolute(output), "relabeled": _absolute(table),
                           "plot": _absolute(plot)}
        write_json_atomic(output, record)
    return [str(path) for path in (output, table, plot) if path]


def write_outputs(report, paths):
    """Write the influence CSV, the plot and then the JSON that lists them; return paths."""
    output, table, plot = paths["--output"], paths["--save-influence"], paths["--plot"]
    if table:
        write_csv_atomic(table, lr.INFLUENCE_COLUMNS, lr.influence_table(report))
    if plot:
        lr.plot_influence(plot, report)
    if output:
        record = {key: report[key] for key in ("config", "results", "timings", "work",
                                                "solver")}
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
        if isinstance(config, own_data.OwnDataConfig):
            return run_own_data(config, args)
        if isinstance(config, sharded.ShardedConfig):
            return run_sharded(config, args)
        paths = output_paths(lr.run_name(config), args)
        check_outputs(config, args, paths)
        print(f"run {lr.run_name(config)}", flush=True)
        report = lr.run(config)
        print(lr.format_table(report))
        written = write_outputs(report, paths)
        if written:
            print("wrote " + ", ".join(written))
        return 0

    return run_script("RDIA.py", body, USER_ERRORS)


def run_own_data(config, args):
    """The body of a --train run: check the outputs, load, run, print, write."""
    paths = own_output_paths(config, args)
    check_own_outputs(config, args, paths)
    print(f"run {own_data.run_name(config)}", flush=True)
    data = own_data.load(config)
    if paths["--relabeled"]:
        own_data.check_output_columns(data, config.train)
    report = own_data.run(config, data)
    if report["trusted_warning"]:
        print(f"RDIA.py: warning: {report['trusted_warning']}", file=sys.stderr,
              flush=True)
    print(own_data.format_report(report))
    written = write_own_outputs(report, paths)
    if written:
        print("wrote " + ", ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
