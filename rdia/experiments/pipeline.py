"""The logistic-regression RDIA run, written once for every source and engine.

1. load the source's partitions onto the engine (``experiments/sources.py``);
2. fit the model (logreg for two classes, softmax for K) on the observed labels;
3. phi of every training row against the validation rows (docs/method.md section 3);
4. with ``alpha="auto"``, the Python API's repair (``estimator.repair_from_fit``:
   rounds cross-fitted on the validation rows, then flags); for your files, a check
   of the trusted file;
5. every method's edit (``edits.EDITS``) applied to each partition with the
   partition's seed, refitted from the full fit's weights, and scored on validation
   and test; precision and recall against the noise where it is known.

Every step is a map over partitions and a sum (``experiments/engines.py``), so the
numbers do not depend on the engine or on the number of workers. :func:`run` returns
a report dictionary; ``experiments/output.py`` renders and writes it.
"""

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from rdia import edits, influence, relabel, repair
from rdia.experiments.config import settings
from rdia.experiments.engines import MemoryEngine, observed_rows, open_engine, stack
from rdia.experiments import sources
from rdia.models import make_model
from rdia.settings import ConfigError
from rdia import progress as show

#: Most harmful training images a run of an image dataset keeps for its picture.
N_HARMFUL_IMAGES = 24


def run(config, progress=None):
    """Run the experiment of a :class:`experiments.config.RunConfig` on its engine.

    Parameters
    ----------
    config : RunConfig
    progress : bool or None, default=None
        Progress of the refits and fits: None shows a bar on a terminal and a line
        per stage elsewhere.

    Returns
    -------
    report : dict
        ``config`` (settings, and what the data turned out to be), ``alpha_grid``
        (or None), ``results`` (a row per method), ``summary`` (the scores before and
        after RDIA), ``timings`` (seconds per stage), ``work`` (iterations and
        passes) and ``solver``; also, not for JSON, ``rows`` (per partition: labels,
        noise mask, phi, harmful, suggested class, the most harmful rows' pixels),
        ``images`` (of an image dataset: :func:`harmful_images`, else None) and
        ``source``.

    Raises
    ------
    data.DataError, settings.ConfigError, influence.ConvergenceError,
    models.linear.DenseHessianTooLarge, models.linear.FitError
    """
    config = config.resolved()
    with open_engine(config) as engine:
        return run_on(engine, config, progress)


@dataclass
class Fitted:
    """A run after its full fit and phi: what every method's refit starts from.

    Attributes
    ----------
    engine, config, source, model
        The open engine, the resolved config, the loaded source and the linear model.
    full : models.linear.FitResult
        The fit on the observed labels.
    phi : list
        The engine's handles of each partition's phi.
    solver : influence.InverseHVPSolver
    timings, work : dict
        Seconds and work of the stages so far.
    """

    engine: object
    config: object
    source: object
    model: object
    full: object
    phi: list
    solver: object
    timings: dict
    work: dict


def source_model(config, source, progress=None):
    """The linear model of a run: ``config.model``, else logreg for two classes."""
    if config.model == "logreg" and source.n_classes > 2:
        raise ConfigError(f"--model logreg fits two labels but {source.name} has "
                          f"{source.n_classes}; use --model softmax or leave --model out")
    return make_model(config.model or ("logreg" if source.n_classes == 2 else "softmax"),
                      source.n_classes, config.learner or "newton", progress)


def load_in_memory(config, progress=False):
    """(partition, model, source) of a one-partition config read in this process, for
    the benchmarks and tests that take one stage alone."""
    config = config.resolved()
    source = sources.load(config, MemoryEngine())
    return source.parts[0], source_model(config, source, progress), source


