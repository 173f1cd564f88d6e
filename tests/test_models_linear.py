"""models/linear.py: one interface, checked for both models against finite differences
and against Hessians built densely, sample by sample, independently of the operator."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import softmax as softmax_rows

from builders import dense, softmax_data, train_val
from rdia.models import logreg, softmax
from rdia.models import linear
from rdia.models.linear import MAX_DENSE_PARAMETERS, DenseHessianTooLarge, LinearHessian
from rdia.models.logreg import Logistic
from rdia.models.softmax import Softmax

C = 0.1
K = 4


def fitted(kind, sparse=False):
    """(model, W, X, y, X_val, y_val) of a fitted binary or 4-class problem."""
    if kind == "binary":
        X, y, X_val, y_val, _ = train_val(n_train=300, d=6, sparse=sparse, seed=0)
        return Logistic(), logreg.fit(X, y, C, tol=1e-10), X, y, X_val, y_val
    X, y = softmax_data(n=360, d=5, k=K, sparse=sparse, seed=0)
    W = softmax.fit(X[:240], y[:240], C, n_classes=K, tol=1e-10)
    return Softmax(K), W, X[:240], y[:240], X[240:], y[240:]


def objective_gradient(kind, W, X, y):
    module = logreg if kind == "binary" else softmax
    return module.objective_gradient(W, X, y, C)


def summed_validation_loss(kind, W, X_val, y_val):
    """C x summed validation loss, the quantity g_val differentiates."""
    module = logreg if kind == "binary" else softmax
    return C * module.sample_losses(W, X_val, y_val).sum()


def explicit_hessian(kind, W, X):
    """I + C sum_i kron(x_i x_i^T, h_i), h_i the logit Hessian, built sample by sample."""
    Xd = dense(X)
    if kind == "binary":
        p = 1.0 / (1.0 + np.exp(-Xd @ W))
        curvatures = (p * (1 - p))[:, None, None]
    else:
        P = softmax_rows(Xd @ W, axis=1)
        curvatures = [np.diag(p) - np.outer(p, p) for p in P]
    H = np.eye(W.size)
    for x, h in zip(Xd, curvatures):
        H += C * np.kron(np.outer(x, x), h)
    return H


KINDS = ["binary", "softmax"]


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_validation_gradient_matches_finite_differences(kind, sparse):
    model, W, _, _, X_val, y_val = fitted(kind, sparse)
    eps = 1e-6
    numeric = [(summed_validation_loss(kind, W + eps * E.reshape(W.shape), X_val, y_val)
                - summed_validation_loss(kind, W - eps * E.reshape(W.shape), X_val, y_val))
               / (2 * eps) for E in np.eye(W.size)]
    np.testing.assert_allclose(model.validation_gradient(W, X_val, y_val, C), numeric,
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_hessian_vector_product_matches_finite_differences(kind, sparse):
    model, W, X, y, _, _ = fitted(kind, sparse)
    v = np.random.default_rng(7).normal(size=W.size)
    V, eps = v.reshape(W.shape), 1e-5
    numeric = (objective_gradient(kind, W + eps * V, X, y)
               - objective_gradient(kind, W - eps * V, X, y)) / (2 * eps)
    np.testing.assert_allclose(model.hessian(W, X, C).matvec(v), numeric.ravel(),
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_hessian_diagonal_and_dense_form(kind, sparse):
    model, W, X, _, _, _ = fitted(kind, sparse)
    hessian = model.hessian(W, X, C)
    H = explicit_hessian(kind, W, X)
    assert hessian.n_features == W.size
    np.testing.assert_allclose(hessian.dense(), H, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hessian.diagonal(), np.diag(H), rtol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_logit_gradients_are_those_of_the_objective(kind):
    """x_i^T G_i summed with W is the gradient of J: the per-sample pieces add up."""
    model, W, X, y, _, _ = fitted(kind)
    G = model.logit_gradients(W, X, y)
    assert G.shape == (len(y), model.n_columns)
    np.testing.assert_allclose((W.reshape(W.shape[0], -1) + C * X.T @ G).reshape(W.shape),
                               objective_gradient(kind, W, X, y), rtol=1e-12, atol=1e-14)


def test_binary_relabeled_gradient_is_that_of_the_flipped_label():
    model, w, X, y, _, _ = fitted("binary")
    mask = np.arange(len(y)) % 3 == 0
    flipped = np.where(mask, 1 - y, y)
    np.testing.assert_allclose(model.logit_gradients(w, X, y, relabeled=mask),
                               model.logit_gradients(w, X, flipped))


@pytest.mark.parametrize("kind", KINDS)
def test_evaluate_reports_mean_log_loss_accuracy_and_auc(kind):
    model, W, _, _, X_val, y_val = fitted(kind)
    scores = model.evaluate(W, X_val, y_val)
    module = logreg if kind == "binary" else softmax
    assert scores["logloss"] == pytest.approx(module.sample_losses(W, X_val, y_val).mean(),
                                              rel=1e-12)
    P = np.exp(model.log_proba(W, X_val))
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert scores["accuracy"] == np.mean(P.argmax(axis=1) == y_val)
    assert 0.5 < scores["auc"] <= 1.0
    # A set that misses a class has no AUC.
    assert model.evaluate(W, X_val[y_val == 1], y_val[y_val == 1])["auc"] is None


def test_dense_hessian_is_refused_above_the_limit():
    d = MAX_DENSE_PARAMETERS // 10 + 1
    X = sp.random(5, d, density=0.1, format="csr", random_state=0)
    hessian = LinearHessian(Softmax(10), X, np.full((5, 10), 0.1), C)
    with pytest.raises(DenseHessianTooLarge, match="use cg"):
        hessian.dense()


def explicit_mean_curvature(kind, W, X):
    """(1/n) sum_i h_i, built sample by sample."""
    Xd = dense(X)
    if kind == "binary":
        p = 1.0 / (1.0 + np.exp(-Xd @ W))
        return np.array([[np.mean(p * (1 - p))]])
    P = softmax_rows(Xd @ W, axis=1)
    return np.mean([np.diag(p) - np.outer(p, p) for p in P], axis=0)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_kronecker_preconditioner_inverts_its_dense_form(kind, sparse):
    """solve(r) = M^{-1} r for M = I + C kron(X^T X, h_mean), built densely here."""
    model, W, X, _, _, _ = fitted(kind, sparse)
    hessian = model.hessian(W, X, C)
    np.testing.assert_allclose(hessian.mean_curvature(), explicit_mean_curvature(kind, W, X),
                               rtol=1e-10, atol=1e-14)
    Xd = dense(X)
    M = np.eye(W.size) + C * np.kron(Xd.T @ Xd, explicit_mean_curvature(kind, W, X))
    r = np.random.default_rng(3).normal(size=W.size)
    preconditioner = linear.make_preconditioner(hessian, "kronecker")
    assert preconditioner.name == "kronecker"
    np.testing.assert_allclose(preconditioner.solve(r), np.linalg.solve(M, r), rtol=1e-9,
                               atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_jacobi_preconditioner_divides_by_the_hessian_diagonal(kind):
    model, W, X, _, _, _ = fitted(kind)
    r = np.random.default_rng(4).normal(size=W.size)
    preconditioner = linear.make_preconditioner(model.hessian(W, X, C), "jacobi")
    np.testing.assert_allclose(preconditioner.solve(r),
                               r / np.diag(explicit_hessian(kind, W, X)), rtol=1e-10)


def test_kronecker_preconditioner_is_exact_on_the_softmax_null_direction():
    """W -> W + v 1^T changes no probability, so H (v 1^T) = v 1^T; M keeps that.

    Each h_i = diag(p_i) - p_i p_i^T has h_i 1 = 0, so h_mean 1 = 0 as well and
    M^{-1} (v 1^T) = v 1^T: no iteration is spent on that direction.
    """
    model, W, X, _, _, _ = fitted("softmax")
    hessian = model.hessian(W, X, C)
    V = np.outer(np.random.default_rng(5).normal(size=W.shape[0]), np.ones(K)).ravel()
    np.testing.assert_allclose(hessian.matvec(V), V, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(linear.make_preconditioner(hessian, "kronecker").solve(V), V,
                               rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("kind, sparse, expected", [
    ("softmax", False, "kronecker"),   # K classes on dense X: the Kronecker form
    ("softmax", True, "jacobi"),       # sparse: no d x d matrix by default
    ("binary", False, "kronecker"),    # one logit column on dense X: the same form
    ("binary", True, "jacobi"),
])
def test_auto_preconditioner(kind, sparse, expected):
    model, W, X, _, _, _ = fitted(kind, sparse)
    assert linear.make_preconditioner(model.hessian(W, X, C), "auto").name == expected


def test_auto_preconditioner_is_jacobi_above_the_gram_limit():
    d = linear.MAX_GRAM_FEATURES + 1
    assert linear.default_preconditioner(np.zeros((3, d)), K) == "jacobi"
    assert linear.default_preconditioner(np.zeros((3, d - 1)), K) == "kronecker"


def test_kronecker_preconditioner_is_refused_above_the_gram_limit():
    d = linear.MAX_GRAM_FEATURES + 1
    X = sp.random(5, d, density=0.1, format="csr", random_state=0)
    hessian = LinearHessian(Softmax(3), X, np.full((5, 3), 1 / 3), C)
    with pytest.raises(linear.GramTooLarge, match="Jacobi"):
        linear.make_preconditioner(hessian, "kronecker")


def test_unknown_preconditioner_is_refused():
    model, W, X, _, _, _ = fitted("softmax")
    with pytest.raises(ValueError, match="auto or one of jacobi, kronecker"):
        linear.make_preconditioner(model.hessian(W, X, C), "ilu")


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("m", [1, 3, 10])
def test_products_equal_the_plain_matrix_products(sparse, m):
    rng = np.random.default_rng(m)
    X = sp.random(400, 30, density=0.3, format="csr", random_state=rng) if sparse \
        else rng.normal(size=(400, 30))
    V, B = rng.normal(size=(30, m)), rng.normal(size=(400, m))
    np.testing.assert_allclose(linear.product(X, V), dense(X) @ V, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(linear.transpose_product(X, B), dense(X).T @ B,
                               rtol=1e-12, atol=1e-12)
    assert linear.product(X, V).shape == (400, m)
    assert linear.transpose_product(X, B).shape == (30, m)


def test_the_gram_eigenpairs_of_an_array_are_computed_once_and_dropped_with_it():
    X = np.random.default_rng(6).normal(size=(50, 8))
    first = linear.gram_eigenpairs(X)
    assert linear.cached_gram(X) is first and linear.gram_eigenpairs(X) is first
    lam, U = first
    np.testing.assert_allclose(U @ np.diag(lam) @ U.T, X.T @ X, rtol=1e-10, atol=1e-10)
    same_values = X.copy()  # another array: its own eigenpairs, not X's
    assert linear.cached_gram(same_values) is None
    assert linear.gram_eigenpairs(same_values) is not first
    key = id(X)
    del X, first, lam, U
    import gc
    gc.collect()
    assert key not in linear._GRAM_CACHE


def test_sparse_gram_eigenpairs_are_not_kept():
    X = sp.random(40, 6, density=0.3, format="csr", random_state=1)
    linear.gram_eigenpairs(X)
    assert linear.cached_gram(X) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_auc_is_scikit_learns_with_ties(seed):
    """The exact AUC against sklearn.metrics.roc_auc_score, with many tied scores."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=301)
    scores = np.round(rng.normal(size=301) + y, 1)  # rounded: ties within and across
    assert linear.roc_auc(y == 1, scores) == pytest.approx(roc_auc_score(y, scores),
                                                         rel=1e-12)


def test_ranked_pairs_counts_ties_as_one_half():
    scores = np.array([0.1, 0.5, 0.5, 0.9])
    positive = np.array([False, True, False, True])
    # pairs (0.5+, 0.1-) 1, (0.5+, 0.5-) 1/2, (0.9+, 0.1-) 1, (0.9+, 0.5-) 1
    assert linear.ranked_pairs(scores, positive) == 3.5


@pytest.mark.parametrize("seed", [0, 1])
def test_evaluate_gives_scikit_learns_one_vs_rest_auc_for_k_classes(seed):
    from sklearn.metrics import roc_auc_score

    X, y = softmax_data(n=200, d=5, k=K, seed=seed)
    W = np.random.default_rng(seed).normal(size=(5, K))
    auc = Softmax(K).evaluate(W, X, y)["auc"]
    assert auc == pytest.approx(roc_auc_score(y, softmax.predict_proba(W, X),
                                              multi_class="ovr"), rel=1e-12)
