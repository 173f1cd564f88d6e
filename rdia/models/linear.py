"""What every L2-regularised linear model of RDIA shares, written once.

Both models minimise, with no intercept (docs/method.md section 3),

    J(W) = 1/2 ||W||^2 + C * sum_i l(x_i W; y_i),

where x_i W are the logits of sample i: one column for binary logistic regression
(``logreg.py``, W of shape (d,)) and K columns for softmax regression
(``softmax.py``, W of shape (d, K)). Everything influence needs follows from two
per-sample quantities in logit space, which each model supplies:

- the logit gradients G (n, m): row i is the derivative of l_i with respect to its m
  logits, so grad_W l_i = x_i^T G_i;
- the logit curvature: the m x m Hessian of l_i with respect to its logits, applied
  through three methods of the model (``curvature_product``, ``curvature_diagonal``,
  ``curvature_block``) on the probability columns P (n, m) at the fitted W.

From them :class:`LinearModel` builds, for any model, the validation gradient
g_val = C X_val^T G_val and the training Hessian as an operator on vec(W)
(:class:`LinearHessian`), H = I + C sum_i (x_i^T x_i) (x) h_i, applied as
H V = V + C X^T B with B_i = h_i (x_i V). ``influence.py`` needs nothing else.

Weights are flattened in C order, vec(W)[j * m + k] = W[j, k]; X may be a dense
ndarray or a scipy CSR matrix and is never densified.

Conjugate gradients on H need a preconditioner M, an easily inverted approximation of
H, and two are here behind one small interface (:class:`Preconditioner`, ``solve(r)``
= M^{-1} r), built by name with :func:`make_preconditioner`:

- ``"jacobi"``: M = diag(H), one pass over X * X; any X, any width;
- ``"kronecker"``: M = I + C (X^T X) (x) h_mean, h_mean = (1/n) sum_i h_i, the
  Kronecker-factored approximation of H that replaces each logit curvature h_i by their
  mean. It is inverted through the eigendecompositions of the d x d Gram matrix X^T X
  (which does not depend on W) and of the m x m matrix h_mean, so it costs one Gram
  matrix and one d x d eigendecomposition per X, and applying it costs two products
  with d x d and m x m matrices. It keeps the null direction of the softmax curvature
  (h_i 1 = 0, so W + v 1^T changes no probability) exactly, which a per-class block
  preconditioner does not. Meant for dense X with at most MAX_GRAM_FEATURES features.

``"auto"`` (:func:`default_preconditioner`) picks the Kronecker form for K classes on
dense X up to MAX_GRAM_FEATURES features, Jacobi otherwise (binary, sparse or wide).
"""

import weakref
from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp

#: Parameter count (d * m) above which the dense Hessian is refused.
MAX_DENSE_PARAMETERS = 5000

#: Rows of dense X squared at once for the Hessian diagonal (bounds the temporary).
DIAGONAL_CHUNK = 4096

#: Feature count d above which no d x d Gram matrix is built for a preconditioner
#: (its eigendecomposition costs about d^3 operations; d = 784 for MNIST).
MAX_GRAM_FEATURES = 2048


def ranked_pairs(scores, positive):
    """Mann-Whitney count: pairs (positive, negative) with the positive scored higher.

    A pair with equal scores counts 1/2, as in ``sklearn.metrics.roc_auc_score``.

    Parameters
    ----------
    scores : ndarray of shape (n,)
    positive : ndarray of bool, shape (n,)

    Returns
    -------
    pairs : float
    """
    negatives = np.sort(scores[~positive])
    positives = scores[positive]
    below = np.searchsorted(negatives, positives, side="left")
    at_or_below = np.searchsorted(negatives, positives, side="right")
    return float(below.sum() + 0.5 * (at_or_below - below).sum())


def roc_auc(positive, scores):
    """Exact ROC AUC of ``scores`` for the bool labels ``positive``, a float.

    ``ranked_pairs`` over the n_pos * n_neg pairs; every sample's class must occur
    (the caller checks). One sort of the negatives' scores, O(n log n).
    """
    n_pos = int(positive.sum())
    return ranked_pairs(scores, positive) / (n_pos * (len(positive) - n_pos))


