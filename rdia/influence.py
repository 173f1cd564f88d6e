"""Influence of each training sample on the validation loss (docs/method.md section 3).

For an L2 linear model fitted at W (``models.logreg.Logistic`` or
``models.softmax.Softmax``; both have the interface of ``models/linear.py``):

    H     = I + C sum_i (x_i^T x_i) (x) h_i     Hessian of J on the training set
    g_val = C X_val^T G_val                     gradient of C x summed validation loss
    s     = H^{-1} g_val                        one linear solve, never an inverse
    phi_i = -C G_i . (x_i S),                   S = s as a (d, m) matrix

where G holds the per-sample logit gradients (p_i - y_i for two classes) and h_i the
logit curvature (p_i (1 - p_i) for two classes). phi_i is the first-order change of
C x (summed validation log-loss) when training sample i is up-weighted by one unit of
its C-weighted loss. phi_i > 0 means the sample is harmful; removing it changes the
validation quantity by about -phi_i. These are the units of the paper's alpha (0.01,
0.002, 0.0002), for two classes and for K.

From the same s, relabeling sample i from y_i to class k changes that quantity by
Delta_i(k) = C (u_ik - u_iy) with u_i = x_i^T S (section 7; :func:`relabel_influence`),
for every sample and class in one product X S; :func:`best_relabel` picks the class
that lowers it most and :func:`relabel_beats_drop` compares that with dropping.

The inverse-Hessian-vector product sits behind one small interface,
:class:`InverseHVPSolver`, with two implementations: preconditioned conjugate
gradients on Hessian-vector products (``"cg"``, the default) and a Cholesky solve for
small parameter counts (``"direct"``). A new solver is one subclass and one line of
:data:`SOLVERS`. X may be dense or scipy CSR; sparse data is never densified.

Conjugate gradients take their preconditioner from ``models.linear``: by default the
Kronecker-factored I + C (X^T X) (x) h_mean on dense X with at most
``MAX_GRAM_FEATURES`` features (binary or K classes), the Jacobi diag(H) for sparse or
wide X. On ``mnist10`` (C = 0.1, symmetric noise 0.5) phi took 794 iterations with
Jacobi and 27 with the Kronecker form at tol 1e-10 (982 and 34 at 1e-12); on MNIST
1 vs 7 (noise 0.8) 204 and 10. They stop at the relative residual DEFAULT_TOL unless
told otherwise.
"""

import numpy as np

from rdia.models.linear import (DenseHessianTooLarge, GramTooLarge, check_dense_size, product,
                           make_preconditioner)


#: Default relative residual of conjugate gradients. ``benchmarks/cg_tolerance.py``
#: solved phi at tol 1e-2 ... 1e-12 on cancer, MNIST 1 vs 7 and a real-sim-shaped
#: problem (noise 0.8 and 0.2): from 1e-5 on, the harmful sets at the paper's alphas
#: (0.01, 0.002, 0.0002) equal those of a 1e-12 solve everywhere (cancer and MNIST from
#: 1e-3 or 1e-4). The default is that tol with a safety factor of 100; phi is then
#: within 1.9e-7 (relative) of the 1e-12 solve on all six.
DEFAULT_TOL = 1e-7


class ConvergenceError(RuntimeError):
    """The solver stopped before reaching the requested tolerance."""


def relative_residual(hessian, s, b):
    """||b - H s|| / ||b||, a float (0 where b is zero)."""
    norm_b = np.linalg.norm(b)
    if norm_b == 0:
        return 0.0
    return float(np.linalg.norm(b - hessian.matvec(s)) / norm_b)


class InverseHVPSolver:
    """Solves H s = b for a symmetric positive definite operator H.

    H is any object with ``matvec(v)``, ``diagonal()``, ``dense()`` and
    ``n_features`` (``models.linear.LinearHessian``). Subclasses implement
    :meth:`inverse_hvp`. After a call, ``n_iter_`` holds the number of iterations,
    ``residual_`` the relative residual ||b - H s|| / ||b|| and ``n_gram_`` the Gram
    matrices computed (a Gram cached for the same X is not counted).
    """

    name = "base"

    def inverse_hvp(self, hessian, b):
        """Return s = H^{-1} b, shape (n_features,)."""
        raise NotImplementedError


