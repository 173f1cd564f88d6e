"""influence.py: derivatives, solvers and phi against explicit and refitted references."""

import numpy as np
import pytest
import scipy.sparse as sp

from scipy.special import softmax as softmax_rows

import influence
from models import logreg
from models import softmax
from builders import dense, digits_train_val, softmax_data, train_val

C = 0.1


def fitted_problem(sparse=False, n_train=300, d=6, seed=0):
    X, y, X_val, y_val, flipped = train_val(n_train=n_train, d=d, sparse=sparse, seed=seed)
    w = logreg.fit(X, y, C, tol=1e-10)
    return w, X, y, X_val, y_val, flipped


def explicit_phi(w, X, y, X_val, y_val):
    """phi from METHOD.md section 3 with H built and solved densely, independently."""
    Xd, Xv = dense(X), dense(X_val)
    p = 1.0 / (1.0 + np.exp(-Xd @ w))
    p_val = 1.0 / (1.0 + np.exp(-Xv @ w))
    H = np.eye(len(w)) + C * (Xd.T * (p * (1 - p))) @ Xd
    g_val = C * Xv.T @ (p_val - y_val)
    s = np.linalg.solve(H, g_val)
    return -C * (p - y) * (Xd @ s)


def validation_objective(w, X_val, y_val):
    """C x summed validation log-loss, the quantity phi differentiates."""
    return C * logreg.sample_losses(w, X_val, y_val).sum()


