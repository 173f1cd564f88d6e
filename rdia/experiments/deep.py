"""The deep-model experiment of RDIA-LS.py: typed config, training loop, run files.

Trains the paper's MLP (MNIST) or 6-conv CNN (CIFAR-10) on training labels corrupted
by a seeded transition matrix, with one of four methods in the same loop and under
the same schedule (docs/method.md sections 5 and 6):

- ``rdia-ls``: keep / unsure / drop sets by per-sample CE inside each mini-batch, CE
  on the keep set and the complementary loss l_R on the unsure set (``selection.py``);
- ``rdia-if``: cross-entropy on every sample for ``if_warmup`` epochs; then, every
  ``if_every`` epochs, phi of every training sample through the last layer
  (``last_layer.py``) against the 100 held-out validation images, and until the next
  computation the samples with phi > alpha train with l_R, the others with CE;
- ``ce``: cross-entropy on every sample;
- ``coteaching``: two networks, each trained on the small-loss samples of the other.

:class:`LSConfig` holds every setting of a run and checks them; :func:`run` trains
one run and writes, in ``result_dir``, a per-epoch CSV and a PNG of test accuracy
against epoch, named by :func:`run_name` after every setting that changes the result,
and with ``output`` a JSON of the whole run; :func:`plot_curves` draws several runs in
one figure.

Every epoch is scored on the whole test set (``test_acc``, the paper's metric) and on
the two parts of a seeded split of it (:func:`validation_split`): 100 held-out images,
10 per class, as the paper's clean validation set (``val_acc``), and the other images
(``scored_acc``), on which a choice made by ``val_acc`` can be scored.
"""

import csv
import dataclasses
import math
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from rdia import data
from rdia import last_layer
from rdia import progress as show
from rdia import selection
from rdia.data import cifar, mnist
from rdia.data.download import CIFAR10_FOLDER
from rdia.experiments.cli import ConfigError, check_seed
from rdia.experiments.files import (check_not_replacing, check_output_paths, output_set,
                               save_figure_atomic, staged_path, write_csv_atomic,
                               write_json_atomic)
from rdia.models import networks

DATASETS = ("mnist", "cifar10")
METHODS = ("rdia-ls", "rdia-if", "ce", "coteaching")
N_CLASSES = 10

#: Paper settings that depend on the dataset, used when the setting is None.
PAPER_GAMMA = {"mnist": 0.2, "cifar10": 0.05}
PAPER_WEIGHT_DECAY = {"mnist": 1e-5, "cifar10": 0.0}

#: Adam's beta1 before and from ``epoch_decay_start`` (co-teaching schedule); beta2.
BETA1_START, BETA1_DECAY, BETA2 = 0.9, 0.1, 0.999

#: Test images per forward pass during evaluation (memory only; no effect on results).
EVAL_BATCH = 1000

#: Columns of the per-epoch CSV. Accuracies and label precision are percentages;
#: ``seconds`` (wall time of the epoch, training + evaluation) is the only column
#: that differs between two runs with the same seed.
CSV_COLUMNS = ("epoch", "train_acc", "test_acc", "val_acc", "scored_acc",
               "label_precision", "n_keep", "n_unsure", "n_drop", "lr", "seconds",
               "n_harmful", "harmful_precision", "harmful_recall", "influence_seconds",
               "holdout_acc")

#: Columns that only ``rdia-if`` fills: the harmful set {phi > alpha} in force after
#: the epoch, its precision and recall (%) against the true noise mask, the seconds
#: spent on phi at the end of the epoch (0 when it was not recomputed), and the
#: accuracy (%) on the validation images that phi never sees (``if_holdout`` per
#: class; None when there are none). The harmful set trains with l_R and is counted
#: in ``n_unsure``; ``n_keep`` counts the samples trained with CE.
IF_COLUMNS = ("n_harmful", "harmful_precision", "harmful_recall", "influence_seconds",
              "holdout_acc")

#: Default epochs of plain CE before the first phi of ``rdia-if``. On MNIST at
#: symmetric noise 0.8 the CE runs of ``results/rdia_ls_mnist/runs`` (seeds 1-3) reach
#: their best test accuracy at epoch 4 (86.8% on average) and lose it from epoch 5
#: on (85.1%, then 81.2% at epoch 6), as the network starts to memorise the noise.
IF_WARMUP = 4

#: Test images per class held out as the clean validation set (the paper: 100 of the
#: 10,000, 1%).
VAL_PER_CLASS = 10

#: Word of ``numpy.random.SeedSequence(seed).generate_state`` that seeds the validation
#: split; the other randomness of a run uses ``seed`` itself (torch, the subset) or
#: ``noise_seed``, so the split is independent of them.
VALIDATION_STREAM = 3

#: Settings that do not change the numbers, ignored when a finished run is reused.
NOT_RESULTS = ("progress", "threads", "output", "result_dir", "data_dir", "gpu")

