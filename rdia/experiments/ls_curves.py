"""The paper's deep-model curves: RDIA-LS, CE and co-teaching on MNIST at noise 0.8.

:func:`ls_curves` is the engine of ``reproduce.py ls-curves``: it trains (or reuses)
one run per method and seed with :func:`experiments.deep.run`, and writes a markdown
report, a CSV of every epoch and a PNG of the mean curves. RDIA-LS uses the published
code's loss unless ``loss`` says otherwise. :data:`PAPER_SETTING` is shared with the
benchmarks in ``benchmarks/``, and finished runs are reused by the rule of
``experiments/queue.py``, so that each finished run is trained once.
"""

import dataclasses
import time
from pathlib import Path

import numpy as np

from rdia.experiments.cli import ConfigError
from rdia import selection
from rdia.experiments.deep import PAPER_SETTING, run_name
from rdia.experiments.files import save_figure_atomic, write_csv_atomic, write_text_atomic
from rdia.experiments import queue
from rdia.experiments.report import (PUBLISHED_RDIA_LS, format_mean_std, markdown_table,
                                     over_seeds, plural)

#: Methods of the paper's deep-model figure, in drawing order.
LS_METHODS = ("rdia-ls", "ce", "coteaching")

#: Epochs of the paper's runs.
PAPER_EPOCHS = 200

#: A run's final accuracy is the mean of its last LAST_EPOCHS epochs (``deep.summarize``).
LAST_EPOCHS = 10

#: Epochs of ``quick=True``.
QUICK_EPOCHS = 3


#: Published last-10-epoch mean test accuracy (%, mean and std) per method of the figure.
PUBLISHED_LS = {"rdia-ls": PUBLISHED_RDIA_LS["mnist"]}


def ls_runs(seeds, epochs, runs_dir, data_dir=None, subset=None, gpu=None,
            methods=LS_METHODS, threads=None, loss=selection.DEFAULT_LOSS):
    """Train (or reuse) every run of the deep-model figure.

    A run whose JSON in ``runs_dir`` has the same settings and all its epochs is
    loaded instead of trained, so ``benchmarks/rdia_ls_mnist.py`` and this command
    share finished runs.

    Parameters
    ----------
    seeds : sequence of int
    epochs : int
        Epochs per run.
    runs_dir : path-like
        Folder of each run's CSV, PNG and JSON.
    data_dir : path-like, optional
    subset : int, optional
        Seeded subset of the MNIST training images.
    gpu : int, optional
        CUDA device index.
    methods : sequence of str, default=LS_METHODS
    threads : int, optional
        torch CPU threads.
    loss : str, default=selection.DEFAULT_LOSS
        The RDIA-LS loss (a key of ``selection.LOSSES``).

    Returns
    -------
    results : dict
        method -> list of :func:`experiments.deep.run` result dicts, one per seed.

    Raises
    ------
    experiments.cli.ConfigError, data.DataError
    """
    results = {method: [] for method in methods}
    for method in methods:
        base = dataclasses.replace(PAPER_SETTING, method=method, n_epoch=epochs,
                                   subset=subset, gpu=gpu, data_dir=data_dir,
                                   result_dir=str(runs_dir), threads=threads,
                                   progress=True, loss=loss)
        for seed in seeds:
            config = dataclasses.replace(base, seed=seed)
            config = dataclasses.replace(
                config, output=str(Path(runs_dir) / f"{run_name(config)}.json"))
            results[method].append(queue.run_or_reuse(config, reuse=True))
    return results


def averaged_epochs(epochs):
    """How many last epochs a run's final accuracy averages (``deep.summarize``): 10, or
    all of a shorter run."""
    return min(LAST_EPOCHS, epochs)


def ls_table(results, epochs):
    """Markdown of the mean test accuracy (%) of the last epochs per method, beside the
    paper's (which averages its last 10 of 200)."""
    rows = []
    for method, runs in results.items():
        last10 = [queue.last10(r, "test_acc") for r in runs]
        published = PUBLISHED_LS.get(method)
        rows.append([method, f"{len(runs)} x {epochs}", format_mean_std(last10, 2),
                     f"{published[0]:.2f} ± {published[1]:.2f}" if published else "-"])
    return markdown_table(["method", "seeds x epochs", f"test accuracy, mean of the last "
                           f"{plural(averaged_epochs(epochs), 'epoch')} (%)", "published"], rows)


def plot_ls_curves(results, path, epochs):
    """Mean test accuracy (%) against epoch per method, with a ±1 std band over seeds."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for method, runs in results.items():
        accs = np.array([[row["test_acc"] for row in r["epochs"]] for r in runs])
        epoch = np.arange(1, accs.shape[1] + 1)
        mean = accs.mean(axis=0)
        std = accs.std(axis=0, ddof=1) if len(accs) > 1 else np.zeros_like(mean)
        ax.plot(epoch, mean, label=f"{method} ({plural(len(runs), 'seed')})")
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
    each is trained once; shorter or subset runs (whose names say so) get a folder
    of their own, which keeps the shared folder to the paper's setting.
    """
    if epochs == PAPER_EPOCHS and subset is None:
        return out / "rdia_ls_mnist" / "runs"
    return out / f"{stem}-runs"


