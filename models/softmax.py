"""L2-regularised multinomial (softmax) logistic regression that accepts R.

The K-class analogue of ``logreg.py`` (issue 5), with no intercept:

    J(W) = 1/2 ||W||^2 + C * sum_i l_i,     W of shape (d, K),
    p_i  = softmax(x_i W),
    l_i  = -log p_{i, y_i}                  for an ordinary sample,
    l_i  = -log(max(1 - p_{i, y_i}, EPS))    for a sample relabeled by R ("not y_i").

``relabeled`` is a boolean mask over the samples; R keeps the observed label y_i and
swaps the cross-entropy for the complementary loss l_R of ``relabel.py``. With no
sample relabeled J is convex and its minimiser is scikit-learn's multinomial
``LogisticRegression(C=C, fit_intercept=False)``. With relabeled samples J is not
convex for K > 2 (l_R is a difference of two log-sum-exps); L-BFGS then finds a local
minimiser, the same one for the same start. Where 1 - p_y falls below EPS the loss is
clamped flat, but its gradient keeps the unclamped direction (that of
``relabel.complementary_loss_grad_logits``), which pushes the sample out of the clamp.

X may be a dense ndarray or a scipy CSR matrix; it is never densified. Weights are
flattened in C order, so vec(W)[j * K + k] = W[j, k], wherever a flat vector is needed.

:class:`Softmax` is the model as ``influence.py`` and the experiments use it (the
interface of ``linear.py``): K logits per sample, logit gradient p_i - e_{y_i}, logit
curvature diag(p_i) - p_i p_i^T.
"""

from contextlib import nullcontext

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp
from threadpoolctl import threadpool_limits

import relabel
from models.linear import LinearModel

#: Multiply-adds n * d * K of one pass over X below which L-BFGS runs with one BLAS
#: thread. Its per-iteration vector updates call BLAS on d * K numbers, and on small
#: problems thread hand-off dominates: a fit on 300 digits took 0.23 s with two
#: OpenBLAS threads and 0.03 s with one, on the project's 2-core machine.
SMALL_PROBLEM = 10**7


class FitError(RuntimeError):
    """L-BFGS ran out of iterations before reaching the gradient tolerance."""


def logits(W, X):
    """Scores x_i W of every sample, shape (n_samples, n_classes)."""
    return np.asarray(X @ W)


def log_proba(W, X):
    """log p_ik of every sample and class, shape (n_samples, n_classes)."""
    Z = logits(W, X)
    return Z - logsumexp(Z, axis=1, keepdims=True)


def predict_proba(W, X):
    """Class probabilities p_i = softmax(x_i W), shape (n_samples, n_classes)."""
    return np.exp(log_proba(W, X))


def _relabeled_mask(relabeled, n):
    """The relabeled mask as a bool array of length n (all False when None)."""
    if relabeled is None:
        return np.zeros(n, dtype=bool)
    return np.asarray(relabeled, dtype=bool)


def losses_from_log_proba(log_p, y, relabeled=None):
    """Loss of every sample in nats: -log p_y, or l_R for relabeled samples.

    Parameters
    ----------
    log_p : ndarray of shape (n_samples, n_classes)
        Log class probabilities.
    y : ndarray of shape (n_samples,)
        Observed labels in 0 .. n_classes - 1.
    relabeled : ndarray of bool, shape (n_samples,), optional
        Samples trained with l_R = -log(1 - p_y).

    Returns
    -------
    loss : ndarray of shape (n_samples,)
    """
    y = np.asarray(y)
    rows = np.arange(len(y))
    loss = -log_p[rows, y]
    mask = _relabeled_mask(relabeled, len(y))
    if mask.any():
        loss[mask] = relabel.complementary_loss(np.exp(log_p[mask]), y[mask])
    return loss


def logit_gradients(proba, y, relabeled=None):
    """Gradient of every sample's loss with respect to its logits.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities.
    y : ndarray of shape (n_samples,)
        Observed labels in 0 .. n_classes - 1.
    relabeled : ndarray of bool, shape (n_samples,), optional
        Samples trained with l_R.

    Returns
    -------
    G : ndarray of shape (n_samples, n_classes)
        p_i - e_{y_i} for ordinary samples and
        -(p_y / (1 - p_y)) (p_i - e_{y_i}) for relabeled ones (METHOD.md 2); the
        gradient of l_i with respect to W is the outer product x_i^T G_i.
    """
    y = np.asarray(y)
    G = np.array(proba, dtype=float, copy=True)
    G[np.arange(len(y)), y] -= 1.0
    mask = _relabeled_mask(relabeled, len(y))
    if mask.any():
        G[mask] = relabel.complementary_loss_grad_logits(proba[mask], y[mask])
    return G


def sample_losses(W, X, y, relabeled=None):
    """Loss of every sample in nats, shape (n_samples,); see :func:`losses_from_log_proba`."""
    return losses_from_log_proba(log_proba(W, X), y, relabeled)


