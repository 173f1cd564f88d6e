"""Influence of each training sample on the validation loss (METHOD.md section 3).

For L2 logistic regression fitted at w (see ``logreg.py``):

    H     = I + C X^T D X,   D = diag(p_i (1 - p_i))     Hessian of J on the training set
    g_val = C * sum_{j in val} (p_j - y_j) x_j            gradient of C x validation loss
    s     = H^{-1} g_val                                  one linear solve, never an inverse
    phi_i = -C (p_i - y_i) (x_i . s)

phi_i is the first-order change of C x (summed validation log-loss) when training
sample i is up-weighted by one unit of its C-weighted loss. phi_i > 0 means the sample
is harmful; removing it changes the validation quantity by about -phi_i. These are the
units of the paper's alpha (0.01, 0.002, 0.0002).

The inverse-Hessian-vector product sits behind one small interface,
:class:`InverseHVPSolver`, with two implementations: preconditioned conjugate
gradients on Hessian-vector products (``"cg"``, the default) and a Cholesky solve for
small feature counts (``"direct"``). X may be dense or scipy CSR; sparse data is never
densified.

For K classes (softmax regression, ``softmax.py``) the same quantities live on
vec(W), W of shape (d, K): :class:`SoftmaxHessian` applies the softmax Hessian through
Hessian-vector products and plugs into the same solvers, and :func:`softmax_influence`
returns phi in the same units. See the section at the end of this file.
"""

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from models import softmax
from models.logreg import predict_proba

#: Parameter count (d, or d * K for softmax) above which the direct solver refuses to
#: build the dense Hessian.
MAX_DIRECT_FEATURES = 5000


class ConvergenceError(RuntimeError):
    """The solver stopped before reaching the requested tolerance."""


class DirectSolveTooLarge(ValueError):
    """The direct solver was asked for a Hessian above MAX_DIRECT_FEATURES parameters."""


def loss_residuals(w, X, y):
    """Derivative of each sample's log-loss with respect to its logit.

    Parameters
    ----------
    w : ndarray of shape (n_features,)
        Model weights.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Inputs.
    y : ndarray of shape (n_samples,)
        Labels in {0, 1}.

    Returns
    -------
    r : ndarray of shape (n_samples,)
        p_i - y_i; the gradient of sample i's loss with respect to w is r_i x_i.
    """
    return predict_proba(w, X) - y


def validation_gradient(w, X_val, y_val, C):
    """g_val = C * sum_j (p_j - y_j) x_j over the validation set, no L2 term.

    Returns
    -------
    g_val : ndarray of shape (n_features,)
    """
    return C * np.asarray(X_val.T @ loss_residuals(w, X_val, y_val)).ravel()


def hessian_weights(w, X):
    """Diagonal of D: p_i (1 - p_i) for every training sample, shape (n_samples,)."""
    p = predict_proba(w, X)
    return p * (1.0 - p)


def hessian_vector_product(X, D, C, v):
    """H v = v + C X^T (D * (X v)) without forming H.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training inputs.
    D : ndarray of shape (n_samples,)
        Hessian weights p_i (1 - p_i).
    C : float
        Loss weight.
    v : ndarray of shape (n_features,)
        Vector to multiply.

    Returns
    -------
    Hv : ndarray of shape (n_features,)
    """
    return v + C * np.asarray(X.T @ (D * np.asarray(X @ v).ravel())).ravel()


def hessian_diagonal(X, D, C):
    """diag(H) = 1 + C * sum_i D_i x_ij^2 for every feature j, shape (n_features,)."""
    if sp.issparse(X):
        squared = X.multiply(X)
        return 1.0 + C * np.asarray(squared.T @ D).ravel()
    return 1.0 + C * np.einsum("ij,ij,i->j", X, X, D)


def check_direct_size(size):
    """Refuse to build a dense (size x size) Hessian above MAX_DIRECT_FEATURES."""
    if size > MAX_DIRECT_FEATURES:
        raise DirectSolveTooLarge(f"the direct solver builds a {size} x {size} Hessian; "
                                  f"it is meant for at most {MAX_DIRECT_FEATURES} "
                                  f"parameters, use cg")


def weighted_gram(X, weights):
    """X^T diag(weights) X as a dense (n_features, n_features) array.

    For small feature counts only (the direct solver); sparse X stays sparse until
    the d x d product.
    """
    if sp.issparse(X):
        return (X.T @ sp.diags(weights) @ X).toarray()
    return X.T @ (weights[:, None] * X)


