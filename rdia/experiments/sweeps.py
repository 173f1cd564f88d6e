"""The paper's logistic-regression tables: the MNIST alpha grid and all methods.

- :func:`alpha_grid_command`: RDIA test log-loss on MNIST 1 vs 7 for every
  (alpha, noise, seed), beside the published values, with a ratio heat map.
- :func:`lr_table_command`: every available dataset x noise x method (the registry of
  ``edits.py``, cleanlab included), rdia and drop at the alpha chosen on validation.

phi depends on the noise and the seed but not on alpha, so each (dataset, noise, seed)
is fitted and scored once and every alpha reuses it. Settings change with
``dataclasses.replace`` on an :class:`experiments.config.RunConfig`.
"""

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from rdia import progress as show
from rdia.data.datasets import BINARY_DATASETS, LIBSVM_DATASETS
from rdia.data.errors import DataError
from rdia.data.paths import resolve_data_dir
from rdia.experiments import pipeline
from rdia.experiments.config import RunConfig
from rdia.experiments.engines import MemoryEngine
from rdia.experiments.files import save_figure_atomic, write_csv_atomic, write_text_atomic
from rdia.experiments.report import (PUBLISHED_MNIST_LOGLOSS, format_mean_std, markdown_table,
                                     over_seeds,
                                mean_std)

NOISES = (0.0, 0.2, 0.5, 0.8)
GRID_ALPHAS = (0.01, 0.002, 0.0002)

#: Candidate alphas for lr-table, chosen per dataset on validation log-loss.
SELECTION_ALPHAS = (0.0, 1e-4, 2e-4, 1e-3, 2e-3, 1e-2)

#: Datasets of lr-table that are always tried (downloaded if missing).
CORE_DATASETS = ("cancer", "diabetes", "mnist", "adult", "wdbc")
QUICK_DATASETS = ("cancer", "wdbc")

LR_METHODS = ("full", "random", "drop", "uids", "rdia", "clean",
              "cleanlab-prune", "cleanlab-relabel")

#: Methods whose training set depends on alpha.
ALPHA_METHODS = ("drop", "rdia")


def fitted_run(config):
    """Split, noise, full fit and phi of one run, in memory: every method and alpha
    refits from it (``pipeline.refit``)."""
    return pipeline.prepare(MemoryEngine(), config.resolved(), progress=False)


# --------------------------------------------------------------------------- alpha-grid

def alpha_grid(seeds, data_dir=None, noises=NOISES, alphas=GRID_ALPHAS, progress=True):
    """RDIA test log-loss on MNIST 1 vs 7 for every (alpha, noise, seed).

    Returns
    -------
    rows : list of dict
        ``alpha``, ``noise``, ``seed``, ``test_logloss``, ``test_accuracy``,
        ``n_relabeled``, ``precision``, ``recall``.
    """
    base = RunConfig(dataset="mnist", methods=("rdia",), data_dir=data_dir)
    rows = []
    jobs = [(noise, seed) for noise in noises for seed in seeds]
    for noise, seed in show.steps(jobs, "alpha-grid", "run", None if progress else False):
        config = replace(base, noise=noise, seed=seed)
        fitted = fitted_run(config)
        for alpha in alphas:
            row = pipeline.refit(fitted, "rdia", alpha)[0]
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
            published = PUBLISHED_MNIST_LOGLOSS.get(alpha, {}).get(noise)
            ref = f" (paper {published:.4f})" if published is not None else ""
            cells.append(format_mean_std(values) + ref)
        table.append(cells)
    header = ["alpha"] + [f"noise {n:g}" for n in noises]
    return "\n".join([
        "# alpha grid: RDIA on MNIST 1 vs 7",
        "",
        f"Test log-loss of RDIA. {over_seeds(seeds)}; the published value in brackets "
        "(docs/method.md section 4). C = 0.1, validation = last 30% of the training part.",
        "",
        markdown_table(header, table),
        "",
        f"Took {seconds:.0f} s on this machine.",
        ""])


def plot_alpha_ratio(rows, path):
    """Heat map of mean(ours) / published for each (alpha, noise)."""
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    noises = sorted({r["noise"] for r in rows})
    alphas = sorted({r["alpha"] for r in rows}, reverse=True)
    ratio = np.full((len(alphas), len(noises)), np.nan)
    for i, alpha in enumerate(alphas):
        for j, noise in enumerate(noises):
            published = PUBLISHED_MNIST_LOGLOSS.get(alpha, {}).get(noise)
            values = [r["test_logloss"] for r in rows
                      if r["alpha"] == alpha and r["noise"] == noise]
            if published and values:
                ratio[i, j] = np.mean(values) / published
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
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


