"""Label repair with a trusted file: RDIA against cleanlab, side by side.

Usage::

    RDIA_DATA_DIR=/path/to/datasets python -m benchmarks.label_repair
    python -m benchmarks.label_repair --datasets cancer digits --seeds 0 1 --noises 0.2

For each dataset, noise rate and seed, the rows of the dataset (train and test pooled,
``--rows`` at most, drawn with the seed) are split into 55% training, 15% trusted
(validation) and 30% test rows; a constant column is appended (the project's model has
no intercept). The training labels get symmetric noise (``data.noise``, each label
resampled from T with 1 - r on the diagonal); trusted and test labels stay clean.
Methods:

- noisy: no repair;
- rdia: ``rdia.estimator.repair_labels`` at its defaults (alpha="auto": rounds of
  relabeling, their number cross-fitted on the trusted rows, and a test of the
  given labels with the trusted rows as the null; docs/method.md section 8); the
  flagged rows are those the rounds relabeled and those the test flags, and the
  refit trains on ``repair.suggested``: the rounds' label where both agree, else
  the given label (a flagged row that keeps its label counts in precision and
  recall, and as a wrong label in "right label" when the noise changed it);
- rdia-k*: the same flagged rows, all relabeled to k* of docs/method.md section 7;
- rdia-once: one alpha cross-fitted on the trusted rows (``repair.choose_alpha``, the
  previous default), the rows with
  phi > alpha relabeled to the most probable other class under RDIA's refit;
- rdia-0.0002: the same at the paper's alpha 0.0002, the previous default;
- cleanlab: ``cleanlab.filter.find_label_issues`` on 5-fold out-of-fold
  probabilities of scikit-learn's ``LogisticRegression()``, flagged rows relabeled
  to the most probable other class;
- cleanlab+trusted: the same with the trusted rows added to its training rows (only
  training rows can be flagged).

Per method: precision, recall and F1 of the flagged set against the rows whose label
the noise changed, the share of flagged rows whose new label is the true one, and the clean-test accuracy and log-loss of two learners refitted
on the repaired training rows: the project's objective (C = 0.1, L2, no intercept
beyond the constant column) and scikit-learn's ``LogisticRegression()`` at its
defaults. Also, for rdia, the alpha chosen and whether the trusted-file check warned
(it should not: the trusted rows are clean). Written under ``--output-dir``:
results.json (every run), table.md (means over seeds) and figure.png.
"""

import sys
import warnings

import numpy as np
import scipy.sparse as sp

from rdia.experiments.cli import ConfigError, OneLineParser, run_script

DATASETS = ("cancer", "diabetes", "digits", "a1a", "adult")
METHODS = ("noisy", "rdia", "rdia-k*", "rdia-once", "rdia-0.0002", "cleanlab",
           "cleanlab+trusted")
LEARNERS = ("rdia", "sklearn")
DEFAULT_DATASETS = ("cancer", "diabetes", "digits", "a1a")
DEFAULT_NOISES = (0.1, 0.2, 0.3, 0.4)
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
C = 0.1
TRAIN_SHARE, TRUSTED_SHARE = 0.55, 0.15


def parse_args(argv=None):
    parser = OneLineParser(prog="benchmarks.label_repair",
                           description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS,
                        default=list(DEFAULT_DATASETS), help="datasets to repair")
    parser.add_argument("--noises", nargs="+", type=float, default=list(DEFAULT_NOISES),
                        help="rates of symmetric noise on the training labels")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS),
                        help="seeds of the draw, the split and the noise")
    parser.add_argument("--rows", type=int, default=1200,
                        help="rows drawn from each dataset (train + trusted + test)")
    parser.add_argument("--output-dir", default="results/label_repair",
                        help="folder of results.json, table.md and figure.png")
    opts = parser.parse_args(argv)
    for noise in opts.noises:
        if not 0 <= noise < 1:
            raise ConfigError(f"--noises must be numbers in [0, 1); got {noise:g}")
    for seed in opts.seeds:
        if seed < 0:
            raise ConfigError(f"--seeds must be integers >= 0; got {seed}")
    if opts.rows < 100:
        raise ConfigError(f"--rows must be an integer >= 100; got {opts.rows}")
    return opts