#: Settings that enter a run's name only when they differ from the default, in this
#: order, after the seed (``_<setting><value>``).
NAMED_SETTINGS = ("weight_decay", "n_epoch", "subset", "forget_rate", "num_gradual",
                  "warmup", "epoch_decay_start", "lr", "batch_size", "noise_seed")

#: Settings that only the ``rdia-ls`` method reads.
RDIA_LS_ONLY = ("loss", "gamma")

#: Settings that only the ``rdia-if`` method reads; they enter its run name after the
#: noise rate (alpha always, the others when off their default).
RDIA_IF_ONLY = ("alpha", "if_warmup", "if_every", "if_damping", "if_holdout")


# ----------------------------------------------------------------------------
# Configuration


@dataclasses.dataclass(frozen=True)
class LSConfig:
    """Every setting of one RDIA-LS / CE / co-teaching run, checked on creation.

    None means "derived" (see :meth:`resolved`): forget_rate -> noise_rate,
    noise_seed -> seed, gamma and weight_decay -> the paper's value for the dataset.
    Path settings (``data_dir``, ``result_dir``, ``output``) are stored as str.

    Parameters
    ----------
    dataset : {"mnist", "cifar10"}
    method : {"rdia-ls", "rdia-if", "ce", "coteaching"}
    loss : str
        The RDIA-LS loss, a key of ``selection.LOSSES``: ``published`` (default: the
        published code's loss, which gives the paper's number), ``method`` (the
        equation of docs/method.md section 5) or an ablation. Only ``rdia-ls`` reads it.
    noise_type : {"symmetric", "pairflip", "asymmetric"}
    noise_rate : float in [0, 1)
        r, the corruption rate of the training labels.
    forget_rate : float in [0, 1), optional
        tau, the final forget rate (default: the noise rate).
    num_gradual : int >= 0
        Epochs over which the forget rate f(e) rises from 0 to tau.
    warmup : int >= 0
        Epochs that train on the keep set only.
    n_epoch : int >= 1
        Training epochs.
    epoch_decay_start : int >= 0
        0-based epoch from which lr decays linearly to 0 and beta1 = 0.1.
    lr : float > 0
        Adam learning rate.
    batch_size : int >= 2
        Mini-batch size B.
    seed : int >= 0
        Seed of initialisation, shuffling and subset (and of the noise by default).
    noise_seed : int >= 0, optional
        Seed of the label noise (default: ``seed``; the published code uses 0).
    gamma : float in [0, 1], optional
        Weight of the keep term (default 0.2 MNIST, 0.05 CIFAR-10).
    weight_decay : float >= 0, optional
        Adam weight decay (default 1e-5 MNIST, 0 CIFAR-10).
    subset : int >= 2, optional
        Train on a seeded subset of this many training images.
    gpu : int >= 0, optional
        CUDA device index; None runs on the CPU.
    threads : int >= 1, optional
        torch CPU threads (default: torch's own choice).
    data_dir : str, optional
        Dataset folder (default: $RDIA_DATA_DIR, else the project's default).
    result_dir : str
        Folder of the per-epoch CSV and the plot.
    output : str, optional
        Where :func:`run` writes the run's JSON.
    progress : bool
        Show a progress bar over epochs on stderr.
    alpha : float >= 0
        ``rdia-if``: samples with phi > alpha train with l_R (phi in the units of
        docs/method.md section 3, C x summed validation loss).
    if_warmup : int >= 1
        ``rdia-if``: epochs of plain CE before the first phi (default
        :data:`IF_WARMUP`); phi is first computed at the end of this epoch.
    if_every : int >= 1
        ``rdia-if``: epochs between two computations of phi.
    if_damping : float > 0
        ``rdia-if``: lambda in C = 1 / (n lambda) when the weight decay is 0.
    if_holdout : int in [0, VAL_PER_CLASS)
        ``rdia-if``: validation images per class that phi never sees; their accuracy
        (``holdout_acc``) can judge the run, because phi fits the images it is taken
        against (see :func:`influence_split`). 0: phi sees all of them.

    Raises
    ------
    experiments.cli.ConfigError
        For a bad value, with a one-line message naming the flag.
    """

    dataset: str = "mnist"
    method: str = "rdia-ls"
    loss: str = selection.DEFAULT_LOSS
    noise_type: str = "symmetric"
    noise_rate: float = 0.2
    forget_rate: Optional[float] = None
    num_gradual: int = 10
    warmup: int = 10
    n_epoch: int = 200
    epoch_decay_start: int = 80
    lr: float = 0.001
    batch_size: int = 128
    seed: int = 0
    noise_seed: Optional[int] = None
    gamma: Optional[float] = None
    weight_decay: Optional[float] = None
    subset: Optional[int] = None
    gpu: Optional[int] = None
    threads: Optional[int] = None
    data_dir: Optional[str] = None
    result_dir: str = "runs"
    output: Optional[str] = None
    progress: bool = True
    alpha: float = 0.0
    if_warmup: int = IF_WARMUP
    if_every: int = 1
    if_damping: float = last_layer.DEFAULT_DAMPING
    if_holdout: int = 0

    def __post_init__(self):
        for name in ("data_dir", "result_dir", "output"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                object.__setattr__(self, name, str(value))
        _check_choice("dataset", self.dataset, DATASETS)
        _check_choice("method", self.method, METHODS)
        _check_choice("loss", self.loss, tuple(selection.LOSSES))
        _check_choice("noise_type", self.noise_type, data.NOISE_TYPES)
        _check_number("noise_rate", self.noise_rate, 0, 1, "in [0, 1)", upper_open=True)
        _check_number("forget_rate", self.forget_rate, 0, 1, "in [0, 1)", upper_open=True,
                      optional=True)
        _check_number("gamma", self.gamma, 0, 1, "in [0, 1]", optional=True)
        _check_number("lr", self.lr, 0, math.inf, "> 0", lower_open=True)
        _check_number("weight_decay", self.weight_decay, 0, math.inf, ">= 0", optional=True)
        _check_int("n_epoch", self.n_epoch, 1)
        _check_int("num_gradual", self.num_gradual, 0)
        _check_int("warmup", self.warmup, 0)
        _check_int("epoch_decay_start", self.epoch_decay_start, 0)
        _check_int("batch_size", self.batch_size, 2)
        check_seed(self.seed)
        if self.noise_seed is not None:
            check_seed(self.noise_seed, "--noise_seed")
        _check_int("subset", self.subset, 2, optional=True)
        _check_int("gpu", self.gpu, 0, optional=True)
        _check_int("threads", self.threads, 1, optional=True)
        _check_number("alpha", self.alpha, 0, math.inf, ">= 0")
        _check_int("if_warmup", self.if_warmup, 1)
        _check_int("if_every", self.if_every, 1)
        _check_number("if_damping", self.if_damping, 0, math.inf, "> 0", lower_open=True)
        _check_int("if_holdout", self.if_holdout, 0)
        if self.if_holdout >= VAL_PER_CLASS:
            raise ConfigError(f"if_holdout must be below the {VAL_PER_CLASS} validation "
                              f"images per class, got {self.if_holdout}")

    def resolved(self):
        """A copy with the derived settings filled in.

        Returns
        -------
        config : LSConfig
            forget_rate = noise_rate, noise_seed = seed, gamma and weight_decay = the
            paper's values for the dataset, each only where the setting is None.
        """
        def given(value, default):
            return default if value is None else value

        return dataclasses.replace(
            self,
            forget_rate=given(self.forget_rate, self.noise_rate),
            noise_seed=given(self.noise_seed, self.seed),
            gamma=given(self.gamma, PAPER_GAMMA[self.dataset]),
            weight_decay=given(self.weight_decay, PAPER_WEIGHT_DECAY[self.dataset]))


def _check_choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"unknown {name.replace('_', ' ')} {value!r}; "
                          f"use one of {', '.join(choices)}")


