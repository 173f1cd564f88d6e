"""models/linear.py: one interface, checked for both models against finite differences
and against Hessians built densely, sample by sample, independently of the operator."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import softmax as softmax_rows

from builders import dense, softmax_data, train_val
from models import logreg, softmax
from models.linear import MAX_DENSE_PARAMETERS, DenseHessianTooLarge, LinearHessian
from models.logreg import Logistic
from models.softmax import Softmax

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