@pytest.mark.parametrize("sparse", [False, True])
def test_validation_gradient_matches_finite_differences(sparse):
    w, X, y, X_val, y_val, _ = fitted_problem(sparse)
    eps = 1e-6
    numeric = [(validation_objective(w + eps * e, X_val, y_val)
                - validation_objective(w - eps * e, X_val, y_val)) / (2 * eps)
               for e in np.eye(len(w))]
    np.testing.assert_allclose(influence.validation_gradient(w, X_val, y_val, C), numeric,
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
def test_hessian_vector_product_matches_finite_differences(sparse):
    w, X, y, _, _, _ = fitted_problem(sparse)
    v = np.random.default_rng(7).normal(size=len(w))
    eps = 1e-5
    numeric = (logreg.objective_gradient(w + eps * v, X, y, C)
               - logreg.objective_gradient(w - eps * v, X, y, C)) / (2 * eps)
    D = influence.hessian_weights(w, X)
    np.testing.assert_allclose(influence.hessian_vector_product(X, D, C, v), numeric,
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
def test_hessian_diagonal_and_dense_form(sparse):
    w, X, y, _, _, _ = fitted_problem(sparse)
    hessian = influence.LogisticHessian(X, influence.hessian_weights(w, X), C)
    Xd = dense(X)
    p = 1.0 / (1.0 + np.exp(-Xd @ w))
    H = np.eye(len(w)) + C * (Xd.T * (p * (1 - p))) @ Xd
    np.testing.assert_allclose(hessian.dense(), H, rtol=1e-12)
    np.testing.assert_allclose(hessian.diagonal(), np.diag(H), rtol=1e-12)


@pytest.mark.parametrize("solver", ["cg", "direct"])
@pytest.mark.parametrize("sparse", [False, True])
def test_phi_equals_explicit_hessian_solve(sparse, solver):
    w, X, y, X_val, y_val, _ = fitted_problem(sparse)
    phi = influence.influence(w, X, y, X_val, y_val, C, influence.make_solver(solver))
    np.testing.assert_allclose(phi, explicit_phi(w, X, y, X_val, y_val), rtol=1e-8,
                               atol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_cg_equals_direct(sparse):
    w, X, y, X_val, y_val, _ = fitted_problem(sparse, n_train=400, d=30, seed=3)
    cg = influence.ConjugateGradient()
    phi_cg = influence.influence(w, X, y, X_val, y_val, C, cg)
    phi_direct = influence.influence(w, X, y, X_val, y_val, C, influence.Cholesky())
    relative = np.linalg.norm(phi_cg - phi_direct) / np.linalg.norm(phi_direct)
    assert relative < 1e-6
    assert cg.n_iter_ >= 1 and cg.residual_ <= cg.tol


def test_cg_that_does_not_converge_says_so_with_its_residual():
    w, X, y, X_val, y_val, _ = fitted_problem(False, d=30)
    solver = influence.ConjugateGradient(tol=1e-14, max_iter=2)
    with pytest.raises(influence.ConvergenceError, match=r"relative residual \d\.\d+e"):
        influence.influence(w, X, y, X_val, y_val, C, solver)
    assert solver.n_iter_ == 2 and solver.residual_ > 1e-14


def test_direct_refuses_a_large_feature_count():
    X = sp.random(20, influence.MAX_DIRECT_FEATURES + 1, density=0.01, format="csr",
                  random_state=0)
    hessian = influence.LogisticHessian(X, np.full(20, 0.25), C)
    with pytest.raises(ValueError, match="use cg"):
        influence.Cholesky().inverse_hvp(hessian, np.ones(X.shape[1]))


@pytest.mark.parametrize("sparse", [False, True])
def test_phi_predicts_leave_one_out_retraining(sparse):
    """phi predicts the change of V = C x summed validation log-loss on removal.

    Up-weight sample i by eps in J_eps(w) = J(w) + eps C l_i(w). At the optimum,
    dw/deps = -H^{-1} C grad l_i, so dV/deps = grad V . dw/deps
    = -C grad l_i^T H^{-1} g_val = phi_i, with g_val = grad V = C sum_val grad l_j.
    Removing z_i is eps = -1, so to first order V(w_{-i}) - V(w) = -phi_i. The test
    refits without each sample and requires a Pearson correlation of at least 0.99
    between -phi_i and the actual change.
    """
    w, X, y, X_val, y_val, _ = fitted_problem(sparse, n_train=300, seed=11)
    phi = influence.influence(w, X, y, X_val, y_val, C)
    base = validation_objective(w, X_val, y_val)
    actual = np.empty(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        w_i = logreg.fit(X[keep], y[keep], C, tol=1e-10)
        actual[i] = validation_objective(w_i, X_val, y_val) - base
    assert np.corrcoef(-phi, actual)[0, 1] >= 0.99
    # The scale is right too, not only the direction.
    slope = np.polyfit(-phi, actual, 1)[0]
    assert 0.9 < slope < 1.1


# K classes: softmax regression (softmax.py) ------------------------------------------

K = 4


def fitted_softmax(sparse=False, n_train=240, n_val=120, d=5, seed=0):
    X, y = softmax_data(n=n_train + n_val, d=d, k=K, sparse=sparse, seed=seed)
    W = softmax.fit(X[:n_train], y[:n_train], C, n_classes=K, tol=1e-10)
    return W, X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def explicit_softmax_hessian(W, X):
    """I + C sum_i kron(x_i x_i^T, diag(p_i) - p_i p_i^T), built densely sample by sample.

    The row index of kron(A, B) is j * K + k, the C-order index of W[j, k].
    """
    Xd = dense(X)
    P = softmax_rows(Xd @ W, axis=1)
    H = np.eye(W.size)
    for x, p in zip(Xd, P):
        H += C * np.kron(np.outer(x, x), np.diag(p) - np.outer(p, p))
    return H


def explicit_softmax_phi(W, X, y, X_val, y_val):
    """phi = -C grad l_i^T H^{-1} g_val with H built and solved densely, independently."""
    Xd, Xv = dense(X), dense(X_val)
    residual = softmax_rows(Xd @ W, axis=1) - np.eye(W.shape[1])[y]
    residual_val = softmax_rows(Xv @ W, axis=1) - np.eye(W.shape[1])[y_val]
    g_val = C * (Xv.T @ residual_val).ravel()
    S = np.linalg.solve(explicit_softmax_hessian(W, X), g_val).reshape(W.shape)
    return -C * np.sum(residual * (Xd @ S), axis=1)


def softmax_validation_objective(W, X_val, y_val):
    """C x summed validation cross-entropy, the quantity softmax phi differentiates."""
    return C * softmax.sample_losses(W, X_val, y_val).sum()


@pytest.mark.parametrize("sparse", [False, True])
def test_softmax_validation_gradient_matches_finite_differences(sparse):
    W, _, _, X_val, y_val = fitted_softmax(sparse)
    eps = 1e-6
    numeric = [(softmax_validation_objective(W + eps * E.reshape(W.shape), X_val, y_val)
                - softmax_validation_objective(W - eps * E.reshape(W.shape), X_val, y_val))
               / (2 * eps) for E in np.eye(W.size)]
    np.testing.assert_allclose(influence.softmax_validation_gradient(W, X_val, y_val, C),
                               numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
def test_softmax_hessian_vector_product_matches_finite_differences(sparse):
    W, X, y, _, _ = fitted_softmax(sparse)
    v = np.random.default_rng(7).normal(size=W.size)
    V, eps = v.reshape(W.shape), 1e-5
    numeric = (softmax.objective_gradient(W + eps * V, X, y, C)
               - softmax.objective_gradient(W - eps * V, X, y, C)) / (2 * eps)
    P = softmax.predict_proba(W, X)
    np.testing.assert_allclose(influence.softmax_hessian_vector_product(X, P, C, v),
                               numeric.ravel(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
def test_softmax_hessian_diagonal_and_dense_form(sparse):
    W, X, _, _, _ = fitted_softmax(sparse)
    hessian = influence.SoftmaxHessian(X, softmax.predict_proba(W, X), C)
    H = explicit_softmax_hessian(W, X)
    assert hessian.n_features == W.size
    np.testing.assert_allclose(hessian.dense(), H, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hessian.diagonal(), np.diag(H), rtol=1e-10)


@pytest.mark.parametrize("solver", ["cg", "direct"])
@pytest.mark.parametrize("sparse", [False, True])
def test_softmax_phi_equals_explicit_hessian_solve(sparse, solver):
    W, X, y, X_val, y_val = fitted_softmax(sparse)
    phi = influence.softmax_influence(W, X, y, X_val, y_val, C, influence.make_solver(solver))
    np.testing.assert_allclose(phi, explicit_softmax_phi(W, X, y, X_val, y_val), rtol=1e-7,
                               atol=1e-12)


def test_softmax_cg_equals_direct_on_digits():
    X, y, X_val, y_val, _ = digits_train_val(n_train=300, n_val=150, seed=2)
    W = softmax.fit(X, y, C, n_classes=10, tol=1e-8)
    cg = influence.ConjugateGradient()
    phi_cg = influence.softmax_influence(W, X, y, X_val, y_val, C, cg)
    phi_direct = influence.softmax_influence(W, X, y, X_val, y_val, C, influence.Cholesky())
    relative = np.linalg.norm(phi_cg - phi_direct) / np.linalg.norm(phi_direct)
    assert relative < 1e-6
    assert 1 <= cg.n_iter_ < W.size and cg.residual_ <= cg.tol


def test_softmax_direct_refuses_a_large_parameter_count():
    d = influence.MAX_DIRECT_FEATURES // 10 + 1
    hessian = influence.SoftmaxHessian(sp.random(5, d, density=0.1, format="csr",
                                                 random_state=0), np.full((5, 10), 0.1), C)
    with pytest.raises(ValueError, match="use cg"):
        influence.Cholesky().inverse_hvp(hessian, np.ones(hessian.n_features))


def test_softmax_phi_predicts_leave_one_out_retraining_on_digits():
    """phi predicts the change of V = C x summed validation cross-entropy on removal.

    As for two classes: up-weighting z_i by eps in J_eps(W) = J(W) + eps C l_i(W) moves
    the optimum by dW/deps = -H^{-1} C grad l_i, with H the softmax Hessian on vec(W).
    So dV/deps = -C grad l_i^T H^{-1} g_val = phi_i, g_val = grad V, and removing z_i
    (eps = -1) changes V by about -phi_i: the units of phi, and of alpha, are those of
    the binary case. On 300 noisy digits (K = 10, d = 64) the test refits without each
    sample, warm-started at W, and requires a Pearson correlation of at least 0.99
    between -phi_i and the actual change, and a slope near 1.
    """
    X, y, X_val, y_val, _ = digits_train_val(n_train=300, n_val=150, noise=0.3, seed=0)
    W = softmax.fit(X, y, C, n_classes=10, tol=1e-10)
    phi = influence.softmax_influence(W, X, y, X_val, y_val, C)
    base = softmax_validation_objective(W, X_val, y_val)
    actual = np.empty(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        W_i = softmax.fit(X[keep], y[keep], C, n_classes=10, tol=1e-6, W0=W)
        actual[i] = softmax_validation_objective(W_i, X_val, y_val) - base
    assert np.corrcoef(-phi, actual)[0, 1] >= 0.99
    slope = np.polyfit(-phi, actual, 1)[0]
    assert 0.9 < slope < 1.1


def test_two_class_softmax_is_the_binary_model_with_twice_C():
    """With K = 2, softmax regression at C is logistic regression at 2C, and phi halves.

    Probabilities depend on W = [w_0, w_1] only through u = w_1 - w_0. For a fixed u,
    1/2 (|w_0|^2 + |w_1|^2) is smallest at w_1 = -w_0 = u / 2, where it is |u|^2 / 4, so

        min_W J_soft(W; C) = 1/2 min_u [1/2 |u|^2 + 2C sum_i l(u; z_i)] = J_bin(u; 2C) / 2:

    the softmax optimum is W = [-u/2, u/2] with u the binary optimum at 2C, and the
    probabilities agree.

    Influence. Write e = (-1, 1). The softmax gradient of a loss is grad_W l = r x (x) e
    (r = p_1 - y, the binary residual), so g_val^soft = (C sum_val r x) (x) e. On vectors
    a (x) e the softmax Hessian acts as
        H_soft (a (x) e) = (a + C sum_i p_i (1 - p_i) x_i x_i^T a |e|^2) (x) e
                         = (H_bin(2C) a) (x) e,           |e|^2 = 2,
    so s_soft = H_soft^{-1} g_val^soft = (H_bin(2C)^{-1} C sum_val r x) (x) e
    = (s_bin / 2) (x) e, where s_bin = H_bin(2C)^{-1} g_val^bin(2C) and
    g_val^bin(2C) = 2C sum_val r x. Then
        phi_soft_i = -C (r_i x_i (x) e) . s_soft = -C r_i x_i . s_bin
                   = (1/2) (-2C r_i x_i . s_bin) = phi_bin_i(2C) / 2.
    The factor 1/2 is the C of the softmax weight on l_i and g_val against the 2C of
    the binary run; the Hessians are the same operator.
    """
    X, y, X_val, y_val, _ = train_val(n_train=300, d=6, seed=4)
    w = logreg.fit(X, y, 2 * C, tol=1e-10)
    y_int, y_val_int = y.astype(int), y_val.astype(int)
    W = softmax.fit(X, y_int, C, n_classes=2, tol=1e-10)
    np.testing.assert_allclose(softmax.predict_proba(W, X_val)[:, 1],
                               logreg.predict_proba(w, X_val), atol=1e-6)
    np.testing.assert_allclose(W, np.stack([-w / 2, w / 2], axis=1), atol=1e-5)

    phi_binary = influence.influence(w, X, y, X_val, y_val, 2 * C)
    phi_softmax = influence.softmax_influence(W, X, y_int, X_val, y_val_int, C)
    np.testing.assert_allclose(phi_softmax, phi_binary / 2, rtol=1e-4, atol=1e-8)
    # At exactly corresponding weights the identity holds to rounding.
    direct = influence.make_solver("direct")
    phi_at_w = influence.softmax_influence(np.stack([-w / 2, w / 2], axis=1), X, y_int,
                                           X_val, y_val_int, C, direct)
    np.testing.assert_allclose(phi_at_w, influence.influence(w, X, y, X_val, y_val, 2 * C,
                                                             direct) / 2,
                               rtol=1e-9, atol=1e-14)
