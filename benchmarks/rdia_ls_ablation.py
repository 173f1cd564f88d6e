"""RDIA-LS loss ablation and gamma sweep on MNIST, symmetric noise 0.8, as a resumable queue.

Usage, from the repository root::

    python -m benchmarks.rdia_ls_ablation --jobs 2          # train what is missing, then tables
    python -m benchmarks.rdia_ls_ablation --no-train        # tables from the finished runs only
    python -m benchmarks.rdia_ls_ablation --no-train --select-on-val
    python -m benchmarks.rdia_ls_ablation --candidates method@0.05 published@0.5 --seeds 1

Each candidate is a loss (``selection.LOSSES``) and a gamma, in the paper's setting
otherwise (``experiments.deep.PAPER_SETTING``: the MLP, weight decay 1e-5, 200
epochs). The default queue, in order of value:

1. ``keep-on-softmax``, ``unsure-over-batch`` (gamma 0.2): the method plus one quirk
   of the published loss;
2. ``method`` with gamma 0.05, 0.5, 0.8;
3. ``warmup-over-keep`` (gamma 0.2);
4. ``published`` and ``method`` at gamma 0.2 again: runs from before the validation
   split lack ``val_acc``, so they are trained again under the same name (training is
   deterministic with one thread: their ``test_acc`` must not change);
5. ``published`` with gamma 0.05, 0.5, 0.8;
6. ``published`` without one ingredient at a time (gamma 0.2): which of them the
   published loss cannot do without.

Queue. A run is finished when its JSON in ``--runs-dir`` has the same settings, all
its epochs and the ``val_acc`` and ``scored_acc`` columns
(``experiments.queue.load_finished``); finished runs are skipped, so the same
command resumes an interrupted queue. At most ``--jobs`` runs train at once, each as
its own ``RDIA-LS.py`` process with one torch thread, its output in
``<--log-dir>/<run name>.log``. A run that was interrupted leaves no JSON and is
trained again from its start.

Tables (``--out``, default results/rdia_ls_ablation), rewritten after every finished run
from whatever runs are finished (missing runs are listed, not an error):

- ``table.md`` and ``table.csv``: per candidate, mean +/- sample std over seeds of the
  last-10-epoch mean test accuracy on all 10,000 test images (the paper's metric),
  and of the validation (100 held-out images) and scored (the other 9,900)
  accuracies where the runs have them; the finished ``ce`` and ``coteaching`` runs
  and the published 87.85 +/- 0.21 for comparison;
- ``test_acc.png``: mean test accuracy against epoch per candidate;
- with ``--select-on-val``: per seed, the candidate with the best last-10-epoch mean
  validation accuracy (test labels are never looked at) and its accuracy on the
  9,900 scored images.
"""

import sys
from pathlib import Path

import numpy as np


from rdia import selection
from rdia.experiments.cli import ConfigError
from rdia.experiments.files import save_figure_atomic, write_csv_atomic, write_text_atomic
from rdia.experiments.queue import (candidate_label, collect, last10, queue_parser,
                                   report_and_exit, run_config, run_queue, spread)
from rdia.experiments.report import PUBLISHED_RDIA_LS, markdown_table, mean_std

#: Name of the benchmark in its usage and error lines (it runs with ``python -m``).
PROG = "benchmarks.rdia_ls_ablation"

#: The default queue: (loss, gamma) in order of value (see the module docstring).
QUEUE = (("keep-on-softmax", 0.2), ("unsure-over-batch", 0.2),
         ("method", 0.05), ("method", 0.5), ("method", 0.8),
         ("warmup-over-keep", 0.2),
         ("published", 0.2), ("method", 0.2),
         ("published", 0.05), ("published", 0.5), ("published", 0.8),
         ("published-no-keep-on-softmax", 0.2), ("published-no-unsure-over-batch", 0.2),
         ("published-no-warmup-over-keep", 0.2))

#: Per-epoch columns a queued run must have to count as finished.
REQUIRED_COLUMNS = ("val_acc", "scored_acc")

#: Baselines shown in the table when their runs are finished; never trained here
#: (``benchmarks/rdia_ls_mnist.py`` trains them).
BASELINES = ("ce", "coteaching")

# ----------------------------------------------------------------------------
# Candidates and their runs


