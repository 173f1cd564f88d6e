"""RDIA with influence functions on MNIST (``--method rdia-if``) beside RDIA-LS, co-teaching and CE.

Usage, from the repository root::

    python -m benchmarks.rdia_if_mnist --jobs 2             # train what is missing, then tables
    python -m benchmarks.rdia_if_mnist --no-train           # tables from the finished runs only
    python -m benchmarks.rdia_if_mnist --time-step          # one CE epoch against one phi step
    python -m benchmarks.rdia_if_mnist --diagnose           # what the harmful set does

``rdia-if`` (docs/method.md section 6) trains the paper's MLP with cross-entropy for
``if_warmup`` epochs, then computes phi of every training sample through the last
layer against the 100 held-out test images, every ``if_every`` epochs, and trains the
samples with phi > alpha with l_R and the others with cross-entropy.

Two stages, both in the paper's setting otherwise (weight decay 1e-5, 200 epochs, one
torch thread per run):

1. **Choice on validation.** phi fits the images it is taken against: with phi against
   all 100 validation images their accuracy reaches 100% within two epochs of the
   warm-up while the other test images fall, so their accuracy cannot choose. The
   selection runs therefore take phi against 50 of the 100 (``if_holdout`` 5 per
   class) and are judged by the accuracy on the other 50 (``holdout_acc``). At
   symmetric noise 0.8, seed 1, each of :data:`CANDIDATES` (alpha, if_every) is
   trained; the one with the best mean ``holdout_acc`` over the last 10 epochs is
   chosen. Test labels outside the 100 images are never looked at.
2. **Comparison.** The chosen candidate, with phi against all 100 validation images as
   docs/method.md section 6 says, at symmetric 0.8, symmetric 0.5 and pairflip 0.45, seeds
   1, 2, 3, beside ``rdia-ls`` with the default (published) loss at gamma 0.2,
   ``coteaching`` and ``ce`` on the same settings and seeds. The table gives the
   mean +/- sample std over seeds of the last-10-epoch mean accuracy on the 9,900
   scored test images (and on all 10,000), with the harmful set's precision and recall
   against the true noise mask for ``rdia-if``.

The queue is ``experiments.queue.run_queue``, shared by every benchmark: finished
runs in ``--runs-dir`` are reused, interrupted ones start again, ``--jobs`` at a time.
The baselines of symmetric 0.5 and pairflip 0.45 are also those of
``benchmarks.rdia_ls_noise``; ``--no-baselines`` trains the ``rdia-if`` runs only, so
that two queues never train the same run at once.

Outputs in ``--out`` (default ``results/rdia_if_mnist``): ``table.md``, ``table.csv``,
``test_acc.png`` (scored accuracy per epoch, one panel per setting) and
``harmful.png`` (precision and recall of the harmful set per epoch, and the clean
share of the samples trained with CE); ``--time-step``
and ``--diagnose`` write ``time_step.md`` and ``diagnose.md`` there instead.

``--time-step`` trains ``rdia-if`` on the full MNIST training set (symmetric 0.8,
seed 1, alpha 0, one thread) and times each training epoch and each phi step
(features, solve and scores) for ``--repeat`` epochs from the end of the warm-up; it
prints both and their ratio. Run it on a quiet machine.

``--diagnose`` asks which part of ``rdia-if`` moves the accuracy. From the CE network
after the warm-up (symmetric 0.8, seed 1, phi against 50 validation images), it
trains ``--diagnose-epochs`` more epochs under each of :data:`TREATMENTS`, from the
same state each time: CE on all; ``rdia-if`` (l_R on {phi > 0}, CE on the rest); the
harmful set dropped (CE on the rest only); and, with the true noise mask, which no
method has, l_R on the noisy samples or the noisy samples dropped. It prints the
accuracy on the 9,900 scored images and on the 50 hold-out images after each epoch.
"""

import sys
from pathlib import Path

import numpy as np
import torch

from rdia import selection
from rdia.data.errors import DataError
from rdia.experiments import deep
from rdia.experiments import methods
from rdia.experiments.cli import ConfigError
from rdia.experiments.files import save_figure_atomic, write_csv_atomic, write_text_atomic
from rdia.experiments.queue import (candidate_label as queue_label, collect as collect_runs,
                                   last10, pending, queue_parser, report_and_exit,
                                   run_config, run_queue, spread)
from rdia.experiments.report import markdown_table


