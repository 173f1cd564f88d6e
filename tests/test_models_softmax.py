"""softmax.py: the multinomial objective, its gradient with R, and the fitted minimiser."""

import warnings

import numpy as np
import pytest
from scipy.special import softmax as softmax_rows
from sklearn.linear_model import LogisticRegression

from rdia import relabel
from rdia.models import softmax
from builders import dense, digits_train_val, softmax_data

C = 0.1


def relabeled_mask(n, share=0.3, seed=0):
    """A seeded mask marking about ``share`` of n samples as relabeled by R."""
    return np.random.default_rng(seed).random(n) < share


@pytest.mark.parametrize("with_R", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_gradient_matches_finite_differences(sparse, with_R):
    X, y = softmax_data(n=80, d=4, k=3, sparse=sparse, seed=1)
    relabeled = relabeled_mask(80) if with_R else None
    W = np.random.default_rng(2).normal(size=(4, 3))
    eps = 1e-6
    numeric = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[index] = eps
        numeric[index] = (softmax.objective(W + step, X, y, C, relabeled)
                          - softmax.objective(W - step, X, y, C, relabeled)) / (2 * eps)
    np.testing.assert_allclose(softmax.objective_gradient(W, X, y, C, relabeled), numeric,
                               rtol=1e-6, atol=1e-8)


def test_sample_losses_are_cross_entropy_and_l_R_where_relabeled():
    X, y = softmax_data(n=50, d=3, k=4, seed=3)
    W = np.random.default_rng(4).normal(size=(3, 4))
    p = softmax_rows(X @ W, axis=1)
    p_y = p[np.arange(50), y]
    relabeled = relabeled_mask(50, seed=5)
    expected = np.where(relabeled, -np.log(1 - p_y), -np.log(p_y))
    np.testing.assert_allclose(softmax.sample_losses(W, X, y, relabeled), expected,
                               rtol=1e-10)
    np.testing.assert_allclose(softmax.predict_proba(W, X), p, rtol=1e-12)


def test_l_R_keeps_the_clamp_of_relabel():
    X = np.array([[1.0]])
    W = np.array([[40.0, 0.0, 0.0]])  # p_0 = 1 - 8e-18, so 1 - p_0 is clamped
    loss = softmax.sample_losses(W, X, np.array([0]), np.array([True]))
    assert loss[0] == pytest.approx(-np.log(relabel.EPS))


@pytest.mark.parametrize("sparse", [False, True])
def test_fit_agrees_with_scikit_learn_multinomial(sparse):
    """Without relabeled samples J is sklearn's multinomial objective (l2, no intercept).

    scikit-learn 1.9 deprecates ``penalty``; its default l1_ratio=0 is the L2 penalty
    1/2 ||W||^2 with the loss weighted by C, the same J.
    """
    X, y = softmax_data(n=300, d=6, k=4, sparse=sparse, seed=6)
    W = softmax.fit(X, y, C, tol=1e-10)
    reference = LogisticRegression(C=C, fit_intercept=False, solver="lbfgs", tol=1e-12,
                                   max_iter=10000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference.fit(X, y)
    np.testing.assert_allclose(softmax.predict_proba(W, X), reference.predict_proba(X),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("sparse", [False, True])
def test_fit_with_relabeled_samples_is_stationary_and_lowers_their_p_y(sparse):
    X, y = softmax_data(n=200, d=5, k=4, sparse=sparse, seed=7)
    relabeled = relabeled_mask(200, share=0.1, seed=8)
    W = softmax.fit(X, y, C, relabeled=relabeled, tol=1e-8)
    assert np.abs(softmax.objective_gradient(W, X, y, C, relabeled)).max() < 1e-6
    W_plain = softmax.fit(X, y, C, tol=1e-8)
    rows = np.flatnonzero(relabeled)
    p_y = softmax.predict_proba(W, X)[rows, y[rows]]
    p_y_plain = softmax.predict_proba(W_plain, X)[rows, y[rows]]
    assert p_y.mean() < p_y_plain.mean()


def test_fit_keeps_a_column_for_a_class_that_is_absent():
    X, y = softmax_data(n=120, d=3, k=3, seed=9)
    present = y != 2
    W = softmax.fit(X[present], y[present], C, n_classes=3, tol=1e-8)
    assert W.shape == (3, 3)
    # No sample has class 2, so stationarity of column 2 reads W_2 = -C X^T p_2.
    p = softmax.predict_proba(W, X[present])
    np.testing.assert_allclose(W[:, 2], -C * dense(X[present]).T @ p[:, 2], atol=1e-7)
    assert p[:, 2].mean() < p[:, :2].mean(axis=0).min()


@pytest.mark.parametrize("method, name", [("newton", "trust-region Newton"),
                                          ("lbfgs", "L-BFGS")])
def test_fit_that_runs_out_of_iterations_says_so(method, name):
    X, y = softmax_data(n=120, d=4, k=3, seed=10)
    with pytest.raises(softmax.FitError, match=f"{name} reached its limit of 2 iterations"):
        softmax.fit(X, y, C, tol=1e-12, max_iter=2, method=method)


def test_unknown_method_is_refused():
    X, y = softmax_data(n=60, d=3, k=3, seed=10)
    with pytest.raises(ValueError, match="choose one of newton, lbfgs"):
        softmax.fit(X, y, C, method="sgd")


def k_class_problem(name):
    """(X, y, K): 500 noisy digits (dense, d = 64) or a sparse 4-class problem (d = 30)."""
    if name == "digits":
        X, y, _, _, _ = digits_train_val(n_train=500, n_val=10, noise=0.3, seed=1)
        return X, y, 10
    X, y = softmax_data(n=400, d=30, k=4, sparse=True, seed=3)
    return X, y, 4


def relative_difference(A, B):
    return np.linalg.norm(A - B) / np.linalg.norm(B)


@pytest.mark.parametrize("with_R", [False, True])
@pytest.mark.parametrize("data", ["digits", "sparse"])
def test_newton_fit_equals_lbfgs_fit(data, with_R):
    """Trust-region Newton and L-BFGS reach the same weights at a tight tolerance.

    With relabeled samples J is not convex, so both start from the same point, the
    weights of the plain fit (as a refit does).
    """
    X, y, K = k_class_problem(data)
    relabeled = relabeled_mask(len(y), share=0.1, seed=2) if with_R else None
    W0 = softmax.fit(X, y, C, n_classes=K, tol=1e-10, method="lbfgs") if with_R else None
    W_newton = softmax.fit(X, y, C, n_classes=K, relabeled=relabeled, tol=1e-10, W0=W0)
    W_lbfgs = softmax.fit(X, y, C, n_classes=K, relabeled=relabeled, tol=1e-10, W0=W0,
                          method="lbfgs")
    assert relative_difference(W_newton, W_lbfgs) < 1e-6
    assert np.abs(softmax.objective_gradient(W_newton, X, y, C, relabeled)).max() <= 1e-10


def test_newton_fit_needs_fewer_passes_over_X_than_lbfgs_on_digits():
    """Counted passes over X (J, its gradient, two per Hessian-vector product), not
    time. At tol 1e-8 on 500 digits (measured: 152 passes for L-BFGS, 78 for Newton
    with the Kronecker preconditioner, 134 with Jacobi) Newton needs at most 3/4 of
    L-BFGS's passes, and the Kronecker form fewer products than Jacobi."""
    X, y, K = k_class_problem("digits")
    fits = {name: softmax.minimise(X, y, C, n_classes=K, tol=1e-8, preconditioner=name)
            for name in ("jacobi", "kronecker")}
    lbfgs_fit = softmax.minimise(X, y, C, n_classes=K, tol=1e-8, method="lbfgs")
    for name, fit in fits.items():
        assert fit.preconditioner == name
        assert fit.n_gram == (name == "kronecker")
        assert (1 <= fit.n_diagonal <= fit.n_iter) if name == "jacobi" else fit.n_diagonal == 0
        assert fit.passes == fit.n_value + fit.n_gradient + 2 * fit.n_hvp + fit.n_diagonal
    assert fits["kronecker"].passes <= 0.75 * lbfgs_fit.passes
    assert fits["kronecker"].n_hvp < fits["jacobi"].n_hvp


def test_fit_is_scikit_learns_multinomial_fit_with_the_same_C_on_digits():
    """sklearn's C is this project's C: both weight the summed loss against 1/2 ||W||^2.

    (sklearn's newton-cg minimises the same J divided by C n, so its weights, as
    coef_.T, are ours; at 2C they are not.)
    """
    X, y, K = k_class_problem("digits")
    W = softmax.fit(X, y, C, n_classes=K, tol=1e-10)
    coefficients = {}
    for sk_C in (C, 2 * C):
        reference = LogisticRegression(C=sk_C, fit_intercept=False, solver="newton-cg",
                                       tol=1e-12, max_iter=1000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coefficients[sk_C] = reference.fit(X, y).coef_.T
    assert relative_difference(W, coefficients[C]) < 1e-6
    assert relative_difference(W, coefficients[2 * C]) > 0.1


def test_warm_start_reaches_the_same_minimiser_of_the_convex_fit():
    X, y, K = k_class_problem("digits")
    W_zero = softmax.Softmax(K, tol=1e-10).fit(X, y, C)
    W0 = np.random.default_rng(3).normal(size=W_zero.shape)
    assert relative_difference(softmax.Softmax(K, tol=1e-10).fit(X, y, C, W0=W0),
                               W_zero) < 1e-8


def test_complement_probabilities_leave_out_the_label_and_renormalise():
    log_p = np.log(softmax_rows(np.array([[40.0, 0.0, 0.0], [1.0, 2.0, 3.0]]), axis=1))
    q = np.exp(softmax.complement_log_proba(log_p, np.array([0, 2])))
    # Row 0: p_y = 1 - 8e-18, so 1 - p_y is 0 in floating point; q is still exact.
    np.testing.assert_allclose(q[0], [0.0, 0.5, 0.5], rtol=1e-14)
    e = np.exp([1.0, 2.0])
    np.testing.assert_allclose(q[1], [e[0] / e.sum(), e[1] / e.sum(), 0.0], rtol=1e-14)


@pytest.mark.parametrize("sparse", [False, True])
def test_hessian_with_relabeled_samples_matches_finite_differences(sparse):
    """H V of J with R (curvature h(p) - h(q) where relabeled) is the derivative of the
    gradient of ``objective_gradient``, which takes l_R's gradient from relabel.py."""
    X, y = softmax_data(n=80, d=4, k=3, sparse=sparse, seed=1)
    relabeled = relabeled_mask(80, seed=4)
    W = np.random.default_rng(2).normal(size=(4, 3))
    objective = softmax.SoftmaxObjective(X, y, C, 3, relabeled)
    V = np.random.default_rng(5).normal(size=W.shape)
    eps = 1e-5
    numeric = (softmax.objective_gradient(W + eps * V, X, y, C, relabeled)
               - softmax.objective_gradient(W - eps * V, X, y, C, relabeled)) / (2 * eps)
    hessian = objective.hessian(objective.evaluate(W.ravel()))
    np.testing.assert_allclose(hessian.matvec(V.ravel()), numeric.ravel(), rtol=1e-6,
                               atol=1e-8)
    # The dense form agrees with the products, and its loss part H - I is indefinite:
    # J with R is not convex for K > 2.
    H = np.column_stack([hessian.matvec(e) for e in np.eye(W.size)])
    np.testing.assert_allclose(hessian.dense(), H, rtol=1e-10, atol=1e-12)
    assert np.linalg.eigvalsh(H - np.eye(W.size)).min() < 0
