"""softmax.py: the multinomial objective, its gradient with R, and the fitted minimiser."""

import warnings

import numpy as np
import pytest
from scipy.special import softmax as softmax_rows
from sklearn.linear_model import LogisticRegression

import relabel
from models import softmax
from builders import dense, softmax_data

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


def test_fit_that_runs_out_of_iterations_says_so():
    X, y = softmax_data(n=120, d=4, k=3, seed=10)
    with pytest.raises(softmax.FitError, match="limit of 2 iterations"):
        softmax.fit(X, y, C, tol=1e-12, max_iter=2)
