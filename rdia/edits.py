"""Every training-set edit that RDIA is compared with, in one registry.

An edit turns the noisy training set into the one a method fits on (docs/method.md
section 4). Each is one small function ``edit(problem, seed) -> Edit``:

- ``full``: every sample with its observed label (ERM on noisy data);
- ``clean``: every sample with its true label (the oracle, for reference only);
- ``random``: a uniform random 95% subsample;
- ``drop``: remove the harmful set {i : phi_i > alpha} (influence-based deletion);
- ``uids``: UIDS (Wang et al. 2020), 95% per class, sampled by a sigmoid of phi;
- ``rdia``: relabel the harmful set with R (``relabel.py``);
- ``cleanlab-prune`` / ``cleanlab-relabel``: remove or relabel (with R) the samples
  that cleanlab's ``find_label_issues`` flags from out-of-sample probabilities.

A new baseline is one function here and one line in :data:`EDITS`; ``RDIA.py
--methods`` and ``reproduce.py`` both draw from the registry.

Seeds. The sampling edits draw from their own child of the run's seed (see
:func:`child_seed`), so each is reproducible alone and independent of the noise.
"""

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy.special import expit

from rdia import relabel
#: Fraction of the training set kept by the Random and UIDS baselines.
SUBSAMPLE_RATIO = 0.95

#: Folds of the out-of-sample probabilities given to cleanlab.
CLEANLAB_FOLDS = 5

#: Streams of a run's seed: index of each consumer in ``child_seed``.
NOISE_STREAM, RANDOM_STREAM, UIDS_STREAM = 0, 1, 2


def child_seed(seed, stream):
    """An independent seed for one consumer (noise, random, uids) of a run's seed.

    Parameters
    ----------
    seed : int
        The run's seed.
    stream : int
        ``NOISE_STREAM``, ``RANDOM_STREAM`` or ``UIDS_STREAM``.

    Returns
    -------
    seed : int
        Word ``stream`` of ``numpy.random.SeedSequence(seed).generate_state(3)``.
    """
    return int(np.random.SeedSequence(seed).generate_state(3)[stream])


@dataclass
class TrainingProblem:
    """What an edit may look at: the noisy training set and its influence scores.

    Attributes
    ----------
    X : ndarray or CSR matrix of shape (n_train, n_features)
    y_noisy : ndarray of shape (n_train,)
        Observed labels.
    y_clean : ndarray of shape (n_train,)
        True labels (only the ``clean`` oracle reads them).
    phi : ndarray of shape (n_train,)
        Influence of each sample on C x summed validation loss (``influence.py``).
    alpha : float or None
        Harmfulness threshold, in the units of phi (None with ``repaired``).
    C : float
        Loss weight of the model.
    model : models.linear.LinearModel
        The model family (cleanlab's cross-fitting uses it).
    cache : dict
        Results shared by edits of one problem (cleanlab's flags), filled on use.
    repaired : tuple or None
        With alpha "auto": (labels, flagged) of ``estimator.repair_from_fit``, the
        repaired labels and the flagged rows (docs/method.md section 8).
    """

    X: object
    y_noisy: np.ndarray
    y_clean: np.ndarray
    phi: np.ndarray
    alpha: float
    C: float
    model: object
    cache: dict = field(default_factory=dict)
    repaired: Optional[tuple] = None

    @property
    def n(self):
        return len(self.y_noisy)

    def harmful(self):
        """:func:`harmful_rows` of the problem."""
        return harmful_rows(self.phi, self.alpha, self.repaired)


def harmful_rows(phi, alpha, repaired=None):
    """The rows RDIA flags: {i : phi_i > alpha}, or with alpha "auto" the flagged rows
    of ``repaired`` (labels, flagged); bool, shape (n_train,)."""
    return relabel.harmful_mask(phi, alpha) if repaired is None else repaired[1]


@dataclass(frozen=True)
class Edit:
    """The training set of one method.

    Attributes
    ----------
    keep : ndarray of int
        Indices of the training samples used.
    labels : ndarray of shape (n_train,)
        Labels of all training samples (read at ``keep``), before R.
    relabeled : ndarray of bool, shape (n_train,), or None
        Samples that R relabels (trained with l_R; flipped for two classes).
    selected : ndarray of bool, shape (n_train,), or None
        Samples the method relabeled or removed, for precision and recall against the
        noise mask; None where they do not apply (full, clean).
    """

    keep: np.ndarray
    labels: np.ndarray
    relabeled: Optional[np.ndarray] = None
    selected: Optional[np.ndarray] = None


