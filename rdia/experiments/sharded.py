"""RDIA for logistic regression on a dataset written as shards, in one process.

This is the in-memory engine of ``RDIA.py --dataset SHARDS`` (``--engine memory``) and
the reference that the Dask engine (``experiments/dask_engine.py``) must equal. Both
build the partitions with ``data.shards`` and run the same partition-level steps of
this module, so both see the same rows, split, noise and sampling edits:

1. read every shard; partition k is split into training, validation and test rows and
   its training labels are flipped, all seeded by ``SeedSequence([seed, k])``;
2. fit L2 logistic regression on every training row (the model's learner, then
   Newton steps to ``fit_tol``: :func:`fit_tight`);
3. phi of every training row (``influence.influence``: CG on the in-memory Hessian);
4. every method's training set is the union of its edit of each partition
   (:func:`partition_edit`: ``edits.EDITS`` applied to one partition with the
   partition's seed, so random and uids sample within each partition);
5. fit and score each method on validation and test.

The report has the keys and the table of ``experiments.lr.run`` (``format_table``
prints it), plus ``partitions``: the partitions with their phi, for the writers.
"""

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import scipy.sparse as sp

from rdia import edits
from rdia import influence
from rdia import relabel
from rdia.data.shards import (build_partition, check_totals, dataset_classes, list_shards,
                         read_shard, describe_shard)
from rdia.experiments import lr
from rdia.experiments.cli import ConfigError
from rdia.experiments.files import save_figure_atomic, write_csv_atomic
from rdia.models.logreg import Logistic, objective_gradient

#: Engines of a sharded dataset.
ENGINES = ("memory", "dask")

#: Methods of the sharded engines (the cleanlab edits cross-fit on all rows at once).
METHODS = ("full", "random", "drop", "uids", "rdia", "clean")

#: Relative gradient norm |grad J(w)| / |grad J(0)| at which both engines stop
#: fitting. liblinear and scipy's trust region stop near 1e-7, where the decrease of J
#: is lost in its rounding; Newton steps (:func:`newton_polish`) go on to this, so
#: that the two engines meet at the same optimum to ~1e-10.
FIT_TOL = 1e-10

#: Relative residual of the CG solve of each Newton step, and the most steps.
NEWTON_CG_TOL, NEWTON_STEPS = 1e-6, 8

#: Largest training set written as one CSV; above it phi goes to Parquet, by partition.
CSV_MAX_ROWS = 2_000_000

#: Bins of the phi histogram.
HISTOGRAM_BINS = 60


@dataclass(frozen=True)
class ShardedConfig:
    """Every setting of one RDIA run on a sharded dataset.

    Attributes
    ----------
    dataset : str
        A folder of shard files or a glob (``data.shards.list_shards``).
    test_file : str or None
        A folder, glob or file of test shards; without it 30% of each shard is test.
    noise, alpha, seed, C, val_ratio, methods, solver, tol, max_iter
        As in :class:`experiments.lr.LRConfig`; methods from :data:`METHODS`.
    fit_tol : float
        Relative gradient norm at which the fits stop.
    engine : {"memory", "dask"}
    scheduler : str or None
        Address of a running Dask scheduler; None starts a LocalCluster.
    workers : int
        Workers of the LocalCluster (one thread each).

    Raises
    ------
    experiments.cli.ConfigError
        On construction, for a value out of range (one line naming the flag).
    """

    dataset: str
    test_file: Optional[str] = None
    noise: float = 0.4
    alpha: float = 0.0002
    seed: int = 0
    C: float = 0.1
    val_ratio: float = 0.3
    methods: tuple = METHODS
    solver: str = "cg"
    tol: float = influence.DEFAULT_TOL
    max_iter: int = 1000
    fit_tol: float = FIT_TOL
    engine: str = "memory"
    scheduler: Optional[str] = None
    workers: int = 2

    def __post_init__(self):
        object.__setattr__(self, "methods", tuple(self.methods))
        check_config(self)