#: Name of the benchmark in its usage and error lines.
PROG = "benchmarks.rdia_if_mnist"

#: (alpha, if_every) candidates of the choice on validation: alpha 0 and two of the
#: paper's alphas (0.0002 is left out: after the 4 warm-up epochs its harmful set
#: differs from alpha 0's by 2% of its size), phi every epoch, and alpha 0 with phi
#: every 5 epochs (a fifth of the influence cost).
CANDIDATES = ((0.0, 1), (0.002, 1), (0.01, 1), (0.0, 5))

#: Setting and seeds of the choice on validation.
SELECTION_NOISE = ("symmetric", 0.8)
SELECTION_SEEDS = (1,)

#: Validation images per class that the selection runs keep out of phi (they judge).
SELECTION_HOLDOUT = 5

#: Settings of the comparison, as (noise type, noise rate).
SETTINGS = (("symmetric", 0.8), ("symmetric", 0.5), ("pairflip", 0.45))

#: The baselines: RDIA-LS with the default loss of RDIA-LS.py, co-teaching and CE.
BASELINES = (("published", 0.2), "coteaching", "ce")

#: Per-epoch columns every run of the comparison must have (the 9,900 scored images).
REQUIRED_COLUMNS = ("val_acc", "scored_acc")


def candidate_settings(candidate, holdout=0):
    """LSConfig fields of an (alpha, if_every) candidate, with ``holdout`` images per
    class kept out of phi."""
    alpha, every = candidate
    return {"alpha": alpha, "if_every": every, "if_holdout": holdout}


def candidate_label(candidate):
    """``rdia-if, alpha <a>, phi every <k> epochs`` of a candidate, or a baseline's label."""
    if is_rdia_if(candidate):
        alpha, every = candidate
        return (f"rdia-if, alpha {deep.format_setting(alpha)}, phi every "
                f"{every} epoch{'s' if every > 1 else ''}")
    if isinstance(candidate, tuple):
        return f"rdia-ls ({queue_label(candidate)})"
    return candidate


def is_rdia_if(candidate):
    """Whether a candidate is an (alpha, if_every) pair of ``rdia-if``; the baselines
    are a method name or a (loss, gamma) pair of ``rdia-ls``."""
    return isinstance(candidate, tuple) and not isinstance(candidate[0], str)


def config_of(candidate, seed, epochs, runs_dir, data_dir=None, noise=SELECTION_NOISE,
              holdout=0):
    """The LSConfig of one run of an ``rdia-if`` candidate (``holdout`` images per class
    kept out of phi) or of a baseline."""
    if is_rdia_if(candidate):
        return run_config("rdia-if", seed, epochs, runs_dir, data_dir, noise=noise,
                                   settings=candidate_settings(candidate, holdout))
    return run_config(candidate, seed, epochs, runs_dir, data_dir, noise=noise)


def selection_config(candidate, seed, epochs, runs_dir, data_dir=None):
    """The LSConfig of a selection run: symmetric 0.8, phi against 50 validation images."""
    return config_of(candidate, seed, epochs, runs_dir, data_dir, SELECTION_NOISE,
                     SELECTION_HOLDOUT)


def collect(candidates, seeds, epochs, runs_dir, noise, holdout=0):
    """Finished runs (with :data:`REQUIRED_COLUMNS`) per candidate, and the missing names."""
    return collect_runs(
        candidates, seeds, epochs, runs_dir, columns=REQUIRED_COLUMNS,
        configure=lambda candidate, seed: config_of(candidate, seed, epochs, runs_dir,
                                                    noise=noise, holdout=holdout))


def choose(epochs, runs_dir):
    """The candidate chosen on the held-out validation images, or None while its runs
    are unfinished.

    The candidate with the best ``holdout_acc`` (last-10 mean) is chosen, summed over
    :data:`SELECTION_SEEDS` (ties: the first of :data:`CANDIDATES`); no other column
    is compared.

    Returns
    -------
    chosen : (float, int) or None
    runs : dict
        candidate -> {seed: result} of the selection runs.
    """
    runs, missing = collect(CANDIDATES, SELECTION_SEEDS, epochs, runs_dir, SELECTION_NOISE,
                            SELECTION_HOLDOUT)
    if missing:
        return None, runs
    score = {c: sum(last10(r, "holdout_acc") for r in runs[c].values()) for c in CANDIDATES}
    return max(CANDIDATES, key=score.get), runs


