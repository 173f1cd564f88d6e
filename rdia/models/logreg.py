"""L2-regularised binary logistic regression in the liblinear form.

The objective (docs/method.md section 3) has no intercept:

    J(w) = 1/2 ||w||^2 + C * sum_i l(w; x_i, y_i),
    l    = -y log p - (1 - y) log(1 - p),   p = sigmoid(w . x),   y in {0, 1}.

Two learners minimise it (``LEARNERS``):

- ``"newton"`` (the default): the project's trust-region Newton method on
  Hessian-vector products (``models.newton``; the Kronecker preconditioner
  I + C mean(p (1 - p)) X^T X on dense X of moderate width, Jacobi otherwise), to
  max |grad J(w)| <= tol max |grad J(0)| with tol = 1e-10 by default. It accepts a
  starting point, so a refit starts from the full fit's weights, and it counts its
  passes over X.
- ``"liblinear"``: scikit-learn's liblinear solver with the paper's tol 1e-7, the
  reference learner of the paper (``LogisticRegression(C=C, fit_intercept=False,
  solver="liblinear", tol=1e-7)``). It always starts from zero and does not report
  its passes. scikit-learn is imported only when this learner runs.

At tol 1e-7 liblinear stops about 1e-7 (relative gradient) short of the minimiser;
its weights are within 1.4e-6 (relative) of Newton's on MNIST 1 vs 7 and closer on
cancer and sparse data, and phi and the harmful sets at the paper's alphas are the
same (``tests/test_models_logreg.py``).

X may be a dense ndarray or a scipy CSR matrix; it is never densified.

:class:`Logistic` is the model as ``influence.py`` and the experiments use it (the
interface of ``linear.py``): one logit per sample, logit gradient p_i - y_i, logit
curvature p_i (1 - p_i), and R flips a relabeled label to 1 - y (docs/method.md section 2).
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from rdia import relabel
from rdia.models import newton
from rdia.models.linear import (FitResult, LinearHessian, LinearModel, NewtonObjective,
                           check_newton_result, weighted_curvature, weighted_rows)

#: The learners of :func:`minimise`, and the tolerance each uses by default: Newton's
#: relative gradient, and liblinear's own stopping tolerance (the paper's 1e-7).
LEARNERS = {"newton": 1e-10, "liblinear": 1e-7}

#: Trust-region iteration limit of the Newton learner.
NEWTON_MAX_ITER = 1000


def margins(w, X):
    """Logits w . x_i of every sample, shape (n_samples,)."""
    return np.asarray(X @ w).ravel()


def predict_proba(w, X):
    """Probability of class 1 for every sample, shape (n_samples,)."""
    return expit(margins(w, X))


def sample_losses(w, X, y):
    """Log-loss of every sample in nats, shape (n_samples,).

    Computed from the margin as log(1 + exp(-s m)) with s = 2y - 1, which stays
    finite for confident wrong predictions.
    """
    sign = 2.0 * np.asarray(y, dtype=float) - 1.0
    return np.logaddexp(0.0, -sign * margins(w, X))


def objective(w, X, y, C, weights=None):
    """J(w) = 1/2 ||w||^2 + C * sum_i weights_i l_i (weights 1 by default), a float."""
    losses = weighted_rows(sample_losses(w, X, y), weights)
    return 0.5 * float(w @ w) + C * float(losses.sum())


def objective_gradient(w, X, y, C, weights=None):
    """Gradient of J: w + C X^T (weights (p - y)), shape (n_features,)."""
    residual = weighted_rows(predict_proba(w, X) - y, weights)
    return w + C * np.asarray(X.T @ residual).ravel()


@dataclass
class LogisticPoint:
    """What one evaluation of J at w keeps for the gradient and the Hessian.

    Attributes
    ----------
    w : ndarray of shape (n_features,)
    p : ndarray of shape (n_samples,)
        P(y = 1) of every sample.
    value : float
        J(w).
    """

    w: np.ndarray
    p: np.ndarray
    value: float


class LogisticObjective(NewtonObjective):
    """J(w) of binary logistic regression, as ``models.newton.minimise`` sees it.

    It counts its passes over X (:class:`models.linear.NewtonObjective`).

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Labels in {0, 1} (R already applied).
    C : float
    weights : ndarray of shape (n_samples,), optional
        Weight of each sample's loss in J (default 1).
    """

    def __init__(self, X, y, C, weights=None):
        super().__init__(X, C, "auto")
        self.y = np.asarray(y, dtype=float)
        self.sign = 2.0 * self.y - 1.0
        self.weights = weights

    def evaluate(self, w):
        """J at w, as a :class:`LogisticPoint` (one pass over X)."""
        self.n_value += 1
        m = margins(w, self.X)
        losses = weighted_rows(np.logaddexp(0.0, -self.sign * m), self.weights)
        value = 0.5 * float(w @ w) + self.C * float(losses.sum())
        return LogisticPoint(w=w, p=expit(m), value=value)

    def gradient(self, point):
        """grad J = w + C X^T (p - y) at the point (one pass over X)."""
        self.n_gradient += 1
        residual = weighted_rows(point.p - self.y, self.weights)
        return point.w + self.C * np.asarray(self.X.T @ residual).ravel()

    def hessian(self, point):
        """H = I + C X^T diag(p (1 - p)) X at the point, as an operator."""
        return LinearHessian(weighted_curvature(Logistic(), self.weights), self.X,
                             point.p[:, None], self.C)

    plain_hessian = hessian

    def initial_gradient_max(self):
        """max |grad J(0)| = C max |X^T (1/2 - y)|, the scale of the stopping test
        (one pass over X)."""
        self.n_gradient += 1
        residual = weighted_rows(0.5 - self.y, self.weights)
        return self.C * float(np.abs(np.asarray(self.X.T @ residual)).max())


def fit_newton(X, y, C, tol, w0=None, progress=None, weights=None):
    """Minimise J by trust-region Newton until max |grad J(w)| <= tol max |grad J(0)|.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Labels in {0, 1}.
    C : float
    tol : float
        Relative gradient tolerance.
    w0 : ndarray of shape (n_features,), optional
        Starting point (zeros by default).
    progress : bool or None, default=None
        Progress bar of ``models.newton.minimise``; None shows it on a terminal only.
    weights : ndarray of shape (n_samples,), optional
        Weight of each sample's loss in J (default 1).

    Returns
    -------
    result : models.linear.FitResult

    Raises
    ------
    models.linear.FitError
        When the fit reaches NEWTON_MAX_ITER steps above tol.
    """
    objective = LogisticObjective(X, y, C, weights)
    gtol = tol * objective.initial_gradient_max()
    w0 = np.zeros(X.shape[1]) if w0 is None else np.asarray(w0, dtype=float)
    result = newton.minimise(objective, w0, tol=gtol, max_iter=NEWTON_MAX_ITER,
                             progress=progress)
    check_newton_result(result, NEWTON_MAX_ITER, gtol)
    return objective.fit_result(result, result.w)


def fit_liblinear(X, y, C, tol, weights=None):
    """Minimise J with scikit-learn's liblinear (the paper's learner), from zero.

    liblinear refuses a training set with a single class, which a heavy edit can
    produce. The objective still has a unique minimiser then, and it is found with
    L-BFGS on the same objective. ``weights`` go to liblinear as sample weights (a
    per-sample C), which is the same J.

    Returns
    -------
    result : models.linear.FitResult
        Without pass counts (liblinear does not report them).
    """
    counted = y if weights is None else y[weights > 0]
    if len(np.unique(counted)) < 2:
        return FitResult(W=_fit_lbfgs(X, y, C, tol, weights), method="lbfgs", n_iter=0,
                         n_value=None, n_gradient=None)
    from sklearn.linear_model import LogisticRegression  # only this learner needs it

    model = LogisticRegression(C=C, fit_intercept=False, solver="liblinear",
                               tol=tol, max_iter=1000, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y, sample_weight=weights)
    return FitResult(W=model.coef_.ravel().astype(float), method="liblinear",
                     n_iter=int(np.max(model.n_iter_)), n_value=None, n_gradient=None)


def minimise(X, y, C=0.1, tol=None, w0=None, learner="newton", progress=None,
             weights=None):
    """Minimise J(w) with one of the LEARNERS; return the weights and the work.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training inputs.
    y : ndarray of shape (n_samples,)
        Labels in {0, 1}.
    C : float, default=0.1
        Weight of the summed log-loss, C > 0.
    tol : float, optional
        The learner's tolerance; ``LEARNERS[learner]`` by default.
    w0 : ndarray of shape (n_features,), optional
        Starting point of the Newton learner (liblinear ignores it).
    learner : {"newton", "liblinear"}, default="newton"
    progress : bool or None, default=None
        Newton's progress bar; None shows it on a terminal only.
    weights : ndarray of shape (n_samples,), optional
        Non-negative weight of each sample's loss in J (default 1); 0 leaves a row
        out without copying X.

    Returns
    -------
    result : models.linear.FitResult

    Raises
    ------
    ValueError
        For an unknown learner.
    """
    if learner not in LEARNERS:
        raise ValueError(f"unknown learner {learner!r}; choose one of {', '.join(LEARNERS)}")
    y = np.asarray(y)
    tol = LEARNERS[learner] if tol is None else tol
    if learner == "liblinear":
        return fit_liblinear(X, y, C, tol, weights)
    return fit_newton(X, y, C, tol, w0, progress, weights)


def fit(X, y, C=0.1, tol=None, w0=None, learner="newton", weights=None):
    """The weights of :func:`minimise`, shape (n_features,)."""
    return minimise(X, y, C, tol, w0, learner, weights=weights).W


def _fit_lbfgs(X, y, C, tol, weights=None):
    """Minimise J(w) with L-BFGS; used where liblinear cannot run."""
    from scipy.optimize import minimize

    w0 = np.zeros(X.shape[1])
    result = minimize(objective, w0, args=(X, y, C, weights), jac=objective_gradient,
                      method="L-BFGS-B", options={"gtol": tol, "maxiter": 10000})
    return result.x


def log_proba(w, X):
    """log P(y = 0) and log P(y = 1) of every sample, shape (n_samples, 2).

    From the margin m as -log(1 + exp(m)) and -log(1 + exp(-m)), finite for any m.
    """
    m = margins(w, X)
    return np.column_stack([-np.logaddexp(0.0, m), -np.logaddexp(0.0, -m)])


class Logistic(LinearModel):
    """Binary L2 logistic regression with the interface of :class:`models.linear.LinearModel`.

    Weights have shape (n_features,); the one logit column holds w . x_i.

    Parameters
    ----------
    learner : {"newton", "liblinear"}, default="newton"
        The minimiser of :func:`minimise`.
    tol : float, optional
        Its tolerance; ``LEARNERS[learner]`` by default (liblinear: the paper's 1e-7).
    progress : bool or None, default=None
        A progress bar of the Newton fits on stderr; None shows it on a terminal only.
    """

    name = "logreg"
    n_classes = 2
    n_columns = 1

    def __init__(self, learner="newton", tol=None, progress=None):
        self.learner = learner
        self.tol = tol
        self.progress = progress

    def minimise(self, X, y, C, relabeled=None, W0=None, weights=None):
        """Fit on (X, y); R flips the labels in the bool mask ``relabeled`` to 1 - y.

        ``W0`` is the Newton learner's starting point (the binary problem is convex,
        so the start changes only the work); liblinear ignores it. ``weights``
        weigh each sample's loss (0 leaves the row out, without a copy of X).

        Returns
        -------
        result : models.linear.FitResult
            ``W`` of shape (n_features,) and the passes over X.
        """
        y = self.check_labels(y)
        labels = y if relabeled is None else relabel.relabel_binary(y, relabeled)
        return minimise(X, labels, C, tol=self.tol, w0=W0, learner=self.learner,
                        progress=self.progress, weights=weights)

    def objective(self, X, y, C, relabeled=None, weights=None):
        y = self.check_labels(y)
        labels = y if relabeled is None else relabel.relabel_binary(y, relabeled)
        return LogisticObjective(X, labels, C, weights)

    def newton_tolerance(self, gradient_at_zero):
        """``tol`` (LEARNERS["newton"] by default) times max |grad J(0)|, as
        :func:`fit_newton` stops."""
        tol = LEARNERS["newton"] if self.tol is None else self.tol
        return tol * float(np.abs(gradient_at_zero).max())

    def log_proba(self, W, X):
        return log_proba(W, X)

    def probability_columns(self, W, X):
        """P(y = 1) of every sample as one column, shape (n_samples, 1)."""
        return predict_proba(W, X)[:, None]

    def logit_gradients(self, W, X, y, relabeled=None):
        """p_i - y_i as one column, shape (n_samples, 1); R uses the flipped label."""
        y = self.check_labels(y)
        labels = y if relabeled is None else relabel.relabel_binary(y, relabeled)
        return (predict_proba(W, X) - labels)[:, None]

    def curvature_product(self, P, A):
        return P * (1.0 - P) * A

    def curvature_diagonal(self, P):
        return P * (1.0 - P)

    def curvature_block(self, P, k, l):
        return P[:, 0] * (1.0 - P[:, 0])