def check_config(config):
    """Raise ConfigError with a one-line message for the first bad setting."""
    lr.LRConfig(dataset=config.dataset, noise=config.noise, alpha=config.alpha,
                seed=config.seed, C=config.C, val_ratio=config.val_ratio,
                methods=config.methods, solver=config.solver, tol=config.tol,
                max_iter=config.max_iter)
    other = [method for method in config.methods if method not in METHODS]
    if other:
        raise ConfigError(f"--methods: {other[0]} is not offered on sharded data; "
                          f"choose from {','.join(METHODS)}")
    if config.engine not in ENGINES:
        raise ConfigError(f"--engine: unknown {config.engine!r}; choose from "
                          f"{', '.join(ENGINES)}")
    if config.engine == "dask" and config.solver != "cg":
        raise ConfigError("--engine dask solves with cg only: the direct solver needs "
                          "the dense Hessian in one process")
    if isinstance(config.workers, bool) or not isinstance(config.workers, int) \
            or config.workers < 1:
        raise ConfigError(f"--workers must be an integer >= 1, got {config.workers}")
    if not 0.0 < config.fit_tol < 1.0:
        raise ConfigError(f"fit_tol must be in (0, 1), got {config.fit_tol}")


#: Settings that never change the numbers (beyond ~1e-10): left out of the run name
#: and of the comparison with a previous run's files.
NOT_RESULTS = ("engine", "scheduler", "workers")


def run_name(config):
    """``rdia-<shards>-noise<noise>-alpha<alpha>-seed<seed>`` and settings off default.

    ``<shards>`` is the folder's name, or the glob's text with '/' and glob characters
    replaced by '_'. The engine is not part of the name: both give the same numbers.
    """
    stem = (f"rdia-{dataset_label(config.dataset)}-noise{lr._number(config.noise)}-alpha"
            f"{lr._number(config.alpha)}-seed{config.seed}")
    default = ShardedConfig(dataset=config.dataset)
    for field, short in lr.NAME_EXTRAS + (("fit_tol", "fittol"),):
        value = getattr(config, field, None)
        if value is None or value == getattr(default, field):
            continue
        stem += f"-{short}" + (dataset_label(value) if field == "test_file"
                               else lr._name_value(value))
    return stem


def dataset_label(dataset):
    """A short name of a shard folder or glob: its last part, glob characters as '_'."""
    name = Path(dataset.rstrip("/")).name or "shards"
    for char in "*?[]":
        name = name.replace(char, "_")
    return name


def settings(config):
    """The settings of a run as its JSON records them, for comparison with a previous run."""
    values = {key: value for key, value in asdict(config).items()
              if key not in NOT_RESULTS}
    values.update(methods=list(config.methods), model="logreg")
    return values


# --------------------------------------------------------------------------- shards

@dataclass(frozen=True)
class ShardPlan:
    """The shard files of a run and what every partition needs to be built.

    Attributes
    ----------
    paths : tuple of str
        Training shards, then test shards.
    n_train_shards : int
        How many of ``paths`` are training shards.
    width : int
        d, the largest feature index of all shards.
    classes : ndarray of shape (2,)
        The two raw label values, sorted.
    """

    paths: tuple
    n_train_shards: int
    width: int
    classes: np.ndarray

    @property
    def has_test_shards(self):
        return len(self.paths) > self.n_train_shards


def shard_paths(config):
    """(training shards, test shards) of a run; DataError when a spec names none."""
    train = list_shards(config.dataset, "--dataset")
    test = [] if config.test_file is None else list_shards(config.test_file, "--test-file")
    return train, test


def make_plan(train_paths, test_paths, summaries, source):
    """The :class:`ShardPlan` from the shards' summaries (``data.shards.describe_shard``)."""
    return ShardPlan(paths=tuple(train_paths) + tuple(test_paths),
                     n_train_shards=len(train_paths),
                     width=max(s.width for s in summaries),
                     classes=dataset_classes(summaries, source))