def parse_candidate(text):
    """A (loss, gamma) candidate from ``LOSS@GAMMA``, e.g. ``method@0.05``.

    Raises
    ------
    experiments.cli.ConfigError
        For another form, an unknown loss or a gamma outside [0, 1].
    """
    loss, sep, gamma = text.partition("@")
    if not sep:
        raise ConfigError(f"--candidates takes LOSS@GAMMA (e.g. method@0.05), got {text!r}")
    if loss not in selection.LOSSES:
        raise ConfigError(f"unknown loss {loss!r} in --candidates; use one of "
                          f"{', '.join(selection.LOSSES)}")
    try:
        value = float(gamma)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"--candidates: gamma must be a number in [0, 1], got {gamma!r}")
    return loss, value


# ----------------------------------------------------------------------------
# Tables, figure and the choice on validation accuracy


def table_rows(runs, seeds):
    """One row per candidate: label, runs, and the three accuracies over seeds (%)."""
    rows = []
    for candidate, by_seed in runs.items():
        results = list(by_seed.values())
        test, n_test = spread(results, "test_acc")
        val, n_val = spread(results, "val_acc")
        scored, _ = spread(results, "scored_acc")
        rows.append({"candidate": candidate_label(candidate),
                     "runs": f"{n_test} of {len(seeds)}",
                     "test_acc": test, "val_acc": val, "scored_acc": scored,
                     "runs_with_val": n_val,
                     "seeds": " ".join(str(s) for s in sorted(by_seed))})
    return rows


def select_on_val(runs, seeds):
    """Per seed, the candidate chosen by validation accuracy alone, scored on the rest.

    For each seed, among the candidates whose run of that seed has ``val_acc``, the
    one with the highest mean ``val_acc`` over the last 10 epochs is chosen (ties:
    the first in ``runs``' order). Test and scored accuracies are never compared.

    Parameters
    ----------
    runs : dict
        candidate -> {seed: result dict}, as :func:`collect` returns it.
    seeds : sequence of int

    Returns
    -------
    choices : list of dict
        One per seed with at least one candidate: seed, candidate, val_acc (its
        last-10 mean validation accuracy, %), scored_acc (its last-10 mean accuracy
        on the scored images, %), n_candidates (how many it was chosen from).
    """
    choices = []
    for seed in seeds:
        scores = [(last10(by_seed[seed], "val_acc"), candidate)
                  for candidate, by_seed in runs.items() if seed in by_seed]
        scores = [(v, c) for v, c in scores if v is not None]
        if not scores:
            continue
        best = max(v for v, _ in scores)
        chosen = next(c for v, c in scores if v == best)
        choices.append({"seed": seed, "candidate": chosen, "val_acc": best,
                        "scored_acc": last10(runs[chosen][seed], "scored_acc"),
                        "n_candidates": len(scores)})
    return choices


def selection_markdown(choices):
    """The ``--select-on-val`` section: one line per seed and the mean over seeds."""
    if not choices:
        return "No run has validation accuracies yet; nothing to choose from."
    rows = [[c["seed"], candidate_label(c["candidate"]), c["n_candidates"],
             f"{c['val_acc']:.2f}", f"{c['scored_acc']:.2f}"] for c in choices]
    mean, std = mean_std([c["scored_acc"] for c in choices])
    return "\n".join([
        markdown_table(["seed", "chosen (loss, gamma)", "candidates", "val acc, last-10 "
                        "mean (%, 100 images)", "scored acc, last-10 mean (%, 9,900 images)"],
                       rows), "",
        f"Chosen by validation accuracy, scored on the other 9,900 images: "
        f"{mean:.2f} ± {std:.2f} over {len(choices)} seed(s)."])


