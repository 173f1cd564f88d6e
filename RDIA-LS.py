"""RDIA-LS: loss-based relabeling for deep models, with the CE and co-teaching baselines.

Trains the paper's MLP (MNIST) or 6-conv CNN (CIFAR-10) on noisy labels with one of
four methods: ``rdia-ls`` (docs/method.md section 5), ``rdia-if`` (relabeling by the
influence of each sample through the last layer, section 6), ``ce`` or
``coteaching``. The methods are described in ``experiments/methods.py``, the schedule in
``experiments/deep.py``.

Usage::

    python RDIA-LS.py --dataset mnist --noise_type symmetric --noise_rate 0.8 \
        --method rdia-ls --n_epoch 200 --seed 1 --output run.json

Flags are named as in the published code (``--noise_rate``); the hyphen spelling
(``--noise-rate``) works too.

The RDIA-LS loss is the published code's by default (``--loss published``), because
it gives the paper's number; ``--loss method`` is the equation of docs/method.md section 5,
and the ablations add one ingredient of the published loss to it (``selection.py``).
``--compat official|method`` is an older spelling of ``--loss published|method``.

Outputs, in ``--result_dir``: a per-epoch CSV and a PNG of test accuracy against
epoch, named ``<dataset>_<method>[-<loss>]_<noise_type>_<noise_rate>[_gamma<g>]_seed<seed>``
plus ``_<setting><value>`` for every other setting off its default
(``experiments.deep.run_name``); and the JSON of ``--output``. Bad settings and missing data print one line on stderr
and exit with status 2.

This script only parses the command line into an ``experiments.deep.LSConfig`` and
calls ``experiments.deep.run``, the engine that ``reproduce.py`` and
``benchmarks/rdia_ls_mnist.py`` use too.
"""

import sys

from rdia import data
from rdia import influence
from rdia import selection
from rdia.experiments import deep
from rdia.experiments.cli import ConfigError, DefaultsFormatter, OneLineParser, run_script

#: The settings' defaults, shown by ``--help``.
DEFAULT = deep.LSConfig()

#: ``--compat`` values, the older spelling of ``--loss``.
COMPAT_LOSSES = {"official": "published", "method": "method"}


def build_parser():
    """The command-line parser; flags are named as in the published code.

    Every ``dest`` but ``overwrite`` is a field of :class:`experiments.deep.LSConfig`.
    """
    p = OneLineParser(prog="RDIA-LS.py",
                      description="RDIA-LS, CE and co-teaching on noisy MNIST / CIFAR-10.",
                      formatter_class=DefaultsFormatter)
    p.add_argument("--result_dir", default=DEFAULT.result_dir,
                   help="folder of the per-epoch CSV and the plot (default: runs)")
    p.add_argument("--dataset", default=DEFAULT.dataset, help="mnist or cifar10")
    p.add_argument("--method", default=DEFAULT.method,
                   help="rdia-ls, rdia-if, ce or coteaching")
    p.add_argument("--loss", default=None, metavar="{" + ",".join(selection.LOSSES) + "}",
                   help=f"RDIA-LS loss, read by --method rdia-ls only (default: "
                        f"{selection.DEFAULT_LOSS}); the published "
                        "code's loss, which gives the paper's number, differs from the "
                        "paper's equation (method) in that it applies softmax twice before "
                        "the keep-set cross-entropy, divides the l_R term by the batch size "
                        "and the warm-up loss by the keep-set size once more, and adds a "
                        "constant; the others are the method plus one of these changes, or "
                        "the published loss without one of them")
    p.add_argument("--compat", default=None, metavar="{official,method}",
                   help="older spelling of --loss: official = published, method = method "
                        "(default: none; --loss decides)")
    p.add_argument("--noise_type", default=DEFAULT.noise_type,
                   help="symmetric, pairflip or asymmetric")
    p.add_argument("--noise_rate", type=float, default=DEFAULT.noise_rate,
                   help="r in [0, 1)")
    p.add_argument("--noise_seed", type=int, default=None,
                   help="seed of the label noise (default: --seed; the published code uses 0)")
    p.add_argument("--forget_rate", type=float, default=None,
                   help="tau, final forget rate (default: the noise rate)")
    p.add_argument("--num_gradual", type=int, default=DEFAULT.num_gradual,
                   help="epochs over which f(e) rises from 0 to tau")
    p.add_argument("--warmup", type=int, default=DEFAULT.warmup,
                   help="epochs that train on the keep set only")
    p.add_argument("--n_epoch", type=int, default=DEFAULT.n_epoch, help="training epochs")
    p.add_argument("--epoch_decay_start", type=int, default=DEFAULT.epoch_decay_start,
                   help="epoch from which lr decays linearly and beta1 = 0.1")
    p.add_argument("--lr", type=float, default=DEFAULT.lr, help="Adam learning rate")
    p.add_argument("--batch_size", type=int, default=DEFAULT.batch_size,
                   help="mini-batch size")
    p.add_argument("--seed", type=int, default=DEFAULT.seed,
                   help="seed of initialisation, shuffling, subset (and noise)")
    p.add_argument("--gamma", type=float, default=None,
                   help="weight of the keep term in [0, 1] (default 0.2 MNIST, 0.05 CIFAR-10)")
    p.add_argument("--weight_decay", type=float, default=None,
                   help="Adam weight decay (default 1e-5 MNIST, 0 CIFAR-10)")
    p.add_argument("--subset", type=int, default=None,
                   help="train on a seeded subset of N training images (default: all)")
    p.add_argument("--gpu", type=int, default=None, help="use cuda:N (default: the CPU)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's own choice)")
    p.add_argument("--data_dir", default=None,
                   help="dataset folder (default: $RDIA_DATA_DIR, else datasets/)")
    p.add_argument("--alpha", type=float, default=DEFAULT.alpha,
                   help="rdia-if: samples with phi > alpha train with l_R (phi in the "
                        "units of RDIA.py's alpha)")
    p.add_argument("--if_warmup", type=int, default=DEFAULT.if_warmup,
                   help="rdia-if: epochs of cross-entropy before the first phi (MNIST CE "
                        "runs at symmetric noise 0.8 start to memorise after epoch 4)")
    p.add_argument("--if_every", type=int, default=DEFAULT.if_every,
                   help="rdia-if: epochs between two computations of phi")
    p.add_argument("--if_damping", type=float, default=DEFAULT.if_damping,
                   help="rdia-if: lambda in C = 1 / (n lambda) when --weight_decay is 0")
    p.add_argument("--if_holdout", type=int, default=DEFAULT.if_holdout,
                   help="rdia-if: validation images per class that phi never sees; their "
                        "accuracy (holdout_acc) judges the run, since phi fits the images "
                        "it is taken against")
    p.add_argument("--output", default=None, help="write the run's JSON here (default: "
                   "none; the per-epoch CSV and plot go to --result_dir)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --output even when it is not the JSON of a "
                        "run with these settings")
    p.add_argument("--no_progress", dest="progress", action="store_false",
                   help="hide the progress bar (default: shown)")
    return p


