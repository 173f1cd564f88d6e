import numpy as np
import pytest

from rdia.data import NOISE_TYPES, DataError, apply_transition, flip_binary, transition_matrix


def binary_labels(n, seed=0):
    return np.random.default_rng(seed).integers(0, 2, n)


@pytest.mark.parametrize("noise, n, flips", [
    (0.0, 100, 0), (0.2, 500, 100), (0.5, 683, 341), (0.8, 12907, 10325), (0.3, 10, 3),
])
def test_flip_binary_flips_exactly_floor_noise_n(noise, n, flips):
    y = binary_labels(n)
    y_noisy, mask = flip_binary(y, noise, seed=0)
    assert mask.dtype == bool and mask.sum() == flips
    np.testing.assert_array_equal(mask, y_noisy != y)
    np.testing.assert_array_equal(y_noisy[mask], 1 - y[mask])
    assert y_noisy.dtype == np.int64


def test_flip_binary_follows_the_seed():
    y = binary_labels(1000)
    first, again, other = (flip_binary(y, 0.3, seed=s)[1] for s in (4, 4, 5))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_flip_binary_does_not_modify_its_input():
    y = binary_labels(50)
    before = y.copy()
    flip_binary(y, 0.5, seed=0)
    np.testing.assert_array_equal(y, before)


@pytest.mark.parametrize("noise", [1.0, -0.1, float("nan"), "0.2"])
def test_flip_binary_rejects_bad_rates(noise):
    with pytest.raises(DataError, match=r"noise must be a number in \[0, 1\)"):
        flip_binary(binary_labels(10), noise, seed=0)


def test_flip_binary_rejects_non_binary_labels():
    with pytest.raises(DataError, match="labels in {0, 1}"):
        flip_binary(np.array([0, 1, 2]), 0.2, seed=0)


def test_small_matrices_written_out():
    np.testing.assert_allclose(transition_matrix("symmetric", 3, 0.3),
                               [[0.7, 0.15, 0.15], [0.15, 0.7, 0.15], [0.15, 0.15, 0.7]])
    np.testing.assert_allclose(transition_matrix("pairflip", 3, 0.2),
                               [[0.8, 0.2, 0.0], [0.0, 0.8, 0.2], [0.2, 0.0, 0.8]])


@pytest.mark.parametrize("noise_type, n_classes, dataset", [
    ("symmetric", 2, None), ("symmetric", 10, None), ("pairflip", 2, None),
    ("pairflip", 10, None), ("asymmetric", 10, "mnist"), ("asymmetric", 10, "cifar10"),
])
@pytest.mark.parametrize("rate", [0.0, 0.2, 0.8])
def test_transition_matrices_are_row_stochastic(noise_type, n_classes, dataset, rate):
    T = transition_matrix(noise_type, n_classes, rate, dataset)
    assert T.shape == (n_classes, n_classes)
    assert (T >= 0).all()
    np.testing.assert_allclose(T.sum(axis=1), 1.0)


@pytest.mark.parametrize("noise_type", ["symmetric", "pairflip"])
@pytest.mark.parametrize("rate", [0.2, 0.45, 0.8])
def test_empirical_flip_rate_matches(noise_type, rate):
    y = np.random.default_rng(1).integers(0, 10, 100_000)
    y_noisy, mask = apply_transition(y, transition_matrix(noise_type, 10, rate), seed=2)
    assert abs(mask.mean() - rate) < 0.01
    np.testing.assert_array_equal(mask, y_noisy != y)
    if noise_type == "pairflip":
        np.testing.assert_array_equal(y_noisy[mask], (y[mask] + 1) % 10)
    else:
        changed_to = np.bincount((y_noisy[mask] - y[mask]) % 10, minlength=10)
        assert changed_to[0] == 0
        np.testing.assert_allclose(changed_to[1:] / mask.sum(), 1 / 9, atol=0.01)


# (true class, noisy class) pairs, from Patrini et al. (2017).
PAIRS = {"mnist": {7: 1, 2: 7, 5: 6, 6: 5, 3: 8},
         "cifar10": {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}}


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_asymmetric_noise_flips_only_the_listed_classes(dataset):
    rate = 0.4
    y = np.random.default_rng(0).integers(0, 10, 100_000)
    y_noisy, mask = apply_transition(y, transition_matrix("asymmetric", 10, rate, dataset),
                                     seed=1)
    pairs = PAIRS[dataset]
    assert set(np.unique(y[mask])) == set(pairs)
    for source, target in pairs.items():
        flipped = mask[y == source]
        np.testing.assert_array_equal(y_noisy[(y == source) & mask], target)
        assert abs(flipped.mean() - rate) < 0.01


def test_apply_transition_follows_the_seed_and_keeps_labels_at_rate_zero():
    y = np.random.default_rng(0).integers(0, 5, 1000)
    T = transition_matrix("symmetric", 5, 0.5)
    first, again, other = (apply_transition(y, T, seed=s)[0] for s in (1, 1, 2))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    y_same, mask = apply_transition(y, transition_matrix("pairflip", 5, 0.0), seed=0)
    np.testing.assert_array_equal(y_same, y)
    assert not mask.any()


@pytest.mark.parametrize("T", [
    np.full((3, 3), 0.5),                                    # rows sum to 1.5
    np.eye(3)[:2],                                           # not square
    np.array([[1.5, -0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),  # negative entry
])
def test_apply_transition_rejects_matrices_that_are_not_stochastic(T):
    with pytest.raises(DataError, match="transition matrix"):
        apply_transition(np.array([0, 1, 2]), T, seed=0)


def test_apply_transition_rejects_labels_outside_the_matrix():
    with pytest.raises(DataError, match=r"0\.\.2"):
        apply_transition(np.array([0, 3]), np.eye(3), seed=0)


def test_unknown_noise_type_lists_the_valid_ones():
    with pytest.raises(DataError) as info:
        transition_matrix("uniform", 10, 0.2)
    assert all(name in str(info.value) for name in NOISE_TYPES)


@pytest.mark.parametrize("dataset, n_classes", [(None, 10), ("svhn", 10), ("mnist", 5)])
def test_asymmetric_needs_a_known_ten_class_dataset(dataset, n_classes):
    with pytest.raises(DataError, match="asymmetric"):
        transition_matrix("asymmetric", n_classes, 0.2, dataset)


@pytest.mark.parametrize("args", [("symmetric", 1, 0.2), ("symmetric", 10, 1.5),
                                  ("pairflip", 10, -0.1)])
def test_bad_class_count_or_rate(args):
    with pytest.raises(DataError):
        transition_matrix(*args)
