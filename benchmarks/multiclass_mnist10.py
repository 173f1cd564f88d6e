"""Softmax RDIA on all ten MNIST digits: full, drop, rdia and clean over seeds.

Usage::

    RDIA_DATA_DIR=/path/to/datasets python -m benchmarks.multiclass_mnist10
    python -m benchmarks.multiclass_mnist10 --noises 0.5 --seeds 0 --output r.json
    python -m benchmarks.multiclass_mnist10 --runs-dir results/multiclass_mnist10/runs \
        --markdown results/multiclass_mnist10/table.md      # resumable, about 10 min a run

For every (noise, seed), with RDIA.py's split (41,930 training, 17,970 validation and
10,000 test images) and symmetric noise at that rate:

- full: softmax regression (C = 0.1) on the noisy labels (trust-region Newton); this
  fit is timed;
- phi for all training samples (conjugate gradients with the Kronecker
  preconditioner, tol 1e-10); timed;
- drop and rdia at every alpha of ``--alphas`` (the published values, in the same
  units). Each method keeps the alpha with the best validation accuracy (ties: lower
  validation log-loss). The test set is only scored, never used for a choice.
- clean: the true labels. The split and the clean labels do not depend on the noise
  or the seed, so it is fitted once.

Every refit starts from the full fit's weights. ``benchmarks/kclass_influence.py``
counts the work of each stage in passes over X.

It prints a markdown table of test accuracy (the headline) and test log-loss,
mean +/- std over seeds, the chosen alphas with what they relabeled, and the time of
the influence computation against one fit (target: influence < fit). ``--markdown``
also writes that report to a file. With ``--runs-dir`` each finished (noise, seed) is
saved there and reused by a later call with the same settings, so a stopped run
resumes where it was.
"""

import sys
from pathlib import Path

from tqdm import tqdm

from rdia.experiments import pipeline
from rdia.experiments.config import RunConfig
from rdia.experiments.engines import MemoryEngine
from rdia.experiments.cli import OneLineParser
from rdia.experiments.files import write_json_atomic, write_text_atomic
from rdia.experiments.queue import saved_result
from rdia.experiments.report import format_mean_std

METHODS = ("full", "drop", "rdia", "clean")

#: The published alpha values (docs/method.md 3); the units of phi are the same here.
ALPHAS = (0.0002, 0.002, 0.01)


def parse_args(argv=None):
    parser = OneLineParser(prog="benchmarks.multiclass_mnist10",
                           description=__doc__.splitlines()[0])
    parser.add_argument("--noises", type=float, nargs="+", default=[0.2, 0.5, 0.8],
                        help="rates of symmetric label noise, one run each")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="seeds of each noise rate")
    parser.add_argument("--alphas", type=float, nargs="+", default=list(ALPHAS),
                        help="harmfulness thresholds of RDIA's refits")
    parser.add_argument("--dataset", default="mnist10",
                        help="a K-class dataset of RDIA.py (digits runs in seconds)")
    parser.add_argument("--data-dir", default=None,
                        help="dataset folder (default: $RDIA_DATA_DIR)")
    parser.add_argument("--output", default=None, metavar="PATH.json",
                        help="also write every row and timing as JSON (default: none)")
    parser.add_argument("--markdown", default=None, metavar="PATH.md",
                        help="also write the printed report to this file (default: none)")
    parser.add_argument("--runs-dir", default=None,
                        help="save each finished (noise, seed) here and reuse it later "
                             "(default: none; every run is computed)")
    return parser.parse_args(argv)


def run_config(dataset, noise, seed, data_dir):
    """The :class:`experiments.config.RunConfig` of one run with symmetric noise."""
    return RunConfig(dataset=dataset, noise=noise, seed=seed, noise_type="symmetric",
                     data_dir=data_dir)


#: The metrics of :func:`score`.
SCORES = ("val_accuracy", "val_logloss", "test_accuracy", "test_logloss")


def score(row):
    """The metrics of SCORES from a ``pipeline.refit`` row."""
    return {key: row[key] for key in SCORES}


def best_on_validation(rows):
    """The row with the highest validation accuracy (ties: lower validation log-loss)."""
    return max(rows, key=lambda row: (row["val_accuracy"], -row["val_logloss"]))