def partition_of(X, y_raw, index, plan, config):
    """Partition ``index`` of the plan from its read shard (``data.shards.read_shard``)."""
    return build_partition(X, y_raw, index=index, width=plan.width, classes=plan.classes,
                           seed=config.seed, val_ratio=config.val_ratio,
                           noise=config.noise,
                           is_test_shard=index >= plan.n_train_shards,
                           has_test_shards=plan.has_test_shards)


def partition_sizes(partition):
    """(n_train, n_val, n_test, n_flipped) of a partition, as an int64 vector."""
    return np.array([partition.n_train, len(partition.y_val), len(partition.y_test),
                     int(partition.noisy.sum())], dtype=np.int64)


def read_partitions(config):
    """Every partition of a run, read in this process.

    Returns
    -------
    plan : ShardPlan
    partitions : list of data.shards.Partition
    """
    train, test = shard_paths(config)
    shards = [read_shard(path) for path in train + test]
    plan = make_plan(train, test, [describe_shard(X, y) for X, y in shards], config.dataset)
    partitions = [partition_of(X, y, k, plan, config) for k, (X, y) in enumerate(shards)]
    check_totals([partition_sizes(p)[:3] for p in partitions], config.dataset)
    return plan, partitions


# ------------------------------------------------------------- partition-level steps

def partition_edit(partition, phi, method, alpha, C, model):
    """One method's edit of one partition: ``edits.EDITS[method]`` on its rows.

    Parameters
    ----------
    partition : data.shards.Partition
    phi : ndarray of shape (n_train_k,)
        The partition's influence scores.
    method : str
        A key of :data:`METHODS`.
    alpha, C : float
    model : models.linear.LinearModel

    Returns
    -------
    edit : edits.Edit
        Indices and masks local to the partition; random and uids draw with the
        partition's ``edit_seed``.
    """
    if partition.n_train == 0:
        return edits.Edit(np.arange(0), partition.y_noisy)
    problem = edits.TrainingProblem(X=partition.X_train, y_noisy=partition.y_noisy,
                                    y_clean=partition.y_clean, phi=phi, alpha=alpha, C=C,
                                    model=model)
    return edits.EDITS[method](problem, partition.edit_seed)


@dataclass
class FitBlock:
    """The rows of one partition that a method fits on, labels after R.

    Attributes
    ----------
    X : csr_matrix of shape (n_used_k, d)
    y : ndarray of shape (n_used_k,), int64
    """

    X: object
    y: np.ndarray


def fit_block(partition, edit):
    """The :class:`FitBlock` of an edit: kept rows, with R applied to relabeled ones."""
    labels = edit.labels
    if edit.relabeled is not None:
        labels = relabel.relabel_binary(labels, edit.relabeled)
    if len(edit.keep) == partition.n_train:
        return FitBlock(partition.X_train, np.asarray(labels, dtype=np.int64))
    return FitBlock(partition.X_train[edit.keep],
                    np.asarray(labels[edit.keep], dtype=np.int64))


def edit_counts(partition, edit):
    """Counts of an edit, int64: [n_used, n_relabeled, selected and noisy, selected,
    noisy, 1 if the method selects rows (has a ``selected`` mask) else 0]."""
    selected = edit.selected if edit.selected is not None else np.zeros(0, dtype=bool)
    hits = int(np.sum(selected & partition.noisy)) if len(selected) else 0
    return np.array([len(edit.keep),
                     0 if edit.relabeled is None else int(edit.relabeled.sum()),
                     hits, int(selected.sum()), int(partition.noisy.sum()),
                     int(edit.selected is not None)], dtype=np.int64)


def quality(counts):
    """Precision and recall from summed :func:`edit_counts`, as ``selection_quality``:
    None for a method that selects nothing (full, clean) or a zero denominator."""
    _, _, hits, selected, noisy, selects = (int(v) for v in counts)
    if not selects:
        return None, None
    return (hits / selected if selected else None), (hits / noisy if noisy else None)


