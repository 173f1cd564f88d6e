"""Synthetic label noise.

Binary experiments (docs/method.md section 4) flip exactly floor(noise * n) labels chosen
uniformly at random. Deep-model experiments (section 5) resample each label
independently from a row-stochastic transition matrix T, where T[i, j] is the
probability that true class i is observed as class j.
"""

import math

import numpy as np

from .errors import DataError

NOISE_TYPES = ("symmetric", "pairflip", "asymmetric")

#: Class pairs (true, noisy) of the asymmetric noise of Patrini et al. (2017).
ASYMMETRIC_FLIPS = {
    "mnist": ((7, 1), (2, 7), (5, 6), (6, 5), (3, 8)),
    # truck -> automobile, bird -> airplane, deer -> horse, cat <-> dog
    "cifar10": ((9, 1), (2, 0), (4, 7), (3, 5), (5, 3)),
}

#: Tolerance on the row sums of a transition matrix.
ROW_SUM_TOL = 1e-8


def flip_binary(y, noise, seed):
    """Flip exactly floor(noise * n) binary labels chosen uniformly at random.

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels in {0, 1}.
    noise : float
        Share of labels to flip, in [0, 1).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    y_noisy : ndarray of shape (n,), int64
    mask : ndarray of shape (n,), bool
        True where the label was flipped.
    """
    y = np.asarray(y)
    if not (isinstance(noise, (int, float, np.number)) and 0 <= noise < 1):
        raise DataError(f"noise must be a number in [0, 1), got {noise!r}")
    if y.ndim != 1 or not np.isin(y, (0, 1)).all():
        raise DataError("flip_binary needs a 1-D vector of labels in {0, 1}")
    n = len(y)
    flipped = np.random.default_rng(seed).choice(n, size=math.floor(noise * n), replace=False)
    mask = np.zeros(n, dtype=bool)
    mask[flipped] = True
    y_noisy = np.where(mask, 1 - y, y).astype(np.int64)
    return y_noisy, mask


def transition_matrix(noise_type, n_classes, rate, dataset=None):
    """Noise transition matrix T, with T[i, j] = P(observed j | true i).

    Parameters
    ----------
    noise_type : {"symmetric", "pairflip", "asymmetric"}
        symmetric: 1 - rate on the diagonal, rate / (K - 1) elsewhere.
        pairflip: class i becomes (i + 1) mod K with probability rate.
        asymmetric: the class pairs of ``ASYMMETRIC_FLIPS[dataset]`` flip with
        probability rate; other classes stay.
    n_classes : int
        K, at least 2 (10 for asymmetric).
    rate : float
        Noise rate r in [0, 1].
    dataset : {"mnist", "cifar10"}, optional
        Needed for asymmetric noise.

    Returns
    -------
    T : ndarray of shape (K, K), float64
        Row-stochastic.
    """
    if noise_type not in NOISE_TYPES:
        raise DataError(f"unknown noise type '{noise_type}'; use one of "
                        f"{', '.join(NOISE_TYPES)}")
    if not (isinstance(n_classes, (int, np.integer)) and n_classes >= 2):
        raise DataError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    if not (isinstance(rate, (int, float, np.number)) and 0 <= rate <= 1):
        raise DataError(f"noise rate must be a number in [0, 1], got {rate!r}")
    K = int(n_classes)
    if noise_type == "symmetric":
        T = np.full((K, K), rate / (K - 1))
        np.fill_diagonal(T, 1.0 - rate)
        return T
    if noise_type == "pairflip":
        return _with_flips(K, rate, [(i, (i + 1) % K) for i in range(K)])
    if dataset not in ASYMMETRIC_FLIPS:
        raise DataError(f"asymmetric noise is defined for {', '.join(ASYMMETRIC_FLIPS)}, "
                        f"not {dataset!r}")
    if K != 10:
        raise DataError(f"asymmetric noise for {dataset} needs 10 classes, got {K}")
    return _with_flips(K, rate, ASYMMETRIC_FLIPS[dataset])


def apply_transition(y, T, seed):
    """Resample each label independently from its row of T.

    One uniform number u_i per sample picks the first class j whose cumulative
    probability T[y_i, 0] + ... + T[y_i, j] exceeds u_i.

    Parameters
    ----------
    y : array-like of shape (n,)
        True labels in 0 .. K-1.
    T : ndarray of shape (K, K)
        Row-stochastic transition matrix.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    y_noisy : ndarray of shape (n,), int64
    mask : ndarray of shape (n,), bool
        True where ``y_noisy != y``.
    """
    y = np.asarray(y)
    T = np.asarray(T, dtype=np.float64)
    _check_transition(T)
    K = T.shape[0]
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or \
            (y.size and (y.min() < 0 or y.max() >= K)):
        raise DataError(f"labels must be a 1-D integer vector in 0..{K - 1}")
    cumulative = np.cumsum(T, axis=1)
    cumulative[:, -1] = 1.0
    u = np.random.default_rng(seed).random(len(y))
    y_noisy = (u[:, None] >= cumulative[y]).sum(axis=1).astype(np.int64)
    return y_noisy, y_noisy != y


def _with_flips(K, rate, flips):
    """Identity matrix where each (i, j) in flips moves mass ``rate`` from i to j."""
    T = np.eye(K)
    for i, j in flips:
        T[i, i] = 1.0 - rate
        T[i, j] = rate
    return T


def _check_transition(T):
    if T.ndim != 2 or T.shape[0] != T.shape[1] or T.shape[0] < 1:
        raise DataError(f"transition matrix must be square, got shape {T.shape}")
    if not np.isfinite(T).all() or (T < 0).any() or \
            np.abs(T.sum(axis=1) - 1.0).max() > ROW_SUM_TOL:
        raise DataError("transition matrix rows must be probabilities summing to 1")


#: Datasets whose asymmetric noise uses the class pairs defined for another name
#: (digits are digits: the MNIST pairs 7->1, 2->7, 5<->6, 3->8).
SAME_PAIRS_AS = {"mnist10": "mnist", "digits": "mnist"}


def applied_noise_type(noise_type, n_classes):
    """The transition-matrix noise of a run, or None for exact binary flips."""
    if noise_type is None and n_classes == 2:
        return None
    return noise_type or "symmetric"


def add_noise(y, n_classes, rate, noise_type, seed, dataset=None):
    """Noisy labels and the mask of changed ones, as every logistic-regression run adds
    them (docs/method.md section 4): exact flips of floor(rate * n) labels for two
    classes without a noise type, else each label resampled from the transition matrix
    of ``noise_type`` (symmetric by default).

    Returns
    -------
    y_noisy : ndarray of shape (n,), int64
    noisy : ndarray of bool, shape (n,)
    """
    applied = applied_noise_type(noise_type, n_classes)
    if applied is None:
        return flip_binary(y, rate, seed)
    T = transition_matrix(applied, n_classes, rate,
                          dataset=SAME_PAIRS_AS.get(dataset, dataset))
    return apply_transition(y, T, seed)
