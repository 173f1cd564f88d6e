"""The RDIA experiment for L2 logistic regression (docs/method.md section 4), as an engine.

1. load a dataset and take the last ``val_ratio`` of its training part as a clean
   validation set;
2. inject label noise: exactly floor(noise * n_train) flips for two classes, or a
   transition matrix (``noise_type``) for K;
3. fit the model (``models.logreg.Logistic``, trust-region Newton or liblinear, or
   ``models.softmax.Softmax``);
4. compute phi of every training sample (``influence.py``);
5. fit every method's training set (``edits.EDITS``: full, random, drop, uids, rdia,
   clean, cleanlab-*) and evaluate it on validation and test.

``LRConfig`` holds every setting that changes the numbers; ``run(config)`` returns a
report dictionary, with the seconds (``timings``) and the passes over X (``work``) of
every stage; ``format_table``, ``influence_table`` and ``plot_influence`` render it.
Sweeps build configs with ``dataclasses.replace``.
"""

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from rdia import edits
from rdia import influence
from rdia import progress as show
from rdia import relabel
from rdia.data.datasets import (MULTICLASS_DATASETS, load_binary,
                           load_multiclass, split_validation)
from rdia.data.noise import NOISE_TYPES, apply_transition, flip_binary, transition_matrix
from rdia.experiments.cli import ConfigError, check_seed
from rdia.experiments.files import save_figure_atomic
from rdia.models.logreg import LEARNERS, Logistic
from rdia.models.softmax import Softmax

#: Methods of a run by default (the cleanlab edits are opt-in: they cost 5 fits).
DEFAULT_METHODS = ("full", "random", "drop", "uids", "rdia", "clean")

MODELS = ("logreg", "softmax")

#: Range of C where the fit is well posed in double precision: at C = 1e-300 the
#: gradient underflows and liblinear never meets its stopping test; at 1e300 the loss
#: overflows. Large C (weak regularisation) is slow on nearly separable data.
C_RANGE = (1e-8, 1e8)

#: Datasets whose asymmetric noise uses the class pairs that data.noise defines for
#: another name (digits are digits: the MNIST pairs 7->1, 2->7, 5<->6, 3->8).
ASYMMETRIC_PAIRS = {"mnist10": "mnist", "digits": "mnist"}


@dataclass(frozen=True)
class LRConfig:
    """Every setting of one logistic-regression RDIA run.

    Attributes
    ----------
    dataset : str
        A name of ``data.datasets`` (binary or K-class) or the path of a LIBSVM file.
    model : {"logreg", "softmax"} or None
        None: softmax for the K-class datasets, else logreg (see :attr:`model_name`).
    noise_type : str or None
        softmax only: a transition matrix of ``data.noise``; None: exact flips for
        two classes, symmetric for more.
    test_file : str or None
        LIBSVM test file for a dataset given by path.
    noise : float
        Fraction of training labels flipped (the noise rate with a noise type), [0, 1).
    alpha : float
        Harmfulness threshold >= 0, in units of C x summed validation log-loss.
    seed : int
        Seed of the split, the noise and the sampling edits.
    C : float
        Weight of the summed loss in J(w) = |w|^2 / 2 + C sum l.
    val_ratio : float
        Last fraction of the training part used as clean validation set, (0, 1).
    methods : tuple of str
        Keys of ``edits.EDITS``, in table order.
    solver, tol, max_iter
        Inverse-HVP solver (a key of ``influence.SOLVERS``), cg's relative residual
        and iteration limit.
    learner : {"newton", "liblinear"}
        The binary model's minimiser (``models.logreg.LEARNERS``): the project's
        trust-region Newton method, or liblinear, the paper's reference learner.
    data_dir : str or None
        Dataset folder (default: ``$RDIA_DATA_DIR``, else ``datasets/``).

    Raises
    ------
    experiments.cli.ConfigError
        On construction, for a value out of range (one line naming the flag).
    """

    dataset: str = "cancer"
    model: Optional[str] = None
    noise_type: Optional[str] = None
    test_file: Optional[str] = None
    noise: float = 0.4
    alpha: float = 0.0002
    seed: int = 0
    C: float = 0.1
    val_ratio: float = 0.3
    methods: tuple = DEFAULT_METHODS
    solver: str = "cg"
    tol: float = influence.DEFAULT_TOL
    max_iter: int = 1000
    learner: str = "newton"
    data_dir: Optional[str] = None

    def __post_init__(self):
        object.__setattr__(self, "methods", tuple(self.methods))
        check_config(self)

    @property
    def model_name(self):
        """The model of the run: ``model``, or the dataset's default."""
        if self.model is not None:
            return self.model
        return "softmax" if self.dataset in MULTICLASS_DATASETS else "logreg"


