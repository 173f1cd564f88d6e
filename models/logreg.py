"""L2-regularised binary logistic regression in the liblinear form.

The objective (METHOD.md section 3) has no intercept:

    J(w) = 1/2 ||w||^2 + C * sum_i l(w; x_i, y_i),
    l    = -y log p - (1 - y) log(1 - p),   p = sigmoid(w . x),   y in {0, 1}.

The reference learner is scikit-learn's liblinear solver, as in the paper. X may be a
dense ndarray or a scipy CSR matrix; it is never densified.

:class:`Logistic` is the model as ``influence.py`` and the experiments use it (the
interface of ``linear.py``): one logit per sample, logit gradient p_i - y_i, logit
curvature p_i (1 - p_i), and R flips a relabeled label to 1 - y (METHOD.md section 2).
"""

import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

import relabel
from models.linear import LinearModel


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


def objective(w, X, y, C):
    """J(w) = 1/2 ||w||^2 + C * sum_i l_i, a float."""
    return 0.5 * float(w @ w) + C * float(sample_losses(w, X, y).sum())


def objective_gradient(w, X, y, C):
    """Gradient of J: w + C X^T (p - y), shape (n_features,)."""
    residual = predict_proba(w, X) - y
    return w + C * np.asarray(X.T @ residual).ravel()


def fit(X, y, C=0.1, tol=1e-7):
    """Minimise J(w) with liblinear and return w.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training inputs.
    y : ndarray of shape (n_samples,)
        Labels in {0, 1}.
    C : float, default=0.1
        Weight of the summed log-loss, C > 0.
    tol : float, default=1e-7
        liblinear's stopping tolerance.

    Returns
    -------
    w : ndarray of shape (n_features,)
        The fitted weights.

    Notes
    -----
    liblinear refuses a training set with a single class, which a heavy edit can
    produce. The objective still has a unique minimiser then, and it is found with
    L-BFGS on the same objective.
    """
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return _fit_lbfgs(X, y, C, tol)
    model = LogisticRegression(C=C, fit_intercept=False, solver="liblinear",
                               tol=tol, max_iter=1000, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return model.coef_.ravel().astype(float)


def _fit_lbfgs(X, y, C, tol):
    """Minimise J(w) with L-BFGS; used where liblinear cannot run."""
    w0 = np.zeros(X.shape[1])
    result = minimize(objective, w0, args=(X, y, C), jac=objective_gradient,
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
    tol : float, default=1e-7
        liblinear's stopping tolerance (the paper's).
    """

    n_classes = 2
    n_columns = 1

    def __init__(self, tol=1e-7):
        self.tol = tol

    def fit(self, X, y, C, relabeled=None, W0=None):
        """Fit on (X, y); R flips the labels in the bool mask ``relabeled`` to 1 - y.

        ``W0`` is ignored: liblinear always starts from zero (the binary problem is
        convex, so the start does not change the minimiser).

        Returns
        -------
        w : ndarray of shape (n_features,)
        """
        y = self.check_labels(y)
        labels = y if relabeled is None else relabel.relabel_binary(y, relabeled)
        return fit(X, labels, C, tol=self.tol)

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
