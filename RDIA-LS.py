"""RDIA-LS: loss-based relabeling for deep models, with the CE and co-teaching baselines.

Trains the paper's MLP (MNIST) or 6-conv CNN (CIFAR-10) on training labels corrupted
by a seeded transition matrix, with one of three methods in the same loop and under
the same schedule (METHOD.md section 5):

- ``rdia-ls``: keep / unsure / drop sets by per-sample CE inside each mini-batch, CE
  on the keep set and the complementary loss l_R on the unsure set (``selection.py``);
- ``ce``: cross-entropy on every sample;
- ``coteaching``: two networks, each trained on the small-loss samples of the other.

Usage::

    python RDIA-LS.py --dataset mnist --noise_type symmetric --noise_rate 0.8 \
        --method rdia-ls --n_epoch 200 --seed 1 --output run.json

Outputs, in ``--result_dir``: a per-epoch CSV and a PNG of test accuracy against
epoch, named ``<dataset>_<method>[_official]_<noise_type>_<noise_rate>_seed<seed>``;
and the JSON of ``--output``. Bad settings and missing data print one line on stderr
and exit with status 2.

Importable: ``reproduce.py`` loads this file with importlib and calls
``make_config(**settings)`` and ``run(config)``; ``plot_curves`` draws several runs.
"""

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import data
from models import networks
import selection
from experiments.cli import DefaultsFormatter
from experiments.files import save_figure_atomic, write_csv_atomic, write_json_atomic

DATASETS = ("mnist", "cifar10")
METHODS = ("rdia-ls", "ce", "coteaching")
N_CLASSES = 10

#: Paper settings that depend on the dataset, used when the flag is not given.
PAPER_GAMMA = {"mnist": 0.2, "cifar10": 0.05}
PAPER_WEIGHT_DECAY = {"mnist": 1e-5, "cifar10": 0.0}

#: Adam's beta1 before and from ``epoch_decay_start`` (co-teaching schedule); beta2.
BETA1_START, BETA1_DECAY, BETA2 = 0.9, 0.1, 0.999

#: Test images per forward pass during evaluation (memory only; no effect on results).
EVAL_BATCH = 1000

#: Columns of the per-epoch CSV. Accuracies and label precision are percentages;
#: ``seconds`` (wall time of the epoch, training + evaluation) is the only column
#: that differs between two runs with the same seed.
CSV_COLUMNS = ("epoch", "train_acc", "test_acc", "label_precision",
               "n_keep", "n_unsure", "n_drop", "lr", "seconds")

#: Every setting of a run and its default. None means "derived": forget_rate ->
#: noise_rate, noise_seed -> seed, gamma and weight_decay -> the paper's value for
#: the dataset.
DEFAULTS = {
    "dataset": "mnist",
    "method": "rdia-ls",
    "compat": "method",
    "noise_type": "symmetric",
    "noise_rate": 0.2,
    "forget_rate": None,
    "num_gradual": 10,
    "warmup": 10,
    "n_epoch": 200,
    "epoch_decay_start": 80,
    "lr": 0.001,
    "batch_size": 128,
    "seed": 0,
    "noise_seed": None,
    "gamma": None,
    "weight_decay": None,
    "subset": None,
    "gpu": None,
    "threads": None,
    "data_dir": None,
    "result_dir": "runs",
    "output": None,
    "progress": True,
}


class ConfigError(ValueError):
    """A bad setting; the message is one line and the script exits with status 2."""


# ----------------------------------------------------------------------------
# Configuration


def make_config(**settings):
    """A complete, checked configuration.

    Parameters
    ----------
    **settings
        Any keys of ``DEFAULTS``; the others keep their defaults.

    Returns
    -------
    config : dict
        Every key of ``DEFAULTS`` with the derived values filled in.

    Raises
    ------
    ConfigError
        For an unknown key or a bad value.
    """
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    config = {**DEFAULTS, **settings}
    for key in ("data_dir", "result_dir", "output"):
        if config[key] is not None:
            config[key] = str(config[key])
    check_config(config)
    if config["forget_rate"] is None:
        config["forget_rate"] = config["noise_rate"]
    if config["noise_seed"] is None:
        config["noise_seed"] = config["seed"]
    if config["gamma"] is None:
        config["gamma"] = PAPER_GAMMA[config["dataset"]]
    if config["weight_decay"] is None:
        config["weight_decay"] = PAPER_WEIGHT_DECAY[config["dataset"]]
    return config