class DenseHessianTooLarge(ValueError):
    """The dense Hessian was asked for above MAX_DENSE_PARAMETERS parameters."""


class GramTooLarge(ValueError):
    """The Kronecker preconditioner was asked for above MAX_GRAM_FEATURES features."""


def check_dense_size(size):
    """Refuse to build a dense (size x size) Hessian above MAX_DENSE_PARAMETERS."""
    if size > MAX_DENSE_PARAMETERS:
        raise DenseHessianTooLarge(f"the direct solver builds a {size} x {size} Hessian; "
                                   f"it is meant for at most {MAX_DENSE_PARAMETERS} "
                                   f"parameters, use cg")


def weighted_gram(X, weights):
    """X^T diag(weights) X as a dense (d, d) array; for small d only (sparse X stays
    sparse until the d x d product)."""
    if sp.issparse(X):
        return (X.T @ sp.diags(weights) @ X).toarray()
    return X.T @ (weights[:, None] * X)


def check_gram_size(n_features):
    """Refuse to build a dense (d x d) Gram matrix above MAX_GRAM_FEATURES features.

    Raises
    ------
    GramTooLarge
    """
    if n_features > MAX_GRAM_FEATURES:
        raise GramTooLarge(f"the Kronecker preconditioner builds a {n_features} x "
                           f"{n_features} Gram matrix; it is meant for at most "
                           f"{MAX_GRAM_FEATURES} features, use the Jacobi preconditioner")


#: Eigenpairs of X^T X of the dense arrays X they were computed for, by id(X), with a
#: weak reference that tells a live X from a new array at a recycled address. An entry
#: goes when its X is freed. (No module of this project changes an X in place.)
_GRAM_CACHE = {}


def cached_gram(X):
    """The eigenpairs of X^T X computed earlier for this very array, or None."""
    entry = _GRAM_CACHE.get(id(X))
    return entry[1] if entry is not None and entry[0]() is X else None


def _remember_gram(X, eigenpairs):
    """Keep the eigenpairs of a dense X for as long as X lives."""
    key = id(X)
    _GRAM_CACHE[key] = (weakref.ref(X), eigenpairs)
    weakref.finalize(X, _GRAM_CACHE.pop, key, None)


def clear_gram_cache():
    """Forget every cached Gram matrix (a benchmark timing fits from scratch)."""
    _GRAM_CACHE.clear()


def gram_eigenpairs(X):
    """Eigenvalues and eigenvectors of the Gram matrix X^T X.

    For a dense X they are computed once per array and reused by every later call
    with the same array (:func:`cached_gram`): the fit, phi and the refits of a run on
    the same rows share one Gram matrix and one eigendecomposition.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        At most MAX_GRAM_FEATURES features; sparse X stays sparse until the d x d
        product.

    Returns
    -------
    eigenvalues : ndarray of shape (n_features,)
        Ascending, clipped at 0 (X^T X is positive semi-definite; rounding is not).
    eigenvectors : ndarray of shape (n_features, n_features)
        Orthonormal columns.

    Raises
    ------
    GramTooLarge
        Above MAX_GRAM_FEATURES features.
    """
    check_gram_size(X.shape[1])
    if sp.issparse(X):
        return _eigenpairs((X.T @ X).toarray())
    known = cached_gram(X)
    if known is not None:
        return known
    if X.dtype.kind == "f":  # in X's own precision: no float64 copy of X
        eigenpairs = _eigenpairs(X.T @ X)
    else:  # integers would overflow
        dense = np.asarray(X, dtype=float)
        eigenpairs = _eigenpairs(dense.T @ dense)
    _remember_gram(X, eigenpairs)
    return eigenpairs


