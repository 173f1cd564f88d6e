"""RDIA for L2 logistic regression: relabel harmful training samples, then retrain.

The experiment of METHOD.md section 4:

1. load a dataset and take the last ``val_ratio`` of its training part as a clean
   validation set;
2. flip exactly floor(noise * n_train) training labels;
3. fit L2 logistic regression (liblinear form, C = 0.1);
4. compute the influence phi_i of every training sample on C x the summed validation
   log-loss (``influence.py``);
5. RDIA: relabel the harmful set {i : phi_i > alpha} with R, refit, and evaluate;
   compare with Full, Random, Drop, UIDS and Clean on the same split and noise.

With ``--model softmax`` (the default for mnist10 and digits) the same experiment runs
with K classes (issue 5): multinomial logistic regression (``softmax.py``), label noise
from a transition matrix (``--noise-type``, shared with RDIA-LS through
``data.noise``), phi from ``influence.softmax_influence`` in the same units, and R
trains a harmful sample with l_R = -log(1 - p_y) instead of flipping its label.
Accuracy is the headline metric there, log-loss the second. A *learner* (binary or
softmax) bundles the fit, the influence and the evaluation, so the experiment code is
shared by both.

Run ``python RDIA.py --help`` for the flags. The functions here are importable:
``run(parse_args([...]))`` returns the same dictionary that ``--output`` writes.
"""

import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

import influence
from models import logreg
import relabel
from models import softmax
from experiments.cli import DefaultsFormatter, OneLineParser
from data.datasets import (BINARY_DATASETS, MULTICLASS_DATASETS, load_binary,
                           load_multiclass, split_validation)
from data.errors import DataError
from data.noise import NOISE_TYPES, apply_transition, flip_binary, transition_matrix
from experiments.files import save_figure_atomic, write_csv_atomic, write_json_atomic

METHODS = ("full", "random", "drop", "uids", "rdia", "clean")

MODELS = ("logreg", "softmax")

#: Datasets whose asymmetric noise uses the class pairs that data.noise defines for
#: another name (digits are digits: the MNIST pairs 7->1, 2->7, 5<->6, 3->8).
ASYMMETRIC_PAIRS = {"mnist10": "mnist", "digits": "mnist"}

#: Fraction of the training set kept by the Random and UIDS baselines.
SUBSAMPLE_RATIO = 0.95


class UsageError(Exception):
    """A command-line value out of range."""


def build_parser():
    """The command-line interface of RDIA.py."""
    parser = OneLineParser(
        prog="RDIA.py",
        description="Influence-based relabeling (RDIA) for L2 logistic regression, "
                    "compared with Full, Random, Drop, UIDS and Clean.",
        formatter_class=DefaultsFormatter)
    parser.add_argument("--dataset", default="cancer",
                        help=f"one of {', '.join(BINARY_DATASETS)} (binary), "
                             f"{', '.join(MULTICLASS_DATASETS)} (10 classes), or the "
                             "path of a LIBSVM file")
    parser.add_argument("--model", choices=MODELS, default=None,
                        help="logreg: binary logistic regression (liblinear); softmax: "
                             "K-class multinomial regression, R trains l_R (default: "
                             "softmax for mnist10 and digits, else logreg)")
    parser.add_argument("--noise-type", choices=NOISE_TYPES, default=None,
                        help="softmax only: resample each training label from this "
                             "transition matrix at rate --noise (default: exact flips "
                             "for 2 classes, symmetric for more)")
    parser.add_argument("--test-file", default=None,
                        help="LIBSVM test file for a --dataset given by path; without "
                             "it, a seeded 70/30 train/test split is used")
    parser.add_argument("--noise", type=float, default=0.4,
                        help="fraction of training labels flipped (with --noise-type: "
                             "the noise rate), in [0, 1)")
    parser.add_argument("--alpha", type=float, default=0.0002,
                        help="harmfulness threshold: relabel or drop samples with "
                             "phi > alpha (units of C x summed validation log-loss)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split, the noise and the subsampling")
    parser.add_argument("--C", type=float, default=0.1,
                        help="weight of the summed log-loss in J(w) = |w|^2/2 + C sum l")
    parser.add_argument("--val-ratio", type=float, default=0.3,
                        help="last fraction of the training part used as clean "
                             "validation set")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help="comma-separated subset of " + ",".join(METHODS))
    parser.add_argument("--solver", choices=("cg", "direct"), default="cg",
                        help="inverse-Hessian-vector solver: conjugate gradients or "
                             "Cholesky (small feature counts)")
    parser.add_argument("--tol", type=float, default=1e-10,
                        help="relative residual at which cg stops")
    parser.add_argument("--max-iter", type=int, default=1000,
                        help="iteration limit of cg")
    parser.add_argument("--data-dir", default=None,
                        help="dataset folder (default: $RDIA_DATA_DIR, else ./data)")
    parser.add_argument("--output", default=None, metavar="PATH.json",
                        help="results JSON (default: runs/<run name>.json)")
    parser.add_argument("--save-influence", default=None, metavar="PATH.csv",
                        help="write phi of every training sample to this CSV")
    parser.add_argument("--plot", default=None, metavar="PATH.png",
                        help="histogram of phi for clean and flipped samples "
                             "(default: runs/<run name>-phi.png)")
    parser.add_argument("--no-files", action="store_true",
                        help="write no results files unless named explicitly")
    return parser


