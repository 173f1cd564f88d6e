"""RDIA on your own files, as the engine of ``RDIA.py --train``.

1. read, check and encode the noisy training file, the trusted validation file and an
   optional test file (``data.tables.load_tables``: CSV, Parquet or LIBSVM);
2. fit the model on the observed labels: binary logistic regression for two labels,
   softmax for more, unless ``model`` says otherwise;
3. compute phi for every training row against the validation file (``influence.py``);
4. check the trusted file against the training rows (``estimator.check_trusted_file``)
   and, with ``alpha="auto"``, choose alpha by cross-fitting over folds of the trusted
   rows (``estimator.choose_alpha``);
5. fit every method's training set (``edits.EDITS`` without ``clean``: the true labels
   are unknown) and score it on validation and test; each harmful row gets the
   suggested label k* of docs/method.md section 7.

No synthetic noise is added: the training labels are what they are, so the precision
and recall of a selection against the true noise cannot be known and are None.

``OwnDataConfig`` holds every setting that changes the numbers; ``load`` reads the
files, ``run`` returns a report dictionary; ``format_report``, ``relabeled_table`` and
``plot_phi`` render it.
"""

import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from rdia import edits
from rdia import influence
from rdia.data.tables import TableError, file_kind, load_tables
from rdia.experiments.cli import ConfigError
from rdia.experiments.files import save_figure_atomic
from rdia.experiments.lr import MODELS, check_fit_settings

#: Methods of a run by default: those of the benchmark runs but ``clean``.
DEFAULT_METHODS = ("full", "random", "drop", "uids", "rdia")

#: Methods that need the true labels, which your own data does not have.
NEEDS_CLEAN_LABELS = ("clean",)

#: Columns that ``relabeled_table`` adds to the training table.
OUTPUT_COLUMNS = ("phi", "harmful", "suggested_label")


@dataclass(frozen=True)
class OwnDataConfig:
    """Every setting of one RDIA run on your own files.

    Attributes
    ----------
    train : str
        The noisy training file (CSV, Parquet or LIBSVM, by extension).
    val : str
        The trusted validation file, in the training file's format and columns.
    test : str or None
        A test file, scored only.
    label_column : str or None
        The label column of CSV and Parquet files (required for them).
    drop_columns : tuple of str
        Table columns that are not features (ids).
    impute : bool
        Fill missing feature values (training medians, most frequent categories)
        instead of refusing them.
    model : {"logreg", "softmax"} or None
        None: logreg for two labels, softmax for more.
    alpha : float or "auto"
        Harmfulness threshold >= 0 in units of C x summed validation log-loss, or
        "auto" to choose it with ``estimator.choose_alpha`` (cross-fitted).
    seed : int
        Seed of the sampling methods (random, uids, cleanlab's folds).
    C : float
        Weight of the summed loss in J(w) = |w|^2 / 2 + C sum l.
    methods : tuple of str
        Keys of ``edits.EDITS`` but ``clean``, in table order.
    solver, tol, max_iter
        Inverse-HVP solver, cg's relative residual and iteration limit.

    Raises
    ------
    experiments.cli.ConfigError
        On construction, for a value out of range (one line naming the flag).
    """

    train: str
    val: str
    test: Optional[str] = None
    label_column: Optional[str] = None
    drop_columns: tuple = ()
    impute: bool = False
    model: Optional[str] = None
    alpha: Union[float, str] = 0.0002
    seed: int = 0
    C: float = 0.1
    methods: tuple = DEFAULT_METHODS
    solver: str = "cg"
    tol: float = influence.DEFAULT_TOL
    max_iter: int = 1000

    def __post_init__(self):
        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "drop_columns", tuple(self.drop_columns))
        check_config(self)


def check_config(config):
    """Raise ConfigError with a one-line message for the first bad setting."""
    if config.alpha != "auto" and (not _finite(config.alpha) or not config.alpha >= 0.0):
        raise ConfigError(f"--alpha must be a number >= 0 or 'auto', got {config.alpha}")
    check_fit_settings(config)
    clean = [m for m in config.methods if m in NEEDS_CLEAN_LABELS]
    if clean:
        raise ConfigError(f"--methods {clean[0]} needs the true training labels, which "
                          f"are unknown for --train; choose from "
                          f"{','.join(offered_methods())}")
    unknown = [m for m in config.methods if m not in edits.EDITS]
    if unknown or not config.methods:
        raise ConfigError(f"--methods: unknown {', '.join(unknown) or '(empty)'}; "
                          f"choose from {','.join(offered_methods())}")
    if config.model not in (None,) + MODELS:
        raise ConfigError(f"--model: unknown {config.model!r}; choose from {', '.join(MODELS)}")
    if config.solver not in influence.SOLVERS:
        raise ConfigError(f"--solver: unknown {config.solver!r}; choose from "
                          f"{', '.join(influence.SOLVERS)}")
    check_file_flags(config)


