"""RDIA-LS against CE and co-teaching on MNIST with 80% symmetric noise (the paper's setting).

Usage, from the repository root::

    python -m benchmarks.rdia_ls_mnist --reuse --jobs 2      # 4 variants x 3 seeds x 200 epochs
    python -m benchmarks.rdia_ls_mnist --epochs 20 --seeds 1 --methods rdia-ls-published ce

Setting (docs/method.md section 5, ``experiments.deep.PAPER_SETTING``): the 784-256-10
MLP, Adam lr 0.001, batch 128, weight decay 1e-5, gamma 0.2, forget rate = noise rate
0.8 reached over 10 epochs, 10 warm-up epochs, lr decay and beta1 = 0.1 from epoch 80.
The noise seed is the run's seed (the published code fixes it to 0; pass
``--noise_seed 0`` for that).

Variants: ``rdia-ls-method`` (RDIA-LS with the loss of docs/method.md, ``--loss method``),
``rdia-ls-published`` (the same with the published code's loss, ``--loss published``,
the default of ``RDIA-LS.py``), ``ce`` and ``coteaching``. The loss ablations and the
gamma sweep are ``benchmarks/rdia_ls_ablation.py``.

Prints and writes to ``--out`` (default results/rdia_ls_mnist):

- ``table.md`` and ``table.csv``: per method the mean +/- sample std (ddof=1) over
  seeds of the last-10-epoch mean test accuracy, the last-epoch accuracy, the
  label precision of the keep set at the last epoch, and the seconds per epoch
  (training + evaluation of the full test set, one thread per run) at epochs 1,
  100 and 200 (mean over seeds; "-" for a run that has fewer epochs) and over all
  epochs;
- ``test_acc.png``: test accuracy against epoch of every run, one colour per variant;
- ``runs/``: the CSV, PNG and JSON of each run, trained by the queue of
  ``experiments/queue.py`` (``--jobs`` at a time, each its own ``RDIA-LS.py``
  process with one thread, logs in ``--log-dir``); ``--reuse`` keeps a finished
  run whose JSON has the same settings instead of training it again
  (``reproduce.py ls-curves`` shares these runs).

The GPU timings (this command for 200 epochs, CIFAR-10 epochs) are
``benchmarks/gpu_check.py``.
"""

import dataclasses
import sys
from pathlib import Path

import numpy as np

from benchmarks import ROOT
from rdia.experiments import deep
from rdia.experiments.cli import ConfigError, DefaultsFormatter, OneLineParser
from rdia.experiments.deep import PAPER_SETTING
from rdia.experiments.files import write_csv_atomic, write_text_atomic
from rdia.experiments.queue import last10, load_finished, report_and_exit, run_queue
from rdia.experiments.report import PUBLISHED_RDIA_LS


#: Name of the benchmark in its usage and error lines (it runs with ``python -m``).
PROG = "benchmarks.rdia_ls_mnist"

#: The published RDIA-LS figure at symmetric noise 0.8 on MNIST (docs/method.md section 5),
#: mean and std (%) over seeds, per variant that the paper's number stands for.
PUBLISHED = {"rdia-ls-method": PUBLISHED_RDIA_LS["mnist"],
             "rdia-ls-published": PUBLISHED_RDIA_LS["mnist"]}

#: Benchmark variants: name -> settings of ``experiments.deep.LSConfig`` that differ
#: from PAPER_SETTING (whose loss is the published one).
VARIANTS = {
    "rdia-ls-method": {"method": "rdia-ls", "loss": "method"},
    "rdia-ls-published": {"method": "rdia-ls", "loss": "published"},
    "ce": {"method": "ce"},
    "coteaching": {"method": "coteaching"},
}


#: 1-based epochs whose seconds the table reports.
TIMED_EPOCHS = (1, 100, 200)


def epoch_seconds(results, epoch):
    """Mean over runs of the seconds of a 1-based epoch; None when a run lacks it."""
    if any(len(r["epochs"]) < epoch for r in results):
        return None
    return float(np.mean([r["epochs"][epoch - 1]["seconds"] for r in results]))


def summarize(method, results):
    """One table row of a method: means and sample stds over its runs."""
    means = np.array([last10(r, "test_acc") for r in results])
    last = np.array([r["epochs"][-1]["test_acc"] for r in results])
    precision = np.array([r["epochs"][-1]["label_precision"] or np.nan for r in results])
    seconds = np.array([np.mean([row["seconds"] for row in r["epochs"]]) for r in results])
    std = (lambda a: float(np.std(a, ddof=1)) if len(a) > 1 else float("nan"))
    return {"method": method, "runs": len(results), "epochs": len(results[0]["epochs"]),
            "seeds": " ".join(str(r["config"]["seed"]) for r in results),
            "last10_mean": float(means.mean()), "last10_std": std(means),
            "last_mean": float(last.mean()), "last_std": std(last),
            "precision_last": float(np.mean(precision)),
            **{f"seconds_epoch{e}": epoch_seconds(results, e) for e in TIMED_EPOCHS},
            "seconds_per_epoch": float(seconds.mean())}


