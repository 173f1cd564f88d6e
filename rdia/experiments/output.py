"""What a logistic-regression run prints and writes, for every source and engine: the
summary (:func:`format_report`), phi of every training row (:func:`write_influence`),
your training rows with their suggested labels (:func:`write_relabeled`), the phi
histogram (:func:`plot_phi`), the most harmful images (:func:`plot_harmful_images`)
and the JSON (:func:`record`), which lists the files written.
"""

import os
from pathlib import Path

import numpy as np

from rdia.data.tables import TableError
from rdia.repair import format_auto
from rdia.experiments.files import save_figure_atomic, write_parquet_atomic, write_text_atomic

#: Columns of the summary table: {key of a results row: header}.
TABLE_COLUMNS = {"test_logloss": "test_logloss", "test_accuracy": "test_acc",
                 "test_auc": "test_auc", "val_logloss": "val_logloss",
                 "val_accuracy": "val_acc", "n_train_used": "n_used",
                 "n_relabeled": "relabeled", "n_removed": "removed",
                 "precision": "precision", "recall": "recall"}

#: Columns of the per-row influence table.
INFLUENCE_COLUMNS = ("index", "observed_label", "clean_label", "noisy", "phi", "relabeled")

#: The JSON's name of each output file, by its flag.
FILE_KEYS = {"--output": "json", "--save-influence": "influence", "--relabeled": "relabeled",
             "--plot": "plot", "--harmful-images": "harmful_images"}

#: Columns that the relabeled table adds to your training table.
OUTPUT_COLUMNS = ("phi", "harmful", "suggested_label")

#: Bins of the phi histogram.
HISTOGRAM_BINS = 60

#: Rows and columns of the grid of harmful images.
IMAGE_GRID = (4, 6)


def format_report(report):
    """The summary printed at the end of a run, as a string."""
    cfg = report["config"]
    lines = [data_line(cfg)]
    if cfg.get("n_dropped_features"):
        lines.append(f"dropped {cfg['n_dropped_features']} feature columns that are zero "
                     f"in every row of the dataset's files")
    if report["alpha_auto"]:
        lines += format_auto(report["alpha_auto"])
    if cfg["n_flipped"] is None:
        rule = "flagged by alpha auto" if cfg["alpha_used"] is None else \
            f"have phi > alpha {cfg['alpha_used']:g}"
        lines.append(f"suspects: {cfg['n_harmful']} of {cfg['n_train']} training rows "
                     f"({cfg['n_harmful'] / cfg['n_train']:.1%}) {rule}; the true noise "
                     f"is unknown, so there is no precision or recall")
    lines += format_table(report["results"], cfg)
    if cfg["n_flipped"] is None:
        lines.append(before_after(report["summary"]))
    t, s = report["timings"], report["work"]["phi"]
    repair = f", repair {t['repair']:.2f}s" if "repair" in t else ""
    lines.append(f"time: load {t['load']:.2f}s, fit {t['fit']:.2f}s, influence "
                 f"{t['influence']:.2f}s ({s['solver']}: {s['iterations']} iterations, "
                 f"relative residual {s['residual']:.1e}){repair}, refits {t['methods']:.2f}s")
    return "\n".join(lines)


def data_line(cfg):
    """What the data is, the noise or the labels, alpha, C and the seed, in one line."""
    if cfg.get("kind") == "table":
        features = (f"{cfg['n_numeric'] + cfg['n_categorical']} feature columns "
                    f"({cfg['n_numeric']} numeric, {cfg['n_categorical']} categorical) -> "
                    f"{cfg['n_features']} features")
    else:
        features = f"features {cfg['n_features']}"
    test = f", test {cfg['n_test']}" if cfg["n_test"] else ""
    if cfg["n_flipped"] is None:
        shown = ", ".join(str(c) for c in cfg["classes"][:5]) \
            + (", ..." if cfg["n_classes"] > 5 else "")
        labels = f"{cfg['n_classes']} labels ({shown}): {cfg['model_used']}"
    else:
        kind = f"{cfg['noise_type']} " if cfg["noise_type"] else ""
        labels = (f"{cfg['n_classes']} classes ({cfg['model_used']}) | noise {kind}"
                  f"{cfg['noise']:g} ({cfg['n_flipped']} flipped) | alpha "
                  f"{'auto' if cfg['alpha_used'] is None else format(cfg['alpha_used'], 'g')}"
                  f": {cfg['n_harmful']} harmful")
    return (f"data {cfg['dataset_name']}: train {cfg['n_train']}, val {cfg['n_val']}"
            f"{test}, {features} | {labels} | C {cfg['C']:g} | seed {cfg['seed']}")


