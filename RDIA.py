"""RDIA for L2 logistic regression: relabel harmful training samples, then retrain.

Reads a benchmark dataset (--dataset: a name, a LIBSVM file, or shards), or your
own noisy training file and trusted validation file (--train, --val); fits
binary logistic regression or, for K classes, softmax regression; computes the
influence phi of every training sample on the validation loss; relabels the harmful
set {i : phi_i > alpha} with R and refits; compares with Full, Random, Drop, UIDS and
Clean. It runs in this process or on a Dask cluster (--engine dask).

This script only parses the flags into ``experiments.config.RunConfig`` (which flag
applies to which source: ``config.APPLIES_TO``), runs ``experiments.pipeline.run`` and
writes its files (``experiments.output``).
"""

import argparse
import os
import sys

from rdia import edits, influence
from rdia.data.datasets import (BINARY_DATASETS, IMAGE_SHAPES, MULTICLASS_DATASETS,
                                dataset_files)
from rdia.data.errors import DataError
from rdia.data.noise import NOISE_TYPES
from rdia.data.shards import list_shards
from rdia.experiments import output, pipeline
from rdia.experiments.cli import DefaultsFormatter, OneLineParser, run_script
from rdia.experiments.config import ENGINES, RunConfig, run_name, settings
from rdia.experiments.files import (check_not_replacing, check_output_folder,
                                    check_output_paths, figure_suffixes, output_set,
                                    write_json_atomic)
from rdia.models.linear import DenseHessianTooLarge, FitError
from rdia.models.logreg import LEARNERS
from rdia.settings import MODELS, ConfigError

#: Errors whose message is for the user: one line, exit status 2.
USER_ERRORS = (ConfigError, DataError, influence.ConvergenceError, DenseHessianTooLarge,
               FitError)

#: The writer of each file of a run but its JSON, by flag (all are staged, then
#: committed together: ``files.output_set``).
WRITERS = {"--relabeled": output.write_relabeled, "--save-influence": output.write_influence,
           "--plot": output.plot_phi, "--harmful-images": output.plot_harmful_images}