class LogisticHessian:
    """The training-set Hessian H = I + C X^T D X as an operator.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training inputs.
    D : ndarray of shape (n_samples,)
        Hessian weights p_i (1 - p_i).
    C : float
        Loss weight.
    """

    def __init__(self, X, D, C):
        self.X = X
        self.D = D
        self.C = C

    @property
    def n_features(self):
        return self.X.shape[1]

    def matvec(self, v):
        """H v, shape (n_features,)."""
        return hessian_vector_product(self.X, self.D, self.C, v)

    def diagonal(self):
        """diag(H), shape (n_features,)."""
        return hessian_diagonal(self.X, self.D, self.C)

    def dense(self):
        """H as a dense (n_features, n_features) array, for small n_features only."""
        d = self.n_features
        check_direct_size(d)
        return np.eye(d) + self.C * weighted_gram(self.X, self.D)


def relative_residual(hessian, s, b):
    """||b - H s|| / ||b||, a float (0 where b is zero)."""
    norm_b = np.linalg.norm(b)
    if norm_b == 0:
        return 0.0
    return float(np.linalg.norm(b - hessian.matvec(s)) / norm_b)


class InverseHVPSolver:
    """Solves H s = b for a symmetric positive definite operator H.

    Subclasses implement :meth:`inverse_hvp`. After a call, ``n_iter_`` holds the
    number of iterations and ``residual_`` the relative residual ||b - H s|| / ||b||.
    """

    name = "base"

    def inverse_hvp(self, hessian, b):
        """Return s = H^{-1} b, shape (n_features,)."""
        raise NotImplementedError


class ConjugateGradient(InverseHVPSolver):
    """Preconditioned conjugate gradients with the Jacobi preconditioner diag(H).

    Parameters
    ----------
    tol : float, default=1e-10
        Stop when the relative residual ||b - H s|| / ||b|| is at most tol.
    max_iter : int, default=1000
        Iteration limit; reaching it above tol raises :class:`ConvergenceError`.
    """

    name = "cg"

    def __init__(self, tol=1e-10, max_iter=1000):
        self.tol = tol
        self.max_iter = max_iter

    def inverse_hvp(self, hessian, b):
        inv_diag = 1.0 / hessian.diagonal()
        s = np.zeros_like(b)
        r = b.copy()
        z = inv_diag * r
        direction = z.copy()
        rz = r @ z
        norm_b = np.linalg.norm(b)
        self.n_iter_ = 0
        self.residual_ = 0.0 if norm_b == 0 else 1.0
        while self.residual_ > self.tol and self.n_iter_ < self.max_iter:
            Hp = hessian.matvec(direction)
            step = rz / (direction @ Hp)
            s += step * direction
            r -= step * Hp
            self.n_iter_ += 1
            self.residual_ = float(np.linalg.norm(r) / norm_b)
            z = inv_diag * r
            rz_next = r @ z
            direction = z + (rz_next / rz) * direction
            rz = rz_next
        # The recursive residual drifts from the true one; report the true one.
        self.residual_ = relative_residual(hessian, s, b)
        if self.residual_ > self.tol:
            raise ConvergenceError(
                f"conjugate gradients did not converge: relative residual "
                f"{self.residual_:.3e} > tol {self.tol:.1e} after {self.n_iter_} "
                f"iterations (raise --max-iter or loosen --tol)")
        return s


class Cholesky(InverseHVPSolver):
    """Direct solve through a Cholesky factorisation of the dense Hessian.

    Meant for small feature counts (at most ``MAX_DIRECT_FEATURES``).
    """

    name = "direct"

    def inverse_hvp(self, hessian, b):
        factor = scipy.linalg.cho_factor(hessian.dense())
        s = scipy.linalg.cho_solve(factor, b)
        self.n_iter_ = 1
        self.residual_ = relative_residual(hessian, s, b)
        return s


def make_solver(name="cg", tol=1e-10, max_iter=1000):
    """Build the inverse-HVP solver called ``name`` ("cg" or "direct")."""
    if name == "cg":
        return ConjugateGradient(tol=tol, max_iter=max_iter)
    if name == "direct":
        return Cholesky()
    raise ValueError(f"unknown solver {name!r}; choose cg or direct")


