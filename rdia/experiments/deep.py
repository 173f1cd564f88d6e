"""The deep-model experiment of RDIA-LS.py: typed config, training loop, run files.

Trains the paper's MLP (MNIST) or 6-conv CNN (CIFAR-10) on training labels corrupted
by a seeded transition matrix, with one of the methods of ``experiments/methods.py``
(``rdia-ls``, ``rdia-if``, ``ce``, ``coteaching``) in the same loop and under the same
schedule (docs/method.md sections 5 and 6). The loop asks the method object for its
number of networks, its per-batch losses and its end-of-epoch hook.

:class:`LSConfig` holds every setting of a run and checks them. :func:`run` is
:func:`prepare` (data, splits, device) and :func:`train` (the epoch loop), and writes,
in ``result_dir``, a per-epoch CSV and a PNG of test accuracy against epoch, named by
:func:`run_name` after every setting that changes the result, and with ``output`` a
JSON of the whole run; benchmarks that need another loop call :func:`prepare` and
:func:`train` with a :class:`Session` of their own. :func:`plot_curves` draws several
runs in one figure.

Every epoch is scored on the whole test set (``test_acc``, the paper's metric) and on
the two parts of a seeded split of it (:func:`validation_split`): 100 held-out images,
10 per class, as the paper's clean validation set (``val_acc``), and the other images
(``scored_acc``), on which a choice made by ``val_acc`` can be scored.
"""

import copy
import csv
import dataclasses
import math
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from rdia import data
from rdia import last_layer
from rdia import progress as show
from rdia import selection
from rdia.data.datasets import dataset_files
from rdia.experiments.cli import ConfigError, check_seed
from rdia.experiments import files
from rdia.experiments.files import (check_not_replacing, check_output_paths, output_set,
                                    save_figure_atomic, staged_path, write_csv_atomic,
                                    write_json_atomic)
from rdia.experiments.methods import IF_COLUMNS, METHODS, format_setting, method_of
from rdia.models import networks

DATASETS = ("mnist", "cifar10")
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

#: ``methods.IF_COLUMNS`` are those that only ``rdia-if`` fills (``holdout_acc``: None
#: when phi sees every validation image). Its harmful set trains with l_R and is
#: counted in ``n_unsure``; ``n_keep`` counts the samples trained with CE.

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

#: Path settings that a run's JSON records relative to the repository.
STORED_PATHS = ("data_dir", "result_dir", "output")

#: Settings that enter a run's name only when they differ from the default, in this
#: order, after the seed (``_<setting><value>``).
NAMED_SETTINGS = ("weight_decay", "n_epoch", "subset", "forget_rate", "num_gradual",
                  "warmup", "epoch_decay_start", "lr", "batch_size", "noise_seed")

#: Settings that only one method reads (``methods.Method.reads``).
METHOD_ONLY = tuple(dict.fromkeys(name for method in METHODS.values() for name in method.reads))


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
        _check_choice("method", self.method, tuple(METHODS))
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


#: The paper's MNIST experiment (docs/method.md section 5): symmetric noise 0.8, gamma 0.2,
#: weight decay 1e-5; the other settings are LSConfig's defaults. Sweeps derive their
#: runs from it with ``dataclasses.replace``.
PAPER_SETTING = LSConfig(dataset="mnist", noise_type="symmetric", noise_rate=0.8,
                         gamma=0.2, weight_decay=1e-5)


def result_settings(config):
    """The resolved settings that change a run's numbers, as a dict.

    All fields of :meth:`LSConfig.resolved` but :data:`NOT_RESULTS` and but the
    settings of :data:`METHOD_ONLY` that the run's method does not read
    (``methods.Method.reads``). Two configs with equal result settings give the same
    run.
    """
    settings = dataclasses.asdict(config.resolved())
    ignored = NOT_RESULTS + tuple(name for name in METHOD_ONLY
                                  if name not in method_of(config).reads)
    return {key: value for key, value in settings.items() if key not in ignored}


def run_files(config):
    """Paths of the per-epoch CSV and the plot of a run, in its ``result_dir``."""
    stem = Path(config.result_dir) / run_name(config)
    return stem.with_name(stem.name + ".csv"), stem.with_name(stem.name + ".png")


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
                       inputs={"--data_dir": dataset_files(config.dataset, config.data_dir)})
    check_not_replacing({"--output": config.output}, config.output,
                        result_settings(config), overwrite)