def removed_mask(n, keep):
    """Bool mask of length n, True for the samples not in ``keep``."""
    removed = np.ones(n, dtype=bool)
    removed[keep] = False
    return removed


#: An edit that keeps at least this share of the training rows is fitted on X itself,
#: the rows it leaves out weighted 0: no copy of X, and each pass over X reads every
#: row. One that keeps fewer is fitted on a copy of its rows (at most half of X), so
#: that the passes read only those.
COPY_BELOW = 0.5


@dataclass(frozen=True)
class TrainingSet:
    """What a model's ``minimise`` is given to fit one edit's training set.

    Attributes
    ----------
    X : ndarray or CSR matrix
        The training X itself, or a copy of the kept rows.
    labels : ndarray
        One label per row of X, before R.
    relabeled : ndarray of bool or None
        Rows of X that R relabels.
    weights : ndarray of float or None
        Weight of each row of X in J (how often the edit keeps it); None: 1 for all.
    """

    X: object
    labels: np.ndarray
    relabeled: Optional[np.ndarray]
    weights: Optional[np.ndarray]

    def __sizeof__(self):
        """Bytes of the arrays, which the Dask scheduler reads to place tasks."""
        from dask.sizeof import sizeof

        return sum(sizeof(value) for value in vars(self).values())


def training_set(X, edit):
    """The :class:`TrainingSet` of an edit on the training inputs X (n rows).

    An edit that keeps every row in order (full, clean, rdia) is fitted on X as it is.
    One that keeps at least COPY_BELOW of the rows (random, uids) is fitted on X with
    each row weighted by how often the edit keeps it, 0 for the others: the same J as
    on the kept rows, without a copy. Fewer (drop at high noise) are copied.
    """
    n = X.shape[0]
    keep = edit.keep
    if len(keep) == n and np.array_equal(keep, np.arange(n)):
        return TrainingSet(X, edit.labels, edit.relabeled, None)
    if len(keep) >= COPY_BELOW * n:
        weights = np.bincount(keep, minlength=n).astype(float)
        return TrainingSet(X, edit.labels, edit.relabeled, weights)
    relabeled = None if edit.relabeled is None else edit.relabeled[keep]
    return TrainingSet(X[keep], edit.labels[keep], relabeled, None)


def full(problem, seed):
    """Every sample with its observed label."""
    return Edit(np.arange(problem.n), problem.y_noisy)


def clean(problem, seed):
    """Every sample with its true label (oracle)."""
    return Edit(np.arange(problem.n), problem.y_clean)


def rdia(problem, seed):
    """Every sample; R relabels the harmful set {i : phi_i > alpha}. With alpha
    "auto", every sample with its repaired label instead (flagged rows selected)."""
    if problem.repaired is not None:
        return Edit(np.arange(problem.n), problem.repaired[0], selected=problem.harmful())
    harmful = problem.harmful()
    return Edit(np.arange(problem.n), problem.y_noisy, relabeled=harmful, selected=harmful)


def drop(problem, seed):
    """Remove the harmful set (:meth:`TrainingProblem.harmful`)."""
    harmful = problem.harmful()
    return Edit(np.flatnonzero(~harmful), problem.y_noisy, selected=harmful)


def random(problem, seed):
    """A uniform random subsample of SUBSAMPLE_RATIO of the samples."""
    keep = random_subsample(problem.n, SUBSAMPLE_RATIO, child_seed(seed, RANDOM_STREAM))
    return Edit(keep, problem.y_noisy, selected=removed_mask(problem.n, keep))


def uids(problem, seed):
    """UIDS: SUBSAMPLE_RATIO of each class, sampled with probability sigmoid(-a phi)."""
    keep = uids_subsample(problem.phi, problem.y_noisy, SUBSAMPLE_RATIO,
                          child_seed(seed, UIDS_STREAM))
    return Edit(keep, problem.y_noisy, selected=removed_mask(problem.n, keep))


def cleanlab_prune(problem, seed):
    """Remove the samples that cleanlab flags."""
    flagged = cleanlab_flags(problem, seed)
    return Edit(np.flatnonzero(~flagged), problem.y_noisy, selected=flagged)