def build_parser():
    """The command-line interface of RDIA.py."""
    p = OneLineParser(prog="RDIA.py", formatter_class=DefaultsFormatter,
                      description=" ".join(__doc__.split("\n\n")[:2]))
    p.add_argument("--dataset", help=f"one of {', '.join(BINARY_DATASETS)} (binary), "
                   f"{', '.join(MULTICLASS_DATASETS)} (10 classes), a LIBSVM file, or a "
                   "folder or glob of shards (default: cancer; not with --train)")
    p.add_argument("--model", choices=MODELS,
                   help="logreg: binary logistic regression; softmax: K-class "
                        "multinomial regression, R trains l_R (default: softmax for "
                        "more than two classes, else logreg)")
    p.add_argument("--noise-type", choices=NOISE_TYPES,
                   help="resample each training label from this transition matrix at "
                        "rate --noise (default: exact flips for 2 classes, symmetric "
                        "for more)")
    p.add_argument("--test-file", help="LIBSVM test file, or test shards, of a --dataset "
                   "given by path (default: a seeded 70/30 train/test split)")
    p.add_argument("--noise", type=float, help="fraction of training labels flipped "
                   "(with --noise-type: the noise rate), in [0, 1) (default: 0.4; not "
                   "with --train, whose labels are used as they are)")
    p.add_argument("--alpha", type=alpha_value,
                   help="harmfulness threshold: relabel or drop samples with phi > alpha "
                        "(units of C x summed validation log-loss), or 'auto': rounds of "
                        "relabeling, cross-fitted on the validation rows, and flags of "
                        "labels that look wrong (docs/method.md section 8) (default: "
                        "0.0002; auto with --train)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the split, the noise and the subsampling")
    p.add_argument("--C", type=float, default=0.1,
                   help="weight of the summed log-loss in J(w) = |w|^2/2 + C sum l")
    p.add_argument("--val-ratio", type=float, help="last fraction of the training part "
                   "used as clean validation set (default: 0.3; not with --train)")
    p.add_argument("--methods", type=comma_list, help="comma-separated subset of "
                   + ",".join(edits.EDITS) + " (default: full,random,drop,uids,rdia and, "
                   "where the true labels are known, clean)")
    p.add_argument("--solver", choices=tuple(influence.SOLVERS), default="cg",
                   help="inverse-Hessian-vector solver: conjugate gradients or Cholesky "
                        "(small feature counts)")
    p.add_argument("--tol", type=float, default=influence.DEFAULT_TOL,
                   help="relative residual at which cg stops")
    p.add_argument("--max-iter", type=int, default=1000, help="iteration limit of cg")
    p.add_argument("--learner", choices=tuple(LEARNERS),
                   help="minimiser of binary logreg in memory: newton (trust-region "
                        "Newton, refits start from the full fit) or liblinear (the "
                        "paper's reference learner, tol 1e-7) (default: newton)")
    p.add_argument("--data-dir", help="dataset folder (default: $RDIA_DATA_DIR, else "
                   "datasets/)")
    p.add_argument("--engine", choices=ENGINES, default="memory",
                   help="memory: every partition in this process; dask: each partition "
                        "on a Dask worker, every step a map-reduce")
    p.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask "
                   "scheduler (tcp://host:8786) (default: a LocalCluster here)")
    p.add_argument("--workers", type=int, help="worker processes of that LocalCluster, "
                   "one thread each (default: 2)")
    out = p.add_argument_group("output files")
    out.add_argument("--output", metavar="PATH.json",
                     help="results JSON (default: runs/<run name>.json)")
    out.add_argument("--save-influence", metavar="PATH", help="phi of every training "
                     "sample: a .csv file, or a folder of Parquet files, one per partition "
                     "(default: none; the JSON holds the summary only)")
    out.add_argument("--plot", metavar="PATH.png", help="histogram of phi (default: "
                     "runs/<run name>-phi.png)")
    out.add_argument("--harmful-images", metavar="PATH.png", help="of an image dataset "
                     f"({', '.join(IMAGE_SHAPES)}): a grid of the most harmful training "
                     "images with their given and suggested labels and phi (default: "
                     "runs/<run name>-harmful.png; none for other datasets)")
    out.add_argument("--relabeled", metavar="PATH.csv", help="with --train: the training "
                     "rows with phi, harmful and suggested_label, in the file's order "
                     "(default: none)")
    out.add_argument("--no-files", action="store_true",
                     help="write no results files unless named explicitly")
    out.add_argument("--overwrite", action="store_true", help="replace existing output "
                     "files even when another run with other settings wrote them")
    own = p.add_argument_group(
        "your own data", "a noisy training file and a trusted validation file: CSV "
                         "(.csv, .csv.gz), Parquet (.parquet, .pq) or LIBSVM (any other "
                         "name); no synthetic noise is added")
    own.add_argument("--train", metavar="PATH", help="the training file, whose labels "
                     "may be wrong (default: none; then --dataset is read)")
    own.add_argument("--val", metavar="PATH", help="the trusted validation file, with the "
                     "training file's columns (required with --train; default: none)")
    own.add_argument("--test", metavar="PATH", help="a test file, only scored (default: "
                     "none; the table has no test columns)")
    own.add_argument("--label-column", metavar="NAME", help="the label column of CSV and "
                     "Parquet files; labels of any type (strings, -1/+1, 2/4) "
                     "(default: none; required for CSV and Parquet, LIBSVM files have "
                     "theirs first)")
    own.add_argument("--drop-columns", metavar="A,B", type=comma_list, help="comma-separated "
                     "columns that are not features (ids) (default: none; every other "
                     "column is a feature)")
    own.add_argument("--impute", action="store_true", help="fill missing feature values "
                     "with the training file's median or most frequent value instead "
                     "of stopping at the first one")
    return p