def check_file_flags(config):
    """The flags that depend on the files' format: --label-column and --drop-columns."""
    libsvm = file_kind(config.train) == "libsvm"
    if libsvm and config.label_column is not None:
        raise ConfigError(f"--label-column applies to CSV and Parquet files; "
                          f"{Path(config.train).name} is read as LIBSVM, whose first "
                          f"token is the label")
    if libsvm and config.drop_columns:
        raise ConfigError(f"--drop-columns applies to CSV and Parquet files; "
                          f"{Path(config.train).name} is read as LIBSVM")
    if not libsvm and config.label_column is None:
        raise ConfigError(f"--label-column is required for {Path(config.train).name}: "
                          f"name the column that holds the labels")


def offered_methods():
    """The methods of ``edits.EDITS`` that a run on your own data can compute."""
    return tuple(m for m in edits.EDITS if m not in NEEDS_CLEAN_LABELS)


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


#: Settings appended to a run name as ``-<short><value>`` when off their default.
NAME_EXTRAS = (("test", "test"), ("drop_columns", "drop"), ("impute", "impute"),
               ("model", "model"), ("C", "C"), ("methods", "methods"),
               ("solver", "solver"), ("tol", "tol"), ("max_iter", "maxiter"))


def run_name(config):
    """A file-name stem that carries every setting that changes the numbers.

    ``rdia-<train>-val<val>[-label<column>]-alpha<alpha>-seed<seed>`` (files by their
    names), then ``-<setting><value>`` for each other setting off its default, e.g.
    ``rdia-noisy.csv-valtrusted.csv-labely-alpha0.0002-seed0-C1.0``. Characters other
    than letters, digits and ``._+-`` become ``_``.
    """
    name = f"rdia-{Path(config.train).name}-val{Path(config.val).name}"
    if config.label_column is not None:
        name += f"-label{config.label_column}"
    name += f"-alpha{_name_value(config.alpha)}-seed{config.seed}"
    default = OwnDataConfig(train=config.train, val=config.val,
                            label_column=config.label_column)
    for setting, short in NAME_EXTRAS:
        value = getattr(config, setting)
        if value != getattr(default, setting):
            name += f"-{short}{_name_value(value)}"
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name)


def _name_value(value):
    if isinstance(value, tuple):
        return "+".join(value)
    if isinstance(value, bool):
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return Path(value).name
    return str(value)


def settings(config):
    """The settings of a run as its JSON records them (tuples as lists)."""
    values = asdict(config)
    values.update(methods=list(config.methods), drop_columns=list(config.drop_columns))
    return values


def load(config):
    """Read, check and encode the files of a run; see ``data.tables.load_tables``.

    Returns
    -------
    data : data.tables.OwnData

    Raises
    ------
    data.tables.TableError
    experiments.cli.ConfigError
        ``--model logreg`` with more than two labels.
    """
    data = load_tables(config.train, config.val, config.test, config.label_column,
                       config.drop_columns, config.impute)
    if config.model == "logreg" and len(data.classes) > 2:
        raise ConfigError(f"--model logreg fits two labels but {Path(config.train).name} "
                          f"has {len(data.classes)}; use --model softmax or leave "
                          f"--model out")
    return data


def check_output_columns(data, source):
    """Refuse a training table that already has a column the output adds.

    Raises
    ------
    data.tables.TableError
    """
    if data.train_frame is None:
        return
    taken = [name for name in OUTPUT_COLUMNS if name in data.train_frame.columns]
    if taken:
        raise TableError(f"{source}: it already has a column {taken[0]!r}, which "
                         f"--relabeled adds; rename that column")


def model_name(config, data):
    """The model of the run: ``config.model``, else logreg for two labels."""
    if config.model is not None:
        return config.model
    return "logreg" if len(data.classes) == 2 else "softmax"


def scores(model, W, X, y):
    """Log-loss, accuracy and AUC of weights W on (X, y); all None when X is None."""
    if X is None:
        return dict(logloss=None, accuracy=None, auc=None)
    return model.evaluate(W, X, y)