def parse_args(argv=None):
    """Parse and check the flags; raise UsageError for values out of range."""
    args = build_parser().parse_args(argv)
    if not 0.0 <= args.noise < 1.0:
        raise UsageError(f"--noise must be in [0, 1), got {args.noise}")
    if not args.alpha >= 0.0:
        raise UsageError(f"--alpha must be >= 0, got {args.alpha}")
    if not args.C > 0.0:
        raise UsageError(f"--C must be > 0, got {args.C}")
    if not 0.0 < args.val_ratio < 1.0:
        raise UsageError(f"--val-ratio must be in (0, 1), got {args.val_ratio}")
    if not args.tol > 0.0:
        raise UsageError(f"--tol must be > 0, got {args.tol}")
    if args.max_iter < 1:
        raise UsageError(f"--max-iter must be >= 1, got {args.max_iter}")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        raise UsageError(f"--methods: unknown {', '.join(unknown) or '(empty)'}; "
                         f"choose from {','.join(METHODS)}")
    args.methods = methods
    args.model = args.model or ("softmax" if args.dataset in MULTICLASS_DATASETS
                                else "logreg")
    if args.model == "logreg" and args.dataset in MULTICLASS_DATASETS:
        raise UsageError(f"--dataset {args.dataset} has 10 classes; binary logreg "
                         f"cannot fit it, use --model softmax")
    if args.model == "logreg" and args.noise_type is not None:
        raise UsageError("--noise-type applies to --model softmax; binary runs flip "
                         "exactly floor(noise * n_train) labels")
    return args


def run_name(args):
    """A file-name stem that identifies the run, e.g. rdia-cancer-noise0.8-alpha0.0002-seed0.

    Softmax runs name the noise type instead: rdia-mnist10-symmetric0.5-alpha0.001-seed0.
    """
    dataset = Path(args.dataset).name if Path(args.dataset).exists() else args.dataset
    noise = "noise" if args.noise_type is None else args.noise_type
    return f"rdia-{dataset}-{noise}{args.noise:g}-alpha{args.alpha:g}-seed{args.seed}"


@dataclass(frozen=True)
class Learner:
    """What differs between the binary and the K-class experiment.

    Attributes
    ----------
    name : str
        "logreg" or "softmax".
    fit : callable
        ``fit(X, y, C, relabeled=None)`` -> weights; ``relabeled`` marks the samples
        that R relabeled (a bool mask over the rows of X).
    influence : callable
        ``influence(weights, X_train, y_train, X_val, y_val, C, solver)`` -> phi.
    evaluate : callable
        ``evaluate(weights, X, y)`` -> dict of ``logloss``, ``accuracy``, ``auc``.
    n_columns : int
        Columns of the weights: 1 for logreg, K for softmax.
    """

    name: str
    fit: Callable
    influence: Callable
    evaluate: Callable
    n_columns: int


