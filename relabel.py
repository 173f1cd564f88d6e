"""The relabeling function R and the training-set edits that RDIA compares.

RDIA (Kong, Shen and Huang, ICLR 2022) relabels harmful training samples instead of
removing them. A relabeled sample R(z) is trained with the complementary loss

    l_R(z; theta) = -log(1 - p_y(x; theta)),

where p_y is the model's probability of the observed label y. For binary labels this
is the cross-entropy of the flipped label 1 - y, so R(z) = (x, 1 - y). For K classes
R(z) means "not class y" and needs a learner that accepts l_R.

The gradient identity behind the method (METHOD.md section 2) is

    grad l_R(z) = -(p_y / (1 - p_y)) * grad l(z),

so relabeling a sample pushes the parameters in the direction opposite to training on
it, 1 / (1 - p_y) times as far as removing it.

The harmful set is {i : phi_i > alpha}, where phi_i is the influence of sample i on the
validation loss (see ``influence.py``) and alpha >= 0 is a threshold in the same units.

This module also holds the training-set edits of the baselines: Drop (remove the
harmful set), UIDS (influence-weighted subsampling) and Random (uniform subsampling).
"""

import numpy as np
from scipy.special import expit

#: Lower clamp of 1 - p_y inside l_R, as in METHOD.md section 2.
EPS = 1e-7


def complementary_loss(proba, y):
    """Complementary loss l_R = -log(1 - p_y) of each sample.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities p(x); rows sum to one.
    y : ndarray of shape (n_samples,)
        Integer labels in ``0 .. n_classes - 1``.

    Returns
    -------
    loss : ndarray of shape (n_samples,)
        -log(max(1 - p_y, EPS)), in nats.
    """
    p_y = np.asarray(proba)[np.arange(len(y)), y]
    return -np.log(np.maximum(1.0 - p_y, EPS))


def complementary_loss_grad_logits(proba, y):
    """Gradient of l_R with respect to the softmax logits.

    With p = softmax(z), d l_R / d z_k = p_y (delta_{ky} - p_k) / (1 - p_y), which is
    -(p_y / (1 - p_y)) times the cross-entropy gradient p_k - delta_{ky}.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities p(x).
    y : ndarray of shape (n_samples,)
        Integer labels in ``0 .. n_classes - 1``.

    Returns
    -------
    grad : ndarray of shape (n_samples, n_classes)
        Gradient of each sample's l_R with respect to its logits.
    """
    proba = np.asarray(proba, dtype=float)
    rows = np.arange(len(y))
    p_y = proba[rows, y]
    onehot = np.zeros_like(proba)
    onehot[rows, y] = 1.0
    ratio = p_y / np.maximum(1.0 - p_y, EPS)
    return ratio[:, None] * (onehot - proba)


def complementary_loss_binary(margin, y):
    """Complementary loss of a sigmoid model, from its margins.

    Parameters
    ----------
    margin : ndarray of shape (n_samples,)
        Logits w . x; p = sigmoid(margin) is the probability of class 1.
    y : ndarray of shape (n_samples,)
        Labels in {0, 1}.

    Returns
    -------
    loss : ndarray of shape (n_samples,)
        -log(1 - p_y), which equals the log-loss of the flipped label 1 - y.
    """
    p1 = expit(margin)
    p_y = np.where(np.asarray(y) == 1, p1, 1.0 - p1)
    return -np.log(np.maximum(1.0 - p_y, EPS))


def harmful_mask(phi, alpha):
    """Samples whose up-weighting raises the validation loss by more than alpha.

    Parameters
    ----------
    phi : ndarray of shape (n_samples,)
        Influence of each training sample on C x summed validation log-loss.
    alpha : float
        Threshold, alpha >= 0, in the units of phi.

    Returns
    -------
    mask : ndarray of bool, shape (n_samples,)
        True for {i : phi_i > alpha}.
    """
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    return np.asarray(phi) > alpha


def relabel_binary(y, mask):
    """Apply R to binary labels: flip y to 1 - y where mask is True.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Labels in {0, 1}.
    mask : ndarray of bool, shape (n_samples,)
        Samples to relabel.

    Returns
    -------
    y_new : ndarray of shape (n_samples,)
        A copy of y with the masked labels flipped.
    """
    y_new = np.array(y, copy=True)
    y_new[mask] = 1 - y_new[mask]
    return y_new


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


def selection_quality(selected, noisy):
    """Precision and recall of a selected set against the true noise mask.

    Parameters
    ----------
    selected : ndarray of bool, shape (n_samples,)
        Samples that a method relabeled or removed.
    noisy : ndarray of bool, shape (n_samples,)
        Samples whose label was corrupted.

    Returns
    -------
    precision, recall : float or None
        Fraction of the selected set that is noisy, and of the noisy set that is
        selected; None where the denominator is zero.
    """
    selected = np.asarray(selected, dtype=bool)
    noisy = np.asarray(noisy, dtype=bool)
    hits = int(np.sum(selected & noisy))
    precision = hits / selected.sum() if selected.any() else None
    recall = hits / noisy.sum() if noisy.any() else None
    return precision, recall