def queue_configs(epochs, runs_dir, data_dir=None, baselines=True, chosen=None):
    """Runs to train: the selection runs, then (once chosen) the comparison's runs."""
    configs = [selection_config(c, seed, epochs, runs_dir, data_dir)
               for c in CANDIDATES for seed in SELECTION_SEEDS]
    methods = ([chosen] if chosen is not None else []) + (list(BASELINES) if baselines else [])
    configs += [config_of(c, seed, epochs, runs_dir, data_dir, noise)
                for c in methods for noise in SETTINGS for seed in (1, 2, 3)]
    unique = {deep.run_name(c): c for c in configs}
    return list(unique.values())


# ----------------------------------------------------------------------------
# Tables and figures


def comparison_rows(chosen, seeds, epochs, runs_dir):
    """Rows of the comparison table, and the runs per setting and method."""
    methods = ([chosen] if chosen is not None else []) + list(BASELINES)
    rows, curves, missing = [], {}, []
    for noise in SETTINGS:
        runs, lost = collect(methods, seeds, epochs, runs_dir, noise)
        curves[noise], missing = runs, missing + lost
        for method, by_seed in runs.items():
            results = list(by_seed.values())
            rows.append({
                "setting": f"{noise[0]} {deep.format_setting(noise[1])}",
                "method": candidate_label(method), "runs": f"{len(results)} of {len(seeds)}",
                "scored_acc": spread(results, "scored_acc")[0],
                "test_acc": spread(results, "test_acc")[0],
                "harmful_precision": spread(results, "harmful_precision", 1)[0]
                if is_rdia_if(method) else "-",
                "harmful_recall": spread(results, "harmful_recall", 1)[0]
                if is_rdia_if(method) else "-",
                "label_precision": spread(results, "label_precision", 1)[0],
                "seeds": " ".join(str(s) for s in sorted(by_seed))})
    return rows, curves, missing


def selection_rows(runs):
    """One row per selection run: the accuracy that chooses, then the others shown."""
    rows = []
    for candidate, by_seed in runs.items():
        for seed, result in sorted(by_seed.items()):
            rows.append([candidate_label(candidate), seed,
                         f"{last10(result, 'holdout_acc'):.2f}",
                         f"{last10(result, 'val_acc'):.2f}",
                         f"{last10(result, 'scored_acc'):.2f}",
                         f"{last10(result, 'harmful_precision'):.1f}",
                         f"{last10(result, 'harmful_recall'):.1f}"])
    return rows


def seed_mean(values):
    """Mean over seeds (rows) per epoch (column), skipping missing values (NaN); NaN
    where every seed misses, e.g. the harmful set before the warm-up ends."""
    present = ~np.isnan(values)
    total = np.where(present, values, 0.0).sum(axis=0)
    count = present.sum(axis=0)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def plot_curves(curves, path, column, ylabel):
    """Mean of a per-epoch column against epoch, one panel per setting, one line per method."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5 * len(curves), 4.5))
    axes = np.atleast_1d(fig.subplots(1, len(curves), sharey=True))
    for ax, (noise, runs) in zip(axes, curves.items()):
        for method, by_seed in runs.items():
            values = [[np.nan if row.get(column) is None else row[column]
                       for row in r["epochs"]] for r in by_seed.values()]
            if not values or np.isnan(values).all():
                continue
            values = np.array(values, dtype=float)
            ax.plot(np.arange(1, values.shape[1] + 1), seed_mean(values),
                    linewidth=1.0, label=f"{candidate_label(method)} ({len(values)} seeds)")
        ax.set_title(f"MNIST, {noise[0]} {deep.format_setting(noise[1])}")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel(ylabel)
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)


#: Per-epoch columns of the harmful-set figure and their line styles.
HARMFUL_CURVES = {"harmful_precision": "-", "harmful_recall": "--", "label_precision": "-."}

HARMFUL_LABELS = {
    "harmful_precision": "precision of {phi > alpha}",
    "harmful_recall": "recall of {phi > alpha}",
    "label_precision": "clean share of the rest, trained with CE",
}


def plot_harmful(curves, path):
    """Precision and recall (%) of rdia-if's harmful set per epoch, and the clean share
    of the samples trained with CE, one panel per setting."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5 * len(curves), 4.5))
    axes = np.atleast_1d(fig.subplots(1, len(curves), sharey=True))
    for ax, (noise, runs) in zip(axes, curves.items()):
        for method, by_seed in runs.items():
            if not is_rdia_if(method) or not by_seed:
                continue
            for column, style in HARMFUL_CURVES.items():
                values = np.array([[np.nan if row.get(column) is None else row[column]
                                    for row in r["epochs"]] for r in by_seed.values()],
                                  dtype=float)
                ax.plot(np.arange(1, values.shape[1] + 1), seed_mean(values),
                        style, linewidth=1.0, label=f"{HARMFUL_LABELS[column]} "
                        f"({len(values)} seeds)")
        ax.axhline(100 * noise[1], color="gray", linestyle=":", linewidth=1.0,
                   label="precision of a random set (the noise rate)")
        ax.set_title(f"MNIST, {noise[0]} {deep.format_setting(noise[1])}")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("against the true noise mask (%)")
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)