def _check_number(name, value, low, high, text, lower_open=False, upper_open=False,
                  optional=False):
    if value is None and optional:
        return
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)
    ok = ok and (value > low if lower_open else value >= low)
    ok = ok and (value < high if upper_open else value <= high)
    if not ok:
        raise ConfigError(f"--{name} must be a number {text}, got {value!r}")


def _check_int(name, value, low, optional=False):
    if value is None and optional:
        return
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ConfigError(f"--{name} must be an integer >= {low}, got {value!r}")


def result_settings(config):
    """The resolved settings that change a run's numbers, as a dict.

    All fields of :meth:`LSConfig.resolved` but :data:`NOT_RESULTS`, but
    :data:`RDIA_LS_ONLY` for the methods other than ``rdia-ls`` and but
    :data:`RDIA_IF_ONLY` for those other than ``rdia-if``, which do not read them.
    Two configs with equal result settings give the same run.
    """
    settings = dataclasses.asdict(config.resolved())
    ignored = (NOT_RESULTS + (() if config.method == "rdia-ls" else RDIA_LS_ONLY)
               + (() if config.method == "rdia-if" else RDIA_IF_ONLY))
    return {key: value for key, value in settings.items() if key not in ignored}


def run_files(config):
    """Paths of the per-epoch CSV and the plot of a run, in its ``result_dir``."""
    stem = Path(config.result_dir) / run_name(config)
    return stem.with_name(stem.name + ".csv"), stem.with_name(stem.name + ".png")