def alpha_grid_command(seeds, results_dir, quick=False, data_dir=None):
    """Run the alpha grid and write ``alpha-grid[-quick].{md,csv}`` and the heat map.

    Returns
    -------
    paths : list of pathlib.Path
        The files written.
    """
    seeds = [0] if quick else list(seeds)
    start = time.perf_counter()
    rows = alpha_grid(seeds, data_dir)
    seconds = time.perf_counter() - start
    out = Path(results_dir)
    stem = "alpha-grid-quick" if quick else "alpha-grid"
    keys = list(rows[0])
    report = alpha_grid_report(rows, seeds, seconds)
    write_csv_atomic(out / f"{stem}.csv", keys, ([r[k] for k in keys] for r in rows))
    write_text_atomic(out / f"{stem}.md", report)
    plot_alpha_ratio(rows, out / f"{stem}-ratio.png")
    print(report)
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


def lr_runs(dataset, noise, seed, data_dir=None):
    """All methods of lr-table for one (dataset, noise, seed).

    rdia and drop are evaluated at every alpha of ``SELECTION_ALPHAS``; the others
    once. Every row carries ``alpha`` (None where it does not apply).
    """
    config = RunConfig(dataset=dataset, noise=noise, seed=seed, data_dir=data_dir)
    fitted = fitted_run(config)
    rows = []
    for method in LR_METHODS:
        alphas = SELECTION_ALPHAS if method in ALPHA_METHODS else (None,)
        for alpha in alphas:
            row = pipeline.refit(fitted, method, config.alpha if alpha is None else alpha)[0]
            rows.append(dict(row, alpha=alpha, dataset=dataset, noise=noise, seed=seed))
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
    return [r for r in rows if r["method"] not in ALPHA_METHODS
            or r["alpha"] == chosen[r["dataset"]]]


def lr_table_report(rows, chosen, seeds, seconds, skipped):
    """Markdown with the log-loss table, the accuracy table and precision / recall."""
    from rdia.edits import CLEANLAB_FOLDS

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
        f"{over_seeds(seeds)}. "
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
    bar = show.steps(jobs, "lr-table", "run", None if progress else False)
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


#: Columns of the lr-table CSVs.
LR_TABLE_KEYS = ("dataset", "noise", "seed", "method", "alpha", "test_logloss",
                 "test_accuracy", "test_auc", "val_logloss", "n_train_used",
                 "n_relabeled", "n_removed", "precision", "recall")


def plot_lr_table(rows, path):
    """Mean test log-loss against noise, one panel per dataset and a line per method
    (the table's rows: rdia and drop at the dataset's chosen alpha), log scale."""
    from matplotlib.figure import Figure

    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    methods = [m for m in LR_METHODS if any(r["method"] == m for r in rows)]
    n_cols = min(3, len(datasets))
    n_rows = -(-len(datasets) // n_cols)
    fig = Figure(figsize=(4.2 * n_cols, 3.4 * n_rows + 0.6))
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False).ravel())
    for ax, dataset in zip(axes, datasets):
        for method in methods:
            noises = sorted({r["noise"] for r in rows
                             if r["dataset"] == dataset and r["method"] == method})
            means = [np.mean([r["test_logloss"] for r in rows if r["dataset"] == dataset
                              and r["method"] == method and r["noise"] == noise])
                     for noise in noises]
            ax.plot(noises, means, marker="o", label=method,
                    linestyle="--" if method == "clean" else "-")
        ax.set_yscale("log")
        ax.set_title(dataset)
        ax.set_xlabel("noise rate")
        ax.set_ylabel("test log-loss")
        ax.grid(alpha=0.3)
    for ax in axes[len(datasets):]:
        ax.set_axis_off()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(methods), fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    save_figure_atomic(fig, path, dpi=120)


def lr_table_command(seeds, results_dir, quick=False, data_dir=None):
    """Run lr-table and write ``lr-table[-quick].{md,csv,png}`` and ``-all-alphas.csv``.

    Returns
    -------
    paths : list of pathlib.Path

    Raises
    ------
    data.DataError
        When no dataset could be loaded.
    """
    seeds = [0] if quick else list(seeds)
    datasets = available_datasets(data_dir, quick)
    start = time.perf_counter()
    rows, skipped = lr_table(datasets, seeds, data_dir)
    if not rows:
        raise DataError("no dataset could be loaded; " + "; ".join(skipped))
    chosen = {d: choose_alpha([r for r in rows if r["dataset"] == d])
              for d in dict.fromkeys(r["dataset"] for r in rows)}
    seconds = time.perf_counter() - start
    out = Path(results_dir)
    stem = "lr-table-quick" if quick else "lr-table"
    write_csv_atomic(out / f"{stem}-all-alphas.csv", LR_TABLE_KEYS,
                     ([r[k] for k in LR_TABLE_KEYS] for r in rows))
    selected = select_rows(rows, chosen)
    write_csv_atomic(out / f"{stem}.csv", LR_TABLE_KEYS,
                     ([r[k] for k in LR_TABLE_KEYS] for r in selected))
    report = lr_table_report(selected, chosen, seeds, seconds, skipped)
    write_text_atomic(out / f"{stem}.md", report)
    plot_lr_table(selected, out / f"{stem}.png")
    print(report)
    return [out / f"{stem}.md", out / f"{stem}.csv", out / f"{stem}-all-alphas.csv",
            out / f"{stem}.png"]