def prepare(engine, config, progress=None, source=None):
    """Load a resolved config's source on ``engine`` (or take a loaded ``source``), fit,
    and compute phi."""
    timings, clock = {}, time.perf_counter()
    source = sources.load(config, engine) if source is None else source
    model = source_model(config, source, progress)
    influence.check_solver_size(config.solver, source.n_features * model.n_columns)
    timings["load"], clock = show.stage_done("load", clock, progress)
    full = engine.fit(model, engine.map(observed_rows, source.parts), config.C)
    timings["fit"], clock = show.stage_done("fit", clock, progress)
    solver = influence.make_solver(config.solver, tol=config.tol, max_iter=config.max_iter)
    phi = engine.phi(model, full.W, source.parts, config.C, solver)
    timings["influence"], clock = show.stage_done("influence", clock, progress)
    return Fitted(engine, config, source, model, full, phi, solver, timings,
                  dict(fit=full.work(), phi=influence.influence_work(solver), refits={}))


def refit(fitted, method, alpha, repaired=None):
    """One method's edit of every partition (``repaired``: a handle per partition of
    alpha auto's labels and flags, or None), its refit from the full fit's weights, and
    its ``results`` row; returns (row, FitResult, seconds of the fit and of scoring)."""
    engine, parts, C = fitted.engine, fitted.source.parts, fitted.config.C
    start = time.perf_counter()
    edited = engine.map(partition_edit, parts, fitted.phi, repaired or [None] * len(parts),
                        args=(method, alpha, C, fitted.model))
    fit = fitted.full if method == "full" else engine.fit(
        fitted.model, engine.map(edit_rows, parts, edited), C, fitted.full.W)
    scoring = time.perf_counter()
    row = method_row(fitted, fit.W, method, edited)
    return row, fit, dict(fit=scoring - start, evaluation=time.perf_counter() - scoring)


def run_on(engine, config, progress=None, source=None):
    """:func:`run` on an open engine, of the config's source or a loaded ``source``."""
    fitted = prepare(engine, config, progress, source)
    timings, work, parts, clock = fitted.timings, fitted.work, fitted.source.parts, \
        time.perf_counter()
    auto, alpha, trusted, repaired = None, config.alpha, None, [None] * len(parts)
    if alpha == "auto" or config.source == "files":
        X, X_val, fit = repair_fit(fitted)
        if alpha == "auto":
            alpha, (auto, repaired) = None, alpha_auto(fitted, fit, X, X_val, progress)
        if config.source == "files":
            trusted = repair.check_trusted_file(fit, X, X_val, config.C)
        timings["repair"], clock = show.stage_done("repair", clock, progress)
    results, weights, timings["refits"], timings["evaluation"] = [], {}, {}, 0.0
    for method in show.steps(config.methods, "refit", "method", progress, leave=False):
        row, fit, seconds = refit(fitted, method, alpha, repaired)
        results.append(row)
        weights[method], work["refits"][method] = fit.W, fit.work()
        timings["refits"][method] = seconds["fit"]
        timings["evaluation"] += seconds["evaluation"]
    W_rdia = weights["rdia"] if "rdia" in weights else refit(fitted, "rdia", alpha, repaired)[1].W
    shape = config.image_shape
    rows = engine.gather(engine.map(row_table, parts, fitted.phi, repaired, args=(
        alpha, fitted.model, engine.send(W_rdia), 0 if shape is None else N_HARMFUL_IMAGES)))
    summary = dict(n_suspects=int(sum(r["harmful"].sum() for r in rows)),
                   before=scored(fitted, fitted.full.W), after=scored(fitted, W_rdia))
    timings["methods"] = time.perf_counter() - clock
    images = None if shape is None else harmful_images(rows, fitted.source.classes, shape)
    return dict(config=describe(fitted, rows, alpha), alpha_auto=auto, results=results,
                summary=summary, timings=timings, work=work,
                trusted_check=None if trusted is None else trusted.as_dict(),
                trusted_warning=trusted.message() if trusted and trusted.suspicious else None,
                rows=rows, images=images, source=fitted.source)


# ------------------------------------------------------------ partition steps