def write_outputs(out, seeds, epochs, runs_dir):
    """Write table.md, table.csv and the figures from the finished runs; return table.md."""
    out = Path(out)
    chosen, selection_runs = choose(epochs, runs_dir)
    rows, curves, missing = comparison_rows(chosen, seeds, epochs, runs_dir)
    header = ["setting", "method", "runs", "scored acc, last-10 mean (%, 9,900 images)",
              "test acc (%, 10,000 images)", "harmful precision (%)", "harmful recall (%)",
              "clean share of the keep set (%)"]
    cells = [[r["setting"], r["method"], r["runs"], r["scored_acc"], r["test_acc"],
              r["harmful_precision"], r["harmful_recall"], r["label_precision"]]
             for r in rows]
    selection_header = ["candidate", "seed",
                        "hold-out acc, last-10 mean (%, 50 images phi never sees)",
                        "val acc (%, all 100)", "scored acc (%, 9,900 images)",
                        "harmful precision (%)", "harmful recall (%)"]
    report = "\n".join([
        "# RDIA with influence functions (rdia-if) on MNIST", "",
        "## Choice on validation", "",
        f"{SELECTION_NOISE[0]} noise {deep.format_setting(SELECTION_NOISE[1])}, seed(s) "
        f"{', '.join(map(str, SELECTION_SEEDS))}; phi against 50 of the 100 validation "
        "images, chosen by the accuracy on the other 50 alone (the other columns are "
        "shown, never compared).", "",
        markdown_table(selection_header, selection_rows(selection_runs)), "",
        f"Chosen: {candidate_label(chosen) if chosen else 'not yet (runs missing)'}.", "",
        "## Comparison", "",
        f"Mean ± sample std over seeds ({', '.join(map(str, seeds))}) of each run's mean over "
        f"its last 10 of {epochs} epochs. Scored images: the 9,900 test images outside "
        "the 100 held out for validation. Harmful precision and recall: the set "
        "{phi > alpha} in force, against the true noise mask, last-10 mean. Clean "
        "share of the keep set: the share of correct labels among the samples the "
        "method keeps (``label_precision``): for rdia-if those outside {phi > alpha}, "
        "trained with CE; for rdia-ls and co-teaching the small-loss samples; for CE "
        "every sample.", "",
        markdown_table(header, cells), "",
        f"Missing runs ({len(missing)}): " + (", ".join(missing) if missing else "none"), ""])
    write_text_atomic(out / "table.md", report)
    columns = ["setting", "method", "runs", "scored_acc", "test_acc", "harmful_precision",
               "harmful_recall", "label_precision", "seeds"]
    write_csv_atomic(out / "table.csv", columns, [[r[c] for c in columns] for r in rows])
    plot_curves(curves, out / "test_acc.png", "scored_acc",
                "accuracy on the 9,900 scored test images (%)")
    plot_harmful(curves, out / "harmful.png")
    return report


# ----------------------------------------------------------------------------
# The cost of one phi step against one training epoch