def check_config(config):
    """Raise ConfigError with a one-line message for the first bad setting."""
    _check_choice(config, "dataset", DATASETS)
    _check_choice(config, "method", METHODS)
    _check_choice(config, "compat", selection.COMPAT_MODES)
    _check_choice(config, "noise_type", data.NOISE_TYPES)
    _check_number(config, "noise_rate", 0, 1, "in [0, 1)", upper_open=True)
    _check_number(config, "forget_rate", 0, 1, "in [0, 1)", upper_open=True, optional=True)
    _check_number(config, "gamma", 0, 1, "in [0, 1]", optional=True)
    _check_number(config, "lr", 0, math.inf, "> 0", lower_open=True)
    _check_number(config, "weight_decay", 0, math.inf, ">= 0", optional=True)
    _check_int(config, "n_epoch", 1)
    _check_int(config, "num_gradual", 0)
    _check_int(config, "warmup", 0)
    _check_int(config, "epoch_decay_start", 0)
    _check_int(config, "batch_size", 2)
    _check_int(config, "seed", 0)
    _check_int(config, "noise_seed", 0, optional=True)
    _check_int(config, "subset", 2, optional=True)
    _check_int(config, "gpu", 0, optional=True)
    _check_int(config, "threads", 1, optional=True)


def _check_choice(config, key, choices):
    if config[key] not in choices:
        raise ConfigError(f"unknown {key.replace('_', ' ')} {config[key]!r}; "
                          f"use one of {', '.join(choices)}")


def _check_number(config, key, low, high, text, lower_open=False, upper_open=False,
                  optional=False):
    value = config[key]
    if value is None and optional:
        return
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)
    ok = ok and (value > low if lower_open else value >= low)
    ok = ok and (value < high if upper_open else value <= high)
    if not ok:
        raise ConfigError(f"--{key} must be a number {text}, got {value!r}")


def _check_int(config, key, low, optional=False):
    value = config[key]
    if value is None and optional:
        return
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ConfigError(f"--{key} must be an integer >= {low}, got {value!r}")


def run_name(config):
    """File stem of a run: dataset, method, compat mode, noise and seed."""
    compat = "_official" if config["compat"] == "official" else ""
    return (f"{config['dataset']}_{config['method']}{compat}_{config['noise_type']}_"
            f"{config['noise_rate']}_seed{config['seed']}")


# ----------------------------------------------------------------------------
# Schedules


def adam_schedule(epoch, config):
    """Learning rate and Adam beta1 of a 0-based epoch (co-teaching schedule).

    Before ``epoch_decay_start`` s: lr and beta1 = 0.9. From s on, with n epochs:
    lr * (n - e) / (n - s), a linear decay that reaches 0 at the end of training
    (the last epoch trains at lr / (n - s)), and beta1 = 0.1.

    Returns
    -------
    lr, beta1 : float
    """
    n, start = config["n_epoch"], config["epoch_decay_start"]
    if epoch < start:
        return config["lr"], BETA1_START
    return config["lr"] * (n - epoch) / (n - start), BETA1_DECAY


def set_adam_schedule(optimizer, lr, beta1):
    """Write lr and (beta1, 0.999) into every parameter group of an Adam optimizer."""
    for group in optimizer.param_groups:
        group["lr"] = lr
        group["betas"] = (beta1, BETA2)


# ----------------------------------------------------------------------------
# Data