def markdown_table(rows):
    """The table of the README, with the published figure beside ours."""
    timed = " | ".join(f"s, epoch {e}" for e in TIMED_EPOCHS)
    lines = ["| method | runs x epochs | test acc, last-10 mean (%) | last epoch (%) | "
             f"keep-set label precision, last epoch (%) | {timed} | s / epoch (mean) | "
             "published |",
             "|---|---|---|---|---|" + "---|" * len(TIMED_EPOCHS) + "---|---|"]
    for row in rows:
        published = PUBLISHED.get(row["method"])
        lines.append(
            f"| {row['method']} | {row['runs']} x {row['epochs']} | "
            f"{row['last10_mean']:.2f} +/- {row['last10_std']:.2f} | "
            f"{row['last_mean']:.2f} +/- {row['last_std']:.2f} | {row['precision_last']:.2f} | "
            + "".join(_seconds(row[f"seconds_epoch{e}"]) + " | " for e in TIMED_EPOCHS)
            + f"{row['seconds_per_epoch']:.2f} | "
            + (f"{published[0]:.2f} +/- {published[1]:.2f} |" if published else "- |"))
    return "\n".join(lines + ["", "CPU seconds per epoch: training and evaluation of one "
                              "run on one thread, while the other runs of the queue ran.",
                              ""])


def _seconds(value):
    return "-" if value is None else f"{value:.2f}"


def build_parser():
    """The benchmark's command-line parser (flags in either spelling, one-line errors)."""
    p = OneLineParser(prog=PROG, description=__doc__.split("\n")[0],
                      formatter_class=DefaultsFormatter)
    p.add_argument("--epochs", type=int, default=200, help="epochs per run")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="seeds per variant")
    p.add_argument("--methods", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                   help="variants to run, in this order (default: all)")
    p.add_argument("--noise_seed", type=int, default=None,
                   help="fixed noise seed (default: each run's seed)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's own choice)")
    p.add_argument("--data_dir", default=None,
                   help="dataset folder (default: $RDIA_DATA_DIR, else datasets/)")
    p.add_argument("--out", default=str(ROOT / "results" / "rdia_ls_mnist"),
                   help="output folder (default: results/rdia_ls_mnist)")
    p.add_argument("--reuse", action="store_true", help="keep finished runs with the same settings")
    p.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    p.add_argument("--log-dir", default=str(ROOT / "runs" / "rdia-ls-mnist-logs"),
                   help="folder of one log per run (default: runs/rdia-ls-mnist-logs, "
                        "ignored by git)")
    p.add_argument("--no_progress", dest="progress", action="store_false",
                   help="hide the progress bars")
    return p


def variant_configs(args, runs_dir):
    """The run configs of the benchmark, variant by variant, seed by seed.

    Returns
    -------
    configs : list of (str, experiments.deep.LSConfig)
        (variant, config) with ``output`` set to the run's JSON in ``runs_dir``.

    Raises
    ------
    experiments.cli.ConfigError
    """
    configs = []
    for method in args.methods:
        base = dataclasses.replace(
            PAPER_SETTING, **VARIANTS[method], n_epoch=args.epochs,
            noise_seed=args.noise_seed, threads=args.threads, data_dir=args.data_dir,
            result_dir=str(runs_dir), progress=args.progress)
        for seed in args.seeds:
            config = dataclasses.replace(base, seed=seed)
            output = str(runs_dir / f"{deep.run_name(config)}.json")
            configs.append((method, dataclasses.replace(config, output=output)))
    return configs


def main(argv=None):
    """Command-line entry point; returns 0, 1 when a run failed, or 2 on bad input."""
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    try:
        if args.jobs < 1 or args.epochs < 1:
            raise ConfigError("--jobs and --epochs must be at least 1")
        configs = variant_configs(args, out / "runs")
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2

    def tables():
        return write_outputs(out, finished_runs(configs))

    failed = run_queue([config for _, config in configs], args.jobs, args.log_dir,
                       on_finish=tables, reuse=args.reuse)
    return report_and_exit(PROG, tables(), failed)


def finished_runs(configs):
    """variant -> list of (result, CSV path) of its finished runs, in seed order."""
    runs = {}
    for method, config in configs:
        result = load_finished(config)
        if result is not None:
            runs.setdefault(method, []).append((result, Path(config.output).with_suffix(".csv")))
    return runs


def write_outputs(out, runs):
    """Write table.md, table.csv and test_acc.png from the finished runs; return the table.

    ``runs`` holds, per variant, each finished run's result and its per-epoch CSV
    beside its JSON (:func:`finished_runs`).
    """
    if not runs:
        return "No finished runs yet."
    rows = [summarize(method, [result for result, _ in pairs]) for method, pairs in runs.items()]
    table = markdown_table(rows)
    write_text_atomic(out / "table.md", table)
    write_csv_atomic(out / "table.csv", list(rows[0]), [list(row.values()) for row in rows])
    paths, labels, colors = [], [], []
    for i, (method, pairs) in enumerate(runs.items()):
        for j, (_, path) in enumerate(pairs):
            paths.append(path)
            labels.append(method if j == 0 else "_nolegend_")
            colors.append(f"C{i}")
    deep.plot_curves(paths, out / "test_acc.png", labels=labels, colors=colors,
                     title="MNIST, symmetric noise 0.8: test accuracy (one line per seed)")
    return table


if __name__ == "__main__":
    sys.exit(main())