def objective(W, X, y, C, relabeled=None):
    """J(W) = 1/2 ||W||^2 + C * sum_i l_i, a float."""
    return 0.5 * float(np.sum(W * W)) + C * float(sample_losses(W, X, y, relabeled).sum())


def objective_gradient(W, X, y, C, relabeled=None):
    """Gradient of J: W + C X^T G, shape (n_features, n_classes)."""
    G = logit_gradients(predict_proba(W, X), y, relabeled)
    return W + C * np.asarray(X.T @ G)


def _objective_and_gradient(w, X, y, C, relabeled, n_classes):
    """J and its flat gradient at the flat weights w, from one pass over X."""
    W = w.reshape(-1, n_classes)
    log_p = log_proba(W, X)
    J = 0.5 * float(w @ w) + C * float(losses_from_log_proba(log_p, y, relabeled).sum())
    G = logit_gradients(np.exp(log_p), y, relabeled)
    return J, (W + C * np.asarray(X.T @ G)).ravel()


def fit(X, y, C=0.1, n_classes=None, relabeled=None, tol=1e-5, max_iter=20000,
        W0=None):
    """Minimise J(W) with L-BFGS and return W.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training inputs.
    y : ndarray of shape (n_samples,)
        Observed labels in 0 .. n_classes - 1.
    C : float, default=0.1
        Weight of the summed loss, C > 0.
    n_classes : int, optional
        K; defaults to max(y) + 1. Pass it when a subsample may miss a class.
    relabeled : ndarray of bool, shape (n_samples,), optional
        Samples trained with l_R = -log(1 - p_y) (relabeled by R).
    tol : float, default=1e-5
        Stop when every entry of the gradient of J is at most tol in absolute value.
    max_iter : int, default=20000
        L-BFGS iteration limit.
    W0 : ndarray of shape (n_features, n_classes), optional
        Starting point; zeros by default.

    Returns
    -------
    W : ndarray of shape (n_features, n_classes)
        The fitted weights.

    Raises
    ------
    FitError
        If L-BFGS reaches ``max_iter`` (or 2 max_iter evaluations). A stop because J
        no longer decreases in floating point (gradient entries just above a tol near
        machine precision) is accepted: that is the numerical minimiser.
    """
    y = np.asarray(y, dtype=np.int64)
    K = int(y.max()) + 1 if n_classes is None else int(n_classes)
    shape = (X.shape[1], K)
    w0 = np.zeros(shape).ravel() if W0 is None else np.asarray(W0, float).ravel()
    small = X.shape[0] * X.shape[1] * K < SMALL_PROBLEM
    with threadpool_limits(limits=1, user_api="blas") if small else nullcontext():
        result = minimize(_objective_and_gradient, w0, args=(X, y, C, relabeled, K),
                          jac=True, method="L-BFGS-B",
                          options={"gtol": tol, "ftol": 0.0, "maxiter": max_iter,
                                   "maxfun": 2 * max_iter})
    if result.status == 1:  # the iteration or evaluation limit
        raise FitError(f"L-BFGS reached its limit of {max_iter} iterations with largest "
                       f"gradient entry {np.abs(result.jac).max():.1e} > tol {tol:.1e}")
    return result.x.reshape(shape)


class Softmax(LinearModel):
    """K-class L2 softmax regression with the interface of :class:`models.linear.LinearModel`.

    Weights have shape (n_features, n_classes); R keeps a relabeled sample's label and
    trains it with l_R.

    Parameters
    ----------
    n_classes : int
        K; fits keep K columns even when a training subset misses a class.
    tol : float, default=1e-5
        L-BFGS gradient tolerance of :func:`fit`.
    """

    def __init__(self, n_classes, tol=1e-5):
        self.n_classes = n_classes
        self.tol = tol

    @property
    def n_columns(self):
        """One logit per class."""
        return self.n_classes

    def fit(self, X, y, C, relabeled=None):
        """Fit on (X, y); samples in the bool mask ``relabeled`` train with l_R.

        Returns
        -------
        W : ndarray of shape (n_features, n_classes)
        """
        return fit(X, self.check_labels(y), C, n_classes=self.n_classes,
                   relabeled=relabeled, tol=self.tol)

    def log_proba(self, W, X):
        return log_proba(W, X)

    def probability_columns(self, W, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        return predict_proba(W, X)

    def logit_gradients(self, W, X, y, relabeled=None):
        return logit_gradients(predict_proba(W, X), y, relabeled)

    def curvature_product(self, P, A):
        """(diag(p_i) - p_i p_i^T) a_i = p_i * (a_i - p_i . a_i) for every sample."""
        return P * (A - np.sum(P * A, axis=1, keepdims=True))

    def curvature_diagonal(self, P):
        return P * (1.0 - P)

    def curvature_block(self, P, k, l):
        return P[:, k] * ((k == l) - P[:, l])
