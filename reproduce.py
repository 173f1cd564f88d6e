"""Reproduce the paper's logistic-regression tables and deep-model curves.

Subcommands (each writes markdown, CSV and PNG into ``--results-dir``)::

    python reproduce.py alpha-grid   # MNIST 1 vs 7: RDIA test log-loss over alpha x noise
    python reproduce.py lr-table     # every available dataset x noise x method
    python reproduce.py ls-curves    # RDIA-LS vs CE vs co-teaching on MNIST, noise 0.8

Each accepts ``--seeds`` (a count N for seeds 0..N-1, or a comma list of distinct
seeds in [0, 2^32)), ``--quick`` (a reduced run of its own, see ``--help`` of each
subcommand) and ``--data-dir``. This script only parses; the work is done by
``experiments.sweeps`` and ``experiments.ls_curves``.
"""

import sys

from rdia.data.errors import DataError
from rdia.experiments.cli import (ConfigError, DefaultsFormatter, OneLineParser, parse_seeds,
                             run_script)
from rdia.experiments.files import check_output_folder, output_set

HELPS = {"alpha-grid": "MNIST 1 vs 7: RDIA test log-loss for alpha x noise, "
                       "beside the published values, with a ratio heat map",
         "lr-table": "every available dataset x noise x method (incl. cleanlab), "
                     "log-loss and accuracy tables",
         "ls-curves": "MNIST, symmetric noise 0.8: test accuracy per epoch of "
                      "rdia-ls, ce and coteaching"}

#: What --quick does in each subcommand, and the flags it replaces.
QUICK_HELPS = {"alpha-grid": "reduced run: seed 0 only, the whole grid (replaces --seeds)",
               "lr-table": "reduced run: seed 0 only, datasets cancer and wdbc "
                           "(replaces --seeds)",
               "ls-curves": "reduced run: seed 0 only, 3 epochs (replaces --seeds and "
                            "--epochs)"}

#: Default seeds and epochs, used unless given (and not allowed with --quick).
DEFAULT_SEEDS = {"alpha-grid": "5", "lr-table": "5", "ls-curves": "1,2,3"}
DEFAULT_EPOCHS = 200


def build_parser():
    parser = OneLineParser(prog="reproduce.py", description=__doc__.split("\n")[0],
                           formatter_class=DefaultsFormatter)
    commands = parser.add_subparsers(dest="command", required=True,
                                     parser_class=OneLineParser)
    for name, text in HELPS.items():
        sub = commands.add_parser(name, help=text, description=text,
                                  formatter_class=DefaultsFormatter)
        # ls-curves uses the benchmark's seeds 1, 2, 3 so that their runs are shared.
        sub.add_argument("--seeds", type=parse_seeds, default=None,
                         help="a count N (seeds 0..N-1) or a comma list of distinct "
                              f"seeds in [0, 2^32) (default: {DEFAULT_SEEDS[name]})")
        sub.add_argument("--quick", action="store_true", help=QUICK_HELPS[name])
        sub.add_argument("--data-dir", default=None,
                         help="dataset folder (default: $RDIA_DATA_DIR, else datasets/)")
        sub.add_argument("--results-dir", default="results", help="output folder")
        if name == "ls-curves":
            sub.add_argument("--epochs", type=int, default=None,
                             help=f"epochs per run (default: {DEFAULT_EPOCHS}, the paper's)")
            sub.add_argument("--subset", type=int, default=None,
                             help="seeded subset of the MNIST training set (default: all "
                                  "of it)")
            sub.add_argument("--gpu", type=int, default=None, help="CUDA device index (default: the CPU)")
            sub.add_argument("--threads", type=int, default=None,
                             help="torch CPU threads (1 is often fastest on a busy "
                                  "machine) (default: torch's own choice)")
            sub.add_argument("--loss", default="published",
                             help="RDIA-LS loss: published (the published code's, which "
                                  "gives the paper's number), method (docs/method.md's "
                                  "equation), keep-on-softmax, unsure-over-batch or "
                                  "warmup-over-keep")
            sub.add_argument("--runs-dir", default=None,
                             help="folder of the per-run files; finished runs there are "
                                  "reused (default: <results-dir>/rdia_ls_mnist/runs, "
                                  "shared with benchmarks/rdia_ls_mnist.py, for the "
                                  "paper's 200 epochs on all images; else a folder "
                                  "of its own)")
    return parser


def resolve_counts(opts):
    """Fill in the default seeds and epochs; refuse them next to --quick, which sets both."""
    given = [flag for flag, value in (("--seeds", opts.seeds),
                                      ("--epochs", getattr(opts, "epochs", None)))
             if value is not None]
    if opts.quick and given:
        raise ConfigError(f"--quick sets {' and '.join(given)} itself; drop "
                          f"{' and '.join(given)} or --quick")
    if opts.seeds is None:
        opts.seeds = parse_seeds(DEFAULT_SEEDS[opts.command])
    if opts.command == "ls-curves" and opts.epochs is None:
        opts.epochs = DEFAULT_EPOCHS
    return opts


def run_command(opts):
    """Dispatch a parsed subcommand to its engine; return the paths written."""
    if opts.command == "alpha-grid":
        from rdia.experiments.sweeps import alpha_grid_command
        return alpha_grid_command(opts.seeds, opts.results_dir, opts.quick, opts.data_dir)
    if opts.command == "lr-table":
        from rdia.experiments.sweeps import lr_table_command
        return lr_table_command(opts.seeds, opts.results_dir, opts.quick, opts.data_dir)
    from rdia.experiments.ls_curves import ls_curves
    return ls_curves(opts.seeds, opts.epochs, opts.results_dir, quick=opts.quick,
                     runs_dir=opts.runs_dir, data_dir=opts.data_dir, subset=opts.subset,
                     gpu=opts.gpu, threads=opts.threads, loss=opts.loss)


def main(argv=None):
    opts = build_parser().parse_args(argv)

    def body():
        check_output_folder(opts.results_dir, "--results-dir")
        if getattr(opts, "runs_dir", None):
            check_output_folder(opts.runs_dir, "--runs-dir")
        with output_set([]):  # the results files appear together, or none of them
            written = run_command(resolve_counts(opts))
        print("wrote " + ", ".join(str(p) for p in written))
        return 0

    return run_script("reproduce.py", body, (DataError, ConfigError))


if __name__ == "__main__":
    sys.exit(main())