def method_row(method, W, edit, model, data):
    """One row of ``results``: a method's validation and test scores and its edit.

    Precision and recall are None: the true noise of your own data is unknown.
    """
    val, test = scores(model, W, data.X_val, data.y_val), \
        scores(model, W, data.X_test, data.y_test)
    n = len(data.y_train)
    return dict(method=method, val_logloss=val["logloss"], val_accuracy=val["accuracy"],
                test_logloss=test["logloss"], test_accuracy=test["accuracy"],
                test_auc=test["auc"], n_train_used=int(len(edit.keep)),
                n_relabeled=int(edit.relabeled.sum()) if edit.relabeled is not None else 0,
                n_removed=n - int(len(edit.keep)), precision=None, recall=None)


def fit_edit(model, data, edit, C):
    """Fit the model on the training set of an :class:`edits.Edit`; return the weights."""
    rows = edits.training_set(data.X_train, edit)
    return model.fit(rows.X, rows.labels, C, rows.relabeled, weights=rows.weights)


def cross_fitted_grid(fit, data, phi, C):
    """alpha="auto" through ``estimator.choose_alpha`` (cross-fitted on the trusted rows).

    Returns
    -------
    rows : list of dict
        Per candidate: ``alpha``, ``n_harmful`` (rows with phi > alpha on the whole
        trusted file) and ``val_logloss``, the held-out log-loss of the cross-fit.
        The candidate "relabel nothing" (alpha = inf) is written as the largest phi
        (or 0), which flags no row.
    alpha : float
        The choice, in the same form.
    """
    from rdia.estimator import choose_alpha

    choice = choose_alpha(fit, data.X_train, data.X_val, C)
    nothing = float(max(phi.max(), 0.0))
    alphas = [nothing if np.isinf(a) else float(a) for a in choice.grid]
    rows = [dict(alpha=a, n_harmful=int(np.sum(phi > a)), val_logloss=float(loss))
            for a, loss in zip(alphas, choice.curve)]
    return rows, nothing if np.isinf(choice.alpha) else choice.alpha


def run(config, data=None, progress=None):
    """Run RDIA on the files of ``config``.

    Parameters
    ----------
    config : OwnDataConfig
    data : data.tables.OwnData, optional
        The files as :func:`load` returns them; loaded when not given.
    progress : bool or None, default=None
        Progress bar over the refits: None shows it on a terminal only.

    Returns
    -------
    report : dict
        ``config`` (the settings and what the files turned out to be),
        ``alpha_grid`` (rows of :func:`cross_fitted_grid`, or None),
        ``trusted_check`` (``estimator.TrustedCheck.as_dict``) and ``trusted_warning``
        (its one line when the trusted file looks noisy, else None), ``results`` (one dict
        per method), ``summary`` (suspects and the validation / test scores before
        and after relabeling), ``timings`` (seconds) and ``solver``; also ``phi``,
        ``harmful``, ``suggested`` (class indices) and ``data``, which are not
        written to JSON.

    Raises
    ------
    data.tables.TableError, experiments.cli.ConfigError, influence.ConvergenceError,
    models.linear.DenseHessianTooLarge, models.linear.FitError
    """
    from tqdm import tqdm

    from rdia import estimator  # scikit-learn's base classes

    timings = {}
    start = time.perf_counter()
    data = load(config) if data is None else data
    timings["load"] = time.perf_counter() - start
    model = estimator.linear_model_for(model_name(config, data), len(data.classes))
    influence.check_solver_size(config.solver, data.n_features * model.n_columns)

    start = time.perf_counter()
    W_full = model.fit(data.X_train, data.y_train, config.C)
    timings["fit"] = time.perf_counter() - start
    start = time.perf_counter()
    solver = influence.make_solver(config.solver, tol=config.tol, max_iter=config.max_iter)
    s = influence.validation_direction(model, W_full, data.X_train, data.X_val,
                                       data.y_val, config.C, solver)
    phi = influence.sample_influence(model, W_full, data.X_train, data.y_train, s,
                                     config.C)
    fit = estimator.InfluenceFit(classes=data.classes, linear=model, y=data.y_train,
                                 y_val=data.y_val, W=W_full, phi=phi,
                                 n_iter=int(solver.n_iter_), s=s)
    timings["influence"] = time.perf_counter() - start

    start = time.perf_counter()
    trusted = estimator.check_trusted_file(fit, data.X_train, data.X_val, config.C)
    grid, alpha = None, config.alpha
    if config.alpha == "auto":
        grid, alpha = cross_fitted_grid(fit, data, phi, config.C)
    harmful = phi > alpha
    W_rdia = model.fit(data.X_train, data.y_train, config.C, relabeled=harmful)
    problem = edits.TrainingProblem(X=data.X_train, y_noisy=data.y_train, y_clean=None,
                                    phi=phi, alpha=alpha, C=config.C, model=model)
    fitted = {"full": W_full, "rdia": W_rdia}
    results = []
    for method in tqdm(config.methods, desc="refit", unit="method", leave=False,
                       disable=None if progress is None else not progress):
        edit = edits.EDITS[method](problem, config.seed)
        W = fitted[method] if method in fitted else fit_edit(model, data, edit, config.C)
        results.append(method_row(method, W, edit, model, data))
    timings["methods"] = time.perf_counter() - start
    summary = dict(n_suspects=int(harmful.sum()),
                   before=_prefixed(model, W_full, data),
                   after=_prefixed(model, W_rdia, data))
    k_star, _ = estimator.suggestions(fit, data.X_train, config.C)
    return dict(config=describe(config, data, model, alpha), alpha_grid=grid,
                results=results, summary=summary, timings=timings,
                solver=dict(name=solver.name, iterations=int(solver.n_iter_),
                            residual=float(solver.residual_)),
                trusted_check=trusted.as_dict(), trusted_warning=(
                    trusted.message() if trusted.suspicious else None),
                phi=phi, harmful=harmful,
                suggested=estimator.repaired_labels(data.y_train, harmful, k_star),
                data=data)