def one_run(dataset, noise, seed, alphas, data_dir, clean_cache):
    """Rows of every method for one (noise, seed), and the fit / influence timing.

    ``clean_cache`` holds the clean row once computed; pass the same dict to every run
    of a dataset whose split does not depend on the seed (mnist10).
    """
    config = run_config(dataset, noise, seed, data_dir)
    fitted = pipeline.prepare(MemoryEngine(), config.resolved())
    seconds, solver = fitted.timings, fitted.solver
    timing = dict(noise=noise, seed=seed, fit_s=seconds["fit"],
                  influence_s=seconds["influence"], cg_iterations=solver.n_iter_)
    print(f"noise {noise} seed {seed}: fit {seconds['fit']:.1f}s, influence "
          f"{seconds['influence']:.1f}s ({solver.n_iter_} CG iterations)",
          file=sys.stderr, flush=True)

    rows = [dict(method="full", alpha=None, n_selected=0,
                 **score(pipeline.refit(fitted, "full", config.alpha)[0]))]
    if "clean" not in clean_cache:
        clean_cache["clean"] = score(pipeline.refit(fitted, "clean", config.alpha)[0])
    rows.append(dict(method="clean", alpha=None, n_selected=0, **clean_cache["clean"]))
    for method in ("drop", "rdia"):
        candidates = []
        for alpha in alphas:
            row = pipeline.refit(fitted, method, alpha)[0]
            candidates.append(dict(method=method, alpha=alpha,
                                   n_selected=row["n_relabeled"] + row["n_removed"],
                                   precision=row["precision"], recall=row["recall"],
                                   **score(row)))
            print(f"  {method} alpha {alpha:g}: val acc {candidates[-1]['val_accuracy']:.4f}",
                  file=sys.stderr, flush=True)
        rows.append(dict(best_on_validation(candidates), candidates=candidates))
    for row in rows:
        row.update(noise=noise, seed=seed)
    return rows, timing


def results_table(rows, noises):
    """Markdown: one row per method, test accuracy and log-loss per noise level."""
    header = ["method"] + [f"acc @ {n:g}" for n in noises] + [f"log-loss @ {n:g}" for n in noises]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method in METHODS:
        cells = [method]
        for key, digits in (("test_accuracy", 4), ("test_logloss", 4)):
            for noise in noises:
                cells.append(format_mean_std([r[key] for r in rows if r["method"] == method
                                              and r["noise"] == noise], digits))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def selection_table(rows):
    """Markdown: the alpha each drop / rdia run kept, and what it selected."""
    lines = ["| noise | seed | method | alpha | selected | precision | recall |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["method"] in ("drop", "rdia"):
            lines.append(f"| {r['noise']:g} | {r['seed']} | {r['method']} | {r['alpha']:g} | "
                         f"{r['n_selected']} | {_share(r['precision'])} | "
                         f"{_share(r['recall'])} |")
    return "\n".join(lines)


def _share(value):
    return "-" if value is None else f"{value:.3f}"


def timing_table(timings):
    """Markdown: fit and influence seconds per run and their ratio."""
    lines = ["| noise | seed | fit (s) | influence (s) | CG iterations | influence / fit |",
             "|---|---|---|---|---|---|"]
    for t in timings:
        lines.append(f"| {t['noise']:g} | {t['seed']} | {t['fit_s']:.2f} | "
                     f"{t['influence_s']:.2f} | {t['cg_iterations']} | "
                     f"{t['influence_s'] / t['fit_s']:.2f} |")
    return "\n".join(lines)


def run_path(runs_dir, dataset, noise, seed):
    return Path(runs_dir) / f"{dataset}_noise{noise:g}_seed{seed}.json"


def one_run_or_reuse(opts, noise, seed, clean_cache):
    """:func:`one_run`, or its saved result in ``opts.runs_dir`` for the same alphas
    (the reuse rule of ``experiments.queue.saved_result``)."""
    path = run_path(opts.runs_dir, opts.dataset, noise, seed) if opts.runs_dir else None
    saved = saved_result(path, {"alphas": list(opts.alphas)}, section=None)
    if saved is not None:
        print(f"reusing {path}", file=sys.stderr, flush=True)
        clean = next(r for r in saved["rows"] if r["method"] == "clean")
        clean_cache.setdefault("clean", {key: clean[key] for key in SCORES})
        return saved["rows"], saved["timing"]
    rows, timing = one_run(opts.dataset, noise, seed, opts.alphas, opts.data_dir,
                           clean_cache)
    if path is not None:
        write_json_atomic(path, dict(alphas=list(opts.alphas), rows=rows, timing=timing))
    return rows, timing


def report(opts, rows, timings):
    """The markdown report: results, chosen alphas and timings."""
    return "\n".join([
        f"{opts.dataset}: test accuracy and log-loss, mean ± std over seeds "
        f"{', '.join(map(str, opts.seeds))} (symmetric noise):", "",
        results_table(rows, opts.noises), "",
        "alpha chosen on validation accuracy from "
        f"{', '.join(f'{a:g}' for a in opts.alphas)}:", "",
        selection_table(rows), "",
        "Time of one fit on the noisy labels and of phi for all training samples:", "",
        timing_table(timings), ""])


def main(argv=None):
    opts = parse_args(argv)
    rows, timings, clean_cache = [], [], {}
    runs = [(noise, seed) for noise in opts.noises for seed in opts.seeds]
    for noise, seed in tqdm(runs, desc="noise x seed", unit="run"):
        cache = clean_cache if opts.dataset == "mnist10" else {}
        run_rows, timing = one_run_or_reuse(opts, noise, seed, cache)
        rows += run_rows
        timings.append(timing)
    text = report(opts, rows, timings)
    print(text)
    if opts.markdown:
        write_text_atomic(opts.markdown, text)
    if opts.output:
        write_json_atomic(opts.output, dict(rows=rows, timings=timings,
                                            alphas=opts.alphas))
    return 0


if __name__ == "__main__":
    sys.exit(main())