def sample_influence(w, X, y, s, C):
    """phi_i = -C (p_i - y_i) (x_i . s) for every training sample.

    Parameters
    ----------
    w : ndarray of shape (n_features,)
        Fitted weights.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training inputs.
    y : ndarray of shape (n_samples,)
        Observed training labels in {0, 1}.
    s : ndarray of shape (n_features,)
        H^{-1} g_val.
    C : float
        Loss weight.

    Returns
    -------
    phi : ndarray of shape (n_samples,)
        Influence on C x summed validation log-loss; harmful where positive.
    """
    return -C * loss_residuals(w, X, y) * np.asarray(X @ s).ravel()


def influence(w, X_train, y_train, X_val, y_val, C, solver=None):
    """phi for every training sample of a logistic regression fitted at w.

    Parameters
    ----------
    w : ndarray of shape (n_features,)
        Weights fitted on (X_train, y_train).
    X_train : ndarray or CSR matrix of shape (n_train, n_features)
    y_train : ndarray of shape (n_train,)
        Observed (possibly noisy) labels in {0, 1}.
    X_val : ndarray or CSR matrix of shape (n_val, n_features)
    y_val : ndarray of shape (n_val,)
        Clean validation labels in {0, 1}.
    C : float
        Loss weight of the fitted objective.
    solver : InverseHVPSolver, optional
        Defaults to ``ConjugateGradient()``; its ``n_iter_`` and ``residual_`` are
        set on return.

    Returns
    -------
    phi : ndarray of shape (n_train,)
        Influence of each training sample on C x summed validation log-loss.
    """
    solver = ConjugateGradient() if solver is None else solver
    hessian = LogisticHessian(X_train, hessian_weights(w, X_train), C)
    s = solver.inverse_hvp(hessian, validation_gradient(w, X_val, y_val, C))
    return sample_influence(w, X_train, y_train, s, C)


# ---------------------------------------------------------------------------
# K classes: multinomial (softmax) logistic regression, see ``softmax.py``.
#
# The parameters are vec(W), W of shape (d, K), flattened in C order, so every
# vector below has n_features = d * K entries and the solvers above apply unchanged.
# With P the (n, K) matrix of training probabilities and Y the one-hot labels:
#
#     H     = I + C sum_i (diag(p_i) - p_i p_i^T) (x) x_i x_i^T
#     H V   = V + C X^T B,   B_i = p_i * a_i - p_i (p_i . a_i),   A = X V
#     g_val = C X_val^T (P_val - Y_val)
#     phi_i = -C sum_k (p_ik - y_ik) (X S)_ik,     S = H^{-1} g_val reshaped (d, K)
#
# phi has the units of the binary case: the first-order change of C x summed
# validation cross-entropy when sample i is up-weighted by one unit of its C-weighted
# loss.
# ---------------------------------------------------------------------------

#: Rows of dense X handled at once when the Hessian diagonal squares X.
DIAGONAL_CHUNK = 4096


def softmax_residuals(W, X, y):
    """Gradient of each sample's cross-entropy with respect to its logits.

    Parameters
    ----------
    W : ndarray of shape (n_features, n_classes)
        Model weights.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Labels in 0 .. n_classes - 1.

    Returns
    -------
    R : ndarray of shape (n_samples, n_classes)
        P - Y; the gradient of sample i's loss with respect to W is x_i^T R_i.
    """
    return softmax.logit_gradients(softmax.predict_proba(W, X), y)


def softmax_validation_gradient(W, X_val, y_val, C):
    """g_val = C X_val^T (P_val - Y_val), flattened, no L2 term.

    Returns
    -------
    g_val : ndarray of shape (n_features * n_classes,)
    """
    return C * np.asarray(X_val.T @ softmax_residuals(W, X_val, y_val)).ravel()


def softmax_hessian_vector_product(X, P, C, v):
    """H v for the softmax Hessian without forming H.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training inputs.
    P : ndarray of shape (n_samples, n_classes)
        Training probabilities at the fitted W.
    C : float
        Loss weight.
    v : ndarray of shape (n_features * n_classes,)
        vec(V) of a (n_features, n_classes) direction.

    Returns
    -------
    Hv : ndarray of shape (n_features * n_classes,)
    """
    V = v.reshape(X.shape[1], P.shape[1])
    A = np.asarray(X @ V)
    B = P * (A - np.sum(P * A, axis=1, keepdims=True))
    return (V + C * np.asarray(X.T @ B)).ravel()


