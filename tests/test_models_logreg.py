"""logreg.py: the objective, its gradient and the fitted minimiser."""

import numpy as np
import pytest

from models import logreg
from builders import logistic_data

C = 0.1


@pytest.mark.parametrize("sparse", [False, True])
def test_gradient_matches_finite_differences(sparse):
    X, y, _ = logistic_data(n=80, d=5, sparse=sparse, seed=1)
    w = np.random.default_rng(2).normal(size=5)
    eps = 1e-6
    numeric = np.array([(logreg.objective(w + eps * e, X, y, C)
                         - logreg.objective(w - eps * e, X, y, C)) / (2 * eps)
                        for e in np.eye(5)])
    np.testing.assert_allclose(logreg.objective_gradient(w, X, y, C), numeric,
                               rtol=1e-6, atol=1e-8)


def test_sample_losses_are_the_log_loss():
    X, y, _ = logistic_data(n=50, d=3, seed=3)
    w = np.array([0.5, -1.0, 2.0])
    p = 1.0 / (1.0 + np.exp(-X @ w))
    expected = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(logreg.sample_losses(w, X, y), expected, rtol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_fit_reaches_the_minimiser(sparse):
    X, y, _ = logistic_data(n=300, d=6, sparse=sparse, seed=4)
    w = logreg.fit(X, y, C)
    assert np.linalg.norm(logreg.objective_gradient(w, X, y, C)) < 1e-5
    # liblinear and the L-BFGS fallback minimise the same J.
    np.testing.assert_allclose(w, logreg._fit_lbfgs(X, y, C, 1e-10), atol=1e-5)


def test_fit_with_a_single_class_still_minimises_J():
    X, _, _ = logistic_data(n=60, d=4, seed=5)
    y = np.ones(60)
    w = logreg.fit(X, y, C)
    assert np.linalg.norm(logreg.objective_gradient(w, X, y, C)) < 1e-6
    assert np.all(logreg.predict_proba(w, X).mean() > 0.5)
