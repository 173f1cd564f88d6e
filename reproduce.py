"""Reproduce the paper's logistic-regression tables and deep-model curves.

Subcommands (each writes markdown, CSV and PNG into ``--results-dir``)::

    python reproduce.py alpha-grid   # MNIST 1 vs 7: RDIA test log-loss over alpha x noise
    python reproduce.py lr-table     # every available dataset x noise x method
    python reproduce.py ls-curves    # RDIA-LS vs CE vs co-teaching on MNIST, noise 0.8

Each accepts ``--seeds`` (a count N for seeds 0..N-1, or a comma list), ``--quick``
(1 seed, 2 datasets, 3 epochs) and ``--data-dir``. This script only parses; the work
is done by ``experiments.sweeps`` and ``experiments.ls_curves``.
"""

import sys

from data.errors import DataError
from experiments.cli import ConfigError, DefaultsFormatter, OneLineParser, parse_seeds

HELPS = {"alpha-grid": "MNIST 1 vs 7: RDIA test log-loss for alpha x noise, "
                       "beside the published values, with a ratio heat map",
         "lr-table": "every available dataset x noise x method (incl. cleanlab), "
                     "log-loss and accuracy tables",
         "ls-curves": "MNIST, symmetric noise 0.8: test accuracy per epoch of "
                      "rdia-ls, ce and coteaching"}


def build_parser():
    parser = OneLineParser(prog="reproduce.py", description=__doc__.split("\n")[0],
                           formatter_class=DefaultsFormatter)
    commands = parser.add_subparsers(dest="command", required=True,
                                     parser_class=OneLineParser)
    for name, text in HELPS.items():
        sub = commands.add_parser(name, help=text, description=text,
                                  formatter_class=DefaultsFormatter)
        # ls-curves uses the benchmark's seeds 1, 2, 3 so that their runs are shared.
        default_seeds = "1,2,3" if name == "ls-curves" else "5"
        sub.add_argument("--seeds", type=parse_seeds, default=parse_seeds(default_seeds),
                         help="a count N (seeds 0..N-1) or a comma list of seeds")
        sub.add_argument("--quick", action="store_true",
                         help="reduced run: 1 seed, 2 datasets, 3 epochs")
        sub.add_argument("--data-dir", default=None,
                         help="dataset folder (default: $RDIA_DATA_DIR, else datasets/)")
        sub.add_argument("--results-dir", default="results", help="output folder")
        if name == "ls-curves":
            sub.add_argument("--epochs", type=int, default=200,
                             help="epochs per run (the paper uses 200)")
            sub.add_argument("--subset", type=int, default=None,
                             help="seeded subset of the MNIST training set")
            sub.add_argument("--gpu", type=int, default=None, help="CUDA device index")
            sub.add_argument("--threads", type=int, default=None,
                             help="torch CPU threads (1 is often fastest on a busy machine)")
            sub.add_argument("--loss", default="published",
                             help="RDIA-LS loss: published (the published code's, which "
                                  "gives the paper's number), method (METHOD.md's "
                                  "equation), keep-on-softmax, unsure-over-batch or "
                                  "warmup-over-keep")
            sub.add_argument("--runs-dir", default=None,
                             help="folder of the per-run files; finished runs there are "
                                  "reused (default: <results-dir>/rdia_ls_mnist/runs, "
                                  "shared with benchmarks/rdia_ls_mnist.py, for the "
                                  "paper's 200 epochs on all images; else a folder "
                                  "of its own)")
    return parser


def run_command(opts):
    """Dispatch a parsed subcommand to its engine; return the paths written."""
    if opts.command == "alpha-grid":
        from experiments.sweeps import alpha_grid_command
        return alpha_grid_command(opts.seeds, opts.results_dir, opts.quick, opts.data_dir)
    if opts.command == "lr-table":
        from experiments.sweeps import lr_table_command
        return lr_table_command(opts.seeds, opts.results_dir, opts.quick, opts.data_dir)
    from experiments.ls_curves import ls_curves
    return ls_curves(opts.seeds, opts.epochs, opts.results_dir, quick=opts.quick,
                     runs_dir=opts.runs_dir, data_dir=opts.data_dir, subset=opts.subset,
                     gpu=opts.gpu, threads=opts.threads, loss=opts.loss)


def main(argv=None):
    opts = build_parser().parse_args(argv)
    try:
        written = run_command(opts)
    except (DataError, ConfigError) as error:
        print(f"reproduce.py: error: {error}", file=sys.stderr)
        return 2
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
