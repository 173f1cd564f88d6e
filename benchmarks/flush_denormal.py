"""Does ``torch.set_flush_denormal(True)`` speed up the MNIST epochs? A paired timing.

Usage, from the repository root::

    python -m benchmarks.flush_denormal --method ce
    python -m benchmarks.flush_denormal --method rdia-ls --loss published --seed 2
    python -m benchmarks.flush_denormal --method coteaching --flush-run   # accuracy too
    python -m benchmarks.flush_denormal --compare   # the flushed runs against today's

One run of the paper's setting (``experiments.deep.PAPER_SETTING``: MNIST, symmetric
noise 0.8, the MLP, 200 epochs) on one torch thread, through ``experiments.deep.train``.
Before each epoch of ``--epochs`` (default 1, 100 and 200) the run's session is copied
``2 x --repeat`` times and one epoch is trained from each copy, alternately with
denormal floats kept (today's default) and flushed to zero, and each is timed
(training and evaluation, as the ``seconds`` column of a run). The two modes thus
start from the same network and optimizer state and run back to back, so a machine
whose load drifts affects both alike.

The run itself trains in the default mode, so its numbers are those of
``RDIA-LS.py`` (and of a committed run of the same settings) bit for bit; with
``--flush-run`` it trains with denormals flushed instead, and its last-10 accuracy can
be compared with the seed spread of the committed runs.

Prints a table (per timed epoch: the median seconds of each mode and their ratio) and
writes it with every timing and the run's per-epoch rows to ``--out`` (default
``results/flush_denormal``), as ``<run name>[_flush].md`` and ``.json``.

``--compare`` trains nothing: it sets the last-10 test accuracy of every flushed run in
``--out`` beside the committed runs of the same settings (``--committed``, default
``results/rdia_ls_mnist/runs``, seeds 1-3, trained with denormals kept) and writes the
table as ``compare.md``: the adoption rule is that every method's flushed mean stays
within the range of its committed seeds.
"""

import dataclasses
import statistics
import sys
from pathlib import Path

import torch

from rdia.data import DataError
from rdia.experiments import deep
from rdia.experiments.cli import ConfigError, DefaultsFormatter, OneLineParser
from rdia.experiments.files import (check_output_paths, stored_path, write_json_atomic,
                                    write_text_atomic)
from rdia.experiments.queue import last10, read_saved
from rdia.experiments.report import markdown_table

ROOT = Path(__file__).resolve().parents[1]

#: Name of the benchmark in its usage and error lines.
PROG = "benchmarks.flush_denormal"


def time_one_epoch(prepared, session, flush):
    """Seconds of one epoch trained from a copy of ``session`` with denormals flushed or kept."""
    torch.set_flush_denormal(flush)
    (row,) = deep.train(prepared, deep.copy_session(session), n_epochs=1)
    return row["seconds"]


def paired_timings(config, timed_epochs, repeat, flush_run=False):
    """Train one run and time the timed epochs in both modes from its state.

    Parameters
    ----------
    config : experiments.deep.LSConfig
    timed_epochs : sequence of int
        1-based epochs, ascending, at most ``n_epoch``.
    repeat : int
        Timed epochs per mode and timed epoch.
    flush_run : bool
        Train the run itself with denormals flushed.

    Returns
    -------
    timings : list of dict
        epoch, flush_denormal, seconds.
    rows : list of dict
        The run's per-epoch rows.
    """
    prepared = deep.prepare(config)
    session = deep.start_session(prepared)
    timings, rows = [], []
    try:
        for epoch in timed_epochs:
            torch.set_flush_denormal(flush_run)
            rows += deep.train(prepared, session, n_epochs=epoch - 1 - session.epoch)
            for _ in range(repeat):
                for flush in (False, True):
                    timings.append({"epoch": epoch, "flush_denormal": flush,
                                    "seconds": time_one_epoch(prepared, session, flush)})
        torch.set_flush_denormal(flush_run)
        rows += deep.train(prepared, session)
    finally:
        torch.set_flush_denormal(False)
    return timings, rows


def summary_table(timings):
    """Markdown: per timed epoch, the median seconds kept and flushed, and their ratio."""
    cells = []
    for epoch in sorted({t["epoch"] for t in timings}):
        kept, flushed = (statistics.median(t["seconds"] for t in timings
                                           if t["epoch"] == epoch and t["flush_denormal"] == f)
                         for f in (False, True))
        cells.append([epoch, f"{kept:.2f}", f"{flushed:.2f}", f"{flushed / kept:.2f}"])
    return markdown_table(["epoch", "denormals kept (s, today)", "flushed (s)",
                           "flushed / kept"], cells)