def fit_binary(X, y, C, relabeled=None):
    """Binary logistic regression; R flips the relabeled labels to 1 - y (METHOD.md 2)."""
    labels = y if relabeled is None else relabel.relabel_binary(y, relabeled)
    return logreg.fit(X, labels, C)


def fit_softmax(X, y, C, relabeled=None, n_classes=2):
    """Softmax regression; relabeled samples keep y and are trained with l_R."""
    return softmax.fit(X, y, C, n_classes=n_classes, relabeled=relabeled)


def make_learner(model, n_classes):
    """The :class:`Learner` of ``model`` ("logreg" or "softmax") for K = n_classes."""
    if model == "logreg":
        return Learner("logreg", fit_binary, influence.influence, evaluate, 1)
    return Learner("softmax", partial(fit_softmax, n_classes=n_classes),
                   influence.softmax_influence,
                   partial(evaluate_softmax, n_classes=n_classes), n_classes)


def prepare_data(args):
    """Load, split off validation and inject noise, all seeded by ``args.seed``.

    Returns
    -------
    split : dict
        ``X_train``, ``y_clean``, ``y_noisy``, ``noisy`` (mask of flipped labels),
        ``X_val``, ``y_val``, ``X_test``, ``y_test``, ``dataset`` (the loaded
        :class:`data.Dataset`) and ``learner`` (:class:`Learner`).
    """
    load = load_binary if args.model == "logreg" else load_multiclass
    dataset = load(args.dataset, data_dir=args.data_dir, test_file=args.test_file,
                   seed=args.seed)
    X_train, y_clean, X_val, y_val = split_validation(dataset.X_train, dataset.y_train,
                                                      args.val_ratio)
    noise_seed = _child_seeds(args.seed)[0]
    y_noisy, noisy = add_label_noise(args, dataset, y_clean, noise_seed)
    return dict(dataset=dataset, X_train=X_train, y_clean=y_clean, y_noisy=y_noisy,
                noisy=noisy, X_val=X_val, y_val=y_val,
                X_test=dataset.X_test, y_test=dataset.y_test,
                learner=make_learner(args.model, len(dataset.classes)))


def add_label_noise(args, dataset, y_clean, seed):
    """Noisy training labels and the mask of changed ones.

    Exact flips of floor(noise * n) labels for two classes without ``--noise-type``
    (the paper's convention, METHOD.md 4); otherwise each label is resampled from the
    transition matrix of ``--noise-type`` (symmetric by default) at rate ``--noise``.
    """
    n_classes = len(dataset.classes)
    noise_type = applied_noise_type(args, n_classes)
    if noise_type is None:
        return flip_binary(y_clean, args.noise, seed)
    T = transition_matrix(noise_type, n_classes, args.noise,
                          dataset=ASYMMETRIC_PAIRS.get(dataset.name, dataset.name))
    return apply_transition(y_clean, T, seed)


def applied_noise_type(args, n_classes):
    """The transition-matrix noise of a run, or None for exact binary flips."""
    if args.noise_type is None and n_classes == 2:
        return None
    return args.noise_type or "symmetric"