def cleanlab_relabel(problem, seed):
    """Relabel with R the samples that cleanlab flags."""
    flagged = cleanlab_flags(problem, seed)
    return Edit(np.arange(problem.n), problem.y_noisy, relabeled=flagged, selected=flagged)


#: Method name -> edit. Order is the order of the results table.
EDITS = {
    "full": full,
    "random": random,
    "drop": drop,
    "uids": uids,
    "rdia": rdia,
    "clean": clean,
    "cleanlab-prune": cleanlab_prune,
    "cleanlab-relabel": cleanlab_relabel,
}


# --------------------------------------------------------------------------- sampling

def random_subsample(n_samples, ratio, seed):
    """Indices of a uniform random subsample (the Random baseline).

    Parameters
    ----------
    n_samples : int
        Size of the training set.
    ratio : float
        Fraction kept, in (0, 1]; round(ratio * n_samples) samples are kept.
    seed : int or numpy.random.Generator
        Seed of the sampling.

    Returns
    -------
    index : ndarray of int, shape (round(ratio * n_samples),)
        Sorted indices of the kept samples.
    """
    rng = np.random.default_rng(seed)
    keep = int(round(ratio * n_samples))
    return np.sort(rng.choice(n_samples, size=keep, replace=False))


def uids_probabilities(phi, k=10.0):
    """Sampling probabilities of UIDS (Wang et al., 2020).

    pi_i = sigmoid(-a * phi_i) with a = k / (max phi - min phi): harmful samples
    (large phi) get small probabilities.

    Parameters
    ----------
    phi : ndarray of shape (n_samples,)
        Influence scores.
    k : float, default=10
        Scale of the sigmoid in units of the range of phi.

    Returns
    -------
    pi : ndarray of shape (n_samples,)
        Unnormalised sampling weights in (0, 1).
    """
    phi = np.asarray(phi, dtype=float)
    spread = phi.max() - phi.min()
    a = k / spread if spread > 0 else 0.0
    return expit(-a * phi)


def uids_subsample(phi, y, ratio, seed, k=10.0):
    """Indices kept by UIDS: per-class unweighted sampling according to pi.

    In each class c, round(ratio * n_c) samples are drawn without replacement with
    probability proportional to pi_i (see :func:`uids_probabilities`). The kept
    samples are then trained on with unit weights.

    Parameters
    ----------
    phi : ndarray of shape (n_samples,)
        Influence scores.
    y : ndarray of shape (n_samples,)
        Integer labels.
    ratio : float
        Fraction of each class kept, in (0, 1].
    seed : int or numpy.random.Generator
        Seed of the sampling.
    k : float, default=10
        Scale of the sigmoid.

    Returns
    -------
    index : ndarray of int
        Sorted indices of the kept samples.
    """
    rng = np.random.default_rng(seed)
    pi = uids_probabilities(phi, k)
    kept = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        size = int(round(ratio * len(members)))
        weights = pi[members] / pi[members].sum()
        kept.append(rng.choice(members, size=size, replace=False, p=weights))
    return np.sort(np.concatenate(kept))


# --------------------------------------------------------------------------- cleanlab

def out_of_sample_proba(model, X, y, C, seed, folds=CLEANLAB_FOLDS):
    """Class probabilities of each training sample from a model that did not see it.

    Parameters
    ----------
    model : models.linear.LinearModel
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Integer labels.
    C : float
    seed : int
        Seed of the stratified folds.
    folds : int, default=CLEANLAB_FOLDS

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        From ``folds``-fold stratified cross-fitting.
    """
    from sklearn.model_selection import StratifiedKFold

    proba = np.empty((len(y), model.n_classes))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_index, held_out in splitter.split(np.zeros(len(y)), y):
        W = model.fit(X[fit_index], y[fit_index], C)
        proba[held_out] = np.exp(model.log_proba(W, X[held_out]))
    return proba


def cleanlab_flags(problem, seed):
    """Samples that ``cleanlab.filter.find_label_issues`` flags; computed once per problem.

    Returns
    -------
    flagged : ndarray of bool, shape (n_train,)
    """
    if "cleanlab" not in problem.cache:
        from cleanlab.filter import find_label_issues

        y = problem.y_noisy.astype(int)
        proba = out_of_sample_proba(problem.model, problem.X, y, problem.C, seed)
        problem.cache["cleanlab"] = find_label_issues(y, proba, n_jobs=1)
    return problem.cache["cleanlab"]