def check_config(config):
    """Raise ConfigError with a one-line message for the first bad setting."""
    if not _finite(config.noise) or not 0.0 <= config.noise < 1.0:
        raise ConfigError(f"--noise must be a number in [0, 1), got {config.noise}")
    if not _finite(config.alpha) or not config.alpha >= 0.0:
        raise ConfigError(f"--alpha must be a finite number >= 0, got {config.alpha}")
    if not _finite(config.val_ratio) or not 0.0 < config.val_ratio < 1.0:
        raise ConfigError(f"--val-ratio must be in (0, 1), got {config.val_ratio}")
    check_fit_settings(config)
    unknown = [m for m in config.methods if m not in edits.EDITS]
    if unknown or not config.methods:
        raise ConfigError(f"--methods: unknown {', '.join(unknown) or '(empty)'}; "
                          f"choose from {','.join(edits.EDITS)}")
    if config.model not in (None,) + MODELS:
        raise ConfigError(f"--model: unknown {config.model!r}; choose from {', '.join(MODELS)}")
    if config.solver not in influence.SOLVERS:
        raise ConfigError(f"--solver: unknown {config.solver!r}; choose from "
                          f"{', '.join(influence.SOLVERS)}")
    if config.noise_type is not None and config.noise_type not in NOISE_TYPES:
        raise ConfigError(f"--noise-type: unknown {config.noise_type!r}; choose from "
                          f"{', '.join(NOISE_TYPES)}")
    if config.model_name == "logreg" and config.dataset in MULTICLASS_DATASETS:
        raise ConfigError(f"--dataset {config.dataset} has 10 classes; binary logreg "
                          f"cannot fit it, use --model softmax")
    if config.learner not in LEARNERS:
        raise ConfigError(f"--learner: unknown {config.learner!r}; choose from "
                          f"{', '.join(LEARNERS)}")
    if config.model_name == "softmax" and config.learner != "newton":
        raise ConfigError(f"--learner {config.learner} fits binary logreg only; softmax "
                          f"runs are fitted by trust-region Newton")
    if config.model_name == "logreg" and config.noise_type is not None:
        raise ConfigError("--noise-type applies to --model softmax; binary runs flip "
                          "exactly floor(noise * n_train) labels")


def check_fit_settings(config):
    """Raise ConfigError for a bad C, tol, max_iter or seed: the settings of the fit and
    of the solve that every RDIA.py config has (benchmark and own-data runs)."""
    if not _finite(config.C) or not C_RANGE[0] <= config.C <= C_RANGE[1]:
        raise ConfigError(f"--C must be in [{C_RANGE[0]:g}, {C_RANGE[1]:g}], got "
                          f"{config.C}: outside it the fit under- or overflows in "
                          f"double precision")
    if not _finite(config.tol) or not 0.0 < config.tol < 1.0:
        raise ConfigError(f"--tol must be in (0, 1), got {config.tol}")
    if config.max_iter < 1:
        raise ConfigError(f"--max-iter must be >= 1, got {config.max_iter}")
    check_seed(config.seed)


def _finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


#: Settings that never change the numbers of a run (left out of its name and of the
#: comparison with a previous run's files).
NOT_RESULTS = ("data_dir",)

#: Short names of the settings that a run name carries only when they differ from
#: LRConfig's defaults, in the order they are appended.
NAME_EXTRAS = (("model", "model"), ("test_file", "test"), ("C", "C"),
               ("val_ratio", "val"), ("methods", "methods"), ("solver", "solver"),
               ("tol", "tol"), ("max_iter", "maxiter"), ("learner", "learner"))