def run_name(config):
    """File stem of a run, which carries every setting that changes its numbers.

    ``<dataset>_<method>[-<loss>]_<noise_type>_<noise_rate>[_gamma<gamma>][_alpha<alpha>]_seed<seed>``,
    with the parts the method adds (``methods.Method.name_parts``: the loss and the
    (resolved) gamma for ``rdia-ls``, alpha for ``rdia-if``), then
    ``_<setting><value>`` for each of :data:`NAMED_SETTINGS` (and the method's
    ``named_settings``: for ``rdia-if``, ``if_warmup``, ``if_every``, ``if_damping`` and
    ``if_holdout``) whose
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
    method = method_of(c)
    after_method, after_noise = method.name_parts(c)
    name = (f"{c.dataset}_{c.method}{after_method}_{c.noise_type}_"
            f"{format_setting(c.noise_rate)}{after_noise}_seed{c.seed}")
    for key in NAMED_SETTINGS + method.named_settings:
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
        As many as the method trains (``methods.Method.n_networks``).
    optimizers : list of torch.optim.Adam
    """
    torch.manual_seed(config.seed)
    count = method_of(config).n_networks
    nets = [networks.build_model(config.dataset, N_CLASSES).to(device) for _ in range(count)]
    optimizers = [torch.optim.Adam(net.parameters(), lr=config.lr,
                                   betas=(BETA1_START, BETA2),
                                   weight_decay=config.weight_decay) for net in nets]
    return nets, optimizers