def plot_candidates(runs, path):
    """Mean test accuracy (%) against epoch per candidate, over its finished seeds."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    for candidate, by_seed in runs.items():
        if not by_seed:
            continue
        accs = np.array([[row["test_acc"] for row in r["epochs"]] for r in by_seed.values()])
        ax.plot(np.arange(1, accs.shape[1] + 1), accs.mean(axis=0), linewidth=1.0,
                label=f"{candidate_label(candidate)} ({len(by_seed)} seeds)")
    ax.axhline(PUBLISHED_RDIA_LS["mnist"][0], color="black", linestyle=":", linewidth=0.8,
               label="published RDIA-LS (87.85)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%, all 10,000 images)")
    ax.set_title("MNIST, symmetric noise 0.8: RDIA-LS losses and gammas (mean over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)


def write_outputs(out, candidates, seeds, epochs, runs_dir, select=False):
    """Write table.md, table.csv and test_acc.png from the finished runs; return the table.

    Parameters
    ----------
    out : path-like
    candidates : sequence of (str, float)
    seeds : sequence of int
    epochs : int
    runs_dir : path-like
    select : bool
        Add the choice on validation accuracy (:func:`select_on_val`).

    Returns
    -------
    report : str
        The markdown written to table.md.
    """
    out = Path(out)
    runs, missing = collect(list(candidates) + list(BASELINES), seeds, epochs, runs_dir)
    rows = table_rows(runs, seeds)
    published = PUBLISHED_RDIA_LS["mnist"]
    header = ["candidate", "runs", "test acc, last-10 mean (%, 10,000 images)",
              "val acc (%, 100 images)", "scored acc (%, 9,900 images)"]
    cells = [[r["candidate"], r["runs"], r["test_acc"], r["val_acc"], r["scored_acc"]]
             for r in rows]
    cells.append(["published RDIA-LS (paper)", "-",
                  f"{published[0]:.2f} ± {published[1]:.2f}", "-", "-"])
    parts = [
        "# RDIA-LS on MNIST, symmetric noise 0.8: loss ablation and gamma sweep", "",
        f"Mean ± sample std over seeds ({', '.join(map(str, seeds))}) of each run's mean "
        f"over its last 10 of {epochs} epochs. Test accuracy is on all 10,000 test images "
        "(the paper's metric); the validation and scored accuracies split them into 100 "
        "held-out images (10 per class, seeded by the run's seed) and the other 9,900, "
        "for runs trained since the split exists. Setting: the MLP, weight decay 1e-5, "
        "forget rate 0.8 (docs/method.md section 5).", "",
        markdown_table(header, cells), ""]
    if select:
        rdia_runs = {c: by_seed for c, by_seed in runs.items() if c not in BASELINES}
        parts += ["## Loss and gamma chosen on validation accuracy", "",
                  selection_markdown(select_on_val(rdia_runs, seeds)), ""]
    parts += [f"Missing runs ({len(missing)}): " + (", ".join(missing) if missing else "none"),
              ""]
    report = "\n".join(parts)
    write_text_atomic(out / "table.md", report)
    write_csv_atomic(out / "table.csv", list(rows[0]), [list(r.values()) for r in rows])
    plot_candidates({c: r for c, r in runs.items()}, out / "test_acc.png")
    return report


# ----------------------------------------------------------------------------
# Command line


def build_parser():
    """The benchmark's command-line parser (flags in either spelling, one-line errors)."""
    p = queue_parser(PROG, __doc__, "rdia_ls_ablation", "ablation-logs")
    p.add_argument("--candidates", nargs="+", default=None, metavar="LOSS@GAMMA",
                   help="(loss, gamma) pairs in queue order (default: the queue of the "
                        "module docstring)")
    p.add_argument("--select-on-val", action="store_true",
                   help="add, per seed, the candidate with the best validation accuracy")
    return p


def main(argv=None):
    """Command-line entry point; returns 0, 1 when a run failed, or 2 on bad input."""
    args = build_parser().parse_args(argv)
    try:
        if args.jobs < 1:
            raise ConfigError(f"--jobs must be at least 1, got {args.jobs}")
        if args.epochs < 1:
            raise ConfigError(f"--epochs must be at least 1, got {args.epochs}")
        candidates = ([parse_candidate(text) for text in args.candidates]
                      if args.candidates else list(QUEUE))
        configs = [run_config(c, seed, args.epochs, args.runs_dir, args.data_dir)
                   for c in candidates for seed in args.seeds]
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2

    def tables():
        return write_outputs(args.out, candidates, args.seeds, args.epochs, args.runs_dir,
                             args.select_on_val)

    failed = (run_queue(configs, args.jobs, args.log_dir, on_finish=tables,
                        columns=REQUIRED_COLUMNS) if args.train else [])
    return report_and_exit(PROG, tables(), failed)


if __name__ == "__main__":
    sys.exit(main())