def _child_seeds(seed):
    """Independent seeds for the noise, the Random and the UIDS sampling."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(3)]


def evaluate(w, X, y):
    """Mean log-loss (nats), accuracy and ROC AUC of weights w on (X, y)."""
    p = logreg.predict_proba(w, X)
    auc = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else None
    return dict(logloss=float(logreg.sample_losses(w, X, y).mean()),
                accuracy=float(np.mean((p > 0.5) == (y == 1))),
                auc=auc)


def evaluate_softmax(W, X, y, n_classes):
    """Mean cross-entropy (nats), accuracy and ROC AUC of softmax weights W on (X, y).

    The AUC is one-vs-rest, macro-averaged over the K classes (the plain AUC for two);
    None when a class is missing from y.
    """
    log_p = softmax.log_proba(W, X)  # one pass over X for the loss and the scores
    P = np.exp(log_p)
    auc = None
    if len(np.unique(y)) == n_classes:
        scores = P[:, 1] if n_classes == 2 else P
        auc = float(roc_auc_score(y, scores, multi_class="ovr"))
    return dict(logloss=float(softmax.losses_from_log_proba(log_p, y).mean()),
                accuracy=float(np.mean(P.argmax(axis=1) == y)),
                auc=auc)


def edit_training_set(method, split, phi, alpha, seed):
    """The training set each method fits on.

    Returns
    -------
    keep : ndarray of int
        Indices of the training samples used.
    labels : ndarray of shape (n_train,)
        Observed labels of those samples (indexed by ``keep``), before R.
    selected : ndarray of bool or None
        Samples relabeled by R (rdia) or removed (random, drop, uids); None for full
        and clean, where precision and recall do not apply.
    """
    n = len(split["y_noisy"])
    everyone = np.arange(n)
    _, random_seed, uids_seed = _child_seeds(seed)
    if method == "full":
        return everyone, split["y_noisy"], None
    if method == "clean":
        return everyone, split["y_clean"], None
    if method == "rdia":
        return everyone, split["y_noisy"], relabel.harmful_mask(phi, alpha)
    if method == "drop":
        harmful = relabel.harmful_mask(phi, alpha)
        return np.flatnonzero(~harmful), split["y_noisy"], harmful
    if method == "random":
        keep = relabel.random_subsample(n, SUBSAMPLE_RATIO, random_seed)
    elif method == "uids":
        keep = relabel.uids_subsample(phi, split["y_noisy"], SUBSAMPLE_RATIO, uids_seed)
    else:
        raise ValueError(f"unknown method {method!r}")
    removed = np.ones(n, dtype=bool)
    removed[keep] = False
    return keep, split["y_noisy"], removed


def fit_method(method, split, phi, args):
    """Fit one method's training set.

    Returns
    -------
    w : ndarray
        The fitted weights, (n_features,) for logreg, (n_features, K) for softmax.
    keep, selected
        As returned by :func:`edit_training_set`.
    """
    keep, labels, selected = edit_training_set(method, split, phi, args.alpha, args.seed)
    relabeled = selected[keep] if method == "rdia" else None
    w = split["learner"].fit(split["X_train"][keep], labels[keep], args.C, relabeled)
    return w, keep, selected


def run_method(method, split, phi, args):
    """Fit one method's training set and evaluate it; one row of ``results``."""
    w, keep, selected = fit_method(method, split, phi, args)
    learner = split["learner"]
    test = learner.evaluate(w, split["X_test"], split["y_test"])
    val = learner.evaluate(w, split["X_val"], split["y_val"])
    precision = recall = None
    if selected is not None:
        precision, recall = relabel.selection_quality(selected, split["noisy"])
    n_selected = int(selected.sum()) if selected is not None else 0
    return dict(method=method,
                test_logloss=test["logloss"], test_accuracy=test["accuracy"],
                test_auc=test["auc"], val_logloss=val["logloss"],
                n_train_used=int(len(keep)),
                n_relabeled=n_selected if method == "rdia" else 0,
                n_removed=len(split["y_noisy"]) - int(len(keep)),
                precision=precision, recall=recall)