def format_table(results, cfg):
    """The methods' table, floats to 4 decimals and '-' where a value is None: accuracy
    first for K classes; test columns only with test rows, precision and recall only
    where the noise is known."""
    keys = [key for key in TABLE_COLUMNS if (cfg["n_test"] or not key.startswith("test"))
            and (cfg["n_flipped"] is not None or key not in ("precision", "recall"))]
    if cfg["n_classes"] > 2 and keys[0] == "test_logloss":
        keys[0], keys[1] = keys[1], keys[0]
    rows = [["method"] + [TABLE_COLUMNS[key] for key in keys]] + [
        [row["method"]] + [cell(row[key]) for key in keys] for row in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(keys) + 1)]
    lines = ["  ".join([row[0].ljust(widths[0])] + [text.rjust(width) for text, width in
                                                    zip(row[1:], widths[1:])]) for row in rows]
    return [lines[0], "-" * len(lines[0])] + lines[1:]


def cell(value):
    """A table cell: '-' for None, an integer as is, a float to 4 decimals."""
    return "-" if value is None else str(value) if isinstance(value, (int, np.integer)) \
        else f"{value:.4f}"


def before_after(summary):
    before, after = summary["before"], summary["after"]
    line = (f"validation: log-loss {before['val_logloss']:.4f} -> {after['val_logloss']:.4f}"
            f", accuracy {before['val_accuracy']:.4f} -> {after['val_accuracy']:.4f}")
    if before["test_logloss"] is not None:
        line += (f" | test: log-loss {before['test_logloss']:.4f} -> "
                 f"{after['test_logloss']:.4f}, accuracy {before['test_accuracy']:.4f} "
                 f"-> {after['test_accuracy']:.4f}")
    return line + " (before: fit on the given labels; after: RDIA)"


# ----------------------------------------------------------------------- tables

def is_parquet_folder(path):
    """Whether ``--save-influence path`` names a folder of Parquet files (not a .csv)."""
    return Path(path).suffix.lower() != ".csv"


def influence_files(path, n_partitions):
    """The files of ``--save-influence``: ``path`` itself when it ends in .csv, else
    one Parquet file a partition in the folder ``path`` (``part-KKKKK.parquet``)."""
    if not is_parquet_folder(path):
        return [str(path)]
    return [str(Path(path) / f"part-{k:05d}.parquet") for k in range(n_partitions)]


def influence_columns(report):
    """Per partition, the columns of its rows (:data:`INFLUENCE_COLUMNS`, without the
    clean label and the noise mask where the noise is unknown)."""
    offset = 0
    for rows in report["rows"]:
        n = len(rows["phi"])
        columns = dict(index=np.arange(offset, offset + n), observed_label=rows["y_noisy"],
                       clean_label=rows["y_clean"], noisy=None if rows["noisy"] is None
                       else rows["noisy"].astype(np.int8), phi=rows["phi"],
                       relabeled=rows["harmful"].astype(np.int8))
        yield {key: value for key, value in columns.items() if value is not None}
        offset += n


def write_influence(path, report):
    """The influence table as one CSV (phi to 10 digits, '' where unknown), or as
    Parquet files (:func:`influence_files`)."""
    parts = list(influence_columns(report))
    if is_parquet_folder(path):
        import pyarrow as pa

        for target, columns in zip(influence_files(path, len(parts)), parts):
            write_parquet_atomic(target, pa.table(columns))
        return
    import pandas as pd

    table = pd.concat([pd.DataFrame(columns) for columns in parts])
    write_text_atomic(path, table.reindex(columns=INFLUENCE_COLUMNS).to_csv(
        index=False, float_format="%.10g"))


def write_relabeled(path, report):
    """:func:`relabeled_table` as CSV."""
    write_text_atomic(path, relabeled_table(report).to_csv(index=False))