def load_pooled(name):
    """All labelled rows of a dataset: X (dense or CSR, float64) and y (int64)."""
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return X / 16.0, y.astype(np.int64)
    from rdia.data.datasets import load_binary

    data = load_binary(name)
    stack = sp.vstack if sp.issparse(data.X_train) else np.vstack
    X = stack([data.X_train, data.X_test])
    return (X.tocsr() if sp.issparse(X) else X), np.concatenate([data.y_train,
                                                                 data.y_test])


def with_constant(X):
    """X with a column of ones appended (dense stays dense, CSR stays CSR)."""
    ones = np.ones((X.shape[0], 1))
    if sp.issparse(X):
        return sp.hstack([X, sp.csr_matrix(ones)], format="csr")
    return np.hstack([X, ones])


def split(X, y, rows, seed):
    """Training, trusted and test parts of ``rows`` rows drawn with ``seed``."""
    order = np.random.default_rng(seed).permutation(len(y))[:rows]
    n_train = int(TRAIN_SHARE * len(order))
    n_trusted = int(TRUSTED_SHARE * len(order))
    parts = np.split(order, [n_train, n_train + n_trusted])
    X = with_constant(X)
    return [(X[part], y[part]) for part in parts]


def noisy_labels(y, n_classes, noise, seed):
    """Symmetric noise at rate ``noise``: the noisy labels and the changed mask."""
    from rdia.data.noise import apply_transition, transition_matrix

    return apply_transition(y, transition_matrix("symmetric", n_classes, noise),
                            seed + 1000)


def sklearn_learner():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression()


def cleanlab_repair(X, y, X_trusted, y_trusted, n_classes, seed, with_trusted):
    """cleanlab's flagged training rows and their suggested labels."""
    from cleanlab.filter import find_label_issues
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if with_trusted:
        stack = sp.vstack if sp.issparse(X) else np.vstack
        X_all, y_all = stack([X, X_trusted]), np.concatenate([y, y_trusted])
    else:
        X_all, y_all = X, y
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proba = cross_val_predict(sklearn_learner(), X_all, y_all, cv=folds,
                                  method="predict_proba")
    flagged = find_label_issues(y_all, proba, n_jobs=1)[:len(y)]
    others = proba[:len(y)].copy()
    others[np.arange(len(y)), y] = -np.inf
    suggested = np.where(flagged, np.argmax(others, axis=1), y)
    return flagged, suggested


def rdia_repair(X, y, X_trusted, y_trusted, alpha):
    """RDIA's flagged rows, suggested labels and the record of the run; alpha "once"
    is the one alpha of ``repair.choose_alpha``."""
    from rdia.estimator import checked_fit, repair_from_fit, repair_labels
    from rdia.repair import choose_alpha

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        if alpha == "once":
            X, X_trusted, fit = checked_fit(X, y, X_trusted, y_trusted, C, "auto")
            alpha = choose_alpha(fit, X, X_trusted, C).alpha
            repair = repair_from_fit(fit, X, X_trusted, C, alpha, check_trusted=False)
        else:
            repair = repair_labels(X, y, X_trusted, y_trusted, C=C, alpha=alpha,
                                   check_trusted=alpha == "auto")
    return repair.harmful, repair.suggested.astype(np.int64), repair


def right_labels(flagged, repaired, y_clean):
    """Share of the flagged rows whose repaired label is the true one (0 if none)."""
    return float(np.mean(repaired[flagged] == y_clean[flagged])) if flagged.any() else 0.0