def train_epoch(session, tensors, epoch, config):
    """One pass over the shuffled training set with the session's method.

    Parameters
    ----------
    session : Session
        Networks, optimizers, shuffle generator, method and its state.
    tensors : dict of Tensor
        X_train, y_train, clean on the device (see :func:`load_data`).
    epoch : int
        0-based epoch; sets f(e) and the warm-up.
    config : LSConfig
        Resolved.

    Returns
    -------
    stats : dict
        train_acc (% of training-mode predictions equal to the observed labels),
        label_precision (% of the keep set whose label is clean; None for an empty
        keep set), n_keep, n_unsure, n_drop (samples per set over the epoch; for
        co-teaching, the sets of network 1).
    """
    X, y, clean = tensors["X_train"], tensors["y_train"], tensors["clean"]
    nets, optimizers, method = session.nets, session.optimizers, session.method
    device = X.device
    f = selection.forget_rate(epoch, config.forget_rate, config.num_gradual)
    warmup = selection.is_warmup(epoch, config.warmup)
    order = torch.randperm(len(y), generator=session.generator).to(device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    clean_kept = torch.zeros((), dtype=torch.long, device=device)
    sizes = np.zeros(3, dtype=np.int64)
    for net in nets:
        net.train()
    for start, stop in batch_slices(len(y), config.batch_size):
        index = order[start:stop]
        xb, yb = to_float(X[index]), y[index]
        logits = [net(xb) for net in nets]
        losses, keep, batch_sizes = method.batch_losses(logits, yb, index, f, warmup, config,
                                                        session.state)
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


@dataclasses.dataclass
class Prepared:
    """A run ready to train: its resolved config, device and tensors.

    Attributes
    ----------
    config : LSConfig
        Resolved.
    device : torch.device
    notice : str
        The line that says which device runs it.
    tensors : dict of Tensor
        On ``device``: X_train, y_train, clean, X_test, y_test of :func:`load_data`,
        val_index and scored_index of :func:`validation_split`, phi_index and
        holdout_index of :func:`influence_split`.
    data : dict
        n_train, n_test, n_val, n_scored, val_index, holdout_index (lists),
        actual_noise_rate, device: the ``data`` part of :func:`run`'s result.
    """

    config: LSConfig
    device: torch.device
    notice: str
    tensors: dict
    data: dict


def prepare(config):
    """Everything a run needs before its first epoch: device, threads, data, splits.

    Parameters
    ----------
    config : LSConfig
        Resolved here first.

    Returns
    -------
    prepared : Prepared

    Raises
    ------
    experiments.cli.ConfigError, data.DataError
    """
    config = config.resolved()
    device, notice = select_device(config.gpu)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    arrays, actual_noise = load_data(config)
    y_test = arrays["y_test"].numpy()
    val_index, scored_index = validation_split(y_test, config.seed)
    phi_index, holdout_index = influence_split(y_test, val_index,
                                               method_of(config).holdout(config))
    tensors = {key: value.to(device) for key, value in arrays.items()}
    for key, index in (("val_index", val_index), ("scored_index", scored_index),
                       ("phi_index", phi_index), ("holdout_index", holdout_index)):
        tensors[key] = torch.from_numpy(index).to(device)
    data_info = {"n_train": len(arrays["y_train"]), "n_test": len(y_test),
                 "n_val": len(val_index), "n_scored": len(scored_index),
                 "val_index": val_index.tolist(), "holdout_index": holdout_index.tolist(),
                 "actual_noise_rate": actual_noise, "device": str(device)}
    return Prepared(config, device, notice, tensors, data_info)


@dataclasses.dataclass
class Session:
    """The training state of a run between two epochs.

    Attributes
    ----------
    nets, optimizers : list
        From :func:`build_networks`.
    generator : torch.Generator
        CPU generator of the shuffles, seeded with the run's seed.
    method : methods.Method
        The method that trains the next epoch.
    state : object
        The method's state (``methods.Method.start``, ``end_epoch``).
    epoch : int
        0-based epoch that trains next.
    """

    nets: list
    optimizers: list
    generator: torch.Generator
    method: object
    state: object = None
    epoch: int = 0


def start_session(prepared):
    """A fresh :class:`Session`: networks initialised from the seed, epoch 0."""
    config = prepared.config
    nets, optimizers = build_networks(config, prepared.device)
    method = method_of(config)
    return Session(nets, optimizers, torch.Generator().manual_seed(config.seed), method,
                   method.start(prepared.tensors, config))


def copy_session(session, method=None):
    """An independent copy of a session (networks, optimizers, generator, state), with
    ``method`` in place of its method when given; training one leaves the other as it was."""
    nets, optimizers, state = copy.deepcopy((session.nets, session.optimizers, session.state))
    generator = torch.Generator().set_state(session.generator.get_state())
    return Session(nets, optimizers, generator, method or session.method, state,
                   session.epoch)


def run(config, overwrite=False):
    """Train one run and write its CSV, plot and (with ``output``) JSON.

    :func:`check_outputs`, then :func:`prepare` and :func:`train`.

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
        n_test, n_val, n_scored, val_index (the held-out test images), holdout_index,
        actual_noise_rate, device}, "epochs": [CSV rows as dicts], "final":
        {"test_acc_last10_mean", "test_acc_last", "val_acc_last10_mean",
        "scored_acc_last10_mean"}, "files": {"csv", "png"}}. Accuracies are
        percentages. The paths (the files, and :data:`STORED_PATHS` of the config)
        are relative to the repository where they lie inside it
        (``files.stored_path``), so that a clone elsewhere recognises them.

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
    prepared = prepare(config)
    print(prepared.notice)
    print(f"{config.dataset}: {prepared.data['n_train']} training images, "
          f"{config.noise_type} noise {config.noise_rate}: actual noise rate "
          f"{prepared.data['actual_noise_rate']:.4f} (noise seed {config.noise_seed})",
          flush=True)
    csv_path, png_path = run_files(config)
    rows = train(prepared, csv_path=csv_path)
    plot_curves([staged_path(csv_path)], png_path, labels=[run_name(config)])
    paths = {name: files.stored_path(getattr(config, name)) for name in STORED_PATHS}
    result = {
        "config": {**dataclasses.asdict(config), **paths},
        "data": prepared.data,
        "epochs": rows,
        "final": summarize(rows),
        "files": {"csv": files.stored_path(csv_path), "png": files.stored_path(png_path)},
    }
    if config.output:
        write_json_atomic(config.output, result)
    return result


def train(prepared, session=None, n_epochs=None, csv_path=None, on_epoch=None):
    """The epoch loop: schedule, training, the method's hook, evaluation, CSV.

    Parameters
    ----------
    prepared : Prepared
    session : Session, optional
        Where to continue (default: :func:`start_session`); trained in place.
    n_epochs : int, optional
        Epochs to train from ``session.epoch`` (default: up to ``n_epoch``).
    csv_path : Path, optional
        Rewritten atomically after every epoch.
    on_epoch : callable, optional
        ``on_epoch(row, session)`` after every epoch, e.g. to read the method's state.

    Returns
    -------
    rows : list of dict
        One per epoch, keyed by CSV_COLUMNS.
    """
    config = prepared.config
    session = start_session(prepared) if session is None else session
    stop = config.n_epoch if n_epochs is None else session.epoch + n_epochs
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        rows = []
        bar = show.steps(range(session.epoch, stop), run_name(config), "epoch",
                         None if config.progress else False)
        for epoch in bar:
            rows.append(train_one_epoch(session, prepared, epoch))
            session.epoch = epoch + 1
            if csv_path is not None:
                write_csv_atomic(csv_path, CSV_COLUMNS,
                                 [[_csv_value(row[key]) for key in CSV_COLUMNS] for row in rows])
            if on_epoch is not None:
                on_epoch(rows[-1], session)
            bar.set_postfix(test_acc=f"{rows[-1]['test_acc']:.2f}")
        bar.close()
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
    return rows


def train_one_epoch(session, prepared, epoch):
    """Train, hook and evaluate one 0-based epoch; its CSV row (dict)."""
    config, tensors = prepared.config, prepared.tensors
    started = time.perf_counter()
    lr, beta1 = adam_schedule(epoch, config)
    for optimizer in session.optimizers:
        set_adam_schedule(optimizer, lr, beta1)
    stats = train_epoch(session, tensors, epoch, config)
    session.state, method_stats = session.method.end_epoch(epoch, session.nets, tensors,
                                                           config, session.state)
    accuracies = evaluate(session.nets[0], tensors["X_test"], tensors["y_test"],
                          tensors["val_index"], tensors["scored_index"],
                          tensors["holdout_index"])
    return epoch_row(epoch, stats, accuracies, lr, time.perf_counter() - started, method_stats)


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
