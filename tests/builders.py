"""Seeded data builders shared by the tests."""

import numpy as np
import scipy.sparse as sp


def logistic_data(n=300, d=6, sparse=False, noise=0.2, seed=0):
    """A binary problem drawn from a logistic model, with some labels flipped.

    Parameters
    ----------
    n, d : int
        Samples and features.
    sparse : bool
        Return X as CSR with about 40% non-zeros instead of a dense array.
    noise : float
        Fraction of labels flipped after drawing them from the model.
    seed : int
        Seed of everything.

    Returns
    -------
    X : ndarray or CSR matrix of shape (n, d)
    y : ndarray of shape (n,), labels in {0, 1} after flipping
    flipped : ndarray of bool, shape (n,)
    """
    rng = np.random.default_rng(seed)
    if sparse:
        X = sp.random(n, d, density=0.4, format="csr", random_state=rng,
                      data_rvs=lambda k: rng.normal(size=k))
    else:
        X = rng.normal(size=(n, d))
    w_true = rng.normal(size=d) * 1.5
    p = 1.0 / (1.0 + np.exp(-np.asarray(X @ w_true).ravel()))
    y = (rng.random(n) < p).astype(float)
    flipped = np.zeros(n, dtype=bool)
    flipped[rng.choice(n, int(noise * n), replace=False)] = True
    y[flipped] = 1.0 - y[flipped]
    return X, y, flipped


def train_val(n_train=300, n_val=150, d=6, sparse=False, noise=0.2, seed=0):
    """A noisy training set and a clean validation set from the same model."""
    X, y, flipped = logistic_data(n_train + n_val, d, sparse, 0.0, seed)
    rng = np.random.default_rng(seed + 1)
    y_train = y[:n_train].copy()
    flipped = np.zeros(n_train, dtype=bool)
    flipped[rng.choice(n_train, int(noise * n_train), replace=False)] = True
    y_train[flipped] = 1.0 - y_train[flipped]
    return X[:n_train], y_train, X[n_train:], y[n_train:], flipped


def dense(X):
    """X as a dense array (test-side reference computations on small data only)."""
    return X.toarray() if sp.issparse(X) else np.asarray(X)