def method_row(method, n_train, counts, val, test):
    """One ``results`` row, in the keys of ``experiments.lr.run_method``."""
    precision, recall = quality(counts)
    return dict(method=method, test_logloss=test["logloss"],
                test_accuracy=test["accuracy"], test_auc=test["auc"],
                val_logloss=val["logloss"], n_train_used=int(counts[0]),
                n_relabeled=int(counts[1]), n_removed=n_train - int(counts[0]),
                precision=precision, recall=recall)


def phi_range(phi):
    """[min, -max] of a partition's phi (reduced by minimum); +inf for no rows."""
    if len(phi) == 0:
        return np.array([np.inf, np.inf])
    return np.array([phi.min(), -phi.max()])


def histogram_edges(low_negmax):
    """HISTOGRAM_BINS + 1 bin edges over [min phi, max phi]."""
    low, high = float(low_negmax[0]), -float(low_negmax[1])
    if not high > low:
        high = low + 1.0
    return np.linspace(low, high, HISTOGRAM_BINS + 1)


def phi_histogram(partition, phi, edges):
    """Counts of phi in ``edges`` for clean and flipped rows, shape (2, bins)."""
    return np.stack([np.histogram(phi[~partition.noisy], edges)[0],
                     np.histogram(phi[partition.noisy], edges)[0]]).astype(np.int64)


def influence_rows(partition, phi, offset, alpha):
    """The influence-table rows of a partition (columns ``lr.INFLUENCE_COLUMNS``).

    ``index`` is the row's place in the training set of all partitions in order.
    """
    relabeled = relabel.harmful_mask(phi, alpha)
    return [(offset + i, int(a), int(b), int(c), f"{v:.10g}", int(r)) for i, (a, b, c, v, r)
            in enumerate(zip(partition.y_noisy, partition.y_clean, partition.noisy, phi,
                             relabeled))]


