"""RDIA-LS against CE and co-teaching on MNIST with 80% symmetric noise (the paper's setting).

Usage, from the repository root::

    python -m benchmarks.rdia_ls_mnist                       # 4 variants x 3 seeds x 200 epochs
    python -m benchmarks.rdia_ls_mnist --epochs 20 --seeds 1 --methods rdia-ls-published ce
    python -m benchmarks.rdia_ls_mnist --reuse --threads 1   # keep finished runs, 1 CPU thread

Setting (docs/method.md section 5, ``experiments.ls_curves.PAPER_SETTING``): the 784-256-10
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
  (training + evaluation of the full test set) on this machine's CPU;
- ``test_acc.png``: test accuracy against epoch of every run, one colour per variant;
- ``runs/``: the CSV, PNG and JSON of each run (``--reuse`` loads a finished run whose
  JSON has the same settings instead of training it again; ``reproduce.py ls-curves``
  shares these runs).

When CUDA is available it also times one epoch of the CIFAR-10 CNN with the RDIA-LS
loss on random tensors of the real shape (50,000 x 3 x 32 x 32, batch 128).
"""

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks import ROOT
from rdia.data import DataError
from rdia.experiments import deep
from rdia.experiments.cli import ConfigError, DefaultsFormatter, OneLineParser
from rdia.experiments.files import write_csv_atomic, write_text_atomic
from rdia.experiments.ls_curves import PAPER_SETTING, run_or_reuse
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


def summarize(method, results):
    """One table row of a method: means and sample stds over its runs."""
    last10 = np.array([r["final"]["test_acc_last10_mean"] for r in results])
    last = np.array([r["final"]["test_acc_last"] for r in results])
    precision = np.array([r["epochs"][-1]["label_precision"] or np.nan for r in results])
    seconds = np.array([np.mean([row["seconds"] for row in r["epochs"]]) for r in results])
    std = (lambda a: float(np.std(a, ddof=1)) if len(a) > 1 else float("nan"))
    return {"method": method, "runs": len(results), "epochs": len(results[0]["epochs"]),
            "seeds": " ".join(str(r["config"]["seed"]) for r in results),
            "last10_mean": float(last10.mean()), "last10_std": std(last10),
            "last_mean": float(last.mean()), "last_std": std(last),
            "precision_last": float(np.mean(precision)),
            "seconds_per_epoch": float(seconds.mean())}


def markdown_table(rows, gpu_line):
    """The table of the README, with the published figure beside ours."""
    lines = ["| method | runs x epochs | test acc, last-10 mean (%) | last epoch (%) | "
             "keep-set label precision, last epoch (%) | s / epoch (CPU) | published |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        published = PUBLISHED.get(row["method"])
        lines.append(
            f"| {row['method']} | {row['runs']} x {row['epochs']} | "
            f"{row['last10_mean']:.2f} +/- {row['last10_std']:.2f} | "
            f"{row['last_mean']:.2f} +/- {row['last_std']:.2f} | {row['precision_last']:.2f} | "
            f"{row['seconds_per_epoch']:.2f} | "
            + (f"{published[0]:.2f} +/- {published[1]:.2f} |" if published else "- |"))
    return "\n".join(lines + ["", gpu_line, ""])


def time_cifar_epoch_on_gpu(n_train=50000, epoch=20):
    """Seconds of one RDIA-LS training epoch of the CIFAR-10 CNN on cuda:0.

    Random uint8 images of the real shape and random labels; one untimed warm-up
    epoch first (CUDA context, cuDNN autotuning), then a timed one.

    Returns
    -------
    seconds : float or None
        None when CUDA is not available.
    """
    if not torch.cuda.is_available():
        return None
    config = deep.LSConfig(dataset="cifar10", noise_rate=0.8, n_epoch=200, gpu=0,
                           progress=False).resolved()
    device = torch.device("cuda:0")
    generator = torch.Generator().manual_seed(0)
    tensors = {
        "X_train": torch.randint(0, 256, (n_train, 3, 32, 32), dtype=torch.uint8,
                                 generator=generator).to(device),
        "y_train": torch.randint(0, 10, (n_train,), generator=generator).to(device),
        "clean": torch.ones(n_train, dtype=torch.bool, device=device),
    }
    nets, optimizers = deep.build_networks(config, device)
    deep.train_epoch(nets, optimizers, tensors, epoch, config, generator)
    torch.cuda.synchronize(device)
    started = time.perf_counter()
    deep.train_epoch(nets, optimizers, tensors, epoch, config, generator)
    torch.cuda.synchronize(device)
    return time.perf_counter() - started


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
    p.add_argument("--reuse", action="store_true", help="load finished runs with the same settings")
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
    """Command-line entry point; returns the exit status (0, or 2 on bad input)."""
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    results, csvs = {}, {}
    try:
        for method, config in variant_configs(args, out / "runs"):
            results.setdefault(method, []).append(run_or_reuse(config, args.reuse))
            csvs.setdefault(method, []).append(Path(config.output).with_suffix(".csv"))
            write_outputs(out, results, csvs, gpu_line="GPU: not timed yet")
    except (ConfigError, DataError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    seconds = time_cifar_epoch_on_gpu()
    if seconds is None:
        gpu_line = "GPU: CUDA not available here; the CIFAR-10 CNN epoch was not timed."
    else:
        gpu_line = (f"GPU ({torch.cuda.get_device_name(0)}): one RDIA-LS epoch of the CIFAR-10 "
                    f"CNN on 50,000 random 3x32x32 images, batch 128: {seconds:.2f} s.")
    table = write_outputs(out, results, csvs, gpu_line)
    print(table)
    return 0


def write_outputs(out, results, csvs, gpu_line):
    """Write table.md, table.csv and test_acc.png from the runs so far; return the table.

    ``csvs`` holds, per variant, the per-epoch CSV of each run beside its JSON (the
    paths stored in a JSON are those of the machine that trained it).
    """
    rows = [summarize(method, runs) for method, runs in results.items()]
    table = markdown_table(rows, gpu_line)
    write_text_atomic(out / "table.md", table)
    write_csv_atomic(out / "table.csv", list(rows[0]), [list(row.values()) for row in rows])
    paths, labels, colors = [], [], []
    for i, (method, runs) in enumerate(csvs.items()):
        for j, path in enumerate(runs):
            paths.append(path)
            labels.append(method if j == 0 else "_nolegend_")
            colors.append(f"C{i}")
    deep.plot_curves(paths, out / "test_acc.png", labels=labels, colors=colors,
                     title="MNIST, symmetric noise 0.8: test accuracy (one line per seed)")
    return table


if __name__ == "__main__":
    sys.exit(main())
