"""influence.py: derivatives, solvers and phi against explicit and refitted references."""

import numpy as np
import pytest
import scipy.sparse as sp

import influence
import logreg
from builders import dense, train_val

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
