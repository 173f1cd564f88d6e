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
"""

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from logreg import predict_proba

#: Feature count above which the direct solver refuses to build the d x d Hessian.
MAX_DIRECT_FEATURES = 5000


class ConvergenceError(RuntimeError):
    """The solver stopped before reaching the requested tolerance."""


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
        if d > MAX_DIRECT_FEATURES:
            raise ValueError(f"the direct solver builds a {d} x {d} Hessian; it is meant "
                             f"for at most {MAX_DIRECT_FEATURES} features, use cg")
        if sp.issparse(self.X):
            XtDX = (self.X.T @ sp.diags(self.D) @ self.X).toarray()
        else:
            XtDX = self.X.T @ (self.D[:, None] * self.X)
        return np.eye(d) + self.C * XtDX


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
