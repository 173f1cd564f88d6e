"""One config for every logistic-regression run of RDIA.py, and its one validation.

A run reads one of three **sources** (``RunConfig.source``: ``benchmark``, ``shards``
or ``files``, described in ``experiments/sources.py``) and runs on one **engine**
(``memory`` or ``dask``). :data:`APPLIES_TO` says which setting a source takes;
:func:`check` refuses the first bad setting in one line that names its flag, and
:func:`run_name` names a run by every setting that changes its numbers.
"""

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional, Union

from rdia import edits, influence
from rdia.data.datasets import IMAGE_SHAPES, MULTICLASS_DATASETS
from rdia.data.noise import NOISE_TYPES
from rdia.data.shards import is_sharded
from rdia.data.tables import check_not_folder, file_kind
from rdia.models.logreg import LEARNERS
from rdia.settings import (MODELS, ConfigError, check_alpha, check_choice, check_count,
                           check_fit_settings, check_fraction, is_finite_number)

ENGINES = ("memory", "dask")

#: Methods of a run unless --methods says otherwise (cleanlab's cost 5 fits each).
DEFAULT_METHODS = ("full", "random", "drop", "uids", "rdia", "clean")

#: Methods a source cannot offer: clean needs the true labels, which your files lack;
#: cleanlab's edits cross-fit on all rows at once, which shards never are.
NOT_OFFERED = {"files": ("clean",), "shards": ("cleanlab-prune", "cleanlab-relabel"),
               "benchmark": ()}

#: Settings that only some sources take (the others take every source).
APPLIES_TO = {
    **dict.fromkeys(("dataset", "noise", "noise_type", "val_ratio", "test_file"),
                    ("benchmark", "shards")),  # the sources whose noise the run adds
    "data_dir": ("benchmark",), "learner": ("benchmark", "files"),
    **dict.fromkeys(("val", "test", "label_column", "drop_columns", "impute"), ("files",))}

#: Settings that never change the numbers: not in a run's name or recorded settings.
NOT_RESULTS = ("data_dir", "engine", "scheduler", "workers")