def run_name(config):
    """A file-name stem that carries every setting that changes the numbers, whole.

    ``rdia-<dataset>-noise<noise>-alpha<alpha>-seed<seed>``, e.g.
    ``rdia-cancer-noise0.8-alpha0.0002-seed0``; runs with a noise type name it instead
    of "noise" (``rdia-mnist10-symmetric0.5-alpha0.001-seed0``), and each other
    setting that differs from LRConfig's default is appended as ``-<name><value>``
    (``-C1.0``, ``-methodsfull+rdia``). Numbers are written in full (Python's shortest
    round-trip form), so two different values never share a name. A dataset given by
    path is named by its file name; two files of the same name are told apart by the
    settings recorded in the run's JSON (see :func:`settings`).
    """
    dataset = _file_name(config.dataset)
    noise = "noise" if config.noise_type is None else config.noise_type
    name = f"rdia-{dataset}-{noise}{_number(config.noise)}-alpha{_number(config.alpha)}" \
           f"-seed{config.seed}"
    default = LRConfig(dataset=config.dataset)
    for field, short in NAME_EXTRAS:
        value, usual = getattr(config, field), getattr(default, field)
        if field == "model":
            value, usual = config.model_name, default.model_name
        if value != usual:
            name += f"-{short}{_name_value(value)}"
    return name


def settings(config):
    """The settings of a run as its JSON records them, for comparison with a previous run.

    ``asdict(config)`` without the settings of :data:`NOT_RESULTS`, with ``methods`` as
    a list and ``model`` resolved; ``noise_type`` is left out when it is None (its
    resolved value follows from the dataset, which is compared).
    """
    values = {key: value for key, value in asdict(config).items() if key not in NOT_RESULTS}
    values.update(model=config.model_name, methods=list(config.methods))
    if config.noise_type is None:
        del values["noise_type"]
    return values


def _file_name(dataset):
    return Path(dataset).name if Path(dataset).exists() else dataset


def _number(value):
    """A float in full: repr's shortest round-trip form (0.0002, 1e-05, 0.1)."""
    return repr(float(value))