def alpha_value(text):
    """``--alpha``: a number, or "auto"."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a number or 'auto', got {text!r}") from None


def comma_list(text):
    """``--methods``, ``--drop-columns``: a comma-separated list, as a tuple."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def config_from_args(args):
    """The RunConfig of parsed flags (unset flags keep the config's defaults; the flags
    of output files are not settings)."""
    values = {key: value for key, value in vars(args).items()
              if key in RunConfig.__dataclass_fields__ and value is not None}
    if args.relabeled and args.train is None:
        raise ConfigError("--relabeled applies to your own files: give the training file "
                          "with --train")
    config = RunConfig(**values)
    if args.harmful_images and config.image_shape is None:
        raise ConfigError(f"--harmful-images applies to the image datasets "
                          f"({', '.join(IMAGE_SHAPES)}), not to "
                          f"{config.train or config.resolved().dataset}")
    return config


def output_paths(config, args):
    """The files of a run, {flag: path or None}: the JSON and the plots default to
    runs/<run name>.json, runs/<run name>-phi.png and, for an image dataset,
    runs/<run name>-harmful.png."""
    stem = f"runs/{run_name(config)}"
    default = not args.no_files
    return {"--output": args.output or (f"{stem}.json" if default else None),
            "--save-influence": args.save_influence, "--relabeled": args.relabeled,
            "--plot": args.plot or (f"{stem}-phi.png" if default else None),
            "--harmful-images": args.harmful_images or (
                f"{stem}-harmful.png" if default and config.image_shape else None)}


def input_files(config):
    """The files a run reads, {flag: path, list of paths or None}: no output may be one."""
    if config.source == "files":
        return {"--train": config.train, "--val": config.val, "--test": config.test}
    if config.source == "shards":
        return {"--dataset": list_shards(config.dataset, "--dataset"),
                "--test-file": config.test_file and list_shards(config.test_file,
                                                                "--test-file")}
    dataset = config.resolved().dataset  # a file, or a name: its files in the data folder
    read = ([dataset] if os.path.isfile(dataset) else []) + dataset_files(dataset, config.data_dir)
    return {"--dataset": read, "--test-file": config.test_file}


def output_files(config, paths, inputs):
    """(flag, path, suffixes) of every file a run writes; a --save-influence folder
    as the Parquet files it will hold, one per partition (per shard read, else one)."""
    n_partitions = len(inputs["--dataset"]) + len(inputs["--test-file"] or []) \
        if config.source == "shards" else 1
    files = []
    for flag, path in paths.items():
        if flag == "--save-influence" and path and output.is_parquet_folder(path):
            check_output_folder(path, flag)
            files += [(flag, part, None)
                      for part in output.influence_files(path, n_partitions)]
        elif path:
            files.append((flag, path, (".csv",) if flag == "--relabeled" else
                          figure_suffixes() if flag in ("--plot", "--harmful-images")
                          else None))
    return files


def write_outputs(report, paths):
    """Every file of the run, then the JSON that lists them; the paths written."""
    for flag, write in WRITERS.items():
        if paths[flag]:
            write(paths[flag], report)
    if paths["--output"]:
        write_json_atomic(paths["--output"], output.record(report, paths))
    return [path for path in paths.values() if path]


def main(argv=None):
    """Command-line entry point; returns the exit code."""
    args = build_parser().parse_args(argv)

    def body():
        config = config_from_args(args)
        paths = output_paths(config, args)
        inputs = input_files(config)
        files = output_files(config, paths, inputs)
        check_output_paths(files, inputs=inputs)
        with output_set([file[:2] for file in files]):
            check_not_replacing([file[:2] for file in files], paths["--output"],
                                settings(config), args.overwrite)
            print(f"run {run_name(config)}", flush=True)
            report = pipeline.run(config)
            if report["trusted_warning"]:
                print(f"RDIA.py: warning: {report['trusted_warning']}", file=sys.stderr,
                      flush=True)
            print(output.format_report(report))
            written = write_outputs(report, paths)
        if written:
            print("wrote " + ", ".join(written))
        return 0

    return run_script("RDIA.py", body, USER_ERRORS)


if __name__ == "__main__":
    sys.exit(main())