def partition_edit(part, phi, repaired, method, alpha, C, model):
    """One method's edit (``edits.EDITS``) of one partition, with its seed."""
    if part.n_train == 0:
        return edits.Edit(np.arange(0), part.y_noisy)
    problem = edits.TrainingProblem(X=part.X_train, y_noisy=part.y_noisy,
                                    y_clean=part.y_clean, phi=phi, alpha=alpha, C=C,
                                    model=model, repaired=repaired)
    return edits.EDITS[method](problem, part.edit_seed)


def edit_rows(part, edit):
    """What the fit of an edit is given: ``edits.training_set`` of the partition."""
    return edits.training_set(part.X_train, edit)


def edit_counts(part, edit):
    """[n_used, n_relabeled, selected and noisy, selected, noisy, selects], int64."""
    none = np.zeros(part.n_train, dtype=bool)
    selected, noisy, relabeled = (none if mask is None else mask for mask in (
        edit.selected, part.noisy, edit.relabeled))
    if edit.selected is not None:  # alpha auto's rdia trains on new labels, not with R
        relabeled = relabeled | (edit.labels != part.y_noisy)
    return np.array([len(edit.keep), relabeled.sum(), np.sum(selected & noisy),
                     selected.sum(), noisy.sum(), edit.selected is not None], dtype=np.int64)


def log_proba_rows(part, model, W):
    """{"val": ..., "test": ...}: (log p of every class, labels) of the partition's
    validation and test rows, None where it has none."""
    return {which: None if X is None or len(y) == 0 else (model.log_proba(W, X), np.asarray(y))
            for which, X, y in (("val", part.X_val, part.y_val),
                                ("test", part.X_test, part.y_test))}


def row_table(part, phi, repaired, alpha, model, W_rdia, n_images=0):
    """Per training row: labels, noise mask, phi, harmful and RDIA's suggested class
    (with alpha auto: the flags and repaired labels); ``top``, the positions of the
    partition's ``n_images`` most harmful rows (:func:`most_harmful`), and ``pixels``,
    those rows dense (None when n_images is 0)."""
    harmful = edits.harmful_rows(phi, alpha, repaired)
    top = most_harmful(phi, harmful, n_images)
    pixels = part.X_train[top] if n_images else None
    return dict(y_noisy=part.y_noisy, y_clean=part.y_clean, noisy=part.noisy, phi=phi,
                harmful=harmful, suggested=relabel.suggested_labels(
                    model, W_rdia, part.X_train, part.y_noisy, harmful) if repaired is None
                else repaired[0], top=top,
                pixels=pixels.toarray() if sp.issparse(pixels) else pixels)


# ------------------------------------------------------------- harmful images

def most_harmful(phi, harmful, count):
    """Positions of the harmful rows of highest phi, at most ``count``; ties in row order."""
    order = np.argsort(-phi, kind="stable")
    return order[harmful[order]][:count]


def harmful_images(rows, classes, shape, count=N_HARMFUL_IMAGES):
    """The ``count`` most harmful rows of all partitions, from each partition's own
    most harmful (``row_table``'s ``top``): those hold the overall ones.

    Returns
    -------
    images : dict
        ``pixels`` (m, height, width), ``phi`` (m,), ``given``, ``suggested`` and
        ``clean`` (m,) labels as the dataset's class values (``clean`` None where the
        true labels are unknown), highest phi first; ties in partition and row order.
    """
    def column(key):
        return np.concatenate([r[key][r["top"]] for r in rows])

    phi = column("phi")
    picked = np.argsort(-phi, kind="stable")[:count]
    known = all(r["y_clean"] is not None for r in rows)
    pixels = np.concatenate([r["pixels"] for r in rows])[picked]
    return dict(pixels=pixels.astype(np.float64).reshape(len(picked), *shape), phi=phi[picked],
                given=classes[column("y_noisy")[picked]],
                suggested=classes[column("suggested")[picked]],
                clean=classes[column("y_clean")[picked]] if known else None)


# --------------------------------------------------------------------- scores