class ConjugateGradient(InverseHVPSolver):
    """Preconditioned conjugate gradients on Hessian-vector products.

    Parameters
    ----------
    tol : float, default=DEFAULT_TOL (1e-7)
        Stop when the relative residual ||b - H s|| / ||b|| is at most tol.
    max_iter : int, default=1000
        Iteration limit; reaching it above tol raises :class:`ConvergenceError`.
    preconditioner : {"auto", "jacobi", "kronecker"}, default="auto"
        A name of ``models.linear.make_preconditioner``: "auto" is the Kronecker
        form for K classes on dense X with at most ``MAX_GRAM_FEATURES`` features and
        Jacobi otherwise. After a call, ``preconditioner_`` holds the name used.
    """

    name = "cg"

    def __init__(self, tol=DEFAULT_TOL, max_iter=1000, preconditioner="auto"):
        self.tol = tol
        self.max_iter = max_iter
        self.preconditioner = preconditioner

    def inverse_hvp(self, hessian, b):
        preconditioner = make_preconditioner(hessian, self.preconditioner)
        self.preconditioner_ = preconditioner.name
        self.n_gram_ = getattr(hessian, "n_gram", 0)
        s = np.zeros_like(b)
        r = b.copy()
        z = preconditioner.solve(r)
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
            z = preconditioner.solve(r)
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

    Meant for small parameter counts (at most ``models.linear.MAX_DENSE_PARAMETERS``).
    """

    name = "direct"

    def inverse_hvp(self, hessian, b):
        import scipy.linalg  # only the direct solver needs it

        factor = scipy.linalg.cho_factor(hessian.dense())
        s = scipy.linalg.cho_solve(factor, b)
        m = hessian.P.shape[1]
        self.n_gram_ = m * (m + 1) // 2  # the weighted Grams X^T diag(h[:, k, l]) X
        self.n_iter_ = 1
        self.residual_ = relative_residual(hessian, s, b)
        return s


#: Solver name -> builder from (tol, max_iter); the direct solver needs neither.
SOLVERS = {
    "cg": lambda tol, max_iter: ConjugateGradient(tol=tol, max_iter=max_iter),
    "direct": lambda tol, max_iter: Cholesky(),
}


def make_solver(name="cg", tol=DEFAULT_TOL, max_iter=1000):
    """Build the inverse-HVP solver called ``name`` (a key of :data:`SOLVERS`)."""
    if name not in SOLVERS:
        raise ValueError(f"unknown solver {name!r}; choose one of {', '.join(SOLVERS)}")
    return SOLVERS[name](tol, max_iter)


def influence_passes(solver):
    """Passes over the training X of one :func:`influence` call, after it ran.

    One for the probabilities of the Hessian, two per CG iteration and two for the
    true residual at the end, two for the scores (the logit gradients and X S), and
    one over X * X for a Jacobi diagonal; the direct solver's dense Hessian is counted
    in Gram matrices (``solver.n_gram_``) instead of CG's four per iteration. The
    validation gradient's two passes over X_val are not counted.

    Parameters
    ----------
    solver : InverseHVPSolver
        After :func:`influence` (``n_iter_`` and, for cg, ``preconditioner_`` set).

    Returns
    -------
    passes : int
    """
    if solver.name != "cg":
        return 1 + 2 + 2
    return 1 + 2 * solver.n_iter_ + 2 + 2 + int(solver.preconditioner_ == "jacobi")


def influence_work(solver):
    """The work of one :func:`influence` call as a run's JSON records it: solver,
    iterations, relative residual, passes over X (:func:`influence_passes`), Gram
    matrices and the preconditioner."""
    return dict(solver=solver.name, iterations=int(solver.n_iter_),
                residual=float(solver.residual_),
                passes=influence_passes(solver), grams=int(getattr(solver, "n_gram_", 0)),
                preconditioner=getattr(solver, "preconditioner_", None))


def check_solver_size(solver_name, n_parameters):
    """Refuse the direct solver before any work when its dense Hessian is too large.

    Raises
    ------
    models.linear.DenseHessianTooLarge
    """
    if solver_name == "direct":
        check_dense_size(n_parameters)


def sample_influence(model, W, X, y, s, C):
    """phi_i = -C G_i . (x_i S) for every training sample, in one pass over X.

    Parameters
    ----------
    model : models.linear.LinearModel
    W : ndarray of shape (n_features,) or (n_features, n_classes)
        Fitted weights.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training inputs.
    y : ndarray of shape (n_samples,)
        Observed training labels.
    s : ndarray of shape (W.size,)
        H^{-1} g_val.
    C : float
        Loss weight.

    Returns
    -------
    phi : ndarray of shape (n_samples,)
        Influence on C x summed validation loss; harmful where positive.

    Raises
    ------
    ValueError
        For labels that are not class indices of the model (the message names them).
    """
    return _phi(model, W, X, model.check_labels(y, "y"), s, C)


def _phi(model, W, X, y, s, C):
    """:func:`sample_influence` for labels already checked."""
    S = s.reshape(X.shape[1], -1)
    G = model.logit_gradients(W, X, y)
    return -C * np.sum(G * product(X, S), axis=1)


def influence(model, W, X_train, y_train, X_val, y_val, C, solver=None):
    """phi for every training sample of a linear model fitted at W.

    Parameters
    ----------
    model : models.linear.LinearModel
        ``models.logreg.Logistic()`` or ``models.softmax.Softmax(K)``.
    W : ndarray of shape (n_features,) or (n_features, n_classes)
        Weights fitted on (X_train, y_train) with no sample relabeled.
    X_train : ndarray or CSR matrix of shape (n_train, n_features)
    y_train : ndarray of shape (n_train,)
        Observed (possibly noisy) labels: {0, 1}, or 0 .. K - 1.
    X_val : ndarray or CSR matrix of shape (n_val, n_features)
    y_val : ndarray of shape (n_val,)
        Clean validation labels.
    C : float
        Loss weight of the fitted objective.
    solver : InverseHVPSolver, optional
        Defaults to ``ConjugateGradient()``; its ``n_iter_`` and ``residual_`` are
        set on return.

    Returns
    -------
    phi : ndarray of shape (n_train,)
        Influence of each training sample on C x summed validation loss.

    Raises
    ------
    ConvergenceError
        When cg stops above its tolerance (the message gives the residual).
    ValueError
        For labels that are not class indices of the model ({0, 1} or 0 .. K - 1);
        the message names the values found.
    """
    y_train = model.check_labels(y_train, "y_train")
    s = validation_direction(model, W, X_train, X_val, y_val, C, solver)
    return _phi(model, W, X_train, y_train, s, C)


def validation_direction(model, W, X_train, X_val, y_val, C, solver=None):
    """s = H^{-1} g_val, the one solve that phi and the relabel influence share.

    Parameters
    ----------
    model : models.linear.LinearModel
    W : ndarray of shape (n_features,) or (n_features, n_classes)
        Weights fitted on the training rows.
    X_train : ndarray or CSR matrix of shape (n_train, n_features)
        The rows of the Hessian H.
    X_val : ndarray or CSR matrix of shape (n_val, n_features)
    y_val : ndarray of shape (n_val,)
        Clean validation labels (class indices).
    C : float
    solver : InverseHVPSolver, optional
        Defaults to ``ConjugateGradient()``.

    Returns
    -------
    s : ndarray of shape (W.size,)
    """
    y_val = model.check_labels(y_val, "y_val")
    solver = ConjugateGradient() if solver is None else solver
    hessian = model.hessian(W, X_train, C)
    return solver.inverse_hvp(hessian, model.validation_gradient(W, X_val, y_val, C))


def class_directions(X, s):
    """u_i = x_i^T S for every sample, one product X S (docs/method.md section 7).

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    s : ndarray of shape (n_features * m,)
        H^{-1} g_val; m = 1 for the binary model, K for softmax.

    Returns
    -------
    U : ndarray of shape (n_samples, K)
        For the binary model, whose one logit is that of class 1, the column of
        class 0 is zero: the two-class softmax with W = [0, w] has the same
        probabilities, so the formulas of section 7 hold with K = 2.
    """
    U = np.asarray(product(X, s.reshape(X.shape[1], -1)))
    if U.shape[1] == 1:
        U = np.hstack([np.zeros_like(U), U])
    return U


def relabel_influence(model, X, y, s, C):
    """Delta_i(k) = C (u_ik - u_iy): relabeling sample i from y_i to class k.

    The first-order change of C x (summed validation loss) when sample i's label
    becomes k (docs/method.md section 7), for every sample and class at once.

    Parameters
    ----------
    model : models.linear.LinearModel
        Checks the labels against its classes.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Observed class indices.
    s : ndarray of shape (W.size,)
        H^{-1} g_val (:func:`validation_direction`).
    C : float

    Returns
    -------
    delta : ndarray of shape (n_samples, K)
        Zero at k = y_i; negative where the relabel lowers the validation loss.
    """
    y = model.check_labels(y, "y")
    U = class_directions(X, s)
    return C * (U - U[np.arange(len(y)), y][:, None])


def best_relabel(delta, y):
    """k* = argmin over k != y_i of Delta_i(k), and Delta_i(k*), for every sample.

    Parameters
    ----------
    delta : ndarray of shape (n_samples, K)
        :func:`relabel_influence`.
    y : ndarray of shape (n_samples,), int
        Observed class indices.

    Returns
    -------
    k_star : ndarray of shape (n_samples,), int64
    delta_star : ndarray of shape (n_samples,)
    """
    rows = np.arange(len(y))
    others = np.array(delta, dtype=float, copy=True)
    others[rows, y] = np.inf
    k_star = np.argmin(others, axis=1).astype(np.int64)
    return k_star, others[rows, k_star]


def relabel_beats_drop(delta_star, phi):
    """Per sample: does relabeling to k* lower the validation loss more than dropping?

    Dropping sample i changes C x (summed validation loss) by -phi_i to first order,
    relabeling it to k* by Delta_i(k*) (docs/method.md section 7).

    Parameters
    ----------
    delta_star : ndarray of shape (n_samples,)
    phi : ndarray of shape (n_samples,)

    Returns
    -------
    relabel : ndarray of bool, shape (n_samples,)
        ``delta_star < -phi``.
    """
    return np.asarray(delta_star) < -np.asarray(phi)


__all__ = ["ConjugateGradient", "Cholesky", "ConvergenceError", "DEFAULT_TOL",
           "DenseHessianTooLarge", "GramTooLarge", "InverseHVPSolver", "SOLVERS",
           "best_relabel", "check_solver_size", "class_directions", "influence",
           "influence_passes", "influence_work", "make_solver", "relabel_beats_drop", "relabel_influence",
           "relative_residual", "sample_influence", "validation_direction"]