def compare_rows(out, committed):
    """Per setting of the flushed runs in ``out``: the last-10 test accuracies of its
    committed seeds and of its flushed runs, and whether the flushed mean lies in the
    committed seeds' range. Returns (cells, every setting within)."""
    flushed = {}
    for path in sorted(Path(out).glob("*_flush.json")):
        setting = path.name[:-len("_flush.json")].rsplit("_seed", 1)[0]
        saved = read_saved(path)
        if saved is not None:
            flushed.setdefault(setting, []).append(last10(saved, "test_acc"))
    cells, within = [], True
    for setting, flush in flushed.items():
        kept = [last10(run, "test_acc") for run in map(
            read_saved, sorted(Path(committed).glob(f"{setting}_seed*.json"))) if run]
        if not kept:
            continue
        inside = min(kept) <= statistics.mean(flush) <= max(kept)
        within &= inside
        cells.append([setting, ", ".join(f"{v:.2f}" for v in kept),
                      f"{statistics.mean(kept):.2f}", ", ".join(f"{v:.2f}" for v in flush),
                      f"{statistics.mean(flush):.2f}", "yes" if inside else "no"])
    return cells, within


def compare(out, committed):
    """Print and write ``out/compare.md``; 0."""
    cells, within = compare_rows(out, committed)
    if not cells:
        raise ConfigError(f"--out {out} holds no flushed run (*_flush.json) whose "
                          f"committed run is in {committed}")
    table = "\n".join([
        "# Denormals flushed against today's runs: test accuracy, last-10 mean (%)", "",
        markdown_table(["setting", "kept (committed seeds)", "kept mean", "flushed seeds",
                        "flushed mean", "flushed mean within the kept range"], cells), "",
        "Every method within: " + ("yes" if within else "no") + ".", ""])
    target = Path(out) / "compare.md"
    check_output_paths({"--out (comparison)": (target, None)})
    write_text_atomic(target, table)
    print(table)
    return 0


def build_parser():
    """The benchmark's command-line parser (flags in either spelling, one-line errors)."""
    p = OneLineParser(prog=PROG, description=__doc__.split("\n")[0],
                      formatter_class=DefaultsFormatter)
    p.add_argument("--method", default="ce", help="ce, coteaching, rdia-ls or rdia-if")
    p.add_argument("--loss", default="published", help="the RDIA-LS loss")
    p.add_argument("--seed", type=int, default=1, help="seed of the run whose epochs are timed")
    p.add_argument("--epochs", type=int, nargs="+", default=[1, 100, 200],
                   help="1-based epochs to time; the run trains up to the last")
    p.add_argument("--repeat", type=int, default=2, help="timed epochs per mode")
    p.add_argument("--subset", type=int, default=None,
                   help="train on a seeded subset of N images (default: all)")
    p.add_argument("--flush-run", action="store_true",
                   help="train the run itself with denormals flushed")
    p.add_argument("--data_dir", default=None,
                   help="dataset folder (default: $RDIA_DATA_DIR, else datasets/)")
    p.add_argument("--out", default=str(ROOT / "results" / "flush_denormal"),
                   help="output folder (default: results/flush_denormal)")
    p.add_argument("--compare", action="store_true",
                   help="train nothing: the flushed runs in --out against the committed "
                        "runs of the same settings")
    p.add_argument("--committed", default=str(ROOT / "results" / "rdia_ls_mnist" / "runs"),
                   help="folder of the committed runs for --compare (default: "
                        "results/rdia_ls_mnist/runs)")
    return p


def main(argv=None):
    """Command-line entry point; returns 0, or 2 on bad input."""
    args = build_parser().parse_args(argv)
    try:
        if args.compare:
            return compare(args.out, args.committed)
        if args.repeat < 1 or min(args.epochs) < 1 or args.epochs != sorted(set(args.epochs)):
            raise ConfigError("--repeat must be at least 1 and --epochs ascending "
                              "epochs of at least 1")
        config = dataclasses.replace(
            deep.PAPER_SETTING, method=args.method, loss=args.loss, seed=args.seed,
            n_epoch=args.epochs[-1], subset=args.subset, data_dir=args.data_dir,
            threads=1, progress=False, result_dir=args.out)
        stem = Path(args.out) / (deep.run_name(config) + ("_flush" if args.flush_run else ""))
        markdown, record = stem.with_name(stem.name + ".md"), stem.with_name(stem.name + ".json")
        check_output_paths({"--out (table)": (markdown, None), "--out (JSON)": (record, None)})
        torch.set_num_threads(1)
        timings, rows = paired_timings(config, args.epochs, args.repeat, args.flush_run)
    except (ConfigError, DataError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    final = deep.summarize(rows)
    table = "\n".join([
        f"# {deep.run_name(config)}: one epoch with denormals kept or flushed", "",
        summary_table(timings), "",
        f"One thread; {args.repeat} epoch(s) per mode from the run's state before each "
        f"timed epoch. The run trained with denormals "
        f"{'flushed' if args.flush_run else 'kept'}: test accuracy, last-10 mean "
        f"{final['test_acc_last10_mean']:.3f}%.", ""])
    write_text_atomic(markdown, table)
    settings = dataclasses.asdict(config.resolved())
    settings.update({name: stored_path(settings[name]) for name in deep.STORED_PATHS})
    write_json_atomic(record, {"config": settings,
                               "flush_run": args.flush_run, "timings": timings,
                               "epochs": rows, "final": final})
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