def scored(fitted, W):
    """``val_`` and ``test_`` ``logloss``, ``accuracy`` and ``auc`` of W on all
    validation and test rows (None where there are none), in one round trip."""
    engine, model = fitted.engine, fitted.model
    pieces = engine.gather(engine.map(log_proba_rows, fitted.source.parts,
                                      args=(model, engine.send(W))))
    row = {}
    for which in ("val", "test"):
        have = [p[which] for p in pieces if p[which] is not None]
        scores = model.scores(np.concatenate([p for p, _ in have]), np.concatenate(
            [y for _, y in have])) if have else dict(logloss=None, accuracy=None, auc=None)
        row.update({f"{which}_{key}": value for key, value in scores.items()})
    return row


def method_row(fitted, W, method, edited):
    """One ``results`` row: the method's scores and what its edit did; precision and
    recall of the rows it selects where the noise is known."""
    engine, parts = fitted.engine, fitted.source.parts
    n_used, n_relabeled, hits, selected, n_noisy, selects = (int(v) for v in engine.reduce(
        engine.map(edit_counts, parts, edited)))
    known = selects and fitted.config.noise_known
    return dict(method=method, **scored(fitted, W), n_train_used=n_used,
                n_relabeled=n_relabeled, n_removed=fitted.source.n_train - n_used,
                precision=(hits / selected if selected else None) if known else None,
                recall=(hits / n_noisy if n_noisy else None) if known else None)


# ------------------------------------------------- alpha auto, the trusted rows

def repair_fit(fitted):
    """The rows of every partition stacked in this process, and the fit and phi as
    ``repair.InfluenceFit``: what the cross-fitted alpha, the trusted-file check and
    the suggested classes need. Returns (X_train, X_val, fit)."""
    engine, model, C = fitted.engine, fitted.model, fitted.config.C
    parts = engine.gather(fitted.source.parts)
    X, X_val = stack([p.X_train for p in parts]), stack([p.X_val for p in parts])
    y = np.concatenate([p.y_noisy for p in parts])
    y_val = np.concatenate([p.y_val for p in parts])
    s = influence.validation_direction(model, fitted.full.W, X, X_val, y_val, C)
    fit = repair.InfluenceFit(classes=fitted.source.classes, linear=model, y=y,
                              y_val=y_val, W=fitted.full.W,
                              phi=np.concatenate(engine.gather(fitted.phi)),
                              n_iter=int(fitted.solver.n_iter_), s=s)
    return X, X_val, fit


def alpha_auto(fitted, fit, X, X_val, progress=None):
    """alpha="auto" as in the Python API (``estimator.repair_from_fit``, with its bars
    on a terminal): its record, and each partition's (repaired labels, flags) as handles."""
    from rdia.estimator import repair_from_fit

    found = repair_from_fit(fit, X, X_val, fitted.config.C, check_trusted=False, progress=progress)
    cuts = np.cumsum([len(phi) for phi in fitted.engine.gather(fitted.phi)])[:-1]
    return found.auto_record(fit.y), fitted.engine.put(
        zip(np.split(found.labels, cuts), np.split(found.harmful, cuts)))


# ----------------------------------------------------------------- the report

def describe(fitted, rows, alpha):
    """The ``config`` entry of a report: the settings and what the data turned out to be."""
    config, source, engine = fitted.config, fitted.source, fitted.engine
    sizes = engine.gather(engine.map(sources.partition_sizes, source.parts))
    n_train, n_val, n_test, n_flipped = (int(v) for v in np.sum(sizes, axis=0))
    return dict(settings(config), **source.info, **engine.describe(),
                engine=config.engine, model_used=fitted.model.name, alpha_used=alpha,
                dataset_name=source.name, n_val=n_val,
                n_test=n_test if n_test or config.source != "files" else None,
                n_features=source.n_features, n_classes=source.n_classes,
                classes=[c.item() if hasattr(c, "item") else c for c in source.classes],
                n_flipped=n_flipped if config.noise_known else None,
                n_harmful=int(sum(r["harmful"].sum() for r in rows)))