def _prefixed(model, W, data):
    """Validation and test scores of W as ``val_logloss``, ``val_accuracy``, ``test_*``."""
    val, test = scores(model, W, data.X_val, data.y_val), \
        scores(model, W, data.X_test, data.y_test)
    return dict(val_logloss=val["logloss"], val_accuracy=val["accuracy"],
                test_logloss=test["logloss"], test_accuracy=test["accuracy"])


def describe(config, data, model, alpha):
    """The ``config`` entry of a report: the settings and what the files turned out to be."""
    return dict(settings(config), model_used=model_name(config, data), alpha_used=alpha,
                n_train=len(data.y_train), n_val=len(data.y_val),
                n_test=None if data.y_test is None else len(data.y_test),
                n_features=int(data.n_features), n_numeric=data.n_numeric,
                n_categorical=data.n_categorical,
                n_dropped_features=data.n_dropped_features, kind=data.kind,
                n_classes=len(data.classes), classes=[_plain(c) for c in data.classes])


def _plain(value):
    """A label as JSON holds it: a Python number or string."""
    return value.item() if hasattr(value, "item") else value


# --------------------------------------------------------------------------- rendering

#: Columns of the summary table after the method: (header, key of a results row, width).
TABLE_COLUMNS = (("val_logloss", "val_logloss", 11), ("val_acc", "val_accuracy", 8),
                 ("test_logloss", "test_logloss", 12), ("test_acc", "test_accuracy", 8),
                 ("test_auc", "test_auc", 8), ("n_used", "n_train_used", 7),
                 ("relabeled", "n_relabeled", 9), ("removed", "n_removed", 8))


def format_report(report):
    """The summary printed at the end of a run, as a string."""
    cfg = report["config"]
    lines = [_data_line(cfg)]
    if report["alpha_grid"]:
        lines += format_alpha_grid(report["alpha_grid"], cfg["alpha_used"])
    n_suspects = report["summary"]["n_suspects"]
    lines.append(f"suspects: {n_suspects} of {cfg['n_train']} training rows "
                 f"({n_suspects / cfg['n_train']:.1%}) have phi > alpha "
                 f"{cfg['alpha_used']:g}; the true noise is unknown, so there is no "
                 f"precision or recall")
    columns = [c for c in TABLE_COLUMNS if cfg["n_test"] or not c[0].startswith("test")]
    width = max([8] + [len(row["method"]) for row in report["results"]])
    header = " ".join([f"{'method':<{width}}"] + [f"{name:>{w}}" for name, _, w in columns])
    lines += [header, "-" * len(header)]
    for row in report["results"]:
        lines.append(" ".join([f"{row['method']:<{width}}"]
                              + [_cell(row[key], w) for _, key, w in columns]))
    lines.append(_before_after(report["summary"]))
    t, s = report["timings"], report["solver"]
    lines.append(f"time: load {t['load']:.2f}s, fit {t['fit']:.2f}s, influence "
                 f"{t['influence']:.2f}s ({s['name']}: {s['iterations']} iterations, "
                 f"relative residual {s['residual']:.1e}), refits {t['methods']:.2f}s")
    return "\n".join(lines)


