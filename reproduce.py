"""Reproduce the paper's logistic-regression tables and deep-model curves.

Subcommands (each writes markdown, CSV and PNG into ``--results-dir``)::

    python reproduce.py alpha-grid   # MNIST 1 vs 7: RDIA test log-loss over alpha x noise
    python reproduce.py lr-table     # every available dataset x noise x method
    python reproduce.py ls-curves    # RDIA-LS vs CE vs co-teaching on MNIST, noise 0.8

Each accepts ``--seeds`` (a count N for seeds 0..N-1, or a comma list), ``--quick``
(1 seed, 2 datasets, 3 epochs) and ``--data-dir``. The work is done by the functions
of ``RDIA.py`` and ``RDIA-LS.py``, called directly.
"""

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import RDIA
import influence
from models import logreg
import relabel
from experiments.cli import DefaultsFormatter, OneLineParser
from data.datasets import BINARY_DATASETS, LIBSVM_DATASETS
from data.errors import DataError
from data.paths import resolve_data_dir
from experiments.files import save_figure_atomic, write_csv_atomic, write_text_atomic

ROOT = Path(__file__).resolve().parent

NOISES = (0.0, 0.2, 0.5, 0.8)
GRID_ALPHAS = (0.01, 0.002, 0.0002)

#: Published RDIA test log-loss on MNIST 1 vs 7 (METHOD.md section 4): alpha -> noise -> value.
PUBLISHED_MNIST = {
    0.01: {0.0: 0.0235, 0.2: 0.0443, 0.5: 0.0903, 0.8: 0.1009},
    0.002: {0.0: 0.0207, 0.2: 0.0315, 0.5: 0.0519, 0.8: 0.0465},
    0.0002: {0.0: 0.0903, 0.2: 0.0392, 0.5: 0.0410, 0.8: 0.0405},
}

#: Candidate alphas for lr-table, chosen per dataset on validation log-loss.
SELECTION_ALPHAS = (0.0, 1e-4, 2e-4, 1e-3, 2e-3, 1e-2)

#: Datasets of lr-table that are always tried (downloaded if missing).
CORE_DATASETS = ("cancer", "diabetes", "mnist", "adult", "wdbc")
QUICK_DATASETS = ("cancer", "wdbc")

LR_METHODS = ("full", "random", "drop", "uids", "rdia", "clean",
              "cleanlab-prune", "cleanlab-relabel")

#: Folds of the out-of-sample probabilities given to cleanlab.
CLEANLAB_FOLDS = 5


# --------------------------------------------------------------------------- helpers

class ReproduceError(Exception):
    """A bad setting of a subcommand; main prints it in one line and exits 2."""


