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
convex for K > 2 (l_R is a difference of two log-sum-exps); the fit then finds a local
minimiser, the same one for the same start. Where 1 - p_y falls below EPS the loss is
clamped flat, but its gradient keeps the unclamped direction (that of
``relabel.complementary_loss_grad_logits``), which pushes the sample out of the clamp.

The fit is a trust-region Newton method on Hessian-vector products
(``models.newton``), preconditioned by the Kronecker form of ``models.linear`` for
dense X of moderate width and by Jacobi otherwise; scipy's L-BFGS is kept as
``method="lbfgs"``. On ``mnist10`` (C = 0.1, symmetric noise 0.5) the fit took 7
Newton steps and 62 passes over X (plus one Gram matrix X^T X) where L-BFGS took 969
evaluations, 1,938 passes; :func:`minimise` reports these counts.

X may be a dense ndarray or a scipy CSR matrix; it is never densified. Weights are
flattened in C order, so vec(W)[j * K + k] = W[j, k], wherever a flat vector is needed.

:class:`Softmax` is the model as ``influence.py`` and the experiments use it (the
interface of ``linear.py``): K logits per sample, logit gradient p_i - e_{y_i}, logit
curvature diag(p_i) - p_i p_i^T.
"""

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp
from threadpoolctl import threadpool_limits

from rdia import relabel
from rdia.models import newton
from rdia.models.linear import (FitError, FitResult, LinearHessian, LinearModel, NewtonObjective,
                           check_newton_result, weighted_curvature, weighted_rows)

#: Multiply-adds n * d * K of one pass over X below which a fit runs with one BLAS
#: thread. Its per-iteration vector updates call BLAS on d * K numbers, and on small
#: problems thread hand-off dominates: a fit on 300 digits took 0.23 s with two
#: OpenBLAS threads and 0.03 s with one, on the project's 2-core machine.
SMALL_PROBLEM = 10**7


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
        -(p_y / (1 - p_y)) (p_i - e_{y_i}) for relabeled ones (docs/method.md 2); the
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


def _objective_and_gradient(w, X, y, C, relabeled, n_classes, weights=None):
    """J and its flat gradient at the flat weights w, from one pass over X."""
    W = w.reshape(-1, n_classes)
    log_p = log_proba(W, X)
    losses = weighted_rows(losses_from_log_proba(log_p, y, relabeled), weights)
    J = 0.5 * float(w @ w) + C * float(losses.sum())
    G = weighted_rows(logit_gradients(np.exp(log_p), y, relabeled), weights)
    return J, (W + C * np.asarray(X.T @ G)).ravel()


def complement_log_proba(log_p, y):
    """log q_ik: the class probabilities without class y_i, renormalised.

    q_i = softmax of the logits with class y_i left out, so q_{i, y_i} = 0 and
    -log(1 - p_{i, y_i}) = LSE(z_i) - LSE_{k != y_i}(z_i), whose logit gradient is
    p_i - q_i. Computed from log p (not from 1 - p_y), so it stays accurate where
    p_y is close to 1.

    Parameters
    ----------
    log_p : ndarray of shape (n_samples, n_classes)
    y : ndarray of shape (n_samples,)

    Returns
    -------
    log_q : ndarray of shape (n_samples, n_classes)
        -inf in column y_i of row i.
    """
    log_q = np.array(log_p, dtype=float, copy=True)
    log_q[np.arange(len(y)), y] = -np.inf
    return log_q - logsumexp(log_q, axis=1, keepdims=True)


class RelabeledCurvature:
    """The logit curvature of J with R, in the ``curvature_*`` interface of LinearModel.

    An ordinary sample has the logit Hessian h(p_i) = diag(p_i) - p_i p_i^T. A sample
    relabeled by R has l_R = LSE(z) - LSE_{k != y}(z), whose Hessian is
    h(p_i) - h(q_i) with q_i of :func:`complement_log_proba`: indefinite, which is
    why J with R is not convex for K > 2. (Where 1 - p_y < EPS the loss of
    ``relabel.py`` is clamped; this is the curvature of the unclamped l_R, which is
    bounded there.)

    Parameters
    ----------
    Q : ndarray of shape (n_samples, n_classes)
        q_i for relabeled samples, zero rows for the others (so that h(q_i) = 0).
    """

    def __init__(self, Q):
        self.Q = Q

    def curvature_product(self, P, A):
        Q = self.Q
        return (P * (A - np.sum(P * A, axis=1, keepdims=True))
                - Q * (A - np.sum(Q * A, axis=1, keepdims=True)))

    def curvature_diagonal(self, P):
        return P * (1.0 - P) - self.Q * (1.0 - self.Q)

    def curvature_block(self, P, k, l):
        return P[:, k] * ((k == l) - P[:, l]) - self.Q[:, k] * ((k == l) - self.Q[:, l])


@dataclass
class SoftmaxPoint:
    """What one evaluation of J at W keeps for the gradient and the Hessian.

    Attributes
    ----------
    W : ndarray of shape (n_features, n_classes)
    log_p, P : ndarray of shape (n_samples, n_classes)
        log p_ik and p_ik.
    value : float
        J(W).
    """

    W: np.ndarray
    log_p: np.ndarray
    P: np.ndarray
    value: float


class SoftmaxObjective(NewtonObjective):
    """J(W) of softmax regression with R, as ``models.newton.minimise`` sees it.

    It counts its passes over X (:class:`models.linear.NewtonObjective`): ``n_value``
    logits X W and ``n_gradient`` products X^T G, one pass each, ``n_diagonal`` Jacobi
    preconditioners and ``n_gram`` Gram matrices X^T X.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Labels in 0 .. n_classes - 1.
    C : float
    n_classes : int
    relabeled : ndarray of bool, shape (n_samples,), optional
    preconditioner : str, default="auto"
        A name of ``models.linear.make_preconditioner``. It is built from the curvature
        h(p_i) of every sample (positive semi-definite; relabeled samples' negative
        part is left out), at every iterate.
    weights : ndarray of shape (n_samples,), optional
        Weight of each sample's loss in J (default 1).
    """

    def __init__(self, X, y, C, n_classes, relabeled=None, preconditioner="auto",
                 weights=None):
        super().__init__(X, C, preconditioner)
        self.y, self.n_classes, self.weights = y, n_classes, weights
        self.relabeled = _relabeled_mask(relabeled, len(y))

    def evaluate(self, w):
        """J at the flat weights w, as a :class:`SoftmaxPoint` (one pass over X)."""
        self.n_value += 1
        W = w.reshape(-1, self.n_classes)
        log_p = log_proba(W, self.X)
        losses = weighted_rows(losses_from_log_proba(log_p, self.y, self.relabeled),
                               self.weights)
        return SoftmaxPoint(W=W, log_p=log_p, P=np.exp(log_p),
                            value=0.5 * float(w @ w) + self.C * float(losses.sum()))

    def gradient(self, point):
        """Flat gradient W + C X^T G of J at the point (one pass over X)."""
        self.n_gradient += 1
        G = weighted_rows(logit_gradients(point.P, self.y, self.relabeled), self.weights)
        return (point.W + self.C * np.asarray(self.X.T @ G)).ravel()

    def hessian(self, point):
        """The Hessian of J at the point, with the curvature of l_R where relabeled."""
        curvature = Softmax(self.n_classes)
        if self.relabeled.any():
            Q = np.zeros_like(point.log_p)
            rows = np.flatnonzero(self.relabeled)
            Q[rows] = np.exp(complement_log_proba(point.log_p[rows], self.y[rows]))
            curvature = RelabeledCurvature(Q)
        return LinearHessian(weighted_curvature(curvature, self.weights), self.X, point.P,
                             self.C)

    def plain_hessian(self, point):
        """The plain softmax Hessian at the point, which the preconditioner approximates."""
        return LinearHessian(weighted_curvature(Softmax(self.n_classes), self.weights),
                             self.X, point.P, self.C)


#: Default iteration limits of the two methods.
MAX_ITER = {"newton": 1000, "lbfgs": 20000}


def fit_newton(X, y, C, n_classes, relabeled, tol, max_iter, w0, preconditioner="auto",
               progress=None, weights=None):
    """Trust-region Newton (``models.newton``) on J; see :func:`minimise`."""
    objective = SoftmaxObjective(X, y, C, n_classes, relabeled, preconditioner, weights)
    result = newton.minimise(objective, w0, tol=tol, max_iter=max_iter,
                             progress=progress)
    check_newton_result(result, max_iter, tol)
    return objective.fit_result(result, result.w.reshape(-1, n_classes))


def fit_lbfgs(X, y, C, n_classes, relabeled, tol, max_iter, w0, weights=None):
    """L-BFGS (scipy) on J; see :func:`minimise`."""
    from scipy.optimize import minimize  # not imported by a Newton fit

    result = minimize(_objective_and_gradient, w0,
                      args=(X, y, C, relabeled, n_classes, weights),
                      jac=True, method="L-BFGS-B",
                      options={"gtol": tol, "ftol": 0.0, "maxiter": max_iter,
                               "maxfun": 2 * max_iter})
    if result.status == 1:  # the iteration or evaluation limit
        raise FitError(f"L-BFGS reached its limit of {max_iter} iterations with largest "
                       f"gradient entry {np.abs(result.jac).max():.1e} > tol {tol:.1e}")
    return FitResult(W=result.x.reshape(-1, n_classes), method="lbfgs", n_iter=result.nit,
                     n_value=result.nfev, n_gradient=result.nfev,
                     message=str(result.message))


def minimise(X, y, C=0.1, n_classes=None, relabeled=None, tol=1e-5, max_iter=None,
             W0=None, method="newton", preconditioner="auto", progress=None, weights=None):
    """Minimise J(W); return the weights and the work it took.

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
    max_iter : int, optional
        Iteration limit: 1,000 trust-region steps, or 20,000 L-BFGS iterations.
    W0 : ndarray of shape (n_features, n_classes), optional
        Starting point; zeros by default. A refit after relabeling starts best from the
        weights of the full fit.
    method : {"newton", "lbfgs"}, default="newton"
        Trust-region Newton on Hessian-vector products, preconditioned
        (:mod:`models.newton`), or scipy's L-BFGS.
    preconditioner : str, default="auto"
        Newton only: a name of ``models.linear.make_preconditioner``.
    progress : bool or None, default=None
        Newton only: a progress bar of the iterations and the gradient on stderr
        (``models.newton.minimise``); None shows it on a terminal only.
    weights : ndarray of shape (n_samples,), optional
        Non-negative weight of each sample's loss in J (default 1); 0 leaves a row
        out without copying X.

    Returns
    -------
    result : FitResult

    Raises
    ------
    FitError
        If the method reaches ``max_iter`` (L-BFGS: or 2 max_iter evaluations). A stop
        because J no longer decreases in floating point (gradient entries just above a
        tol near machine precision) is accepted: that is the numerical minimiser.
    ValueError
        For an unknown method.
    """
    if method not in MAX_ITER:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(MAX_ITER)}")
    y = np.asarray(y, dtype=np.int64)
    K = int(y.max()) + 1 if n_classes is None else int(n_classes)
    w0 = np.zeros(X.shape[1] * K) if W0 is None else np.asarray(W0, float).ravel()
    max_iter = MAX_ITER[method] if max_iter is None else max_iter
    small = X.shape[0] * X.shape[1] * K < SMALL_PROBLEM
    with threadpool_limits(limits=1, user_api="blas") if small else nullcontext():
        if method == "newton":
            return fit_newton(X, y, C, K, relabeled, tol, max_iter, w0, preconditioner,
                              progress, weights)
        return fit_lbfgs(X, y, C, K, relabeled, tol, max_iter, w0, weights)


def fit(X, y, C=0.1, n_classes=None, relabeled=None, tol=1e-5, max_iter=None, W0=None,
        method="newton", preconditioner="auto"):
    """Minimise J(W) and return W, shape (n_features, n_classes).

    The arguments, and the errors, are those of :func:`minimise`.
    """
    return minimise(X, y, C, n_classes, relabeled, tol, max_iter, W0, method,
                    preconditioner).W


class Softmax(LinearModel):
    """K-class L2 softmax regression with the interface of :class:`models.linear.LinearModel`.

    Weights have shape (n_features, n_classes); R keeps a relabeled sample's label and
    trains it with l_R.

    Parameters
    ----------
    n_classes : int
        K; fits keep K columns even when a training subset misses a class.
    tol : float, default=1e-5
        Gradient tolerance of :func:`fit`.
    method : {"newton", "lbfgs"}, default="newton"
        The minimiser of :func:`fit`.
    progress : bool or None, default=None
        A progress bar of the Newton fits on stderr; None shows it on a terminal only.
    """

    name = "softmax"

    def __init__(self, n_classes, tol=1e-5, method="newton", progress=None):
        self.n_classes = n_classes
        self.tol = tol
        self.method = method
        self.progress = progress

    @property
    def n_columns(self):
        """One logit per class."""
        return self.n_classes

    def minimise(self, X, y, C, relabeled=None, W0=None, weights=None):
        """Fit on (X, y); samples in the bool mask ``relabeled`` train with l_R.

        ``W0`` (n_features, n_classes) is the starting point (zeros by default); a
        refit after relabeling starts best from the full fit's weights. ``weights``
        weigh each sample's loss (0 leaves the row out, without a copy of X).

        Returns
        -------
        result : models.linear.FitResult
            ``W`` of shape (n_features, n_classes) and the passes over X.
        """
        return minimise(X, self.check_labels(y), C, n_classes=self.n_classes,
                        relabeled=relabeled, tol=self.tol, W0=W0, method=self.method,
                        progress=self.progress, weights=weights)

    def objective(self, X, y, C, relabeled=None, weights=None):
        return SoftmaxObjective(X, self.check_labels(y), C, self.n_classes, relabeled,
                                weights=weights)

    def newton_tolerance(self, gradient_at_zero):
        """The absolute bound ``tol`` on every gradient entry, as :func:`minimise`."""
        return self.tol

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