def dataset_files(config):
    """The files of ``config.dataset`` in its data folder, which the run reads."""
    folder = data.resolve_data_dir(config.data_dir)
    if config.dataset == "mnist":
        return [folder / name for name in mnist.MNIST_FILES.values()]
    return [folder / CIFAR10_FOLDER / name for name in cifar.TRAIN_BATCHES + (cifar.TEST_BATCH,)]


def check_outputs(config, overwrite=False):
    """Before any work: the run's CSV, plot and JSON can be written, are distinct, none
    is a dataset file, and the JSON at ``output`` (if any) is not a run with other
    settings (unless ``overwrite``); the last check belongs under the output set's lock.

    The CSV and the plot are named by every setting that changes the numbers, so an
    existing one belongs to a run of the same settings and may be replaced.

    Raises
    ------
    experiments.files.OutputError
        One line naming the flag and the path.
    """
    csv_path, png_path = run_files(config)
    check_output_paths({"--output": (config.output, None),
                        "--result_dir (CSV)": (csv_path, None),
                        "--result_dir (plot)": (png_path, None)},
                       inputs={"--data_dir": dataset_files(config)})
    check_not_replacing({"--output": config.output}, config.output,
                        result_settings(config), overwrite)


def format_setting(value):
    """A setting's value as written in a run name: whole, as Python prints it.

    0.0002 stays "0.0002", 1e-05 is "1e-05", 200 is "200".
    """
    return repr(value) if isinstance(value, float) else str(value)


def run_name(config):
    """File stem of a run, which carries every setting that changes its numbers.

    ``<dataset>_<method>[-<loss>]_<noise_type>_<noise_rate>[_gamma<gamma>][_alpha<alpha>]_seed<seed>``,
    with the loss and the (resolved) gamma for ``rdia-ls`` only and alpha for
    ``rdia-if`` only, then ``_<setting><value>`` for each of :data:`NAMED_SETTINGS`
    (and, for ``rdia-if``, ``if_warmup``, ``if_every`` and ``if_damping``) whose
    resolved value differs from the resolved default of the same dataset, noise rate
    and seed (e.g. ``_n_epoch20``, ``_weight_decay0.0001``, ``_noise_seed0``,
    ``_if_every5``). The same for a config and its :meth:`LSConfig.resolved` copy.

    Parameters
    ----------
    config : LSConfig

    Returns
    -------
    name : str
    """
    c = config.resolved()
    default = LSConfig(dataset=c.dataset, noise_rate=c.noise_rate, seed=c.seed).resolved()
    is_rdia_ls, is_rdia_if = c.method == "rdia-ls", c.method == "rdia-if"
    name = (f"{c.dataset}_{c.method}{'-' + c.loss if is_rdia_ls else ''}_{c.noise_type}_"
            f"{format_setting(c.noise_rate)}"
            f"{'_gamma' + format_setting(c.gamma) if is_rdia_ls else ''}"
            f"{'_alpha' + format_setting(c.alpha) if is_rdia_if else ''}_seed{c.seed}")
    for key in NAMED_SETTINGS + (RDIA_IF_ONLY[1:] if is_rdia_if else ()):
        value = getattr(c, key)
        if value != getattr(default, key):
            name += f"_{key}{format_setting(value)}"
    return name


# ----------------------------------------------------------------------------
# Schedules


def adam_schedule(epoch, config):
    """Learning rate and Adam beta1 of a 0-based epoch (co-teaching schedule).

    Before ``epoch_decay_start`` s: lr and beta1 = 0.9. From s on, with n epochs:
    lr * (n - e) / (n - s), a linear decay that reaches 0 at the end of training
    (the last epoch trains at lr / (n - s)), and beta1 = 0.1.

    Parameters
    ----------
    epoch : int
    config : LSConfig

    Returns
    -------
    lr, beta1 : float
    """
    n, start = config.n_epoch, config.epoch_decay_start
    if epoch < start:
        return config.lr, BETA1_START
    return config.lr * (n - epoch) / (n - start), BETA1_DECAY


def set_adam_schedule(optimizer, lr, beta1):
    """Write lr and (beta1, 0.999) into every parameter group of an Adam optimizer."""
    for group in optimizer.param_groups:
        group["lr"] = lr
        group["betas"] = (beta1, BETA2)


# ----------------------------------------------------------------------------
# Data