def parse_seeds(text):
    """``"5"`` -> [0, 1, 2, 3, 4]; ``"0,3,7"`` -> [0, 3, 7]."""
    parts = [p for p in text.split(",") if p.strip()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes a count or a comma list, got {text!r}")
    if len(values) == 1 and "," not in text:
        if values[0] < 1:
            raise argparse.ArgumentTypeError("--seeds must be at least 1")
        return list(range(values[0]))
    return values


def mean_std(values):
    """Mean and sample standard deviation (0 for a single value)."""
    values = np.asarray(values, dtype=float)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return float(values.mean()), float(std)


def format_mean_std(values, digits=4):
    mean, std = mean_std(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def rdia_args(dataset, noise, seed, data_dir, alpha=0.0002, methods="full"):
    """Parsed RDIA.py flags for one run (no files written)."""
    argv = ["--dataset", dataset, "--noise", str(noise), "--seed", str(seed),
            "--alpha", str(alpha), "--methods", methods, "--no-files"]
    if data_dir:
        argv += ["--data-dir", str(data_dir)]
    return RDIA.parse_args(argv)


def fit_and_score(args):
    """Split, noise, full fit and phi for one (dataset, noise, seed)."""
    split = RDIA.prepare_data(args)
    w = logreg.fit(split["X_train"], split["y_noisy"], args.C)
    phi = influence.influence(w, split["X_train"], split["y_noisy"], split["X_val"],
                              split["y_val"], args.C,
                              influence.make_solver(args.solver, args.tol, args.max_iter))
    return split, w, phi


# --------------------------------------------------------------------------- alpha-grid

def alpha_grid(seeds, data_dir=None, noises=NOISES, alphas=GRID_ALPHAS, progress=True):
    """RDIA test log-loss on MNIST 1 vs 7 for every (alpha, noise, seed).

    phi depends on the noise and the seed but not on alpha, so it is computed once per
    (noise, seed) and reused for every alpha.

    Returns
    -------
    rows : list of dict
        ``alpha``, ``noise``, ``seed``, ``test_logloss``, ``test_accuracy``,
        ``n_relabeled``, ``precision``, ``recall``.
    """
    rows = []
    jobs = [(noise, seed) for noise in noises for seed in seeds]
    for noise, seed in tqdm(jobs, desc="alpha-grid", unit="run", disable=not progress):
        args = rdia_args("mnist", noise, seed, data_dir)
        split, _, phi = fit_and_score(args)
        for alpha in alphas:
            args.alpha = alpha
            row = RDIA.run_method("rdia", split, phi, args)
            rows.append(dict(alpha=alpha, noise=noise, seed=seed,
                             test_logloss=row["test_logloss"],
                             test_accuracy=row["test_accuracy"],
                             n_relabeled=row["n_relabeled"], precision=row["precision"],
                             recall=row["recall"]))
    return rows


def alpha_grid_report(rows, seeds, seconds):
    """Markdown of the alpha grid beside the published values."""
    noises = sorted({r["noise"] for r in rows})
    alphas = sorted({r["alpha"] for r in rows}, reverse=True)
    table = []
    for alpha in alphas:
        cells = [f"{alpha:g}"]
        for noise in noises:
            values = [r["test_logloss"] for r in rows
                      if r["alpha"] == alpha and r["noise"] == noise]
            published = PUBLISHED_MNIST.get(alpha, {}).get(noise)
            ref = f" (paper {published:.4f})" if published is not None else ""
            cells.append(format_mean_std(values) + ref)
        table.append(cells)
    header = ["alpha"] + [f"noise {n:g}" for n in noises]
    return "\n".join([
        "# alpha grid: RDIA on MNIST 1 vs 7",
        "",
        f"Test log-loss of RDIA, mean ± sample std over {len(seeds)} seed(s) "
        f"({', '.join(map(str, seeds))}); the published value in brackets "
        "(METHOD.md section 4). C = 0.1, validation = last 30% of the training part.",
        "",
        markdown_table(header, table),
        "",
        f"Took {seconds:.0f} s on this machine.",
        ""])


def plot_alpha_ratio(rows, path):
    """Heat map of mean(ours) / published for each (alpha, noise)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    noises = sorted({r["noise"] for r in rows})
    alphas = sorted({r["alpha"] for r in rows}, reverse=True)
    ratio = np.full((len(alphas), len(noises)), np.nan)
    for i, alpha in enumerate(alphas):
        for j, noise in enumerate(noises):
            published = PUBLISHED_MNIST.get(alpha, {}).get(noise)
            values = [r["test_logloss"] for r in rows
                      if r["alpha"] == alpha and r["noise"] == noise]
            if published and values:
                ratio[i, j] = np.mean(values) / published
    fig, ax = plt.subplots(figsize=(6, 3.2))
    finite = ratio[np.isfinite(ratio)]
    bound = max(2.0, float(np.max(np.maximum(finite, 1 / finite)))) if finite.size else 2.0
    image = ax.imshow(ratio, cmap="RdBu_r", norm=LogNorm(1 / bound, bound))
    for i in range(len(alphas)):
        for j in range(len(noises)):
            if np.isfinite(ratio[i, j]):
                strong = abs(np.log(ratio[i, j])) > 0.5 * np.log(bound)
                ax.text(j, i, f"{ratio[i, j]:.2f}", ha="center", va="center",
                        color="white" if strong else "black")
    ax.set_xticks(range(len(noises)), [f"{n:g}" for n in noises])
    ax.set_yticks(range(len(alphas)), [f"{a:g}" for a in alphas])
    ax.set_xlabel("noise rate")
    ax.set_ylabel("alpha")
    ax.set_title("RDIA test log-loss on MNIST 1 vs 7: ours / published")
    fig.colorbar(image, ax=ax, label="ratio (log scale)")
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)
    plt.close(fig)


def run_alpha_grid(opts):
    seeds = [0] if opts.quick else opts.seeds
    start = time.perf_counter()
    rows = alpha_grid(seeds, opts.data_dir)
    seconds = time.perf_counter() - start
    out = Path(opts.results_dir)
    stem = "alpha-grid-quick" if opts.quick else "alpha-grid"
    keys = list(rows[0])
    write_csv_atomic(out / f"{stem}.csv", keys, ([r[k] for k in keys] for r in rows))
    write_text_atomic(out / f"{stem}.md", alpha_grid_report(rows, seeds, seconds))
    plot_alpha_ratio(rows, out / f"{stem}-ratio.png")
    print(alpha_grid_report(rows, seeds, seconds))
    return [out / f"{stem}.md", out / f"{stem}.csv", out / f"{stem}-ratio.png"]


# --------------------------------------------------------------------------- lr-table

def available_datasets(data_dir=None, quick=False):
    """Datasets for lr-table: the core ones, plus any other whose files are local."""
    if quick:
        return list(QUICK_DATASETS)
    folder = resolve_data_dir(data_dir)
    extra = [name for name in BINARY_DATASETS if name not in CORE_DATASETS
             and name in LIBSVM_DATASETS
             and (folder / LIBSVM_DATASETS[name].train).is_file()]
    return list(CORE_DATASETS) + extra


def out_of_sample_proba(X, y, C, seed, folds=CLEANLAB_FOLDS):
    """Probabilities of each training sample from a model that did not see it.

    Returns
    -------
    proba : ndarray of shape (n_samples, 2)
        Columns: P(y = 0), P(y = 1), from ``folds``-fold stratified cross-fitting.
    """
    from sklearn.model_selection import StratifiedKFold

    p1 = np.empty(len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_index, held_out in splitter.split(np.zeros(len(y)), y):
        w = logreg.fit(X[fit_index], y[fit_index], C)
        p1[held_out] = logreg.predict_proba(w, X[held_out])
    return np.column_stack([1.0 - p1, p1])


def cleanlab_rows(split, args):
    """cleanlab-prune and cleanlab-relabel on the noisy training set."""
    from cleanlab.filter import find_label_issues

    y = split["y_noisy"].astype(int)
    proba = out_of_sample_proba(split["X_train"], y, args.C, args.seed)
    flagged = find_label_issues(y, proba, n_jobs=1)
    precision, recall = relabel.selection_quality(flagged, split["noisy"])
    rows = []
    for method in ("cleanlab-prune", "cleanlab-relabel"):
        if method == "cleanlab-prune":
            keep, labels = np.flatnonzero(~flagged), y
        else:
            keep, labels = np.arange(len(y)), relabel.relabel_binary(y, flagged)
        w = logreg.fit(split["X_train"][keep], labels[keep], args.C)
        test = RDIA.evaluate(w, split["X_test"], split["y_test"])
        val = RDIA.evaluate(w, split["X_val"], split["y_val"])
        rows.append(dict(method=method, test_logloss=test["logloss"],
                         test_accuracy=test["accuracy"], test_auc=test["auc"],
                         val_logloss=val["logloss"], n_train_used=int(len(keep)),
                         n_relabeled=int(flagged.sum()) if method.endswith("relabel") else 0,
                         n_removed=len(y) - int(len(keep)),
                         precision=precision, recall=recall))
    return rows


def lr_runs(dataset, noise, seed, data_dir=None):
    """All methods of lr-table for one (dataset, noise, seed).

    rdia and drop are evaluated at every alpha of ``SELECTION_ALPHAS``; the others
    once. Every row carries ``alpha`` (None where it does not apply).
    """
    args = rdia_args(dataset, noise, seed, data_dir)
    split, _, phi = fit_and_score(args)
    rows = []
    for method in ("full", "random", "uids", "clean"):
        rows.append(dict(RDIA.run_method(method, split, phi, args), alpha=None))
    for alpha in SELECTION_ALPHAS:
        args.alpha = alpha
        for method in ("drop", "rdia"):
            rows.append(dict(RDIA.run_method(method, split, phi, args), alpha=alpha))
    rows += [dict(row, alpha=None) for row in cleanlab_rows(split, args)]
    for row in rows:
        row.update(dataset=dataset, noise=noise, seed=seed)
    return rows


def choose_alpha(rows):
    """The alpha of SELECTION_ALPHAS with the lowest mean RDIA validation log-loss.

    The mean runs over every noise level and seed of the dataset; the test set is
    never looked at. Ties go to the larger alpha (fewer relabels).
    """
    scores = {alpha: np.mean([r["val_logloss"] for r in rows
                              if r["method"] == "rdia" and r["alpha"] == alpha])
              for alpha in SELECTION_ALPHAS}
    best = min(scores.values())
    return max(alpha for alpha, score in scores.items() if score == best)


def select_rows(rows, chosen):
    """Keep rdia and drop only at each dataset's chosen alpha."""
    return [r for r in rows if r["method"] not in ("rdia", "drop")
            or r["alpha"] == chosen[r["dataset"]]]


def lr_table_report(rows, chosen, seeds, seconds, skipped):
    """Markdown with the log-loss table, the accuracy table and precision / recall."""
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    noises = sorted({r["noise"] for r in rows})

    def cell_values(dataset, noise, method, key):
        return [r[key] for r in rows if r["dataset"] == dataset and r["noise"] == noise
                and r["method"] == method and r[key] is not None]

    def table(key, best):
        body = []
        for dataset in datasets:
            for noise in noises:
                means = {m: mean_std(cell_values(dataset, noise, m, key))[0]
                         for m in LR_METHODS}
                # The clean oracle sees the true labels; it is not a competitor.
                target = best({m: v for m, v in means.items() if m != "clean"}.values())
                cells = []
                for method in LR_METHODS:
                    text = format_mean_std(cell_values(dataset, noise, method, key))
                    bold = method != "clean" and means[method] == target
                    cells.append(f"**{text}**" if bold else text)
                body.append([dataset, f"{noise:g}"] + cells)
        return markdown_table(["dataset", "noise"] + list(LR_METHODS), body)

    def quality():
        body = []
        for dataset in datasets:
            for noise in noises:
                cells = []
                for method in ("random", "drop", "uids", "rdia", "cleanlab-prune"):
                    p = cell_values(dataset, noise, method, "precision")
                    r = cell_values(dataset, noise, method, "recall")
                    cells.append(f"{np.mean(p):.2f} / {np.mean(r):.2f}" if p and r else "-")
                body.append([dataset, f"{noise:g}"] + cells)
        return markdown_table(["dataset", "noise", "random", "drop", "uids", "rdia",
                               "cleanlab"], body)

    alpha_line = ", ".join(f"{d}: {chosen[d]:g}" for d in datasets)
    lines = [
        "# Logistic regression: all methods",
        "",
        f"Mean ± sample std over {len(seeds)} seed(s) ({', '.join(map(str, seeds))}). "
        "C = 0.1; validation = last 30% of the training part; test labels clean. "
        "Bold: the best method in the row, the clean oracle excluded.",
        "",
        f"alpha (shared by rdia and drop, chosen per dataset from "
        f"{{{', '.join(f'{a:g}' for a in SELECTION_ALPHAS)}}} by the lowest mean RDIA "
        f"validation log-loss over all noise levels and seeds): {alpha_line}.",
        "",
        "cleanlab rows: `cleanlab.filter.find_label_issues` on "
        f"{CLEANLAB_FOLDS}-fold out-of-sample probabilities of the same logistic "
        "regression; prune removes the flagged samples, relabel flips them.",
        "",
        "## Test log-loss (lower is better)",
        "",
        table("test_logloss", min),
        "",
        "## Test accuracy (higher is better)",
        "",
        table("test_accuracy", max),
        "",
        "## Precision / recall of the relabeled or removed samples against the true "
        "noise mask",
        "",
        quality(),
        "",
        f"Took {seconds:.0f} s on this machine.",
    ]
    if skipped:
        lines += ["", "Skipped (files not available): " + "; ".join(skipped)]
    return "\n".join(lines) + "\n"


def lr_table(datasets, seeds, data_dir=None, noises=NOISES, progress=True):
    """Every run of lr-table; returns (rows, skipped datasets with reasons)."""
    rows, skipped = [], []
    jobs = [(d, n, s) for d in datasets for n in noises for s in seeds]
    bar = tqdm(jobs, desc="lr-table", unit="run", disable=not progress)
    missing = set()
    for dataset, noise, seed in bar:
        if dataset in missing:
            continue
        bar.set_postfix_str(f"{dataset} noise {noise:g} seed {seed}")
        try:
            rows += lr_runs(dataset, noise, seed, data_dir)
        except DataError as error:
            missing.add(dataset)
            skipped.append(f"{dataset} ({error})")
    return rows, skipped


def run_lr_table(opts):
    seeds = [0] if opts.quick else opts.seeds
    datasets = available_datasets(opts.data_dir, opts.quick)
    start = time.perf_counter()
    rows, skipped = lr_table(datasets, seeds, opts.data_dir)
    if not rows:
        raise DataError("no dataset could be loaded; " + "; ".join(skipped))
    chosen = {d: choose_alpha([r for r in rows if r["dataset"] == d])
              for d in dict.fromkeys(r["dataset"] for r in rows)}
    seconds = time.perf_counter() - start
    out = Path(opts.results_dir)
    stem = "lr-table-quick" if opts.quick else "lr-table"
    keys = ["dataset", "noise", "seed", "method", "alpha", "test_logloss", "test_accuracy",
            "test_auc", "val_logloss", "n_train_used", "n_relabeled", "n_removed",
            "precision", "recall"]
    write_csv_atomic(out / f"{stem}-all-alphas.csv", keys,
                     ([r[k] for k in keys] for r in rows))
    selected = select_rows(rows, chosen)
    write_csv_atomic(out / f"{stem}.csv", keys, ([r[k] for k in keys] for r in selected))
    report = lr_table_report(selected, chosen, seeds, seconds, skipped)
    write_text_atomic(out / f"{stem}.md", report)
    print(report)
    return [out / f"{stem}.md", out / f"{stem}.csv", out / f"{stem}-all-alphas.csv"]


# --------------------------------------------------------------------------- ls-curves

#: Methods of the paper's deep-model figure, in drawing order.
LS_METHODS = ("rdia-ls", "ce", "coteaching")

#: Epochs of the paper's runs.
PAPER_EPOCHS = 200

#: Published last-10-epoch mean test accuracy (%) at symmetric noise 0.8 on MNIST.
PUBLISHED_LS = {"rdia-ls": (87.85, 0.21)}


def load_module(name, path):
    """Import a Python file whose name is not a module name (RDIA-LS.py)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ls_runs(seeds, epochs, runs_dir, data_dir=None, subset=None, gpu=None,
            methods=LS_METHODS, threads=None):
    """Train (or reuse) every run of the deep-model figure.

    A run whose JSON in ``runs_dir`` has the same settings and all its epochs is
    loaded instead of trained, so ``benchmarks/rdia_ls_mnist.py`` and this command
    share finished runs.

    Returns
    -------
    results : dict
        method -> list of RDIA-LS.py result dicts, one per seed.
    """
    rdia_ls = load_module("rdia_ls", ROOT / "RDIA-LS.py")
    bench = load_module("rdia_ls_mnist", ROOT / "benchmarks" / "rdia_ls_mnist.py")
    results = {method: [] for method in methods}
    for method in methods:
        for seed in seeds:
            try:
                config = rdia_ls.make_config(
                    **bench.PAPER_SETTING, method=method, seed=seed, n_epoch=epochs,
                    subset=subset, gpu=gpu, data_dir=data_dir, result_dir=str(runs_dir),
                    threads=threads, progress=True)
            except rdia_ls.ConfigError as error:
                raise ReproduceError(str(error)) from None
            config["output"] = str(Path(runs_dir) / f"{rdia_ls.run_name(config)}.json")
            results[method].append(bench.run_or_reuse(rdia_ls, config, reuse=True))
    return results


def ls_table(results, epochs):
    """Markdown of the last-10-epoch mean test accuracy per method."""
    rows = []
    for method, runs in results.items():
        last10 = [r["final"]["test_acc_last10_mean"] for r in runs]
        published = PUBLISHED_LS.get(method)
        rows.append([method, f"{len(runs)} x {epochs}", format_mean_std(last10, 2),
                     f"{published[0]:.2f} ± {published[1]:.2f}" if published else "-"])
    return markdown_table(["method", "seeds x epochs", "test accuracy, last-10-epoch "
                           "mean (%)", "published"], rows)


def plot_ls_curves(results, path, epochs):
    """Mean test accuracy against epoch per method, with a ±1 std band over seeds."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for method, runs in results.items():
        accs = np.array([[row["test_acc"] for row in r["epochs"]] for r in runs])
        epoch = np.arange(1, accs.shape[1] + 1)
        mean = accs.mean(axis=0)
        std = accs.std(axis=0, ddof=1) if len(accs) > 1 else np.zeros_like(mean)
        ax.plot(epoch, mean, label=f"{method} ({len(runs)} seeds)")
        ax.fill_between(epoch, mean - std, mean + std, alpha=0.25)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    shorter = f", {epochs} of the paper's {PAPER_EPOCHS} epochs" if epochs < PAPER_EPOCHS else ""
    ax.set_title(f"MNIST, symmetric noise 0.8{shorter}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)
    plt.close(fig)


def default_runs_dir(out, stem, epochs, subset):
    """Where the per-run files go.

    Runs of the paper's setting share ``benchmarks/rdia_ls_mnist.py``'s folder, so
    each is trained once; shorter or subset runs get their own folder, because run
    file names do not encode the epochs and must not overwrite the paper's runs.
    """
    if epochs == PAPER_EPOCHS and subset is None:
        return out / "rdia_ls_mnist" / "runs"
    return out / f"{stem}-runs"


def run_ls_curves(opts):
    seeds = [0] if opts.quick else opts.seeds
    epochs = 3 if opts.quick else opts.epochs
    if epochs < 1:
        raise ReproduceError(f"--epochs must be at least 1, got {epochs}")
    out = Path(opts.results_dir)
    stem = "ls-curves-quick" if opts.quick else f"ls-curves-{epochs}ep"
    runs_dir = Path(opts.runs_dir) if opts.runs_dir else default_runs_dir(out, stem, epochs,
                                                                          opts.subset)
    start = time.perf_counter()
    results = ls_runs(seeds, epochs, runs_dir, opts.data_dir, opts.subset, opts.gpu,
                      threads=opts.threads)
    seconds = time.perf_counter() - start
    n_runs = sum(len(runs) for runs in results.values())
    train_hours = sum(row["seconds"] for runs in results.values() for r in runs
                      for row in r["epochs"]) / 3600
    notes = []
    if epochs < PAPER_EPOCHS:
        notes.append(f"Shorter than the paper: {epochs} epochs instead of {PAPER_EPOCHS}.")
    if opts.subset:
        notes.append(f"Trained on a seeded subset of {opts.subset} MNIST training images.")
    report = "\n".join([
        "# RDIA-LS, CE and co-teaching on MNIST, symmetric noise 0.8", "",
        f"Mean ± sample std over {len(seeds)} seed(s) ({', '.join(map(str, seeds))}) of "
        "the mean test accuracy of the last 10 epochs. MLP 784-256-10, Adam, gamma 0.2, "
        "weight decay 1e-5 (METHOD.md section 5).", ""] + notes + ["",
        ls_table(results, epochs), "",
        f"Took {seconds:.0f} s on this machine (finished runs in {runs_dir} are reused). "
        f"The {n_runs} runs trained for {train_hours:.1f} h in all, the sum of their "
        "per-epoch seconds.",
        ""])
    for note in notes:
        print(note)
    write_text_atomic(out / f"{stem}.md", report)
    keys = ["method", "seed", "epoch", "test_acc", "train_acc", "label_precision"]
    rows = ([m, r["config"]["seed"]] + [row[k] for k in keys[2:]]
            for m, runs in results.items() for r in runs for row in r["epochs"])
    write_csv_atomic(out / f"{stem}.csv", keys, rows)
    plot_ls_curves(results, out / f"{stem}.png", epochs)
    print(report)
    return [out / f"{stem}.md", out / f"{stem}.csv", out / f"{stem}.png"]


# --------------------------------------------------------------------------- CLI

def build_parser():
    parser = OneLineParser(prog="reproduce.py", description=__doc__.split("\n")[0],
                           formatter_class=DefaultsFormatter)
    commands = parser.add_subparsers(dest="command", required=True,
                                     parser_class=OneLineParser)
    helps = {"alpha-grid": "MNIST 1 vs 7: RDIA test log-loss for alpha x noise, "
                           "beside the published values, with a ratio heat map",
             "lr-table": "every available dataset x noise x method (incl. cleanlab), "
                         "log-loss and accuracy tables",
             "ls-curves": "MNIST, symmetric noise 0.8: test accuracy per epoch of "
                          "rdia-ls, ce and coteaching"}
    for name, text in helps.items():
        sub = commands.add_parser(name, help=text, description=text,
                                  formatter_class=DefaultsFormatter)
        # ls-curves uses the benchmark's seeds 1, 2, 3 so that their runs are shared.
        default_seeds = "1,2,3" if name == "ls-curves" else "5"
        sub.add_argument("--seeds", type=parse_seeds, default=parse_seeds(default_seeds),
                         help="a count N (seeds 0..N-1) or a comma list of seeds")
        sub.add_argument("--quick", action="store_true",
                         help="reduced run: 1 seed, 2 datasets, 3 epochs")
        sub.add_argument("--data-dir", default=None,
                         help="dataset folder (default: $RDIA_DATA_DIR, else ./data)")
        sub.add_argument("--results-dir", default="results", help="output folder")
        if name == "ls-curves":
            sub.add_argument("--epochs", type=int, default=200,
                             help="epochs per run (the paper uses 200)")
            sub.add_argument("--subset", type=int, default=None,
                             help="seeded subset of the MNIST training set")
            sub.add_argument("--gpu", type=int, default=None, help="CUDA device index")
            sub.add_argument("--threads", type=int, default=None,
                             help="torch CPU threads (1 is often fastest on a busy machine)")
            sub.add_argument("--runs-dir", default=None,
                             help="folder of the per-run files; finished runs there are "
                                  "reused (default: <results-dir>/rdia_ls_mnist/runs, "
                                  "shared with benchmarks/rdia_ls_mnist.py, for the "
                                  "paper's 200 epochs on all images; else a folder "
                                  "of its own)")
    return parser


COMMANDS = {"alpha-grid": run_alpha_grid, "lr-table": run_lr_table,
            "ls-curves": run_ls_curves}


def main(argv=None):
    opts = build_parser().parse_args(argv)
    try:
        written = COMMANDS[opts.command](opts)
    except (DataError, ReproduceError) as error:
        print(f"reproduce.py: error: {error}", file=sys.stderr)
        return 2
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