def softmax_hessian_diagonal(X, P, C):
    """diag(H)[(j, k)] = 1 + C sum_i p_ik (1 - p_ik) x_ij^2, flattened.

    Dense X is squared a block of rows at a time, so no second n x d array exists.

    Returns
    -------
    diag : ndarray of shape (n_features * n_classes,)
    """
    weights = P * (1.0 - P)
    if sp.issparse(X):
        return 1.0 + C * np.asarray(X.multiply(X).T @ weights).ravel()
    total = np.zeros((X.shape[1], P.shape[1]))
    for start in range(0, X.shape[0], DIAGONAL_CHUNK):
        rows = slice(start, start + DIAGONAL_CHUNK)
        total += np.square(X[rows]).T @ weights[rows]
    return 1.0 + C * total.ravel()


class SoftmaxHessian:
    """The softmax training-set Hessian I + C sum_i (diag(p_i) - p_i p_i^T) (x) x_i x_i^T.

    An operator on vec(W) with the interface of :class:`LogisticHessian`, so
    :class:`ConjugateGradient` and :class:`Cholesky` solve with it unchanged.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training inputs.
    P : ndarray of shape (n_samples, n_classes)
        Training probabilities at the fitted W.
    C : float
        Loss weight.
    """

    def __init__(self, X, P, C):
        self.X = X
        self.P = P
        self.C = C

    @property
    def n_features(self):
        """Size d * K of the parameter vector."""
        return self.X.shape[1] * self.P.shape[1]

    def matvec(self, v):
        """H v, shape (n_features * n_classes,)."""
        return softmax_hessian_vector_product(self.X, self.P, self.C, v)

    def diagonal(self):
        """diag(H), shape (n_features * n_classes,)."""
        return softmax_hessian_diagonal(self.X, self.P, self.C)

    def dense(self):
        """H as a dense (dK, dK) array, for small d * K only.

        Block (k, l) of the (d, K, d, K) array is X^T diag(p_k delta_kl - p_k p_l) X.
        """
        check_direct_size(self.n_features)
        d, K = self.X.shape[1], self.P.shape[1]
        H = np.zeros((d, K, d, K))
        for k in range(K):
            for l in range(k, K):
                weights = self.P[:, k] * ((k == l) - self.P[:, l])
                H[:, k, :, l] = H[:, l, :, k] = weighted_gram(self.X, weights)
        return np.eye(d * K) + self.C * H.reshape(d * K, d * K)


def softmax_sample_influence(W, X, y, s, C):
    """phi_i = -C grad l_i . s for every training sample, in one pass over X.

    Parameters
    ----------
    W : ndarray of shape (n_features, n_classes)
        Fitted weights.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training inputs.
    y : ndarray of shape (n_samples,)
        Observed training labels in 0 .. n_classes - 1.
    s : ndarray of shape (n_features * n_classes,)
        H^{-1} g_val.
    C : float
        Loss weight.

    Returns
    -------
    phi : ndarray of shape (n_samples,)
        Influence on C x summed validation cross-entropy; harmful where positive.
    """
    S = s.reshape(W.shape)
    return -C * np.sum(softmax_residuals(W, X, y) * np.asarray(X @ S), axis=1)


def softmax_influence(W, X_train, y_train, X_val, y_val, C, solver=None):
    """phi for every training sample of a softmax regression fitted at W.

    The K-class counterpart of :func:`influence`, with the same units.

    Parameters
    ----------
    W : ndarray of shape (n_features, n_classes)
        Weights fitted on (X_train, y_train) with no sample relabeled.
    X_train : ndarray or CSR matrix of shape (n_train, n_features)
    y_train : ndarray of shape (n_train,)
        Observed (possibly noisy) labels in 0 .. n_classes - 1.
    X_val : ndarray or CSR matrix of shape (n_val, n_features)
    y_val : ndarray of shape (n_val,)
        Clean validation labels.
    C : float
        Loss weight of the fitted objective.
    solver : InverseHVPSolver, optional
        Defaults to ``ConjugateGradient()``.

    Returns
    -------
    phi : ndarray of shape (n_train,)
    """
    solver = ConjugateGradient() if solver is None else solver
    hessian = SoftmaxHessian(X_train, softmax.predict_proba(W, X_train), C)
    s = solver.inverse_hvp(hessian, softmax_validation_gradient(W, X_val, y_val, C))
    return softmax_sample_influence(W, X_train, y_train, s, C)