def relabeled_table(report):
    """Your training rows with ``phi``, ``harmful`` and ``suggested_label``.

    Returns
    -------
    table : pandas.DataFrame of shape (n_train, n_columns + 3)
        A table's columns as read, in file order (a LIBSVM file: its ``label``), then
        phi (float), harmful (bool) and suggested_label: the given label where the row
        is not harmful; else the other label for two classes and, for K, the most
        probable other under the RDIA refit (alpha auto: the repaired label, or the
        given one for a flagged row kept to review); labels in their original type.

    Raises
    ------
    data.tables.TableError
        When the table already has one of those columns.
    """
    import pandas as pd

    data, (rows,) = report["source"].data, report["rows"]
    table = data.train_frame.copy() if data.train_frame is not None \
        else pd.DataFrame({"label": data.train_labels})
    taken = [name for name in OUTPUT_COLUMNS if name in table.columns]
    if taken:
        raise TableError(f"{report['config']['train']}: it already has a column "
                         f"{taken[0]!r}, which --relabeled adds; rename that column")
    table["phi"] = rows["phi"]
    table["harmful"] = rows["harmful"]
    table["suggested_label"] = data.classes[rows["suggested"]]
    return table


# ---------------------------------------------------------------------- figure

def plot_phi(path, report):
    """Histogram of phi, clean and flipped rows apart where the noise is known, with
    alpha marked."""
    from matplotlib.figure import Figure

    cfg, rows = report["config"], report["rows"]
    phi = np.concatenate([r["phi"] for r in rows])
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    if cfg["n_flipped"] is None:
        groups, labels = [phi], [f"training rows ({len(phi)})"]
        title = f"{cfg['dataset_name']}: {cfg['n_harmful']} suspects"
    else:
        noisy = np.concatenate([r["noisy"] for r in rows])
        groups = [phi[~noisy], phi[noisy]]
        labels = [f"clean label ({(~noisy).sum()})", f"flipped label ({noisy.sum()})"]
        title = f"{cfg['dataset_name']}, noise {cfg['noise']:g}: {cfg['n_harmful']} harmful"
    ax.hist(groups, bins=HISTOGRAM_BINS, histtype="stepfilled", alpha=0.6, label=labels)
    if cfg["alpha_used"] is not None:
        ax.axvline(cfg["alpha_used"], color="k", linestyle="--",
                   label=f"alpha = {cfg['alpha_used']:g}")
    ax.set_yscale("log")
    ax.set_xlabel("phi (influence on C x summed validation log-loss)")
    ax.set_ylabel("training rows")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)


def plot_harmful_images(path, report):
    """A grid of the most harmful training images (``report["images"]``), highest phi
    first, each titled with its given label, RDIA's suggested label and phi (and the
    true label where the noise is known)."""
    from matplotlib.figure import Figure

    cfg, images = report["config"], report["images"]
    n_rows, n_cols = IMAGE_GRID
    fig = Figure(figsize=(1.6 * n_cols, 1.9 * n_rows + 0.4))
    axes = fig.subplots(n_rows, n_cols).ravel()
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k >= len(images["phi"]):
            continue
        ax.imshow(images["pixels"][k], cmap="gray_r", interpolation="nearest")
        title = (f"given {images['given'][k]}, suggested {images['suggested'][k]}\n"
                 f"phi {images['phi'][k]:.3g}")
        if images["clean"] is not None:
            title += f", true {images['clean'][k]}"
        ax.set_title(title, fontsize=8)
    shown = len(images["phi"])
    fig.suptitle(f"{cfg['dataset_name']}: the {shown} most harmful of {cfg['n_harmful']} "
                 f"training images with phi > alpha {cfg['alpha_used']:g}" if shown else
                 f"{cfg['dataset_name']}: no training image has phi > alpha "
                 f"{cfg['alpha_used']:g}", fontsize=10)
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=120)


def record(report, paths):
    """The run's JSON: its settings, results and timings, and the absolute paths of the
    files it wrote, ``paths`` by flag (a Parquet influence folder as its files)."""
    def absolute(flag, path):
        if flag == "--save-influence" and path and is_parquet_folder(path):
            return [os.path.abspath(p) for p in influence_files(path, len(report["rows"]))]
        return path and os.path.abspath(path)

    keys = ("config", "alpha_auto", "results", "summary", "timings", "work", "trusted_check")
    return dict({key: report[key] for key in keys},
                files={FILE_KEYS[flag]: absolute(flag, path) for flag, path in paths.items()})