def flag_quality(flagged, changed):
    """Precision, recall and F1 of the flagged set (0 where undefined)."""
    hits = np.sum(flagged & changed)
    precision = hits / flagged.sum() if flagged.any() else 0.0
    recall = hits / changed.sum() if changed.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def test_scores(X, y, X_test, y_test, n_classes):
    """Accuracy and log-loss on the test rows of the two learners refitted on (X, y)."""
    from sklearn.metrics import log_loss

    from rdia.estimator import linear_model_for

    linear = linear_model_for("auto", n_classes)
    W = linear.fit(X, y, C)
    scores = {"rdia": linear.evaluate(W, X_test, y_test)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sklearn_learner().fit(X, y)
    proba = np.zeros((len(y_test), n_classes))
    proba[:, model.classes_] = model.predict_proba(X_test)
    scores["sklearn"] = {"accuracy": float(np.mean(proba.argmax(axis=1) == y_test)),
                         "logloss": float(log_loss(y_test, np.clip(proba, 1e-15, 1),
                                                   labels=np.arange(n_classes)))}
    return {learner: {"accuracy": s["accuracy"], "logloss": s["logloss"]}
            for learner, s in scores.items()}


def one_run(dataset, X, y, noise, seed, rows):
    """Every method on one dataset, noise rate and seed; a list of result rows."""
    n_classes = int(y.max()) + 1
    (X_tr, y_clean), (X_trusted, y_trusted), (X_test, y_test) = split(X, y, rows, seed)
    y_noisy, changed = noisy_labels(y_clean, n_classes, noise, seed)
    results = []
    auto = rdia_repair(X_tr, y_noisy, X_trusted, y_trusted, "auto")  # rdia's, rdia-k*'s
    for method in METHODS:
        extra = {}
        if method == "noisy":
            flagged, repaired = np.zeros(len(y_noisy), dtype=bool), y_noisy
        elif method == "rdia-k*":  # rdia's flagged rows, relabeled to k*
            flagged, _, record = auto
            repaired = np.where(flagged, record.k_star, y_noisy).astype(np.int64)
        elif method.startswith("rdia"):
            alpha = "once" if method == "rdia-once" else 0.0002
            flagged, repaired, record = auto if method == "rdia" else rdia_repair(
                X_tr, y_noisy, X_trusted, y_trusted, alpha)
            extra = {"alpha": None if np.isinf(record.alpha) else record.alpha,
                     "trusted_warning": (None if record.trusted_check is None
                                         else bool(record.trusted_check.suspicious))}
            if method == "rdia":
                extra["rounds"] = record.alpha_choice.rounds
                extra["relabeled"] = int(np.sum(repaired != y_noisy))
        else:
            flagged, repaired = cleanlab_repair(X_tr, y_noisy, X_trusted, y_trusted,
                                                n_classes, seed,
                                                method == "cleanlab+trusted")
        precision, recall, f1 = flag_quality(flagged, changed)
        results.append(dict(dataset=dataset, noise=noise, seed=seed, method=method,
                            flagged=int(flagged.sum()), precision=precision,
                            recall=recall, f1=f1,
                            right_label=right_labels(flagged, repaired, y_clean),
                            test=test_scores(X_tr, repaired, X_test, y_test, n_classes),
                            **extra))
    return results


def mean_table(results, datasets, noises):
    """Means over seeds: {(dataset, noise, method): dict of means}."""
    table = {}
    for dataset in datasets:
        for noise in noises:
            for method in METHODS:
                runs = [r for r in results if (r["dataset"], r["noise"], r["method"])
                        == (dataset, noise, method)]
                if not runs:
                    continue
                row = {key: float(np.mean([r[key] for r in runs]))
                       for key in ("precision", "recall", "f1", "flagged", "right_label")}
                for learner in LEARNERS:
                    for metric in ("accuracy", "logloss"):
                        row[f"{learner}_{metric}"] = float(np.mean(
                            [r["test"][learner][metric] for r in runs]))
                table[dataset, noise, method] = row
    return table


def acceptance(table, datasets, noises):
    """The issue's three checks, with scikit-learn's learner."""
    cells = [(d, n) for d in datasets for n in noises]
    wins = sum(table[d, n, "rdia"]["sklearn_accuracy"]
               >= table[d, n, "cleanlab+trusted"]["sklearn_accuracy"] - 1e-12
               for d, n in cells)
    f1 = {m: float(np.mean([table[d, n, m]["f1"] for d, n in cells]))
          for m in ("rdia", "cleanlab+trusted")}
    never_below = {}
    for noise in noises:
        mine = np.mean([table[d, noise, "rdia"]["sklearn_accuracy"] for d in datasets])
        none = np.mean([table[d, noise, "noisy"]["sklearn_accuracy"] for d in datasets])
        never_below[noise] = (float(mine), float(none))
    return {"accuracy_wins": wins, "cells": len(cells), "mean_f1": f1,
            "mean_accuracy_by_noise": never_below}


def markdown(table, datasets, noises, checks, command):
    """The markdown table of means over seeds and the acceptance lines."""
    lines = [f"Command: `{command}`", "",
             "| dataset | noise | method | flagged | precision | recall | F1 | "
             "right label | acc (sklearn LR) | log-loss (sklearn LR) | acc (RDIA LR) | "
             "log-loss (RDIA LR) |", "|" + "---|" * 12]
    for dataset in datasets:
        for noise in noises:
            for method in METHODS:
                r = table[dataset, noise, method]
                lines.append(f"| {dataset} | {noise:g} | {method} | {r['flagged']:.1f} | "
                             f"{r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | "
                             f"{r['right_label']:.3f} | "
                             f"{r['sklearn_accuracy']:.4f} | {r['sklearn_logloss']:.4f} | "
                             f"{r['rdia_accuracy']:.4f} | {r['rdia_logloss']:.4f} |")
    lines += ["", f"rdia's sklearn-LR test accuracy >= cleanlab+trusted's in "
                  f"{checks['accuracy_wins']} of {checks['cells']} dataset x noise cells.",
              f"Mean F1: rdia {checks['mean_f1']['rdia']:.3f}, cleanlab+trusted "
              f"{checks['mean_f1']['cleanlab+trusted']:.3f}.",
              "Mean sklearn-LR test accuracy over datasets, rdia against no repair: " +
              ", ".join(f"noise {n:g}: {a:.4f} vs {b:.4f}"
                        for n, (a, b) in checks["mean_accuracy_by_noise"].items()) + "."]
    return "\n".join(lines) + "\n"


def figure(table, datasets, noises, path):
    """F1 and sklearn-LR test accuracy against noise, one column per dataset; rdia
    drawn on top, and rdia-k* only in the accuracy row (its F1 is rdia's: the same
    rows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rdia.experiments.files import save_figure_atomic

    fig, axes = plt.subplots(2, len(datasets), figsize=(3.2 * len(datasets), 5.5),
                             squeeze=False)
    colors = dict(zip(METHODS, plt.get_cmap("tab10").colors))
    for column, dataset in enumerate(datasets):
        for method in METHODS:
            f1 = [table[dataset, n, method]["f1"] for n in noises]
            accuracy = [table[dataset, n, method]["sklearn_accuracy"] for n in noises]
            on_top = 3 if method == "rdia" else 2
            if method not in ("noisy", "rdia-k*"):
                axes[0, column].plot(noises, f1, marker="o", color=colors[method],
                                     zorder=on_top)
            axes[1, column].plot(noises, accuracy, marker="o", label=method,
                                 color=colors[method], zorder=on_top)
        axes[0, column].set_title(dataset)
        axes[1, column].set_xlabel("noise rate")
    axes[0, 0].set_ylabel("F1 of flagged rows")
    axes[1, 0].set_ylabel("test accuracy, sklearn LR")
    axes[1, 0].legend(fontsize=7)
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)
    plt.close(fig)


def main(argv=None):
    from pathlib import Path

    from rdia.experiments.files import (check_output_paths, write_json_atomic,
                                        write_text_atomic)

    opts = parse_args(argv)
    folder = Path(opts.output_dir)
    outputs = [folder / "results.json", folder / "table.md", folder / "figure.png"]
    check_output_paths({f"--output-dir ({p.name})": (p, None) for p in outputs})
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for dataset in opts.datasets:
        X, y = load_pooled(dataset)
        for noise in opts.noises:
            for seed in opts.seeds:
                results += one_run(dataset, X, y, noise, seed, opts.rows)
            print(f"{dataset} noise {noise:g}: done", file=sys.stderr, flush=True)
    table = mean_table(results, opts.datasets, opts.noises)
    checks = acceptance(table, opts.datasets, opts.noises)
    command = "python -m benchmarks.label_repair " + " ".join(argv if argv is not None
                                                              else sys.argv[1:])
    text = markdown(table, opts.datasets, opts.noises, checks, command.strip())
    write_json_atomic(outputs[0], {"settings": vars(opts) | {"C": C}, "runs": results,
                                   "acceptance": checks})
    write_text_atomic(outputs[1], text)
    figure(table, opts.datasets, opts.noises, outputs[2])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run_script("benchmarks.label_repair", main))