def write_phi_parquet(folder, partition, phi, offset, alpha):
    """Write one partition's influence table as ``folder/part-KKKKK.parquet``; its path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(phi)
    table = pa.table({"index": np.arange(offset, offset + n, dtype=np.int64),
                      "observed_label": partition.y_noisy, "clean_label": partition.y_clean,
                      "noisy": partition.noisy.astype(np.int8), "phi": phi,
                      "relabeled": relabel.harmful_mask(phi, alpha).astype(np.int8)})
    path = Path(folder) / f"part-{partition.index:05d}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, temporary)
    temporary.replace(path)
    return str(path)


# ----------------------------------------------------------------------- the fits

def newton_polish(w, gradient_at, hessian_at, gtol):
    """Newton steps from w until |grad J(w)| <= gtol; both engines end their fits so.

    Each step solves H(w) p = grad J(w) with ``influence.ConjugateGradient`` (relative
    residual :data:`NEWTON_CG_TOL`) and sets w <- w - p. Near the optimum, where
    the fits start this, the steps converge at the rate of the CG tolerance or
    faster, and no value of J is compared, so its rounding does not stop them.

    Parameters
    ----------
    w : ndarray of shape (d,)
    gradient_at : callable
        w -> grad J(w), shape (d,).
    hessian_at : callable
        w -> the Hessian of J at w, an operator with ``matvec`` and ``diagonal``.
    gtol : float
        Absolute bound on |grad J(w)|.

    Returns
    -------
    w : ndarray of shape (d,)

    Raises
    ------
    influence.ConvergenceError
        After NEWTON_STEPS steps above gtol.
    """
    for _ in range(NEWTON_STEPS):
        gradient = gradient_at(w)
        if np.linalg.norm(gradient) <= gtol:
            return w
        solver = influence.ConjugateGradient(tol=NEWTON_CG_TOL, max_iter=1000)
        w = w - solver.inverse_hvp(hessian_at(w), gradient)
    raise influence.ConvergenceError(
        f"the fit did not converge: |grad J| = {np.linalg.norm(gradient):.1e} > "
        f"{gtol:.1e} after {NEWTON_STEPS} Newton steps")


def fit_tight(model, X, y, C, fit_tol):
    """The model's fit of J on (X, y) (trust-region Newton by default, or liblinear),
    then Newton steps to |grad J| <= fit_tol |grad J(0)|.

    Returns
    -------
    w : ndarray of shape (d,)
    """
    gtol = fit_tol * np.linalg.norm(objective_gradient(np.zeros(X.shape[1]), X, y, C))
    return newton_polish(model.fit(X, y, C), lambda w: objective_gradient(w, X, y, C),
                         lambda w: model.hessian(w, X, C), gtol)


# --------------------------------------------------------------------- in-memory run

def stacked(blocks):
    """Row blocks (CSR or ndarray) stacked in order, CSR for CSR."""
    if sp.issparse(blocks[0]):
        return sp.vstack(blocks, format="csr")
    return np.concatenate(blocks)


def run(config):
    """Run the whole experiment of ``config`` in this process.

    Returns
    -------
    report : dict
        ``config``, ``results``, ``timings`` and ``solver`` as ``experiments.lr.run``;
        ``partitions``: a :class:`LocalPartitions` for the writers (not JSON).

    Raises
    ------
    data.DataError, influence.ConvergenceError
    """
    timings, start = {}, time.perf_counter()
    plan, partitions = read_partitions(config)
    timings["load"] = time.perf_counter() - start
    model = Logistic()
    X_train = stacked([p.X_train for p in partitions])
    y_noisy = np.concatenate([p.y_noisy for p in partitions])
    start = time.perf_counter()
    W = fit_tight(model, X_train, y_noisy, config.C, config.fit_tol)
    fitted = time.perf_counter()
    solver = influence.make_solver(config.solver, tol=config.tol, max_iter=config.max_iter)
    phi = influence.influence(model, W, X_train, y_noisy,
                              stacked([p.X_val for p in partitions]),
                              np.concatenate([p.y_val for p in partitions]), config.C,
                              solver)
    timings.update(fit=fitted - start, influence=time.perf_counter() - fitted)
    local = LocalPartitions(partitions, np.split(phi, np.cumsum(
        [p.n_train for p in partitions])[:-1]))
    start = time.perf_counter()
    results = [local_method(method, local, model, W, config) for method in config.methods]
    timings["methods"] = time.perf_counter() - start
    return dict(config=describe(config, plan, local.sizes(), local.n_harmful(config.alpha)),
                results=results, timings=timings, solver=solver_record(solver),
                partitions=local)


class LocalPartitions:
    """The partitions of an in-memory run with their phi.

    Parameters
    ----------
    partitions : list of data.shards.Partition
    phi : list of ndarray
        phi of each partition's training rows.
    """

    def __init__(self, partitions, phi):
        self.partitions = partitions
        self.phi = phi

    def sizes(self):
        """Summed (n_train, n_val, n_test, n_flipped)."""
        return np.sum([partition_sizes(p) for p in self.partitions], axis=0)

    def n_harmful(self, alpha):
        return int(sum(relabel.harmful_mask(phi, alpha).sum() for phi in self.phi))

    def offsets(self):
        """Global index of each partition's first training row."""
        return np.concatenate([[0], np.cumsum([p.n_train for p in self.partitions])])

    def influence_rows(self, alpha):
        return [row for p, phi, offset in zip(self.partitions, self.phi, self.offsets())
                for row in influence_rows(p, phi, int(offset), alpha)]

    def write_parquet(self, folder, alpha):
        return [write_phi_parquet(folder, p, phi, int(offset), alpha)
                for p, phi, offset in zip(self.partitions, self.phi, self.offsets())]

    def histogram(self):
        """(edges, counts of shape (2, bins)) of phi for clean and flipped rows."""
        ranges = [phi_range(phi) for phi in self.phi]
        edges = histogram_edges(np.min(ranges, axis=0))
        return edges, sum(phi_histogram(p, phi, edges)
                          for p, phi in zip(self.partitions, self.phi))