#: Settings a run name carries when off their default: (setting, short name).
NAME_EXTRAS = (("test_file", "test"), ("test", "test"), ("drop_columns", "drop"),
               ("impute", "impute"), ("model", "model"), ("C", "C"),
               ("val_ratio", "val"), ("methods", "methods"), ("solver", "solver"),
               ("tol", "tol"), ("max_iter", "maxiter"), ("learner", "learner"))


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one logistic-regression RDIA run; None means the default.

    Each attribute is the ``RDIA.py`` flag of the same name (``noise_type`` is
    ``--noise-type``); ``python RDIA.py --help`` says what each does and its default,
    and :data:`APPLIES_TO` which source takes it (``dataset``, or your ``train``, ``val``
    and ``test``). ``alpha`` is a threshold >= 0 in units of C x summed validation
    log-loss, or "auto" (the Python API's repair, the default for your files);
    ``methods`` are keys of ``edits.EDITS`` in table order. :meth:`resolved` fills in
    the defaults that do not depend on the data; :func:`check` runs on creation.
    """

    dataset: Optional[str] = None
    train: Optional[str] = None
    val: Optional[str] = None
    test: Optional[str] = None
    label_column: Optional[str] = None
    drop_columns: tuple = ()
    impute: bool = False
    test_file: Optional[str] = None
    model: Optional[str] = None
    noise_type: Optional[str] = None
    noise: Optional[float] = None
    val_ratio: Optional[float] = None
    alpha: Union[float, str, None] = None
    seed: int = 0
    C: float = 0.1
    methods: Optional[tuple] = None
    solver: str = "cg"
    tol: float = influence.DEFAULT_TOL
    max_iter: int = 1000
    learner: Optional[str] = None
    engine: str = "memory"
    scheduler: Optional[str] = None
    workers: Optional[int] = None
    data_dir: Optional[str] = None

    def __post_init__(self):
        object.__setattr__(self, "drop_columns", tuple(self.drop_columns))
        if self.methods is not None:
            object.__setattr__(self, "methods", tuple(self.methods))
        check(self)

    @property
    def source(self):
        """"files", "shards" or "benchmark"."""
        if self.train is not None:
            return "files"
        return "shards" if self.dataset is not None and is_sharded(self.dataset) \
            else "benchmark"

    @property
    def noise_known(self):
        """Whether the true labels are known: not for your own files."""
        return self.source != "files"

    @property
    def image_shape(self):
        """(height, width) of the rows of a named image dataset, else None."""
        return IMAGE_SHAPES.get(self.dataset or "cancer") if self.source == "benchmark" \
            else None

    def resolved(self):
        """A copy with every default filled in that does not depend on the data."""
        benchmark = self.source != "files"
        return replace(
            self, dataset="cancer" if self.dataset is None and benchmark else self.dataset,
            alpha=self.alpha if self.alpha is not None else 0.0002 if benchmark else "auto",
            noise=self.noise if self.noise is not None or not benchmark else 0.4,
            val_ratio=self.val_ratio if self.val_ratio is not None or not benchmark
            else 0.3,
            methods=self.methods or tuple(m for m in DEFAULT_METHODS
                                          if m not in NOT_OFFERED[self.source]),
            learner=self.learner or ("newton" if self.source in APPLIES_TO["learner"]
                                     else None),
            workers=self.workers or (2 if self.engine == "dask" and not self.scheduler
                                     else None),
            model=self.model or default_model(self))


def default_model(config):
    """The model a source implies before its data is read: softmax for the named
    K-class datasets, logreg for other benchmarks, None (decided by the labels) else."""
    if config.source != "benchmark":
        return None
    return "softmax" if (config.dataset or "cancer") in MULTICLASS_DATASETS else "logreg"


def flag(setting):
    return "--" + setting.replace("_", "-")


def check(config):
    """Raise ConfigError with one line for the first bad setting of ``config``."""
    source = config.source
    for setting, sources in APPLIES_TO.items():
        if getattr(config, setting) not in (None, False, ()) and source not in sources:
            raise ConfigError(f"{flag(setting)} does not apply to {describe_source(source)}")
    if source == "files" and config.val is None:
        raise ConfigError("--train needs --val: a trusted validation file with the "
                          "training file's columns")
    if config.alpha is not None:
        check_alpha(config.alpha, auto=True)
    check_fit_settings(config)
    if config.noise is not None and not (is_finite_number(config.noise)
                                         and 0.0 <= config.noise < 1.0):
        raise ConfigError(f"--noise must be a number in [0, 1), got {config.noise}")
    if config.val_ratio is not None:
        check_fraction(config.val_ratio, "--val-ratio")
    for setting, choices in (("model", MODELS), ("noise_type", NOISE_TYPES),
                             ("solver", tuple(influence.SOLVERS)),
                             ("learner", tuple(LEARNERS)), ("engine", ENGINES)):
        if getattr(config, setting) is not None:
            check_choice(getattr(config, setting), choices, flag(setting))
    check_methods(config.methods, source)
    check_model(config)
    check_engine(config)
    if source == "files":
        check_file_flags(config)


def describe_source(source):
    return {"files": "your own files (--train): their labels are used as they are",
            "shards": "a dataset written as shards",
            "benchmark": "a benchmark dataset: give your own files with --train"}[source]


def check_methods(methods, source):
    if methods is None:
        return
    offered = [m for m in edits.EDITS if m not in NOT_OFFERED[source]]
    bad = [m for m in methods if m not in offered]
    if bad or not methods:
        why = " (not offered for " + describe_source(source).split(":")[0] + ")" \
            if bad and bad[0] in edits.EDITS else ""
        raise ConfigError(f"--methods: {bad[0] if bad else '(empty)'}{why}; choose "
                          f"from {','.join(offered)}")


def check_model(config):
    model = config.model or default_model(config)
    if model == "logreg" and config.source == "benchmark" \
            and (config.dataset or "cancer") in MULTICLASS_DATASETS:
        raise ConfigError(f"--dataset {config.dataset} has 10 classes; binary logreg "
                          f"cannot fit it, use --model softmax")
    if model == "softmax" and config.learner not in (None, "newton"):
        raise ConfigError(f"--learner {config.learner} fits binary logreg only; softmax "
                          f"runs are fitted by trust-region Newton")
    if model == "logreg" and config.noise_type is not None:
        raise ConfigError("--noise-type applies to --model softmax; binary runs flip "
                          "exactly floor(noise * n_train) labels")


def check_engine(config):
    if config.engine != "dask" and (config.scheduler or config.workers is not None):
        raise ConfigError(f"{'--scheduler' if config.scheduler else '--workers'} "
                          f"applies to --engine dask")
    if config.engine == "dask" and config.solver != "cg":
        raise ConfigError("--engine dask solves with cg only: the direct solver needs "
                          "the dense Hessian in one process")
    if config.engine == "dask" and config.learner == "liblinear":
        raise ConfigError("--learner liblinear runs in memory only; --engine dask fits "
                          "by trust-region Newton on the partitions")
    if config.workers is not None:
        check_count(config.workers, "--workers")


def check_file_flags(config):
    """--label-column and --drop-columns depend on the training file's format."""
    for setting in ("train", "val", "test"):
        check_not_folder(getattr(config, setting), flag(setting))
    libsvm = file_kind(config.train) == "libsvm"
    name = Path(config.train).name
    for setting in ("label_column", "drop_columns"):
        if libsvm and getattr(config, setting) not in (None, ()):
            raise ConfigError(f"{flag(setting)} applies to CSV and Parquet files; {name} is "
                              f"read as LIBSVM, whose first token is the label")
    if not libsvm and config.label_column is None:
        raise ConfigError(f"--label-column is required for {name}: name the column "
                          f"that holds the labels")


# ------------------------------------------------------------------------ run names

def run_name(config):
    """A file-name stem that carries every setting that changes the numbers, whole.

    ``rdia-<data>[-<noise type or "noise"><rate>]-alpha<alpha>-seed<seed>``, then
    ``-<short><value>`` for each setting of :data:`NAME_EXTRAS` off its default, e.g.
    ``rdia-cancer-noise0.8-alpha0.0002-seed0-C1.0``. ``<data>`` is the dataset's name,
    the shards' folder, or ``<train>-val<val>[-label<column>]`` for your files. Numbers
    are written in full (Python's shortest round-trip form); characters other than
    letters, digits and ``._+-`` become ``_``.
    """
    config = config.resolved()
    if config.source == "files":
        data = f"{Path(config.train).name}-val{Path(config.val).name}"
        data += f"-label{config.label_column}" if config.label_column else ""
        noise = ""
    else:
        data = data_label(config.dataset)
        noise = f"-{config.noise_type or 'noise'}{name_value(float(config.noise))}"
    name = f"rdia-{data}{noise}-alpha{name_value(config.alpha)}-seed{config.seed}"
    default = RunConfig(dataset=config.dataset, train=config.train, val=config.val,
                        label_column=config.label_column).resolved()
    for setting, short in NAME_EXTRAS:
        value = getattr(config, setting)
        if value != getattr(default, setting):
            name += f"-{short}{name_value(value)}"
    return "".join(c if c.isalnum() or c in "._+-" else "_" for c in name)


def data_label(dataset):
    """A dataset's name: as given, a file's name, or a shard folder's or glob's last
    part with glob characters as '_'."""
    name = Path(dataset.rstrip("/")).name or "shards"
    return name if Path(dataset).exists() or any(c in name for c in "*?[]") else dataset


def name_value(value):
    if isinstance(value, tuple):
        return "+".join(value)
    if isinstance(value, bool):
        return ""
    if isinstance(value, float):  # in full: the shortest round-trip form (1e-05, 0.1)
        return repr(value)
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return Path(value.rstrip("/")).name
    return str(value)


def settings(config):
    """The settings of a run as its JSON records them (defaults filled in, tuples as
    lists, without :data:`NOT_RESULTS`): what a rerun is compared with."""
    values = asdict(config.resolved())
    for key in NOT_RESULTS:
        values.pop(key)
    return {key: list(value) if isinstance(value, tuple) else value
            for key, value in values.items()}