def load_data(config):
    """Training and test tensors of a run, with seeded subset and label noise.

    The subset (``subset=N``: N training samples drawn without replacement with
    ``numpy.random.default_rng(seed)``) is taken first; then every training label is
    resampled from the transition matrix with ``noise_seed``. Test labels stay clean.

    Parameters
    ----------
    config : LSConfig
        Resolved (``noise_seed`` set).

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
    experiments.cli.ConfigError
        For a subset larger than the training set.
    data.DataError
        For a missing file that cannot be downloaded or a corrupt one.
    """
    loader = data.load_mnist if config.dataset == "mnist" else data.load_cifar10
    X_train, y_train, X_test, y_test = loader(config.data_dir)
    shape = networks.INPUT_SHAPES[config.dataset]
    X_train = X_train.reshape((-1,) + shape)
    X_test = X_test.reshape((-1,) + shape)
    if config.subset is not None:
        if config.subset > len(y_train):
            raise ConfigError(f"--subset {config.subset} is larger than the "
                              f"{len(y_train)} training images")
        rng = np.random.default_rng(config.seed)
        index = np.sort(rng.choice(len(y_train), size=config.subset, replace=False))
        X_train, y_train = X_train[index], y_train[index]
    T = data.transition_matrix(config.noise_type, N_CLASSES, config.noise_rate,
                               config.dataset)
    y_noisy, corrupted = data.apply_transition(y_train, T, config.noise_seed)
    arrays = {
        "X_train": torch.from_numpy(np.ascontiguousarray(X_train)),
        "y_train": torch.from_numpy(y_noisy),
        "clean": torch.from_numpy(~corrupted),
        "X_test": torch.from_numpy(np.ascontiguousarray(X_test)),
        "y_test": torch.from_numpy(np.asarray(y_test, dtype=np.int64)),
    }
    return arrays, float(corrupted.mean())