def load_data(config):
    """Training and test tensors of a run, with seeded subset and label noise.

    The subset (``--subset N``: N training samples drawn without replacement with
    ``numpy.random.default_rng(seed)``) is taken first; then every training label is
    resampled from the transition matrix with ``noise_seed``. Test labels stay clean.

    Returns
    -------
    arrays : dict of Tensor (on the CPU)
        X_train (n, C, H, W) uint8, y_train (n,) int64 noisy labels, clean (n,) bool
        (True where the label was not corrupted), X_test (m, C, H, W) uint8, y_test
        (m,) int64.
    actual_noise_rate : float
        Share of corrupted training labels.

    Raises
    ------
    data.DataError
        For a missing file that cannot be downloaded or a corrupt one.
    """
    loader = data.load_mnist if config["dataset"] == "mnist" else data.load_cifar10
    X_train, y_train, X_test, y_test = loader(config["data_dir"])
    shape = networks.INPUT_SHAPES[config["dataset"]]
    X_train = X_train.reshape((-1,) + shape)
    X_test = X_test.reshape((-1,) + shape)
    if config["subset"] is not None:
        if config["subset"] > len(y_train):
            raise ConfigError(f"--subset {config['subset']} is larger than the "
                              f"{len(y_train)} training images")
        rng = np.random.default_rng(config["seed"])
        index = np.sort(rng.choice(len(y_train), size=config["subset"], replace=False))
        X_train, y_train = X_train[index], y_train[index]
    T = data.transition_matrix(config["noise_type"], N_CLASSES, config["noise_rate"],
                               config["dataset"])
    y_noisy, corrupted = data.apply_transition(y_train, T, config["noise_seed"])
    arrays = {
        "X_train": torch.from_numpy(np.ascontiguousarray(X_train)),
        "y_train": torch.from_numpy(y_noisy),
        "clean": torch.from_numpy(~corrupted),
        "X_test": torch.from_numpy(np.ascontiguousarray(X_test)),
        "y_test": torch.from_numpy(np.asarray(y_test, dtype=np.int64)),
    }
    return arrays, float(corrupted.mean())


def to_float(images):
    """uint8 images to float32 pixels in [0, 1]."""
    return images.float().div_(255.0)


def batch_slices(n, batch_size):
    """Bounds (start, stop) of the mini-batches of n shuffled samples.

    The last batch keeps the remainder (nothing is dropped); a remainder of a single
    sample joins the previous batch, since BatchNorm cannot train on one sample.
    """
    bounds = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


# ----------------------------------------------------------------------------
# Training


def select_device(gpu):
    """Device of a run and the one line that says which it is.

    Parameters
    ----------
    gpu : int or None
        CUDA device index from ``--gpu``.

    Returns
    -------
    device : torch.device
    notice : str
    """
    if gpu is None:
        return torch.device("cpu"), "running on CPU (pass --gpu N to use cuda:N)"
    if not torch.cuda.is_available():
        return torch.device("cpu"), f"CUDA is not available; running on CPU instead of cuda:{gpu}"
    if gpu >= torch.cuda.device_count():
        raise ConfigError(f"--gpu {gpu}: only {torch.cuda.device_count()} CUDA device(s)")
    return torch.device(f"cuda:{gpu}"), f"running on cuda:{gpu} ({torch.cuda.get_device_name(gpu)})"


def build_networks(config, device):
    """The network(s) of a run, initialised from the run's seed, and their Adam.

    Returns
    -------
    nets : list of torch.nn.Module
        Two for co-teaching, one otherwise.
    optimizers : list of torch.optim.Adam
    """
    torch.manual_seed(config["seed"])
    count = 2 if config["method"] == "coteaching" else 1
    nets = [networks.build_model(config["dataset"], N_CLASSES).to(device) for _ in range(count)]
    optimizers = [torch.optim.Adam(net.parameters(), lr=config["lr"],
                                   betas=(BETA1_START, BETA2),
                                   weight_decay=config["weight_decay"]) for net in nets]
    return nets, optimizers


