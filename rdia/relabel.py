"""The relabeling function R and the training-set edits that RDIA compares.

RDIA (Kong, Shen and Huang, ICLR 2022) relabels harmful training samples instead of
removing them. A relabeled sample R(z) is trained with the complementary loss

    l_R(z; theta) = -log(1 - p_y(x; theta)),

where p_y is the model's probability of the observed label y. For binary labels this
is the cross-entropy of the flipped label 1 - y, so R(z) = (x, 1 - y). For K classes
R(z) means "not class y" and needs a learner that accepts l_R.

The gradient identity behind the method (docs/method.md section 2) is

    grad l_R(z) = -(p_y / (1 - p_y)) * grad l(z),

so relabeling a sample pushes the parameters in the direction opposite to training on
it, 1 / (1 - p_y) times as far as removing it.

The harmful set is {i : phi_i > alpha}, where phi_i is the influence of sample i on the
validation loss (see ``influence.py``) and alpha >= 0 is a threshold in the same units.

This module is pure mathematics: R, l_R and its gradient, and the harmful set. It
imports no model. ``estimator.find_harmful`` applies the method to your own data in one
call. The training-set edits that RDIA is compared with (Drop, UIDS, Random,
cleanlab) are in ``edits.py``.
"""

import numpy as np
from scipy.special import expit

#: Lower clamp of 1 - p_y inside l_R, as in docs/method.md section 2.
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


def suggested_labels(linear, W, X, y, harmful):
    """The class RDIA suggests for every training row.

    Parameters
    ----------
    linear : models.linear.LinearModel
    W : ndarray of shape (n_features,) or (n_features, n_classes)
        Weights of the RDIA refit (harmful rows relabeled).
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,), int64
        Given class indices.
    harmful : ndarray of bool, shape (n_samples,)

    Returns
    -------
    suggested : ndarray of shape (n_samples,), int64
        ``y`` where the row is not harmful. For a harmful row, the class other than
        the given one that the refitted model finds most probable: the flipped
        label for two classes.
    """
    suggested = np.array(y, dtype=np.int64, copy=True)
    rows = np.flatnonzero(harmful)
    if rows.size:
        log_p = linear.log_proba(W, X[rows])
        log_p[np.arange(rows.size), suggested[rows]] = -np.inf
        suggested[rows] = np.argmax(log_p, axis=1)
    return suggested