to_float = networks.to_float


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

    Raises
    ------
    experiments.cli.ConfigError
        For an index beyond the CUDA devices present.
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

    Parameters
    ----------
    config : LSConfig
        Resolved (``weight_decay`` set).
    device : torch.device

    Returns
    -------
    nets : list of torch.nn.Module
        Two for co-teaching, one otherwise.
    optimizers : list of torch.optim.Adam
    """
    torch.manual_seed(config.seed)
    count = 2 if config.method == "coteaching" else 1
    nets = [networks.build_model(config.dataset, N_CLASSES).to(device) for _ in range(count)]
    optimizers = [torch.optim.Adam(net.parameters(), lr=config.lr,
                                   betas=(BETA1_START, BETA2),
                                   weight_decay=config.weight_decay) for net in nets]
    return nets, optimizers


def train_epoch(nets, optimizers, tensors, epoch, config, generator, harmful=None):
    """One pass over the shuffled training set.

    Parameters
    ----------
    nets, optimizers : list
        From :func:`build_networks`.
    tensors : dict of Tensor
        X_train, y_train, clean on the device (see :func:`load_data`).
    epoch : int
        0-based epoch; sets f(e) and the warm-up.
    config : LSConfig
        Resolved.
    generator : torch.Generator
        CPU generator of the shuffles.
    harmful : Tensor of shape (n,), bool, optional
        ``rdia-if``: the samples that train with l_R (None before the first phi).

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
    f = selection.forget_rate(epoch, config.forget_rate, config.num_gradual)
    warmup = selection.is_warmup(epoch, config.warmup)
    order = torch.randperm(len(y), generator=generator).to(device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    clean_kept = torch.zeros((), dtype=torch.long, device=device)
    sizes = np.zeros(3, dtype=np.int64)
    for net in nets:
        net.train()
    for start, stop in batch_slices(len(y), config.batch_size):
        index = order[start:stop]
        xb, yb = to_float(X[index]), y[index]
        logits = [net(xb) for net in nets]
        losses, keep, batch_sizes = batch_losses(
            logits, yb, f, warmup, config, None if harmful is None else harmful[index])
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


def batch_losses(logits, y, f, warmup, config, harmful=None):
    """Losses of one mini-batch for the run's method.

    Parameters
    ----------
    logits : list of Tensor of shape (B, K)
        One per network.
    y : Tensor of shape (B,)
    f : float
        Forget rate of the epoch.
    warmup : bool
    config : LSConfig
        Resolved (``gamma`` set).
    harmful : Tensor of shape (B,), bool, optional
        ``rdia-if``: which samples of the batch train with l_R; None trains all with CE.

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
    if config.method == "ce":
        return [selection.cross_entropy(logits[0], y).mean()], torch.arange(B, device=y.device), \
            (B, 0, 0)
    if config.method == "rdia-if":
        return rdia_if_loss(logits[0], y, harmful)
    if config.method == "coteaching":
        n_keep = selection.partition_sizes(B, f, 0.0, warmup=True)[0]
        loss1, loss2, keep1, _ = selection.coteaching_losses(logits[0], logits[1], y, n_keep)
        losses = [loss1, loss2] if n_keep else [None, None]
        return losses, keep1, (n_keep, 0, B - n_keep)
    sizes = selection.partition_sizes(B, f, config.noise_rate, warmup)
    ce = selection.cross_entropy(logits[0], y)
    part = selection.rank_partition(ce, sizes[0], sizes[1])
    loss = selection.batch_loss(logits[0], y, part, config.gamma, warmup,
                                config.loss, ce=ce)
    return [loss if sizes[0] + sizes[1] else None], part.keep, sizes


def rdia_if_loss(logits, y, harmful=None):
    """The ``rdia-if`` loss of one mini-batch: mean of l_R over harmful samples and CE
    over the others (CE over all when ``harmful`` is None).

    Returns
    -------
    losses : list of one Tensor
    keep : Tensor
        Batch indices of the samples trained with CE.
    sizes : tuple of int
        (trained with CE, trained with l_R, 0).
    """
    ce = selection.cross_entropy(logits, y)
    if harmful is None:
        return [ce.mean()], torch.arange(len(y), device=y.device), (len(y), 0, 0)
    per_sample = torch.where(harmful, selection.complementary_loss(logits, y), ce)
    n_harmful = int(harmful.sum())
    return [per_sample.mean()], torch.nonzero(~harmful).flatten(), \
        (len(y) - n_harmful, n_harmful, 0)


def influence_due(epoch, config):
    """Whether ``rdia-if`` recomputes phi at the end of a 0-based epoch: at the end of
    epoch ``if_warmup`` (1-based), then every ``if_every`` epochs."""
    done = epoch + 1
    return done >= config.if_warmup and (done - config.if_warmup) % config.if_every == 0


def harmful_set(net, tensors, config):
    """The harmful set {phi > alpha} of the network's current last layer.

    phi (``last_layer.last_layer_influence``) is taken against the validation images
    that phi may see (``phi_index`` of the test set, :func:`influence_split`) with the
    observed training labels.

    Parameters
    ----------
    net : torch.nn.Module
    tensors : dict of Tensor
        As in :func:`train`.
    config : LSConfig
        Resolved.

    Returns
    -------
    harmful : Tensor of shape (n,), bool, on the training tensors' device
    phi : ndarray of shape (n,)
    """
    val = tensors["phi_index"]
    # numpy's BLAS gets the run's thread count too: on a busy machine two BLAS
    # threads made phi 10x slower here
    with threadpool_limits(config.threads):
        phi = last_layer.last_layer_influence(
            net, tensors["X_train"], tensors["y_train"], tensors["X_test"][val],
            tensors["y_test"][val], config.weight_decay, config.if_damping)
    harmful = torch.from_numpy(phi > config.alpha).to(tensors["y_train"].device)
    return harmful, phi


def harmful_stats(harmful, clean, seconds):
    """The ``rdia-if`` columns of an epoch: size of the harmful set, its precision and
    recall (%) against the true noise mask (None when undefined), and ``seconds``."""
    if harmful is None:
        return {"n_harmful": 0, "harmful_precision": None, "harmful_recall": None,
                "influence_seconds": round(seconds, 3)}
    noisy = ~clean
    hits = int((harmful & noisy).sum())
    n_harmful, n_noisy = int(harmful.sum()), int(noisy.sum())
    return {"n_harmful": n_harmful,
            "harmful_precision": 100.0 * hits / n_harmful if n_harmful else None,
            "harmful_recall": 100.0 * hits / n_noisy if n_noisy else None,
            "influence_seconds": round(seconds, 3)}


def influence_split(y_test, val_index, holdout):
    """Split the validation images into those phi is taken against and a hold-out.

    In every class, the ``holdout`` validation images with the largest test indices
    are held out (the validation split is seeded, so this is too). phi steers training
    towards the images it is taken against: on MNIST at symmetric noise 0.8, with phi
    against all 100, their accuracy reached 100% two epochs after the warm-up while
    the other test images fell from 86% to 75%, so only a hold-out can judge a run.

    Parameters
    ----------
    y_test : array-like of shape (m,), int
    val_index : ndarray of shape (n_val,), int64
        Sorted, as :func:`validation_split` returns it.
    holdout : int >= 0
        Held-out images per class.

    Returns
    -------
    phi_index, holdout_index : ndarray of int64
        Sorted indices into the test set; together they are ``val_index``.
    """
    labels = np.asarray(y_test)[val_index]
    held = [val_index[labels == label][len(val_index[labels == label]) - holdout:]
            for label in np.unique(labels)] if holdout else []
    holdout_index = np.sort(np.concatenate(held)).astype(np.int64) if held \
        else np.empty(0, dtype=np.int64)
    return np.setdiff1d(val_index, holdout_index).astype(np.int64), holdout_index


def validation_seed(seed):
    """Seed of a run's validation split: word VALIDATION_STREAM of SeedSequence(seed)."""
    state = np.random.SeedSequence(seed).generate_state(VALIDATION_STREAM + 1)
    return int(state[VALIDATION_STREAM])


def validation_split(y_test, seed, per_class=VAL_PER_CLASS):
    """Seeded stratified split of the test set into a validation and a scored part.

    ``per_class`` test images of every class, drawn without replacement with
    ``numpy.random.default_rng(validation_seed(seed))`` (classes in ascending
    order), form the validation set; the other images are the scored set.

    Parameters
    ----------
    y_test : array-like of shape (m,), int
        Test labels.
    seed : int
        The run's seed.
    per_class : int, default=VAL_PER_CLASS

    Returns
    -------
    val_index : ndarray of shape (per_class * n_classes,), int64
        Sorted indices of the validation images.
    scored_index : ndarray of shape (m - per_class * n_classes,), int64
        Sorted indices of the other test images.

    Raises
    ------
    experiments.cli.ConfigError
        When a class has no more than ``per_class`` test images.
    """
    y_test = np.asarray(y_test)
    rng = np.random.default_rng(validation_seed(seed))
    chosen = []
    for label in np.unique(y_test):
        members = np.flatnonzero(y_test == label)
        if len(members) <= per_class:
            raise ConfigError(f"the test set has {len(members)} images of class {label}; "
                              f"holding out {per_class} per class needs more")
        chosen.append(rng.choice(members, size=per_class, replace=False))
    val_index = np.sort(np.concatenate(chosen)).astype(np.int64)
    scored_index = np.setdiff1d(np.arange(len(y_test)), val_index).astype(np.int64)
    return val_index, scored_index


def correct_predictions(net, X, y):
    """Which samples a network classifies correctly, in evaluation mode.

    Parameters
    ----------
    net : torch.nn.Module
    X : Tensor of shape (m, C, H, W), uint8
    y : Tensor of shape (m,), int64

    Returns
    -------
    correct : Tensor of shape (m,), bool
    """
    net.eval()
    parts = []
    with torch.inference_mode():
        for start in range(0, len(y), EVAL_BATCH):
            stop = start + EVAL_BATCH
            parts.append(net(to_float(X[start:stop])).argmax(1) == y[start:stop])
    return torch.cat(parts)


def accuracy(correct):
    """Percentage of True in a bool tensor of shape (m,), m >= 1."""
    return 100.0 * correct.sum().item() / len(correct)


def evaluate(net, X, y, val_index, scored_index, holdout_index=None):
    """Accuracies (%) on the whole test set and on its validation and scored parts.

    Parameters
    ----------
    net : torch.nn.Module
    X : Tensor of shape (m, C, H, W), uint8
    y : Tensor of shape (m,), int64
    val_index, scored_index : Tensor of int64
        The split of :func:`validation_split`, on the device of X.
    holdout_index : Tensor of int64, optional
        The validation images phi never sees (:func:`influence_split`).

    Returns
    -------
    accuracies : dict
        test_acc (all m images: the paper's metric), val_acc, scored_acc, and
        holdout_acc when ``holdout_index`` is given and not empty.
    """
    correct = correct_predictions(net, X, y)
    accuracies = {"test_acc": accuracy(correct), "val_acc": accuracy(correct[val_index]),
                  "scored_acc": accuracy(correct[scored_index])}
    if holdout_index is not None and len(holdout_index):
        accuracies["holdout_acc"] = accuracy(correct[holdout_index])
    return accuracies


def epoch_row(epoch, stats, accuracies, lr, seconds, if_stats=None):
    """One CSV row (dict keyed by CSV_COLUMNS) of a 0-based epoch; the
    :data:`IF_COLUMNS` are None unless ``if_stats`` gives them."""
    return {**dict.fromkeys(IF_COLUMNS), "epoch": epoch + 1, "train_acc": stats["train_acc"],
            **accuracies, "label_precision": stats["label_precision"],
            "n_keep": stats["n_keep"], "n_unsure": stats["n_unsure"], "n_drop": stats["n_drop"],
            "lr": lr, "seconds": round(seconds, 3), **(if_stats or {})}


def summarize(rows):
    """Final numbers of a run (%): test accuracy at the last epoch, and the mean over the
    last 10 epochs of the test, validation and scored accuracies."""
    def last10(key):
        return float(np.mean([row[key] for row in rows[-10:]]))

    return {"test_acc_last10_mean": last10("test_acc"), "test_acc_last": rows[-1]["test_acc"],
            "val_acc_last10_mean": last10("val_acc"),
            "scored_acc_last10_mean": last10("scored_acc")}


def run(config, overwrite=False):
    """Train one run and write its CSV, plot and (with ``output``) JSON.

    Parameters
    ----------
    config : LSConfig
        Resolved here first (derived settings filled in).
    overwrite : bool, default=False
        Replace an ``output`` that is not the JSON of a run with these settings.

    Returns
    -------
    result : dict
        {"config": ``dataclasses.asdict`` of the resolved config, "data": {n_train,
        n_test, n_val, n_scored, val_index (the held-out test images), actual_noise_rate,
        device}, "epochs": [CSV rows as dicts], "final": {"test_acc_last10_mean",
        "test_acc_last", "val_acc_last10_mean", "scored_acc_last10_mean"}, "files":
        {"csv", "png"}}. Accuracies are percentages.

    Raises
    ------
    TypeError
        When ``config`` is not an LSConfig.
    experiments.cli.ConfigError, data.DataError
    """
    if not isinstance(config, LSConfig):
        raise TypeError(f"run takes an LSConfig, got {type(config).__name__}")
    config = config.resolved()
    check_outputs(config, overwrite)
    csv_path, png_path = run_files(config)
    with output_set({"--output": config.output, "--result_dir (CSV)": csv_path,
                     "--result_dir (plot)": png_path}):
        check_outputs(config, overwrite)  # again under the lock: no run wrote meanwhile
        return _run_checked(config)


def _run_checked(config):
    """The body of :func:`run`, inside its output set."""
    device, notice = select_device(config.gpu)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    arrays, actual_noise = load_data(config)
    val_index, scored_index = validation_split(arrays["y_test"].numpy(), config.seed)
    print(notice)
    print(f"{config.dataset}: {len(arrays['y_train'])} training images, "
          f"{config.noise_type} noise {config.noise_rate}: actual noise rate "
          f"{actual_noise:.4f} (noise seed {config.noise_seed})", flush=True)
    tensors = {key: value.to(device) for key, value in arrays.items()}
    tensors["val_index"] = torch.from_numpy(val_index).to(device)
    tensors["scored_index"] = torch.from_numpy(scored_index).to(device)
    phi_index, holdout_index = influence_split(
        arrays["y_test"].numpy(), val_index,
        config.if_holdout if config.method == "rdia-if" else 0)
    tensors["phi_index"] = torch.from_numpy(phi_index).to(device)
    tensors["holdout_index"] = torch.from_numpy(holdout_index).to(device)
    csv_path, png_path = run_files(config)
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        rows = train(config, tensors, device, csv_path)
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
    plot_curves([staged_path(csv_path)], png_path, labels=[run_name(config)])
    result = {
        "config": dataclasses.asdict(config),
        "data": {"n_train": len(arrays["y_train"]), "n_test": len(arrays["y_test"]),
                 "n_val": len(val_index), "n_scored": len(scored_index),
                 "val_index": val_index.tolist(), "holdout_index": holdout_index.tolist(),
                 "actual_noise_rate": actual_noise, "device": str(device)},
        "epochs": rows,
        "final": summarize(rows),
        "files": {"csv": str(csv_path), "png": str(png_path)},
    }
    if config.output:
        write_json_atomic(config.output, result)
    return result


def train(config, tensors, device, csv_path):
    """The epoch loop: schedule, training, evaluation, CSV after every epoch.

    Parameters
    ----------
    config : LSConfig
        Resolved.
    tensors : dict of Tensor
        The arrays of :func:`load_data`, the val_index and scored_index of
        :func:`validation_split` and the phi_index and holdout_index of
        :func:`influence_split`, on ``device``.
    device : torch.device
    csv_path : Path
        Rewritten atomically after every epoch.

    Returns
    -------
    rows : list of dict
        One per epoch, keyed by CSV_COLUMNS.
    """
    nets, optimizers = build_networks(config, device)
    generator = torch.Generator().manual_seed(config.seed)
    rows, harmful = [], None
    bar = show.steps(range(config.n_epoch), run_name(config), "epoch",
                     None if config.progress else False)
    for epoch in bar:
        started = time.perf_counter()
        lr, beta1 = adam_schedule(epoch, config)
        for optimizer in optimizers:
            set_adam_schedule(optimizer, lr, beta1)
        stats = train_epoch(nets, optimizers, tensors, epoch, config, generator, harmful)
        if_stats = None
        if config.method == "rdia-if":
            seconds = 0.0
            if influence_due(epoch, config):
                phi_started = time.perf_counter()
                harmful, _ = harmful_set(nets[0], tensors, config)
                seconds = time.perf_counter() - phi_started
            if_stats = harmful_stats(harmful, tensors["clean"], seconds)
        accuracies = evaluate(nets[0], tensors["X_test"], tensors["y_test"],
                              tensors["val_index"], tensors["scored_index"],
                              tensors["holdout_index"])
        rows.append(epoch_row(epoch, stats, accuracies, lr, time.perf_counter() - started,
                              if_stats))
        write_csv_atomic(csv_path, CSV_COLUMNS,
                         [[_csv_value(row[key]) for key in CSV_COLUMNS] for row in rows])
        bar.set_postfix(test_acc=f"{accuracies['test_acc']:.2f}")
    bar.close()
    return rows


def _csv_value(value):
    return "" if value is None else value


# ----------------------------------------------------------------------------
# Plot


def read_curve(csv_path):
    """Epochs and test accuracies (%) of a run's CSV, as two float arrays of shape (n_epoch,)."""
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
