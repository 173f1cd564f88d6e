"""The paper's deep-model curves: RDIA-LS, CE and co-teaching on MNIST at noise 0.8.

:func:`ls_curves` is the engine of ``reproduce.py ls-curves``: it trains (or reuses)
one run per method and seed with :func:`experiments.deep.run`, and writes a markdown
report, a CSV of every epoch and a PNG of the mean curves. RDIA-LS uses the published
code's loss unless ``loss`` says otherwise. :func:`run_or_reuse`,
:func:`load_finished` and :data:`PAPER_SETTING` are shared with the benchmarks in
``benchmarks/``, so that each finished run is trained once.
"""

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from rdia.experiments.cli import ConfigError, printable
from rdia import selection
from rdia.experiments.deep import LSConfig, result_settings, run, run_name
from rdia.experiments.files import save_figure_atomic, write_csv_atomic, write_text_atomic
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

#: The paper's MNIST experiment (docs/method.md section 5): symmetric noise 0.8, gamma 0.2,
#: weight decay 1e-5; the other settings are LSConfig's defaults. Sweeps derive their
#: runs from it with ``dataclasses.replace``.
PAPER_SETTING = LSConfig(dataset="mnist", noise_type="symmetric", noise_rate=0.8,
                         gamma=0.2, weight_decay=1e-5)

#: Published last-10-epoch mean test accuracy (%, mean and std) per method of the figure.
PUBLISHED_LS = {"rdia-ls": PUBLISHED_RDIA_LS["mnist"]}


def load_finished(config, columns=()):
    """The saved result of a finished run of ``config``, or None.

    Parameters
    ----------
    config : experiments.deep.LSConfig
        With ``output`` set: the JSON looked for.
    columns : sequence of str, default=()
        Per-epoch values the run must hold (e.g. ``("val_acc",)``, which runs from
        before the validation split lack).

    Returns
    -------
    result : dict or None
        The JSON at ``output`` when it exists, its settings that change the numbers
        (:func:`experiments.deep.result_settings`) equal those of ``config``, it holds
        all ``n_epoch`` epochs and every epoch has ``columns``; else None.
    """
    try:
        previous = read_run(config.output)
    except ValueError as exc:
        print(f"{config.output} does not parse as a run's JSON ({exc}); not reused")
        return None
    if previous is None:
        return None
    settings = result_settings(config)
    same = all(previous["config"].get(key) == value for key, value in settings.items())
    complete = len(previous["epochs"]) == config.n_epoch and all(
        column in row for row in previous["epochs"] for column in columns)
    return previous if same and complete else None


def read_run(path):
    """The JSON of a run at ``path``, None when there is no file.

    Raises
    ------
    ValueError
        When the file does not parse as a run's JSON (a run killed while writing it,
        or another file); the message says why, in one line.
    """
    try:
        previous = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(printable(exc)) from None
    if not isinstance(previous, dict) or not isinstance(previous.get("config"), dict) \
            or not isinstance(previous.get("epochs"), list):
        raise ValueError("not the JSON of an RDIA-LS run")
    return previous


def run_or_reuse(config, reuse=True):
    """Train one run, or load its JSON when ``reuse`` and the run is finished.

    Parameters
    ----------
    config : experiments.deep.LSConfig
        With ``output`` set: the JSON looked for, and written by a new run.
    reuse : bool, default=True
        Load the JSON at ``output`` when :func:`load_finished` finds it; otherwise train.
        A JSON at ``output`` that does not parse (a run killed while writing it) is
        named, and replaced by the new run.

    Returns
    -------
    result : dict
        The run's result, as :func:`experiments.deep.run` returns it.
    """
    previous = load_finished(config) if reuse else None
    if previous is not None:
        print(f"reusing {config.output}")
        return previous
    try:
        read_run(config.output)
    except ValueError:  # a broken JSON of this very run's name: trained again, replaced
        return run(config, overwrite=True)
    return run(config)


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
            results[method].append(run_or_reuse(config, reuse=True))
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
        last10 = [r["final"]["test_acc_last10_mean"] for r in runs]
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