def run(args):
    """Run the whole experiment described by parsed ``args``.

    Returns
    -------
    report : dict
        ``config``, ``results`` (one dict per method), ``timings`` (seconds) and
        ``solver``; also ``phi`` (ndarray, n_train) and ``split`` for callers that
        want the samples. The last two are not written to JSON.
    """
    timings = {}
    start = time.perf_counter()
    split = prepare_data(args)
    timings["load"] = time.perf_counter() - start
    if args.solver == "direct":
        # Refuse before fitting, not after: the dense Hessian has one row per parameter.
        influence.check_direct_size(split["dataset"].n_features * split["learner"].n_columns)

    learner = split["learner"]
    start = time.perf_counter()
    w_full = learner.fit(split["X_train"], split["y_noisy"], args.C)
    timings["fit"] = time.perf_counter() - start

    solver = influence.make_solver(args.solver, tol=args.tol, max_iter=args.max_iter)
    start = time.perf_counter()
    phi = learner.influence(w_full, split["X_train"], split["y_noisy"],
                            split["X_val"], split["y_val"], args.C, solver)
    timings["influence"] = time.perf_counter() - start

    start = time.perf_counter()
    results = [run_method(method, split, phi, args)
               for method in tqdm(args.methods, desc="refit", unit="method",
                                  leave=False, disable=None)]
    timings["methods"] = time.perf_counter() - start

    dataset = split["dataset"]
    config = {key: value for key, value in vars(args).items()}
    config.update(dataset_name=dataset.name, n_train=len(split["y_noisy"]),
                  n_val=len(split["y_val"]), n_test=len(split["y_test"]),
                  n_features=int(dataset.n_features), n_classes=len(dataset.classes),
                  noise_type=applied_noise_type(args, len(dataset.classes)),
                  n_flipped=int(split["noisy"].sum()),
                  n_harmful=int(relabel.harmful_mask(phi, args.alpha).sum()))
    return dict(config=config, results=results, timings=timings,
                solver=dict(name=solver.name, iterations=int(solver.n_iter_),
                            residual=float(solver.residual_)),
                phi=phi, split=split)


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
    header = " ".join([f"{'method':<8}"] + [f"{name:>{width}}" for name, _, width in columns])
    lines += [header, "-" * len(header)]
    for row in report["results"]:
        lines.append(" ".join([f"{row['method']:<8}"] + [_fmt(row[key], width)
                                                         for _, key, width in columns]))
    t, s = report["timings"], report["solver"]
    lines.append(f"time: load {t['load']:.2f}s, fit {t['fit']:.2f}s, influence "
                 f"{t['influence']:.2f}s ({s['name']}: {s['iterations']} iterations, "
                 f"relative residual {s['residual']:.1e}), refits {t['methods']:.2f}s")
    return "\n".join(lines)


def _fmt(value, width):
    """A table cell: '-' for None, an integer as is, a float to 4 decimals."""
    if value is None:
        return f"{'-':>{width}}"
    if isinstance(value, (int, np.integer)):
        return f"{value:>{width}d}"
    return f"{value:>{width}.4f}"


def save_influence_csv(path, report):
    """One row per training sample, in training-set order."""
    split, phi = report["split"], report["phi"]
    relabeled = relabel.harmful_mask(phi, report["config"]["alpha"])
    rows = zip(range(len(phi)), split["y_noisy"], split["y_clean"],
               split["noisy"].astype(int), (f"{v:.10g}" for v in phi),
               relabeled.astype(int))
    write_csv_atomic(path, ["index", "observed_label", "clean_label", "noisy", "phi",
                            "relabeled"], rows)


def plot_influence(path, report):
    """Histogram of phi for clean and flipped training samples, with alpha marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    phi, noisy = report["phi"], report["split"]["noisy"]
    cfg = report["config"]
    fig, ax = plt.subplots(figsize=(6, 4))
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
    plt.close(fig)


def write_outputs(args, report):
    """Write the JSON, the optional influence CSV and the plot; return their paths."""
    stem = Path("runs") / run_name(args)
    output = args.output or (None if args.no_files else stem.with_suffix(".json"))
    plot = args.plot or (None if args.no_files else Path(f"{stem}-phi.png"))
    written = []
    if output:
        write_json_atomic(output, {key: report[key] for key in
                                   ("config", "results", "timings", "solver")})
        written.append(str(output))
    if args.save_influence:
        save_influence_csv(args.save_influence, report)
        written.append(str(args.save_influence))
    if plot:
        plot_influence(plot, report)
        written.append(str(plot))
    return written


def main(argv=None):
    """Command-line entry point; returns the exit code."""
    try:
        args = parse_args(argv)
        report = run(args)
        print(format_table(report))
        written = write_outputs(args, report)
    except (UsageError, DataError, influence.ConvergenceError,
            influence.DirectSolveTooLarge, softmax.FitError) as error:
        print(f"RDIA.py: error: {error}", file=sys.stderr)
        return 2
    if written:
        print("wrote " + ", ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