def ls_report(results, seeds, epochs, subset, runs_dir, seconds, loss=selection.DEFAULT_LOSS):
    """Markdown report of the figure's runs; also returns the notes on the setting.

    Returns
    -------
    report : str
    notes : list of str
        Where the runs differ from the paper (fewer epochs, a subset).
    """
    n_runs = sum(len(runs) for runs in results.values())
    train_hours = sum(row["seconds"] for runs in results.values() for r in runs
                      for row in r["epochs"]) / 3600
    notes = []
    if epochs < PAPER_EPOCHS:
        notes.append(f"Shorter than the paper: {epochs} epochs instead of {PAPER_EPOCHS}.")
    if subset:
        notes.append(f"Trained on a seeded subset of {subset} MNIST training images.")
    report = "\n".join([
        "# RDIA-LS, CE and co-teaching on MNIST, symmetric noise 0.8", "",
        f"{over_seeds(seeds)} of the mean test accuracy of the last "
        f"{plural(averaged_epochs(epochs), 'epoch')}. MLP 784-256-10, Adam, gamma 0.2, "
        f"weight decay 1e-5 (docs/method.md section 5); RDIA-LS with the {loss} loss "
        f"(--loss {loss}).", ""] + notes + ["",
        ls_table(results, epochs), "",
        f"Took {seconds:.0f} s on this machine (finished runs in {runs_dir} are reused). "
        f"The {n_runs} runs trained for {train_hours:.1f} h in all, the sum of their "
        "per-epoch seconds.",
        ""])
    return report, notes


def write_epochs_csv(results, path):
    """One row per (method, seed, epoch): test and train accuracy, keep-set precision (%)."""
    keys = ["method", "seed", "epoch", "test_acc", "train_acc", "label_precision"]
    rows = ([m, r["config"]["seed"]] + [row[k] for k in keys[2:]]
            for m, runs in results.items() for r in runs for row in r["epochs"])
    write_csv_atomic(path, keys, rows)


def ls_curves(seeds, epochs, results_dir, *, quick=False, runs_dir=None, data_dir=None,
              subset=None, gpu=None, threads=None, loss=selection.DEFAULT_LOSS):
    """RDIA-LS, CE and co-teaching on MNIST at symmetric noise 0.8: table and curves.

    Parameters
    ----------
    seeds : sequence of int
        Seeds of each method's runs.
    epochs : int
        Epochs per run (the paper: 200).
    results_dir : path-like
        Folder of ``<stem>.md``, ``<stem>.csv`` and ``<stem>.png``, with stem
        ``ls-curves-<epochs>ep`` (``ls-curves-quick`` with ``quick``).
    quick : bool, default=False
        Seed 0 only and 3 epochs, whatever ``seeds`` and ``epochs`` say.
    runs_dir : path-like, optional
        Folder of the per-run files; finished runs there are reused. Default:
        ``<results_dir>/rdia_ls_mnist/runs`` (shared with the benchmark) for the
        paper's 200 epochs on all images, else ``<results_dir>/<stem>-runs``.
    data_dir : path-like, optional
        Dataset folder (default: $RDIA_DATA_DIR, else the project's default).
    subset : int, optional
        Seeded subset of the MNIST training images.
    gpu : int, optional
        CUDA device index.
    threads : int, optional
        torch CPU threads.
    loss : str, default=selection.DEFAULT_LOSS
        The RDIA-LS loss: ``published`` (the published code's, which gives the
        paper's number), ``method`` (docs/method.md's equation) or an ablation.

    Returns
    -------
    written : list of pathlib.Path
        The markdown report, the CSV and the PNG.

    Raises
    ------
    experiments.cli.ConfigError
        For a bad setting (e.g. ``epochs`` < 1, an empty ``seeds``).
    data.DataError
        For missing MNIST files that cannot be downloaded.
    """
    seeds = [0] if quick else list(seeds)
    epochs = QUICK_EPOCHS if quick else epochs
    if epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, got {epochs}")
    if not seeds:
        raise ConfigError("--seeds must name at least one seed")
    if loss not in selection.LOSSES:
        raise ConfigError(f"unknown loss {loss!r}; use one of {', '.join(selection.LOSSES)}")
    out = Path(results_dir)
    stem = "ls-curves-quick" if quick else f"ls-curves-{epochs}ep"
    runs_dir = Path(runs_dir) if runs_dir else default_runs_dir(out, stem, epochs, subset)
    start = time.perf_counter()
    results = ls_runs(seeds, epochs, runs_dir, data_dir, subset, gpu, threads=threads,
                      loss=loss)
    report, notes = ls_report(results, seeds, epochs, subset, runs_dir,
                              time.perf_counter() - start, loss)
    for note in notes:
        print(note)
    write_text_atomic(out / f"{stem}.md", report)
    write_epochs_csv(results, out / f"{stem}.csv")
    plot_ls_curves(results, out / f"{stem}.png", epochs)
    print(report)
    return [out / f"{stem}.md", out / f"{stem}.csv", out / f"{stem}.png"]