def time_influence_step(repeat=10, data_dir=None, subset=None):
    """Seconds of each training epoch and each phi step of an ``rdia-if`` run.

    The run of the selection (symmetric 0.8, seed 1, alpha 0, phi every epoch against
    all 100 validation images, one thread), trained by ``experiments.deep.train``:
    ``if_warmup`` epochs of CE, then ``repeat`` epochs that train with the harmful set
    in force, each followed by phi. The first timed epoch is the last of the warm-up
    (CE only).

    Parameters
    ----------
    repeat : int
        Timed pairs (an epoch, then the phi step with the network it left).
    data_dir : path-like, optional
    subset : int, optional
        Train on this many seeded training images instead of all 60,000.

    Returns
    -------
    rows : list of dict
        Per pair: epoch (1-based), epoch_seconds (training and evaluation of the
        test set), phi_seconds, cg_iterations, n_harmful.
    """
    config = deep.LSConfig(method="rdia-if", noise_rate=0.8, seed=1, threads=1,
                           progress=False, data_dir=data_dir, subset=subset)
    prepared = deep.prepare(config)
    rows = []

    def record(row, session):
        if row["epoch"] >= prepared.config.if_warmup:
            rows.append({"epoch": row["epoch"],
                         "epoch_seconds": row["seconds"] - row["influence_seconds"],
                         "phi_seconds": row["influence_seconds"],
                         "cg_iterations": session.state.cg_iterations,
                         "n_harmful": row["n_harmful"]})

    deep.train(prepared, n_epochs=prepared.config.if_warmup - 1 + repeat, on_epoch=record)
    return rows


def step_markdown(rows):
    """The ``--time-step`` table: one line per timed pair and the median ratio."""
    cells = [[r["epoch"], f"{r['epoch_seconds']:.3f}", f"{r['phi_seconds']:.3f}",
              f"{r['phi_seconds'] / r['epoch_seconds']:.2f}", r["cg_iterations"],
              f"{r['n_harmful']:,}"] for r in rows]
    ratio = np.median([r["phi_seconds"] / r["epoch_seconds"] for r in rows])
    return "\n".join([
        markdown_table(["epoch", "training epoch (s)", "phi step after it (s)",
                        "phi / epoch", "CG iterations", "phi > 0"], cells), "",
        f"Median phi / epoch: {ratio:.2f} (MNIST MLP, one thread; the "
        "first epoch is the last of the CE warm-up, the others train with l_R on the "
        "harmful set)."])


# ----------------------------------------------------------------------------
# Which part of rdia-if moves the accuracy


#: Treatments of ``--diagnose``: name -> (samples trained with l_R, samples left out),
#: each "harmful" ({phi > 0}, recomputed every epoch), "noisy" (the true noise mask)
#: or None; the others train with CE.
TREATMENTS = {
    "CE on all": (None, None),
    "rdia-if: l_R on phi > 0": ("harmful", None),
    "phi > 0 dropped": (None, "harmful"),
    "oracle: l_R on the noisy": ("noisy", None),
    "oracle: the noisy dropped": (None, "noisy"),
}


class Treatment(methods.Method):
    """A treatment of :data:`TREATMENTS` as a method of ``experiments.deep.train``.

    Its state maps "harmful" ({phi > 0} of the network before the epoch, recomputed
    after each epoch when the treatment uses it), "noisy" (the true noise mask) and
    None (no sample) to bool masks of shape (n,).
    """

    name = "treatment"

    def __init__(self, relabel, drop):
        self.relabel, self.drop = relabel, drop

    def batch_losses(self, logits, y, index, f, warmup, config, state):
        loss = treatment_loss(logits[0], y, state[self.relabel][index], state[self.drop][index])
        return [loss], torch.arange(len(y), device=y.device), (len(y), 0, 0)

    def end_epoch(self, epoch, nets, tensors, config, state):
        if "harmful" in (self.relabel, self.drop):
            state = {**state, "harmful": methods.harmful_set(nets[0], tensors, config)[0]}
        return state, None


def treatment_loss(logits, y, relabel, drop):
    """Mean over the trained samples of l_R (``relabel``) or CE (the others), with the
    ``drop`` samples left out; None when none is left.

    Parameters
    ----------
    logits : Tensor of shape (B, K)
    y : Tensor of shape (B,), int64
    relabel, drop : Tensor of shape (B,), bool
    """
    per_sample = torch.where(relabel, selection.complementary_loss(logits, y),
                             selection.cross_entropy(logits, y))
    kept = ~drop
    return per_sample[kept].mean() if kept.any() else None