def local_method(method, local, model, W_full, config):
    """Fit one method on the union of its partition edits and score it; a results row."""
    pieces = [partition_edit(p, phi, method, config.alpha, config.C, model)
              for p, phi in zip(local.partitions, local.phi)]
    if method == "full":
        W = W_full
    else:
        blocks = [fit_block(p, e) for p, e in zip(local.partitions, pieces)]
        W = fit_tight(model, stacked([b.X for b in blocks]),
                      np.concatenate([b.y for b in blocks]), config.C, config.fit_tol)
    counts = sum(edit_counts(p, e) for p, e in zip(local.partitions, pieces))
    parts = local.partitions
    val = model.evaluate(W, stacked([p.X_val for p in parts]),
                         np.concatenate([p.y_val for p in parts]))
    test = model.evaluate(W, stacked([p.X_test for p in parts]),
                          np.concatenate([p.y_test for p in parts]))
    n_train = sum(p.n_train for p in parts)
    return method_row(method, n_train, counts, val, test)


def solver_record(solver):
    return dict(name=solver.name, iterations=int(solver.n_iter_),
                residual=float(solver.residual_))


def describe(config, plan, sizes, n_harmful, **extra):
    """The ``config`` entry of a report, with the keys that ``lr.format_table`` reads."""
    n_train, n_val, n_test, n_flipped = (int(v) for v in sizes)
    return dict(settings(config), engine=config.engine,
                dataset_name=dataset_label(config.dataset), n_train=n_train, n_val=n_val,
                n_test=n_test, n_features=int(plan.width), n_classes=2,
                n_dropped_features=0, noise_type=None, n_flipped=n_flipped,
                n_harmful=int(n_harmful), n_partitions=len(plan.paths),
                n_train_shards=plan.n_train_shards, **extra)


# --------------------------------------------------------------------------- writers

def check_influence_path(path, n_train):
    """Refuse a CSV for a training set above CSV_MAX_ROWS (ConfigError)."""
    if path is not None and is_csv(path) and n_train > CSV_MAX_ROWS:
        raise ConfigError(f"--save-influence {path}: {n_train:,} training rows are more "
                          f"than one CSV should hold ({CSV_MAX_ROWS:,}); give a folder "
                          f"instead and phi is written there as Parquet, one file per "
                          f"partition")


def is_csv(path):
    return Path(path).suffix.lower() == ".csv"


def write_influence(path, partitions, alpha):
    """The influence table: one CSV, or a folder of Parquet files (one per partition).

    ``partitions`` is a :class:`LocalPartitions` or the Dask engine's equivalent (any
    object with ``influence_rows(alpha)`` and ``write_parquet(folder, alpha)``).
    Returns the paths written.
    """
    if is_csv(path):
        write_csv_atomic(path, lr.INFLUENCE_COLUMNS, partitions.influence_rows(alpha))
        return [str(path)]
    return partitions.write_parquet(path, alpha)


def plot_histogram(path, edges, counts, cfg):
    """Histogram of phi for clean and flipped rows from binned counts, alpha marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.stairs(counts[0], edges, fill=True, alpha=0.6,
              label=f"clean label ({int(counts[0].sum())})")
    ax.stairs(counts[1], edges, fill=True, alpha=0.6,
              label=f"flipped label ({int(counts[1].sum())})")
    ax.axvline(cfg["alpha"], color="k", linestyle="--", label=f"alpha = {cfg['alpha']:g}")
    ax.set_yscale("log")
    ax.set_xlabel("phi (influence on C x summed validation log-loss)")
    ax.set_ylabel("training samples")
    ax.set_title(f"{cfg['dataset_name']}, noise {cfg['noise']:g}: harmful = phi > alpha")
    ax.legend()
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)