def _data_line(cfg):
    if cfg["kind"] == "table":
        columns = (f"{cfg['n_numeric'] + cfg['n_categorical']} feature columns "
                   f"({cfg['n_numeric']} numeric, {cfg['n_categorical']} categorical) -> "
                   f"{cfg['n_features']} features")
    else:
        columns = f"{cfg['n_features']} features"
    test = f", test {cfg['n_test']}" if cfg["n_test"] else ""
    shown = ", ".join(str(c) for c in cfg["classes"][:5]) \
        + (", ..." if cfg["n_classes"] > 5 else "")
    return (f"data {Path(cfg['train']).name}: train {cfg['n_train']}, val {cfg['n_val']}"
            f"{test}, {columns} | {cfg['n_classes']} labels ({shown}): {cfg['model_used']} | "
            f"C {cfg['C']:g} | seed {cfg['seed']}")


def format_alpha_grid(rows, chosen):
    """Lines of the alpha grid: alpha, suspects and cross-fitted validation log-loss."""
    lines = ["alpha auto: cross-fitted on 5 folds of the validation file (phi from four, "
             "the refit scored on the fifth)",
             f"{'alpha':>8} {'suspects':>8} {'cv_logloss':>11}"]
    for row in rows:
        mark = "  <- chosen" if row["alpha"] == chosen else ""
        lines.append(f"{row['alpha']:>8g} {row['n_harmful']:>8d} "
                     f"{row['val_logloss']:>11.4f}{mark}")
    return lines


def _before_after(summary):
    before, after = summary["before"], summary["after"]
    line = (f"validation: log-loss {before['val_logloss']:.4f} -> {after['val_logloss']:.4f}"
            f", accuracy {before['val_accuracy']:.4f} -> {after['val_accuracy']:.4f}")
    if before["test_logloss"] is not None:
        line += (f" | test: log-loss {before['test_logloss']:.4f} -> "
                 f"{after['test_logloss']:.4f}, accuracy {before['test_accuracy']:.4f} "
                 f"-> {after['test_accuracy']:.4f}")
    return line + " (before: fit on the given labels; after: RDIA)"


def _cell(value, width):
    """A table cell: '-' for None, an integer as is, a float to 4 decimals."""
    if value is None:
        return f"{'-':>{width}}"
    if isinstance(value, (int, np.integer)):
        return f"{value:>{width}d}"
    return f"{value:>{width}.4f}"


def relabeled_table(report):
    """The training rows with phi, harmful and RDIA's suggested label.

    Returns
    -------
    table : pandas.DataFrame of shape (n_train, n_columns + 3)
        For a CSV or Parquet training file: its columns as read, in file order,
        then ``phi`` (float), ``harmful`` (bool) and ``suggested_label`` (the given
        label where the row is not harmful; else the flipped label for two classes
        and, for K, the most probable other label under the RDIA refit), labels in
        their original type. For a LIBSVM file, whose features are not repeated:
        ``label``, then the same three columns.
    """
    import pandas as pd

    data = report["data"]
    if data.train_frame is not None:
        table = data.train_frame.copy()
    else:
        table = pd.DataFrame({"label": data.train_labels})
    table["phi"] = report["phi"]
    table["harmful"] = report["harmful"]
    table["suggested_label"] = data.classes[report["suggested"]]
    return table


def plot_phi(path, report):
    """Histogram of phi over the training rows, with alpha marked."""
    from matplotlib.figure import Figure

    phi, cfg = report["phi"], report["config"]
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    bins = np.linspace(phi.min(), phi.max(), 60) if phi.max() > phi.min() else 10
    ax.hist(phi, bins=bins, label=f"training rows ({len(phi)})")
    ax.axvline(cfg["alpha_used"], color="k", linestyle="--",
               label=f"alpha = {cfg['alpha_used']:g}")
    ax.set_yscale("log")
    ax.set_xlabel("phi (influence on C x summed validation log-loss)")
    ax.set_ylabel("training rows")
    ax.set_title(f"{Path(cfg['train']).name}: {report['summary']['n_suspects']} "
                 f"suspects (phi > alpha)")
    ax.legend()
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)