def _eigenpairs(gram):
    """Ascending eigenvalues (clipped at 0) and eigenvectors of a Gram matrix.

    With one BLAS thread: the eigendecomposition of a d x d matrix (d <= 2,048) gains
    little from a second thread, and on a machine whose cores are busy OpenBLAS's
    threads wait for each other for many times the work itself.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(gram, dtype=float))
    return np.maximum(eigenvalues, 0.0), eigenvectors


def product(X, V):
    """X V, shape (n, m), for X of shape (n, d), dense or CSR, and V of shape (d, m).

    Dense X is multiplied as (V^T X^T)^T: for few columns m OpenBLAS runs that form
    about 1.7 times faster (60,000 x 257 by 257 x 10, one thread: 24 ms against 40).
    """
    if sp.issparse(X):
        return np.asarray(X @ V)
    return (V.T @ X.T).T


def transpose_product(X, B):
    """X^T B, shape (d, m), for X of shape (n, d), dense or CSR, and B of shape (n, m).

    Dense X is multiplied as (B^T X)^T, for the reason given in :func:`product`
    (23 ms against 41 on the same shapes).
    """
    if sp.issparse(X):
        return np.asarray(X.T @ B)
    return (B.T @ X).T


def squared_columns_product(X, weights):
    """(X * X)^T weights, shape (d, m), for X (n, d) and weights (n, m).

    Dense X is squared a block of rows at a time, so no second n x d array exists.
    """
    if sp.issparse(X):
        return np.asarray(X.multiply(X).T @ weights)
    total = np.zeros((X.shape[1], weights.shape[1]))
    for start in range(0, X.shape[0], DIAGONAL_CHUNK):
        rows = slice(start, start + DIAGONAL_CHUNK)
        total += np.square(X[rows]).T @ weights[rows]
    return total


def weighted_rows(values, weights):
    """``values`` (n,) or (n, m) with row i multiplied by weights[i]; as is for None."""
    if weights is None:
        return values
    return values * (weights if values.ndim == 1 else weights[:, None])


class WeightedCurvature:
    """The logit curvature of ``curvature`` with sample i's weighted by weights[i].

    The Hessian of J = 1/2 |W|^2 + C sum_i weights_i l_i, in the ``curvature_*``
    interface that :class:`LinearHessian` reads; rows of weight 0 are left out of J
    without a copy of X.

    Parameters
    ----------
    curvature : object with ``curvature_product``, ``curvature_diagonal`` and
        ``curvature_block`` (a LinearModel, or softmax's ``RelabeledCurvature``)
    weights : ndarray of shape (n_samples,)
        Non-negative row weights.
    """

    def __init__(self, curvature, weights):
        self.curvature = curvature
        self.weights = weights

    def curvature_product(self, P, A):
        return weighted_rows(self.curvature.curvature_product(P, A), self.weights)

    def curvature_diagonal(self, P):
        return weighted_rows(self.curvature.curvature_diagonal(P), self.weights)

    def curvature_block(self, P, k, l):
        return weighted_rows(self.curvature.curvature_block(P, k, l), self.weights)


def weighted_curvature(curvature, weights):
    """``curvature``, or its :class:`WeightedCurvature` when weights are given."""
    return curvature if weights is None else WeightedCurvature(curvature, weights)


class LinearHessian:
    """The training-set Hessian H = I + C sum_i (x_i^T x_i) (x) h_i as an operator.

    Parameters
    ----------
    model : LinearModel
        Supplies the logit curvature h_i through ``curvature_*``.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training inputs.
    P : ndarray of shape (n_samples, m)
        Probability columns of the training samples at the fitted weights.
    C : float
        Loss weight.

    gram : tuple of ndarray, optional
        ``gram_eigenpairs(X)``, when already computed for this X (a fit reuses it at
        every iterate); computed on first use by the Kronecker preconditioner otherwise.

    Attributes
    ----------
    n_features : int
        Size d * m of the parameter vector vec(W).
    n_gram : int
        Gram matrices X^T X this operator computed (0 or 1; 0 when given or cached).
    """

    def __init__(self, model, X, P, C, gram=None):
        self.model = model
        self.X = X
        self.P = P
        self.C = C
        self.gram = gram
        self.n_gram = 0

    @property
    def n_features(self):
        return self.X.shape[1] * self.P.shape[1]

    def matvec(self, v):
        """H v = vec(V + C X^T B), B_i = h_i (x_i V), V = v as (d, m); shape (d * m,)."""
        V = v.reshape(self.X.shape[1], self.P.shape[1])
        B = self.model.curvature_product(self.P, product(self.X, V))
        return (V + self.C * transpose_product(self.X, B)).ravel()

    def diagonal(self):
        """diag(H)[(j, k)] = 1 + C sum_i x_ij^2 h_i[k, k], flattened; shape (d * m,)."""
        curvature = self.model.curvature_diagonal(self.P)
        return 1.0 + self.C * squared_columns_product(self.X, curvature).ravel()

    def mean_curvature(self):
        """h_mean = (1/n) sum_i h_i, the mean logit curvature, shape (m, m)."""
        m = self.P.shape[1]
        mean = np.empty((m, m))
        for k in range(m):
            for l in range(k, m):
                mean[k, l] = mean[l, k] = self.model.curvature_block(self.P, k, l).mean()
        return mean

    def gram_eigenpairs(self):
        """Eigenpairs of X^T X (:func:`gram_eigenpairs`), computed once per operator
        (and once per dense X: a cached Gram is not counted in ``n_gram``)."""
        if self.gram is None:
            self.n_gram = int(sp.issparse(self.X) or cached_gram(self.X) is None)
            self.gram = gram_eigenpairs(self.X)
        return self.gram

    def dense(self):
        """H as a dense (d m, d m) array, for small d * m only.

        Block (k, l) of the (d, m, d, m) array is X^T diag(h[:, k, l]) X.
        """
        check_dense_size(self.n_features)
        d, m = self.X.shape[1], self.P.shape[1]
        H = np.zeros((d, m, d, m))
        for k in range(m):
            for l in range(k, m):
                block = weighted_gram(self.X, self.model.curvature_block(self.P, k, l))
                H[:, k, :, l] = H[:, l, :, k] = block
        return np.eye(d * m) + self.C * H.reshape(d * m, d * m)


class Preconditioner:
    """A symmetric positive definite approximation M of a :class:`LinearHessian`.

    Subclasses implement :meth:`solve`; ``name`` is their key in
    :data:`PRECONDITIONERS`.
    """

    name = "base"

    def solve(self, r):
        """M^{-1} r, shape (d * m,), for r of shape (d * m,)."""
        raise NotImplementedError


class JacobiPreconditioner(Preconditioner):
    """M = diag(H).

    Parameters
    ----------
    diagonal : ndarray of shape (d * m,)
        diag(H), every entry >= 1.
    """

    name = "jacobi"

    def __init__(self, diagonal):
        self.inverse_diagonal = 1.0 / diagonal

    @classmethod
    def from_hessian(cls, hessian):
        """The Jacobi preconditioner of ``hessian`` (one pass over X * X)."""
        return cls(hessian.diagonal())

    def solve(self, r):
        return self.inverse_diagonal * r


class KroneckerPreconditioner(Preconditioner):
    """M = I + C G (x) B: the Hessian with every logit curvature h_i replaced by B.

    With G = X^T X = U diag(lam) U^T and B = Q diag(mu) Q^T,
    M^{-1} = (U (x) Q) diag(1 / (1 + C lam_j mu_k)) (U (x) Q)^T, applied to R = r as a
    (d, m) matrix as U ((U^T R Q) / (1 + C lam mu^T)) Q^T.

    Parameters
    ----------
    gram : tuple of ndarray
        ``(lam, U)`` of G, shapes (d,) and (d, d), from :func:`gram_eigenpairs`.
    curvature : ndarray of shape (m, m)
        B, symmetric positive semi-definite (B = h_mean = (1/n) sum_i h_i).
    C : float
        Loss weight.
    """

    name = "kronecker"

    def __init__(self, gram, curvature, C):
        lam, self.U = gram
        mu, self.Q = np.linalg.eigh(curvature)
        self.denominator = 1.0 + C * np.outer(lam, np.maximum(mu, 0.0))

    @classmethod
    def from_hessian(cls, hessian):
        """I + C (X^T X) (x) h_mean of ``hessian``; no pass over X once G is known.

        Raises
        ------
        GramTooLarge
            Above MAX_GRAM_FEATURES features.
        """
        return cls(hessian.gram_eigenpairs(), hessian.mean_curvature(), hessian.C)

    def solve(self, r):
        R = r.reshape(self.denominator.shape)
        rotated = self.U.T @ R @ self.Q
        return (self.U @ (rotated / self.denominator) @ self.Q.T).ravel()


#: Preconditioner name -> builder from a LinearHessian.
PRECONDITIONERS = {
    "jacobi": JacobiPreconditioner.from_hessian,
    "kronecker": KroneckerPreconditioner.from_hessian,
}


def default_preconditioner(X, n_columns):
    """The preconditioner ``"auto"`` stands for, a key of :data:`PRECONDITIONERS`.

    ``"kronecker"`` on dense X with at most MAX_GRAM_FEATURES features, for K logit
    columns and for one (binary: M = I + C mean_i(p_i (1 - p_i)) X^T X); ``"jacobi"``
    for sparse or wide X, where no d x d matrix is built. On MNIST 1 vs 7 at noise 0.8
    (9,088 x 784) phi took 204 CG iterations with Jacobi and 10 with the Kronecker form
    at tol 1e-10, and the Newton fit 559 passes over X against 45.
    """
    del n_columns  # the choice is the same for one logit column and for K
    if not sp.issparse(X) and X.shape[1] <= MAX_GRAM_FEATURES:
        return "kronecker"
    return "jacobi"


def make_preconditioner(hessian, name="auto"):
    """The preconditioner ``name`` (``"auto"`` or a key of PRECONDITIONERS) of ``hessian``.

    Parameters
    ----------
    hessian : LinearHessian, or any operator with ``matvec`` and ``diagonal``
    name : str, default="auto"
        ``"auto"`` picks :func:`default_preconditioner`; an operator without the
        data (``X``), such as the map-reduce Hessian of the sharded engines, gets
        ``"jacobi"``, which needs only its diagonal.

    Returns
    -------
    preconditioner : Preconditioner

    Raises
    ------
    ValueError
        For an unknown name; :class:`GramTooLarge` for ``"kronecker"`` on too many
        features.
    """
    if name == "auto":
        name = (default_preconditioner(hessian.X, hessian.P.shape[1])
                if hasattr(hessian, "X") else "jacobi")
    if name not in PRECONDITIONERS:
        raise ValueError(f"unknown preconditioner {name!r}; choose auto or one of "
                         f"{', '.join(PRECONDITIONERS)}")
    return PRECONDITIONERS[name](hessian)


@dataclass
class FitResult:
    """Fitted weights and the work of the fit, counted in passes over X.

    Attributes
    ----------
    W : ndarray of shape (n_features,) or (n_features, n_classes)
        The weights, in the shape of the model (binary: one vector).
    method : str
        "newton", "lbfgs" or "liblinear".
    n_iter : int
        Iterations (trust-region steps tried, L-BFGS iterations, or liblinear's
        Newton iterations).
    n_value, n_gradient : int or None
        Products X W (for J) and X^T G (for its gradient); one pass over X each.
        None where the learner does not report them (liblinear).
    n_hvp : int
        Hessian-vector products, two passes over X each.
    n_diagonal : int
        Jacobi preconditioners, one pass over X * X each.
    n_gram : int
        Gram matrices X^T X (n d^2 multiply-adds each, d / K passes' worth).
    preconditioner : str or None
        The preconditioner of the Newton steps.
    message : str
    """

    W: np.ndarray
    method: str
    n_iter: int
    n_value: Optional[int]
    n_gradient: Optional[int]
    n_hvp: int = 0
    n_diagonal: int = 0
    n_gram: int = 0
    preconditioner: Optional[str] = None
    message: str = ""

    @property
    def passes(self):
        """Passes over X (or X * X) with m columns, the Gram matrices not included;
        None where the learner does not count them."""
        if self.n_value is None or self.n_gradient is None:
            return None
        return self.n_value + self.n_gradient + 2 * self.n_hvp + self.n_diagonal

    def work(self):
        """The work of the fit as a run's JSON records it: learner, iterations,
        Hessian-vector products, passes over X (None for liblinear), Gram matrices and
        the preconditioner."""
        return dict(learner=self.method, iterations=int(self.n_iter), hvp=int(self.n_hvp),
                    passes=self.passes, grams=int(self.n_gram),
                    preconditioner=self.preconditioner)


class FitError(RuntimeError):
    """A fit (Newton or L-BFGS) ran out of iterations before reaching its tolerance."""


def check_newton_result(result, max_iter, tol):
    """Raise FitError when the Newton fit stopped at its iteration limit above tol.

    A stop because J no longer decreases in floating point is accepted: that is the
    numerical minimiser.
    """
    if not result.converged and result.n_iter == max_iter:
        raise FitError(f"trust-region Newton reached its limit of {max_iter} iterations "
                       f"with largest gradient entry {result.gradient_max:.1e} > tol "
                       f"{tol:.1e}")


class NewtonObjective:
    """What the Newton fits of every linear model share: pass counts and preconditioner.

    A subclass supplies ``evaluate``, ``gradient`` and ``hessian`` for
    ``models.newton.minimise`` and :meth:`plain_hessian`; it increments
    ``n_value`` for every product X W (one pass over X) and ``n_gradient`` for every
    X^T G (one pass). This class builds the preconditioner at each iterate, counting
    ``n_diagonal`` Jacobi diagonals (one pass over X * X each) and ``n_gram`` Gram
    matrices X^T X computed (n d^2 multiply-adds; once per dense X, then reused at
    every iterate and by later fits and solves on the same array).

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    C : float
    preconditioner : str
        A name of :func:`make_preconditioner`.
    """

    def __init__(self, X, C, preconditioner="auto"):
        self.X, self.C = X, C
        self.preconditioner_name = preconditioner
        self.preconditioner_used = None
        self.gram = None
        self.n_value = self.n_gradient = self.n_diagonal = self.n_gram = 0

    def plain_hessian(self, point):
        """The positive semi-definite Hessian the preconditioner approximates, a
        :class:`LinearHessian` (its ``gram`` is filled in here)."""
        raise NotImplementedError

    def preconditioner(self, point):
        """The preconditioner of :meth:`plain_hessian` at the point."""
        hessian = self.plain_hessian(point)
        hessian.gram = self.gram
        preconditioner = make_preconditioner(hessian, self.preconditioner_name)
        self.n_gram += hessian.n_gram
        self.gram = hessian.gram
        if preconditioner.name == "jacobi":
            self.n_diagonal += 1
        self.preconditioner_used = preconditioner.name
        return preconditioner

    def fit_result(self, result, W):
        """The :class:`FitResult` of a ``models.newton.NewtonResult`` of this objective."""
        return FitResult(W=W, method="newton", n_iter=result.n_iter,
                         n_value=self.n_value, n_gradient=self.n_gradient,
                         n_hvp=result.n_hvp, n_diagonal=self.n_diagonal,
                         n_gram=self.n_gram, preconditioner=self.preconditioner_used,
                         message=result.message)


class LinearModel:
    """The interface of an L2 linear model, and the parts written once for all.

    Subclasses set ``n_classes`` and ``n_columns`` (m, logits per sample) and
    implement :meth:`minimise`, :meth:`log_proba`, :meth:`probability_columns`,
    :meth:`logit_gradients` and the three ``curvature_*`` methods. They hold no fitted state: weights are passed in.
    """

    n_classes = 2
    n_columns = 1

    def minimise(self, X, y, C, relabeled=None, W0=None, weights=None):
        """Minimise J on (X, y); samples in the bool mask ``relabeled`` train with R.

        ``W0`` is a starting point where the learner accepts one (the Newton and
        L-BFGS fits), and is ignored where it does not (liblinear). ``weights``
        (n_samples,), non-negative, weigh each sample's loss in J (default 1): a
        subset of the rows is fitted, without a copy of X, by giving the others 0.

        Returns
        -------
        result : FitResult
            The weights and the passes over X that the fit took.
        """
        raise NotImplementedError

    def fit(self, X, y, C, relabeled=None, W0=None, weights=None):
        """The weights of :meth:`minimise`, shape (n_features,) or (n_features, K)."""
        return self.minimise(X, y, C, relabeled, W0, weights).W

    def check_labels(self, y, name="y"):
        """Labels as class indices, or a ValueError that names the values found.

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Class indices: {0, 1} for a binary model, 0 .. K - 1 for K classes. Floats
            with integer values (1.0) are accepted; {-1, +1}, {2, 4} or strings are
            not (encode them first, e.g. with ``sklearn.preprocessing.LabelEncoder``).
        name : str
            Name of the argument in the message.

        Returns
        -------
        y : ndarray of shape (n_samples,), int64

        Raises
        ------
        ValueError
            For labels of another shape, type or range.
        """
        y = np.asarray(y)
        allowed = "{0, 1}" if self.n_classes == 2 else f"0 .. {self.n_classes - 1}"
        if y.ndim != 1:
            raise ValueError(f"{name} must be one label per sample, shape (n,), "
                             f"got shape {y.shape}")
        values = np.unique(y)
        numeric = y.dtype.kind in "biu" or (y.dtype.kind == "f"
                                            and np.all(np.isfinite(values))
                                            and np.all(values == np.round(values)))
        if not numeric or not np.all((values >= 0) & (values < self.n_classes)):
            found = ", ".join(format(v, "g") if isinstance(v, np.floating) else str(v)
                              for v in values[:6]) + (", ..." if len(values) > 6 else "")
            raise ValueError(f"{name} must hold class indices in {allowed}; found "
                             f"{found}; encode the labels first (e.g. with "
                             f"sklearn.preprocessing.LabelEncoder)")
        return y.astype(np.int64)

    def log_proba(self, W, X):
        """log p_ik of every sample and class, shape (n_samples, n_classes)."""
        raise NotImplementedError

    def probability_columns(self, W, X):
        """The probabilities that the logit curvature is a function of, shape (n, m)."""
        raise NotImplementedError

    def logit_gradients(self, W, X, y, relabeled=None):
        """Derivative of every sample's loss with respect to its logits, shape (n, m)."""
        raise NotImplementedError

    def curvature_product(self, P, A):
        """h_i a_i for every sample: logit Hessians applied to A (n, m), shape (n, m)."""
        raise NotImplementedError

    def curvature_diagonal(self, P):
        """Diagonals h_i[k, k] of the logit Hessians, shape (n, m)."""
        raise NotImplementedError

    def curvature_block(self, P, k, l):
        """Entries h_i[k, l] of the logit Hessians, shape (n,)."""
        raise NotImplementedError

    def validation_gradient(self, W, X_val, y_val, C):
        """g_val = C X_val^T G_val, the gradient of C x summed validation loss (no L2).

        Returns
        -------
        g_val : ndarray of shape (n_features * m,)
        """
        G = self.logit_gradients(W, X_val, y_val)
        return C * np.asarray(X_val.T @ G).ravel()

    def hessian(self, W, X, C):
        """The training Hessian of J at W as a :class:`LinearHessian` operator."""
        return LinearHessian(self, X, self.probability_columns(W, X), C)

    def objective(self, X, y, C, relabeled=None, weights=None):
        """J on (X, y) as ``models.newton.minimise`` sees it (a :class:`NewtonObjective`),
        R applied to the rows in ``relabeled``; the engines sum it over partitions."""
        raise NotImplementedError

    def newton_tolerance(self, gradient_at_zero):
        """The bound on max |grad J| at which the Newton fit of :meth:`minimise` stops,
        given grad J(0) (the binary model's tolerance is relative to it)."""
        raise NotImplementedError

    def evaluate(self, W, X, y):
        """Mean log-loss (nats), accuracy and ROC AUC of weights W on (X, y).

        The AUC is one-vs-rest, macro-averaged over the K classes (the plain AUC for
        two; :func:`roc_auc`, equal to scikit-learn's ``roc_auc_score(...,
        multi_class="ovr")``); None when a class is missing from y. One pass over X
        gives all three.

        Returns
        -------
        scores : dict
            ``logloss``, ``accuracy`` (floats) and ``auc`` (float or None).
        """
        return self.scores(self.log_proba(W, X), y)

    def scores(self, log_p, y):
        """The scores of :meth:`evaluate` from log-probabilities (n, K) and labels."""
        y = np.asarray(y, dtype=np.int64)
        P = np.exp(log_p)
        auc = None
        if len(np.unique(y)) == self.n_classes:
            positive_columns = [1] if self.n_classes == 2 else range(self.n_classes)
            auc = float(np.mean([roc_auc(y == k, P[:, k]) for k in positive_columns]))
        return dict(logloss=float(-log_p[np.arange(len(y)), y].mean()),
                    accuracy=float(np.mean(P.argmax(axis=1) == y)),
                    auc=auc)