def _name_value(value):
    if isinstance(value, tuple):
        return "+".join(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return _file_name(value)
    return str(value)


@dataclass
class NoisySplit:
    """The data of one run: noisy training set, clean validation and test sets.

    Attributes
    ----------
    dataset : data.Dataset
        The loaded dataset.
    model : models.linear.LinearModel
        ``Logistic()`` or ``Softmax(K)``.
    X_train : ndarray or CSR matrix of shape (n_train, n_features)
    y_clean, y_noisy : ndarray of shape (n_train,)
        True and observed training labels, in 0 .. K - 1.
    noisy : ndarray of bool, shape (n_train,)
        Samples whose label the noise changed.
    X_val, y_val, X_test, y_test
        Clean validation (last ``val_ratio`` of the training part) and test sets.
    """

    dataset: object
    model: object
    X_train: object
    y_clean: np.ndarray
    y_noisy: np.ndarray
    noisy: np.ndarray
    X_val: object
    y_val: np.ndarray
    X_test: object
    y_test: np.ndarray

    @property
    def n_classes(self):
        return len(self.dataset.classes)


def make_model(model_name, n_classes, learner="newton", progress=None):
    """The :class:`models.linear.LinearModel` called ``model_name`` for K = n_classes.

    ``learner`` is the binary model's minimiser; ``progress`` shows the Newton fits'
    progress bar (None: on a terminal only).
    """
    if model_name == "logreg":
        return Logistic(learner=learner, progress=progress)
    return Softmax(n_classes, progress=progress)


def prepare_data(config, progress=None):
    """Load, split off validation and inject noise, all seeded by ``config.seed``.

    ``progress`` goes to the model's Newton fits (None: a bar on a terminal only).

    Returns
    -------
    split : NoisySplit

    Raises
    ------
    data.DataError
        For a missing, corrupt or unsuitable file.
    """
    load = load_binary if config.model_name == "logreg" else load_multiclass
    dataset = load(config.dataset, data_dir=config.data_dir, test_file=config.test_file,
                   seed=config.seed)
    X_train, y_clean, X_val, y_val = split_validation(dataset.X_train, dataset.y_train,
                                                      config.val_ratio)
    noise_seed = edits.child_seed(config.seed, edits.NOISE_STREAM)
    y_noisy, noisy = add_label_noise(config, dataset, y_clean, noise_seed)
    model = make_model(config.model_name, len(dataset.classes), config.learner, progress)
    return NoisySplit(dataset=dataset, model=model,
                      X_train=X_train, y_clean=y_clean, y_noisy=y_noisy, noisy=noisy,
                      X_val=X_val, y_val=y_val, X_test=dataset.X_test,
                      y_test=dataset.y_test)


def applied_noise_type(config, n_classes):
    """The transition-matrix noise of a run, or None for exact binary flips."""
    if config.noise_type is None and n_classes == 2:
        return None
    return config.noise_type or "symmetric"


def add_label_noise(config, dataset, y_clean, seed):
    """Noisy training labels and the mask of changed ones.

    Exact flips of floor(noise * n) labels for two classes without a noise type (the
    paper's convention, docs/method.md 4); otherwise each label is resampled from the
    transition matrix of the noise type (symmetric by default) at rate ``noise``.
    """
    n_classes = len(dataset.classes)
    noise_type = applied_noise_type(config, n_classes)
    if noise_type is None:
        return flip_binary(y_clean, config.noise, seed)
    T = transition_matrix(noise_type, n_classes, config.noise,
                          dataset=ASYMMETRIC_PAIRS.get(dataset.name, dataset.name))
    return apply_transition(y_clean, T, seed)


def training_problem(split, phi, config):
    """The :class:`edits.TrainingProblem` that every edit of a run sees."""
    return edits.TrainingProblem(X=split.X_train, y_noisy=split.y_noisy,
                                 y_clean=split.y_clean, phi=phi, alpha=config.alpha,
                                 C=config.C, model=split.model)


def fit_edit(split, edit, C, W0=None):
    """Fit the model on the training set of an :class:`edits.Edit`.

    The rows are those of ``edits.training_set``: X itself, with the left-out rows
    weighted 0 when the edit keeps at least half of them, so X is not copied. ``W0``
    is the starting point of a Newton or L-BFGS fit (liblinear ignores it): the full
    fit's weights, so that a refit needs fewer iterations (on mnist10 at noise 0.5 the
    RDIA refit took 170 passes over X from them and 184 from zero, to the same
    minimiser).

    Returns
    -------
    result : models.linear.FitResult
        The weights (``W``) and the passes over X of the fit.
    """
    rows = edits.training_set(split.X_train, edit)
    return split.model.minimise(rows.X, rows.labels, C, rows.relabeled, W0=W0,
                                weights=rows.weights)


def score_edit(method, split, edit, W):
    """Evaluate the weights fitted on one method's training set; its ``results`` row.

    Returns
    -------
    row : dict
        ``method``, ``test_logloss``, ``test_accuracy``, ``test_auc``, ``val_logloss``,
        ``n_train_used``, ``n_relabeled``, ``n_removed``, ``precision``, ``recall``.
    """
    test = split.model.evaluate(W, split.X_test, split.y_test)
    val = split.model.evaluate(W, split.X_val, split.y_val)
    precision = recall = None
    if edit.selected is not None:
        precision, recall = edits.selection_quality(edit.selected, split.noisy)
    n = len(split.y_noisy)
    return dict(method=method,
                test_logloss=test["logloss"], test_accuracy=test["accuracy"],
                test_auc=test["auc"], val_logloss=val["logloss"],
                n_train_used=int(len(edit.keep)),
                n_relabeled=int(edit.relabeled.sum()) if edit.relabeled is not None else 0,
                n_removed=n - int(len(edit.keep)),
                precision=precision, recall=recall)


def method_stage(method, split, problem, config, W0=None):
    """Fit and score one method's training set, timed.

    Returns
    -------
    row : dict
        The ``results`` row of :func:`score_edit`.
    stage : dict
        ``fit_seconds`` and ``evaluate_seconds``, and the fit's work
        (:func:`fit_work`).
    """
    edit = edits.EDITS[method](problem, config.seed)
    start = time.perf_counter()
    fit = fit_edit(split, edit, config.C, W0)
    fitted = time.perf_counter()
    row = score_edit(method, split, edit, fit.W)
    return row, dict(fit_seconds=fitted - start,
                     evaluate_seconds=time.perf_counter() - fitted, **fit_work(fit))


def run_method(method, split, problem, config, W0=None):
    """Fit one method's training set and evaluate it; one row of ``results``.

    Parameters
    ----------
    method : str
        A key of ``edits.EDITS``.
    split : NoisySplit
    problem : edits.TrainingProblem
        From :func:`training_problem` (shared by the methods of a run).
    config : LRConfig
    W0 : ndarray, optional
        Starting point of the fit: the full fit's weights.

    Returns
    -------
    row : dict
        See :func:`score_edit`.
    """
    return method_stage(method, split, problem, config, W0)[0]


def fit_work(result):
    """The work of a fit as the JSON records it: learner, iterations, Hessian-vector
    products, passes over X (None for liblinear, which does not count them) and Gram
    matrices computed."""
    return dict(learner=result.method, iterations=int(result.n_iter),
                hvp=int(result.n_hvp), passes=result.passes, grams=int(result.n_gram),
                preconditioner=result.preconditioner)


def phi_work(solver):
    """The work of the phi stage: CG iterations, passes over X, Gram matrices computed."""
    return dict(solver=solver.name, iterations=int(solver.n_iter_),
                passes=influence.influence_passes(solver), grams=int(solver.n_gram_),
                preconditioner=getattr(solver, "preconditioner_", None))


def fit_and_influence(split, config, progress=None):
    """The full fit on the noisy labels and phi of every training sample.

    Returns
    -------
    fit : models.linear.FitResult
        Its ``W``: (n_features,) for logreg, (n_features, K) for softmax.
    phi : ndarray of shape (n_train,)
    solver : influence.InverseHVPSolver
        With ``n_iter_`` and ``residual_`` set.
    seconds : dict
        ``fit`` and ``influence`` wall times.
    """
    start = time.perf_counter()
    fit = split.model.minimise(split.X_train, split.y_noisy, config.C)
    fitted = time.perf_counter()
    show.stage_done("fit", fitted - start, progress)
    solver = influence.make_solver(config.solver, tol=config.tol, max_iter=config.max_iter)
    phi = influence.influence(split.model, fit.W, split.X_train, split.y_noisy,
                              split.X_val, split.y_val, config.C, solver)
    return fit, phi, solver, dict(fit=fitted - start, influence=time.perf_counter() - fitted)


def run(config, progress=None):
    """Run the whole experiment of ``config``.

    Parameters
    ----------
    config : LRConfig
    progress : bool or None, default=None
        Progress bars of the refits and of the Newton fits: None shows them on a
        terminal only.

    Returns
    -------
    report : dict
        ``config`` (the settings and the data sizes), ``results`` (one dict per
        method), ``timings`` (seconds: ``load``, ``fit``, ``influence``, ``methods``
        with its parts ``refits`` (per method) and ``evaluation``), ``work`` (per
        stage: iterations and passes over the training X, :func:`fit_work` and
        :func:`phi_work`) and ``solver``; also ``phi`` (ndarray, n_train) and ``split``
        (:class:`NoisySplit`) for callers that want the samples. The last two are not
        written to JSON.

    Raises
    ------
    data.DataError, influence.ConvergenceError, models.linear.DenseHessianTooLarge,
    models.linear.FitError
    """
    timings = {}
    start = time.perf_counter()
    split = prepare_data(config, progress)
    timings["load"] = time.perf_counter() - start
    show.stage_done("load", timings["load"], progress)
    # Refuse before fitting, not after: the dense Hessian has one row per parameter.
    influence.check_solver_size(config.solver,
                                split.dataset.n_features * split.model.n_columns)

    fit, phi, solver, seconds = fit_and_influence(split, config, progress)
    timings.update(seconds)
    show.stage_done("influence", seconds["influence"], progress)
    work = dict(fit=fit_work(fit), phi=phi_work(solver), refits={})

    start = time.perf_counter()
    problem = training_problem(split, phi, config)
    results, timings["refits"], timings["evaluation"] = [], {}, 0.0
    for method in show.steps(config.methods, "refit", "method", progress, leave=False):
        row, stage = method_stage(method, split, problem, config, fit.W)
        results.append(row)
        timings["refits"][method] = stage.pop("fit_seconds")
        timings["evaluation"] += stage.pop("evaluate_seconds")
        work["refits"][method] = stage
    timings["methods"] = time.perf_counter() - start
    return dict(config=describe(config, split, phi), results=results, timings=timings,
                work=work, solver=dict(name=solver.name, iterations=int(solver.n_iter_),
                                       residual=float(solver.residual_)),
                phi=phi, split=split)


def describe(config, split, phi):
    """The ``config`` entry of a report: the settings and what the data turned out to be."""
    dataset = split.dataset
    return dict(asdict(config), model=config.model_name, methods=list(config.methods),
                dataset_name=dataset.name, n_train=len(split.y_noisy),
                n_val=len(split.y_val), n_test=len(split.y_test),
                n_features=int(dataset.n_features), n_classes=split.n_classes,
                n_dropped_features=int(dataset.n_dropped_features),
                noise_type=applied_noise_type(config, split.n_classes),
                n_flipped=int(split.noisy.sum()),
                n_harmful=int(relabel.harmful_mask(phi, config.alpha).sum()))


# --------------------------------------------------------------------------- rendering

#: Columns of the summary table after the method: (header, key of a results row, width).
TABLE_COLUMNS = (("test_logloss", "test_logloss", 12), ("test_acc", "test_accuracy", 9),
                 ("test_auc", "test_auc", 9), ("val_logloss", "val_logloss", 11),
                 ("n_used", "n_train_used", 7), ("relabeled", "n_relabeled", 9),
                 ("removed", "n_removed", 8), ("precision", "precision", 9),
                 ("recall", "recall", 7))


def format_table(report):
    """The summary table printed at the end of a run, as a string.

    With more than two classes accuracy, the headline metric there, comes first.
    """
    cfg = report["config"]
    columns = list(TABLE_COLUMNS)
    if cfg["n_classes"] > 2:
        columns[0], columns[1] = columns[1], columns[0]
    features = f"features {cfg['n_features']}"
    if cfg["model"] == "softmax":
        features += f", classes {cfg['n_classes']} (softmax)"
    noise = f"noise {cfg['noise']:g}"
    if cfg["noise_type"] is not None:
        noise = f"noise {cfg['noise_type']} {cfg['noise']:g}"
    lines = [f"dataset {cfg['dataset_name']}: train {cfg['n_train']}, val {cfg['n_val']}, "
             f"test {cfg['n_test']}, {features} | {noise} "
             f"({cfg['n_flipped']} flipped) | alpha {cfg['alpha']:g}: "
             f"{cfg['n_harmful']} harmful | C {cfg['C']:g} | seed {cfg['seed']}"]
    if cfg.get("n_dropped_features"):
        lines.append(f"dropped {cfg['n_dropped_features']} feature columns that are zero "
                     f"in every row of the dataset's files")
    name_width = max([8] + [len(row["method"]) for row in report["results"]])
    header = " ".join([f"{'method':<{name_width}}"]
                      + [f"{name:>{width}}" for name, _, width in columns])
    lines += [header, "-" * len(header)]
    for row in report["results"]:
        lines.append(" ".join([f"{row['method']:<{name_width}}"]
                              + [_cell(row[key], width) for _, key, width in columns]))
    t, s = report["timings"], report["solver"]
    lines.append(f"time: load {t['load']:.2f}s, fit {t['fit']:.2f}s, influence "
                 f"{t['influence']:.2f}s ({s['name']}: {s['iterations']} iterations, "
                 f"relative residual {s['residual']:.1e}), refits {t['methods']:.2f}s")
    return "\n".join(lines)


def _cell(value, width):
    """A table cell: '-' for None, an integer as is, a float to 4 decimals."""
    if value is None:
        return f"{'-':>{width}}"
    if isinstance(value, (int, np.integer)):
        return f"{value:>{width}d}"
    return f"{value:>{width}.4f}"


#: Columns of the per-sample influence table.
INFLUENCE_COLUMNS = ("index", "observed_label", "clean_label", "noisy", "phi", "relabeled")


def influence_table(report):
    """One row per training sample, in training-set order (columns INFLUENCE_COLUMNS)."""
    split, phi = report["split"], report["phi"]
    relabeled = relabel.harmful_mask(phi, report["config"]["alpha"])
    return zip(range(len(phi)), split.y_noisy, split.y_clean, split.noisy.astype(int),
               (f"{v:.10g}" for v in phi), relabeled.astype(int))


def plot_influence(path, report):
    """Histogram of phi for clean and flipped training samples, with alpha marked."""
    from matplotlib.figure import Figure

    phi, noisy = report["phi"], report["split"].noisy
    cfg = report["config"]
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    bins = np.linspace(phi.min(), phi.max(), 60) if phi.max() > phi.min() else 10
    ax.hist(phi[~noisy], bins=bins, alpha=0.6, label=f"clean label ({(~noisy).sum()})")
    ax.hist(phi[noisy], bins=bins, alpha=0.6, label=f"flipped label ({noisy.sum()})")
    ax.axvline(cfg["alpha"], color="k", linestyle="--", label=f"alpha = {cfg['alpha']:g}")
    ax.set_yscale("log")
    ax.set_xlabel("phi (influence on C x summed validation log-loss)")
    ax.set_ylabel("training samples")
    ax.set_title(f"{cfg['dataset_name']}, noise {cfg['noise']:g}: harmful = phi > alpha")
    ax.legend()
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)