def loss_from_flags(loss, compat):
    """The loss name from ``--loss`` and its older spelling ``--compat``.

    Parameters
    ----------
    loss, compat : str or None
        The flags' values; None when not given.

    Returns
    -------
    loss : str
        ``loss``, else the loss that ``compat`` stands for, else the default.

    Raises
    ------
    experiments.cli.ConfigError
        For an unknown ``compat``, or a ``compat`` that names another loss than ``loss``.
    """
    if compat is None:
        return selection.DEFAULT_LOSS if loss is None else loss
    if compat not in COMPAT_LOSSES:
        raise ConfigError(f"unknown compat {compat!r}; use one of {', '.join(COMPAT_LOSSES)} "
                          "(or --loss)")
    if loss is not None and loss != COMPAT_LOSSES[compat]:
        raise ConfigError(f"--loss {loss} conflicts with --compat {compat} "
                          f"(= --loss {COMPAT_LOSSES[compat]}); give one of them")
    return COMPAT_LOSSES[compat]


def parse_command(argv=None):
    """The :class:`experiments.deep.LSConfig` of command-line arguments, and --overwrite.

    A bad flag exits with status 2 and one line (``OneLineParser``); a bad value
    raises :class:`experiments.cli.ConfigError`.
    """
    settings = vars(build_parser().parse_args(argv))
    settings["loss"] = loss_from_flags(settings["loss"], settings.pop("compat"))
    overwrite = settings.pop("overwrite")
    return deep.LSConfig(**settings), overwrite


def parse_config(argv=None):
    """An :class:`experiments.deep.LSConfig` from command-line arguments (see
    :func:`parse_command`)."""
    return parse_command(argv)[0]


def summary_lines(result):
    """The two lines printed after a run: final accuracies and the files written."""
    final = result["final"]
    last = min(10, len(result["epochs"]))
    output = result["config"]["output"]
    return [f"test accuracy: last epoch {final['test_acc_last']:.2f}%, mean of the last "
            f"{last} epoch{'s' if last > 1 else ''} {final['test_acc_last10_mean']:.2f}%",
            f"wrote {result['files']['csv']} and {result['files']['png']}"
            + (f" and {output}" if output else "")]


def main(argv=None):
    """Command-line entry point; returns the exit status (0; 2 on bad input; 130 after
    Ctrl-C; 143 after SIGTERM)."""
    def body():
        config, overwrite = parse_command(argv)
        result = deep.run(config, overwrite)
        for line in summary_lines(result):
            print(line)
        return 0

    return run_script("RDIA-LS.py", body, (ConfigError, data.DataError,
                                           influence.ConvergenceError))


if __name__ == "__main__":
    sys.exit(main())