def diagnose(epochs=3, data_dir=None, subset=None):
    """Accuracies after each epoch of every treatment of :data:`TREATMENTS`.

    ``rdia-if`` trains its ``if_warmup`` CE epochs (``experiments.deep.train``), which
    end with phi; each treatment then trains ``epochs`` more epochs from a copy of
    that session.

    Parameters
    ----------
    epochs : int
        Epochs per treatment, each from the CE network after ``if_warmup`` epochs.
    data_dir : path-like, optional
    subset : int, optional
        Train on this many seeded training images instead of all 60,000.

    Returns
    -------
    accuracies : dict
        name -> list of (scored_acc, holdout_acc) per epoch, in %.
    """
    config = deep.LSConfig(method="rdia-if", noise_rate=0.8, seed=1, threads=1,
                           progress=False, data_dir=data_dir, subset=subset,
                           if_holdout=SELECTION_HOLDOUT)
    prepared = deep.prepare(config)
    warm = deep.start_session(prepared)
    deep.train(prepared, warm, n_epochs=prepared.config.if_warmup)
    clean = prepared.tensors["clean"]
    masks = {"harmful": warm.state.harmful, "noisy": ~clean,
             None: torch.zeros(len(clean), dtype=torch.bool)}
    accuracies = {}
    for name, (relabel, drop) in TREATMENTS.items():
        session = deep.copy_session(warm, Treatment(relabel, drop))
        session.state = masks
        rows = deep.train(prepared, session, n_epochs=epochs)
        accuracies[name] = [(row["scored_acc"], row["holdout_acc"]) for row in rows]
    return accuracies


def diagnosis_markdown(accuracies):
    """The ``--diagnose`` table: accuracy per treatment and epoch after the warm-up."""
    epochs = len(next(iter(accuracies.values())))
    header = ["treatment after the warm-up"] + [
        f"epoch +{k + 1}: scored / hold-out (%)" for k in range(epochs)]
    rows = [[name] + [f"{scored:.1f} / {holdout:.1f}" for scored, holdout in values]
            for name, values in accuracies.items()]
    return markdown_table(header, rows)


# ----------------------------------------------------------------------------
# Command line


def build_parser():
    """The benchmark's command-line parser (flags in either spelling, one-line errors)."""
    p = queue_parser(PROG, __doc__, "rdia_if_mnist", "rdia-if-logs")
    p.add_argument("--no-baselines", dest="baselines", action="store_false",
                   help="train the rdia-if runs only (the baselines come from another queue)")
    p.add_argument("--time-step", action="store_true",
                   help="time one CE epoch against one phi step instead (quiet machine)")
    p.add_argument("--repeat", type=int, default=10, help="timed epochs of --time-step")
    p.add_argument("--diagnose", action="store_true",
                   help="train each treatment of the harmful set for a few epochs instead")
    p.add_argument("--diagnose-epochs", type=int, default=3,
                   help="epochs per treatment of --diagnose")
    p.add_argument("--subset", type=int, default=None,
                   help="--time-step and --diagnose train on N seeded training images "
                        "(default: all 60,000)")
    return p


def train_all(args):
    """Train the selection runs, then the comparison's; return the failed run names."""
    failed = []
    tables = lambda: write_outputs(args.out, args.seeds, args.epochs, args.runs_dir)
    while True:
        chosen, _ = choose(args.epochs, args.runs_dir)
        configs = pending(queue_configs(args.epochs, args.runs_dir, args.data_dir,
                                        args.baselines, chosen), REQUIRED_COLUMNS)
        if not configs:
            return failed
        failed += run_queue(configs, args.jobs, args.log_dir, on_finish=tables,
                            columns=REQUIRED_COLUMNS)
        if chosen is not None or choose(args.epochs, args.runs_dir)[0] is None:
            return failed


def main(argv=None):
    """Command-line entry point; returns 0, 1 when a run failed, or 2 on bad input."""
    args = build_parser().parse_args(argv)
    if min(args.jobs, args.epochs, args.repeat, args.diagnose_epochs) < 1:
        print(f"{PROG}: error: --jobs, --epochs, --repeat and --diagnose-epochs must be "
              f"at least 1", file=sys.stderr)
        return 2
    if args.time_step or args.diagnose:
        try:
            report = (step_markdown(time_influence_step(args.repeat, args.data_dir,
                                                        args.subset))
                      if args.time_step else
                      diagnosis_markdown(diagnose(args.diagnose_epochs, args.data_dir,
                                                  args.subset)))
        except (ConfigError, DataError) as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 2
        write_text_atomic(Path(args.out) / ("time_step.md" if args.time_step
                                            else "diagnose.md"), report + "\n")
        print(report)
        return 0
    try:
        queue_configs(args.epochs, args.runs_dir, args.data_dir)
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    failed = train_all(args) if args.train else []
    return report_and_exit(
        PROG, write_outputs(args.out, args.seeds, args.epochs, args.runs_dir), failed)


if __name__ == "__main__":
    sys.exit(main())