def train_epoch(nets, optimizers, tensors, epoch, config, generator):
    """One pass over the shuffled training set.

    Parameters
    ----------
    nets, optimizers : list
        From :func:`build_networks`.
    tensors : dict of Tensor
        X_train, y_train, clean on the device (see :func:`load_data`).
    epoch : int
        0-based epoch; sets f(e) and the warm-up.
    config : dict
    generator : torch.Generator
        CPU generator of the shuffles.

    Returns
    -------
    stats : dict
        train_acc (% of training-mode predictions equal to the observed labels),
        label_precision (% of the keep set whose label is clean; None for an empty
        keep set), n_keep, n_unsure, n_drop (samples per set over the epoch; for
        co-teaching, the sets of network 1).
    """
    X, y, clean = tensors["X_train"], tensors["y_train"], tensors["clean"]
    device = X.device
    f = selection.forget_rate(epoch, config["forget_rate"], config["num_gradual"])
    warmup = selection.is_warmup(epoch, config["warmup"])
    order = torch.randperm(len(y), generator=generator).to(device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    clean_kept = torch.zeros((), dtype=torch.long, device=device)
    sizes = np.zeros(3, dtype=np.int64)
    for net in nets:
        net.train()
    for start, stop in batch_slices(len(y), config["batch_size"]):
        index = order[start:stop]
        xb, yb = to_float(X[index]), y[index]
        logits = [net(xb) for net in nets]
        losses, keep, batch_sizes = batch_losses(logits, yb, f, warmup, config)
        for optimizer, loss in zip(optimizers, losses):
            optimizer.zero_grad(set_to_none=True)
            if loss is not None:
                loss.backward()
                optimizer.step()
        correct += (logits[0].detach().argmax(1) == yb).sum()
        clean_kept += clean[index][keep].sum()
        sizes += batch_sizes
    n_keep = int(sizes[0])
    return {
        "train_acc": 100.0 * correct.item() / len(y),
        "label_precision": 100.0 * clean_kept.item() / n_keep if n_keep else None,
        "n_keep": n_keep, "n_unsure": int(sizes[1]), "n_drop": int(sizes[2]),
    }


def batch_losses(logits, y, f, warmup, config):
    """Losses of one mini-batch for the run's method.

    Parameters
    ----------
    logits : list of Tensor of shape (B, K)
        One per network.
    y : Tensor of shape (B,)
    f : float
        Forget rate of the epoch.
    warmup : bool
    config : dict

    Returns
    -------
    losses : list of (Tensor or None)
        One per network; None when there is nothing to train on (no step is taken).
    keep : Tensor
        Batch indices of the keep set (network 1's selection for co-teaching).
    sizes : tuple of int
        (n_keep, n_unsure, n_drop) of the batch.
    """
    B = len(y)
    if config["method"] == "ce":
        return [selection.cross_entropy(logits[0], y).mean()], torch.arange(B, device=y.device), \
            (B, 0, 0)
    if config["method"] == "coteaching":
        n_keep = selection.partition_sizes(B, f, 0.0, warmup=True)[0]
        loss1, loss2, keep1, _ = selection.coteaching_losses(logits[0], logits[1], y, n_keep)
        losses = [loss1, loss2] if n_keep else [None, None]
        return losses, keep1, (n_keep, 0, B - n_keep)
    sizes = selection.partition_sizes(B, f, config["noise_rate"], warmup)
    ce = selection.cross_entropy(logits[0], y)
    part = selection.rank_partition(ce, sizes[0], sizes[1])
    loss = selection.batch_loss(logits[0], y, part, config["gamma"], warmup,
                                config["compat"], ce=ce)
    return [loss if sizes[0] + sizes[1] else None], part.keep, sizes


def evaluate(net, X, y):
    """Accuracy (%) of a network on a whole set, in evaluation mode.

    Parameters
    ----------
    net : torch.nn.Module
    X : Tensor of shape (m, C, H, W), uint8
    y : Tensor of shape (m,), int64

    Returns
    -------
    accuracy : float
        Percentage of the m samples classified correctly (no sample is dropped).
    """
    net.eval()
    correct = torch.zeros((), dtype=torch.long, device=X.device)
    with torch.inference_mode():
        for start in range(0, len(y), EVAL_BATCH):
            stop = start + EVAL_BATCH
            correct += (net(to_float(X[start:stop])).argmax(1) == y[start:stop]).sum()
    return 100.0 * correct.item() / len(y)


def epoch_row(epoch, stats, test_acc, lr, seconds):
    """One CSV row (dict keyed by CSV_COLUMNS) of a 0-based epoch."""
    return {"epoch": epoch + 1, "train_acc": stats["train_acc"], "test_acc": test_acc,
            "label_precision": stats["label_precision"], "n_keep": stats["n_keep"],
            "n_unsure": stats["n_unsure"], "n_drop": stats["n_drop"], "lr": lr,
            "seconds": round(seconds, 3)}


def summarize(rows):
    """Final numbers of a run: test accuracy at the last epoch and over the last 10."""
    accs = [row["test_acc"] for row in rows]
    return {"test_acc_last10_mean": float(np.mean(accs[-10:])), "test_acc_last": accs[-1]}


def run(config):
    """Train one run and write its CSV, plot and (with ``output``) JSON.

    Parameters
    ----------
    config : dict
        From :func:`make_config` (or any dict of settings, which is completed).

    Returns
    -------
    result : dict
        {"config", "data": {n_train, n_test, actual_noise_rate, device}, "epochs":
        [CSV rows as dicts], "final": {"test_acc_last10_mean", "test_acc_last"},
        "files": {"csv", "png"}}. Accuracies are percentages.

    Raises
    ------
    ConfigError, data.DataError
    """
    config = make_config(**config)
    device, notice = select_device(config["gpu"])
    if config["threads"] is not None:
        torch.set_num_threads(config["threads"])
    arrays, actual_noise = load_data(config)
    print(notice)
    print(f"{config['dataset']}: {len(arrays['y_train'])} training images, "
          f"{config['noise_type']} noise {config['noise_rate']}: actual noise rate "
          f"{actual_noise:.4f} (noise seed {config['noise_seed']})")
    tensors = {key: value.to(device) for key, value in arrays.items()}
    result_dir = Path(config["result_dir"])
    csv_path = result_dir / f"{run_name(config)}.csv"
    png_path = result_dir / f"{run_name(config)}.png"
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        rows = train(config, tensors, device, csv_path)
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
    plot_curves([csv_path], png_path, labels=[run_name(config)])
    result = {
        "config": config,
        "data": {"n_train": len(arrays["y_train"]), "n_test": len(arrays["y_test"]),
                 "actual_noise_rate": actual_noise, "device": str(device)},
        "epochs": rows,
        "final": summarize(rows),
        "files": {"csv": str(csv_path), "png": str(png_path)},
    }
    if config["output"]:
        write_json_atomic(config["output"], result)
    return result


def train(config, tensors, device, csv_path):
    """The epoch loop: schedule, training, evaluation, CSV after every epoch.

    Returns
    -------
    rows : list of dict
        One per epoch, keyed by CSV_COLUMNS.
    """
    nets, optimizers = build_networks(config, device)
    generator = torch.Generator().manual_seed(config["seed"])
    rows = []
    bar = tqdm(range(config["n_epoch"]), desc=run_name(config), unit="epoch",
               disable=not config["progress"], file=sys.stderr)
    for epoch in bar:
        started = time.perf_counter()
        lr, beta1 = adam_schedule(epoch, config)
        for optimizer in optimizers:
            set_adam_schedule(optimizer, lr, beta1)
        stats = train_epoch(nets, optimizers, tensors, epoch, config, generator)
        test_acc = evaluate(nets[0], tensors["X_test"], tensors["y_test"])
        rows.append(epoch_row(epoch, stats, test_acc, lr, time.perf_counter() - started))
        write_csv_atomic(csv_path, CSV_COLUMNS,
                         [[_csv_value(row[key]) for key in CSV_COLUMNS] for row in rows])
        bar.set_postfix(test_acc=f"{test_acc:.2f}")
    bar.close()
    return rows


def _csv_value(value):
    return "" if value is None else value


# ----------------------------------------------------------------------------
# Plot


def read_curve(csv_path):
    """Epochs and test accuracies (%) of a run's CSV, as two float arrays."""
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return (np.array([float(row["epoch"]) for row in rows]),
            np.array([float(row["test_acc"]) for row in rows]))


def plot_curves(csv_paths, out_png, labels=None, title="Test accuracy", colors=None):
    """Draw the test accuracy of one or several runs against epoch into a PNG.

    Parameters
    ----------
    csv_paths : sequence of path-like
        Per-epoch CSVs written by :func:`run`.
    out_png : path-like
        Written atomically.
    labels : sequence of str, optional
        Legend entries; default: the file stems. "_nolegend_" leaves a line out.
    title : str
    colors : sequence of matplotlib colours, optional
        One per run, e.g. the same colour for the seeds of one method.
    """
    from matplotlib.figure import Figure

    labels = labels or [Path(path).stem for path in csv_paths]
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    colors = colors or [None] * len(csv_paths)
    for path, label, color in zip(csv_paths, labels, colors):
        epochs, accs = read_curve(path)
        ax.plot(epochs, accs, label=label, color=color, linewidth=1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure_atomic(fig, out_png, dpi=120)


# ----------------------------------------------------------------------------
# Command line


class _OneLineParser(argparse.ArgumentParser):
    """ArgumentParser whose errors raise ConfigError (one line, exit 2 in main)."""

    def error(self, message):
        raise ConfigError(message)


def build_parser():
    """The command-line parser; flags are named as in the published code."""
    p = _OneLineParser(description="RDIA-LS, CE and co-teaching on noisy MNIST / CIFAR-10.",
                       formatter_class=DefaultsFormatter)
    p.add_argument("--result_dir", default=DEFAULTS["result_dir"],
                   help="folder of the per-epoch CSV and the plot (default: runs)")
    p.add_argument("--dataset", default=DEFAULTS["dataset"], help="mnist or cifar10")
    p.add_argument("--method", default=DEFAULTS["method"], help="rdia-ls, ce or coteaching")
    p.add_argument("--compat", default=DEFAULTS["compat"],
                   help="method: as METHOD.md states it; official: the published code's loss quirks")
    p.add_argument("--noise_type", default=DEFAULTS["noise_type"],
                   help="symmetric, pairflip or asymmetric")
    p.add_argument("--noise_rate", type=float, default=DEFAULTS["noise_rate"],
                   help="r in [0, 1)")
    p.add_argument("--noise_seed", type=int, default=None,
                   help="seed of the label noise (default: --seed; the published code uses 0)")
    p.add_argument("--forget_rate", type=float, default=None,
                   help="tau, final forget rate (default: the noise rate)")
    p.add_argument("--num_gradual", type=int, default=DEFAULTS["num_gradual"],
                   help="epochs over which f(e) rises from 0 to tau")
    p.add_argument("--warmup", type=int, default=DEFAULTS["warmup"],
                   help="epochs that train on the keep set only")
    p.add_argument("--n_epoch", type=int, default=DEFAULTS["n_epoch"], help="training epochs")
    p.add_argument("--epoch_decay_start", type=int, default=DEFAULTS["epoch_decay_start"],
                   help="epoch from which lr decays linearly and beta1 = 0.1")
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="Adam learning rate")
    p.add_argument("--batch_size", type=int, default=DEFAULTS["batch_size"],
                   help="mini-batch size")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                   help="seed of initialisation, shuffling, subset (and noise)")
    p.add_argument("--gamma", type=float, default=None,
                   help="weight of the keep term in [0, 1] (default 0.2 MNIST, 0.05 CIFAR-10)")
    p.add_argument("--weight_decay", type=float, default=None,
                   help="Adam weight decay (default 1e-5 MNIST, 0 CIFAR-10)")
    p.add_argument("--subset", type=int, default=None,
                   help="train on a seeded subset of N training images")
    p.add_argument("--gpu", type=int, default=None, help="use cuda:N")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's own choice)")
    p.add_argument("--data_dir", default=None,
                   help="dataset folder (default: $RDIA_DATA_DIR, else data/)")
    p.add_argument("--output", default=None, help="write the run's JSON here")
    p.add_argument("--no_progress", dest="progress", action="store_false",
                   help="hide the progress bar")
    return p


def main(argv=None):
    """Command-line entry point; returns the exit status (0, or 2 on bad input)."""
    try:
        settings = vars(build_parser().parse_args(argv))
        result = run(make_config(**settings))
    except (ConfigError, data.DataError) as exc:
        print(f"RDIA-LS.py: error: {exc}", file=sys.stderr)
        return 2
    final = result["final"]
    last = min(10, len(result["epochs"]))
    print(f"test accuracy: last epoch {final['test_acc_last']:.2f}%, mean of the last "
          f"{last} epoch{'s' if last > 1 else ''} {final['test_acc_last10_mean']:.2f}%")
    print(f"wrote {result['files']['csv']} and {result['files']['png']}"
          + (f" and {result['config']['output']}" if result["config"]["output"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
