"""The binary datasets of the RDIA logistic-regression experiments.

Conventions (docs/method.md section 4): each named dataset has a fixed train / test split,
labels are mapped to {0, 1} by sorted unique value (MNIST: digit 1 -> 1, digit 7 -> 0),
and the last 30% of the training part is the validation set (``split_validation``).

``load_multiclass`` (end of the file) loads the K-class datasets of softmax RDIA.
"""

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .bundled import is_bundled
from .cifar import TEST_BATCH, TRAIN_BATCHES
from .download import CIFAR10_FOLDER, SOURCES, ensure_file
from .errors import DataError
from .labels import binary_labels, encode_numeric_labels
from .libsvm import read_libsvm, read_libsvm_cached
from .checksums import file_md5
from .decoded import cache_path
from .mnist import MNIST_FILES, load_mnist
from .paths import data_dir_candidates

BINARY_DATASETS = ("cancer", "diabetes", "mnist", "adult", "a1a", "wdbc",
                   "realsim", "news20", "covtype")

#: Named datasets whose rows are images: (height, width) of a row's pixels.
IMAGE_SHAPES = {"mnist": (28, 28), "mnist10": (28, 28), "digits": (8, 8)}

#: Share of a dataset that becomes the test set when no split is prescribed.
TEST_RATIO = 0.3

#: MNIST digits of the binary task: POSITIVE_DIGIT -> 1, NEGATIVE_DIGIT -> 0.
POSITIVE_DIGIT, NEGATIVE_DIGIT = 1, 7

#: Raw MNIST training images dropped before the 1/7 (and 10-class) subsets are taken.
MNIST_DROPPED = 100


@dataclass(frozen=True)
class LibsvmSpec:
    """How a named LIBSVM dataset is split.

    Attributes
    ----------
    train : str
        Relative path of the (training) file in the data folder.
    test : str or None
        Relative path of a separate test file.
    split : {"file", "head", "random"}
        "file": train and test files as given; "head": the first ``n_train``
        rows train, the rest test; "random": ``n_train`` rows drawn at random
        with the seed train, the rest test.
    n_train : int or None
        Training rows for "head" and "random".
    n_features : int or None
        Width of X when the files may not reach the last feature.
    """

    train: str
    test: str = None
    split: str = "file"
    n_train: int = None
    n_features: int = None


LIBSVM_DATASETS = {
    "cancer": LibsvmSpec("breast-cancer/breast-cancer_scale", split="head", n_train=500),
    "diabetes": LibsvmSpec("diabetes/diabetes_scale", split="head", n_train=500),
    "adult": LibsvmSpec("adult/a9a", "adult/a9a.t", n_features=123),
    "a1a": LibsvmSpec("adult/a1a", "adult/a1a.t", n_features=123),
    "realsim": LibsvmSpec("real-sim/real-sim", split="random", n_train=60_000),
    "news20": LibsvmSpec("news20/news20.binary", split="random", n_train=15_000),
    "covtype": LibsvmSpec("covtype/covtype.libsvm.binary.scale", split="head",
                          n_train=400_000),
}


@dataclass
class Dataset:
    """A train / test pair with class labels.

    Attributes
    ----------
    name : str
        Dataset name or file name.
    X_train : ndarray or scipy.sparse.csr_matrix of shape (n_train, n_features)
        float64 features.
    y_train : ndarray of shape (n_train,), int64
        Class indices 0 .. K-1.
    X_test : ndarray or scipy.sparse.csr_matrix of shape (n_test, n_features)
    y_test : ndarray of shape (n_test,), int64
    classes : ndarray of shape (K,)
        ``classes[k]`` is the original label of class k.
    n_features : int
    n_dropped_features : int, default 0
        LIBSVM columns left out because they are zero in every row of every file of
        the dataset (``drop_zero_columns``); 0 for the other datasets.
    """

    name: str
    X_train: object
    y_train: np.ndarray
    X_test: object
    y_test: np.ndarray
    classes: np.ndarray
    n_features: int
    n_dropped_features: int = 0


def load_binary(name_or_path, data_dir=None, test_file=None, seed=0):
    """Load a binary dataset by name, or a LIBSVM file by path.

    Parameters
    ----------
    name_or_path : str or path-like
        One of ``BINARY_DATASETS`` or the path of a LIBSVM file.
    data_dir : str or path-like, optional
        Data folder for the named datasets; see ``resolve_data_dir``.
    test_file : str or path-like, optional
        With a path: a LIBSVM test file. Without it, a file is split at random,
        70% train / 30% test.
    seed : int, default 0
        Seed of the random splits (realsim, news20, wdbc, single files).

    Returns
    -------
    dataset : Dataset
        Labels in {0, 1}.

    Raises
    ------
    DataError
        Unknown name, missing or malformed files, or labels that are not binary.
    """
    name = check_name(name_or_path)
    if name in BINARY_DATASETS and test_file is not None:
        raise DataError(f"test_file applies only to a LIBSVM file path, not to the "
                        f"dataset '{name}', which has its own test set")
    if name in LIBSVM_DATASETS:
        return _load_named_libsvm(name, LIBSVM_DATASETS[name], data_dir, seed)
    if name == "mnist":
        return _load_mnist_1v7(data_dir)
    if name == "wdbc":
        from sklearn.datasets import load_breast_cancer  # bundled data: only here

        X, y = load_breast_cancer(return_X_y=True)
        return _random_split(name, X.astype(np.float64), y, _n_train(len(y)), seed)
    if Path(name).is_file():
        return _load_libsvm_files(name, test_file, seed)
    raise DataError(f"unknown dataset '{name}' and no such file; use one of "
                    f"{', '.join(BINARY_DATASETS)} (binary), "
                    f"{', '.join(MULTICLASS_DATASETS)} (K classes) or the path of a "
                    f"LIBSVM file")


def dataset_files(name, data_dir=None):
    """Every file a named dataset is read from, downloaded to or cached in (in each data
    folder searched, ``paths.data_dir_candidates``), existing or not: what no output of
    a run may be. Empty for a path or a dataset bundled in a package. (The cache of a
    file without a published checksum is named by its content, so it is known once
    the file is there.)

    Returns
    -------
    files : list of str
    """
    if name in ("mnist", "mnist10"):
        relpaths = list(MNIST_FILES.values())
    elif name == "cifar10":
        relpaths = [f"{CIFAR10_FOLDER}/{batch}" for batch in TRAIN_BATCHES + (TEST_BATCH,)]
    elif name in LIBSVM_DATASETS:
        relpaths = [r for r in (LIBSVM_DATASETS[name].train, LIBSVM_DATASETS[name].test) if r]
    else:
        return []
    files = []
    for relpath in relpaths:
        for folder in data_dir_candidates(data_dir):
            path = folder / relpath
            md5 = SOURCES[relpath].md5 if relpath in SOURCES else None
            if md5 is None and path.is_file():  # its cache is named by its content
                md5 = file_md5(path)
            files += [str(path)] + ([str(cache_path(path, md5.lower()))] if md5 else [])
            files += [str(p) for p in path.parent.glob(f".{path.name}.*.npz")]
    return files


def check_name(name_or_path):
    """``name_or_path`` as a str; DataError when it is empty or blank."""
    name = os.fspath(name_or_path)
    if not name.strip():
        raise DataError("the dataset is empty; give a dataset name or the path of a "
                        "LIBSVM file")
    return name


def split_validation(X, y, val_ratio=0.3):
    """Split off the last ``val_ratio`` of the training part as validation set.

    Parameters
    ----------
    X : ndarray or scipy.sparse.csr_matrix of shape (n, d)
    y : ndarray of shape (n,)
    val_ratio : float, default 0.3
        The last val_ratio * n rows, rounded to the nearest integer with ties down,
        become the validation set. This gives the published code's MNIST 1 vs 7 split
        (9,088 training and 3,895 validation rows, docs/method.md section 4); for every
        other shipped dataset it equals floor(val_ratio * n).

    Returns
    -------
    X_tr, y_tr, X_val, y_val
        Rows ``[0, n - n_val)`` and ``[n - n_val, n)``, in the type of X.
    """
    y = np.asarray(y)
    n = len(y)
    if X.shape[0] != n:
        raise DataError(f"X has {X.shape[0]} rows but y has {n} labels")
    if not 0 < val_ratio < 1:
        raise DataError(f"val_ratio must be in (0, 1), got {val_ratio}")
    n_tr = n - math.ceil(val_ratio * n - 0.5)
    if n_tr == n or n_tr == 0:
        raise DataError(f"{n} training rows are too few for a validation ratio "
                        f"of {val_ratio}")
    return X[:n_tr], y[:n_tr], X[n_tr:], y[n_tr:]


def drop_zero_columns(matrices, source):
    """Keep only the columns that are non-zero somewhere, in all matrices alike.

    A feature that is zero in every training row gets weight zero and changes
    neither the fit nor phi; dropping the columns that are zero in every matrix of a
    dataset keeps the model as small as the data (a file that names feature 10^9
    once would otherwise need vectors of 10^9 weights). Nothing of size d is built.

    Parameters
    ----------
    matrices : sequence of scipy.sparse.csr_matrix
        The files of one dataset (e.g. training and test), read at one width or not.
    source : str
        Dataset name or file path, quoted in the error message.

    Returns
    -------
    compacted : list of scipy.sparse.csr_matrix
        The same rows, with the kept columns in their original order; all have the
        same width, the number of kept columns.
    n_dropped : int
        The widest input's width minus the number of kept columns.

    Raises
    ------
    DataError
        If every value of every matrix is zero.
    """
    width = max(X.shape[1] for X in matrices)
    kept = np.unique(np.concatenate([X.indices[X.data != 0] for X in matrices]))
    if kept.size == 0:
        raise DataError(f"{source}: every feature value is zero in every row; check "
                        f"that the file holds LIBSVM data")
    return [_keep_columns(X, kept) for X in matrices], width - kept.size


def _keep_columns(X, kept):
    """CSR X restricted to the sorted columns ``kept``, which hold all its non-zeros."""
    nonzero = X.data != 0
    ends = np.concatenate([[0], np.cumsum(nonzero)])
    return sp.csr_matrix((X.data[nonzero], np.searchsorted(kept, X.indices[nonzero]),
                          ends[X.indptr]), shape=(X.shape[0], kept.size))


def _load_named_libsvm(name, spec, data_dir, seed):
    X, y = _read_named(spec.train, data_dir, spec.n_features)
    if spec.split == "file":
        X_test, y_test = _read_named(spec.test, data_dir, spec.n_features)
        (X, X_test), dropped = drop_zero_columns([X, X_test], name)
        return replace(_labelled(name, X, y, X_test, y_test), n_dropped_features=dropped)
    if len(y) <= spec.n_train:
        raise DataError(f"{name}: {spec.train} has {len(y)} rows but the split needs "
                        f"more than {spec.n_train}; delete the file and download it again")
    (X,), dropped = drop_zero_columns([X], name)
    if spec.split == "head":
        dataset = _labelled(name, X[:spec.n_train], y[:spec.n_train],
                            X[spec.n_train:], y[spec.n_train:])
    else:
        dataset = _random_split(name, X, y, spec.n_train, seed)
    return replace(dataset, n_dropped_features=dropped)


def _read_named(relpath, data_dir, n_features):
    """A known LIBSVM file, downloaded when missing and parsed once (then cached); a
    shipped copy (``data.bundled``) is small and parsed each time, nothing written
    beside it."""
    source = SOURCES.get(relpath)
    path = ensure_file(relpath, data_dir)
    if is_bundled(path):
        return read_libsvm(path, n_features)
    return read_libsvm_cached(path, n_features, source.md5 if source is not None else None)


def _load_libsvm_files(path, test_file, seed, labelled=None):
    """A LIBSVM file split 70/30 with ``seed``, or a training and a test file.

    ``labelled`` maps the labels as in ``_random_split``.
    """
    labelled = labelled or _labelled
    name = Path(path).name
    X, y = read_libsvm(path)
    if test_file is None:
        (X,), dropped = drop_zero_columns([X], name)
        dataset = _random_split(name, X, y, _n_train(len(y)), seed, labelled)
    else:
        X_test, y_test = read_libsvm(test_file)
        (X, X_test), dropped = drop_zero_columns([X, X_test], name)
        dataset = labelled(name, X, y, X_test, y_test)
    return replace(dataset, n_dropped_features=dropped)


def _load_mnist_1v7(data_dir):
    """MNIST 1 vs 7 as the published code builds it: the first MNIST_DROPPED raw training
    images are dropped, then the 1s and 7s of the rest are kept (13,983 rows)."""
    images, digits, test_images, test_digits = load_mnist(data_dir)
    kept_digits = np.isin(digits, (POSITIVE_DIGIT, NEGATIVE_DIGIT))
    keep = MNIST_DROPPED + np.flatnonzero(kept_digits[MNIST_DROPPED:])
    keep_test = np.flatnonzero(np.isin(test_digits, (POSITIVE_DIGIT, NEGATIVE_DIGIT)))
    train_images, kept_test_images = images[keep], test_images[keep_test]
    n_features = images.shape[1] * images.shape[2]
    # All 70,000 uint8 images (55 MB) go before the float64 rows exist: a lower peak.
    del images, test_images
    return Dataset(
        name="mnist",
        X_train=_pixels(train_images),
        y_train=(digits[keep] == POSITIVE_DIGIT).astype(np.int64),
        X_test=_pixels(kept_test_images),
        y_test=(test_digits[keep_test] == POSITIVE_DIGIT).astype(np.int64),
        classes=np.array([NEGATIVE_DIGIT, POSITIVE_DIGIT]),
        n_features=n_features,
    )


def _pixels(images):
    """uint8 images (n, h, w) -> float64 rows (n, h * w) in [0, 1].

    Divided in place: one float64 array, not a second one for the quotient.
    """
    rows = images.reshape(len(images), -1).astype(np.float64)
    rows /= 255.0
    return rows


def _n_train(n):
    """Training rows of a 70/30 split: n minus ceil(0.3 n) test rows."""
    return n - math.ceil(TEST_RATIO * n)


def _random_split(name, X, y, n_train, seed, labelled=None):
    """``n_train`` rows drawn with ``seed`` train, in drawn order; the rest test.

    ``labelled`` builds the Dataset from the two parts: ``_labelled`` (binary, the
    default) or ``_multiclass_labelled``.
    """
    if not 0 < n_train < len(y):
        raise DataError(f"{name}: {len(y)} rows are too few to split into "
                        f"{n_train} training rows and a test set")
    order = np.random.default_rng(seed).permutation(len(y))
    train, test = order[:n_train], np.sort(order[n_train:])
    return (labelled or _labelled)(name, X[train], y[train], X[test], y[test])


def _labelled(name, X_train, y_train_raw, X_test, y_test_raw):
    """Dataset with labels mapped to {0, 1} by sorted unique value of both parts."""
    y_all, classes = binary_labels(np.concatenate([y_train_raw, y_test_raw]), name)
    return _split_labels(name, X_train, X_test, y_all, classes,
                         "; both need the same two labels")


# ---------------------------------------------------------------------------
# K-class datasets (issue 5: softmax RDIA)
# ---------------------------------------------------------------------------

MULTICLASS_DATASETS = ("mnist10", "digits")

#: Largest pixel value of scikit-learn's 8x8 digits (16 intensity levels + 0).
DIGITS_MAX_PIXEL = 16.0


def load_multiclass(name_or_path, data_dir=None, test_file=None, seed=0):
    """Load a K-class dataset by name, or a LIBSVM file by path.

    Parameters
    ----------
    name_or_path : str or path-like
        ``mnist10``: all ten MNIST digits, pixels / 255, the first 100 training images
        dropped as for ``mnist``, test = the MNIST test set (59,900 / 10,000 x 784).
        ``digits``: scikit-learn's bundled 8x8 digits (offline), pixels / 16, a seeded
        70/30 split (1,257 / 540 x 64). A name of ``BINARY_DATASETS`` loads that
        dataset with ``load_binary`` (K = 2). Otherwise the path of a LIBSVM file.
    data_dir : str or path-like, optional
        Data folder for the named datasets; see ``resolve_data_dir``.
    test_file : str or path-like, optional
        With a path: a LIBSVM test file. Without it, a file is split at random,
        70% train / 30% test, as ``load_binary`` splits it.
    seed : int, default 0
        Seed of the random splits.

    Returns
    -------
    dataset : Dataset
        Labels in 0 .. K-1, mapped by sorted unique value of train and test together.

    Raises
    ------
    DataError
        Unknown name, missing or malformed files, fewer than two labels, or a test
        label the training set lacks.
    """
    name = check_name(name_or_path)
    if name in MULTICLASS_DATASETS and test_file is not None:
        raise DataError(f"test_file applies only to a LIBSVM file path, not to the "
                        f"dataset '{name}', which has its own test set")
    if name == "mnist10":
        return _load_mnist10(data_dir)
    if name == "digits":
        from sklearn.datasets import load_digits  # bundled data: only here

        X, y = load_digits(return_X_y=True)
        return _random_split(name, X / DIGITS_MAX_PIXEL, y, _n_train(len(y)), seed,
                             _multiclass_labelled)
    if name in BINARY_DATASETS:
        return load_binary(name, data_dir, test_file, seed)
    if Path(name).is_file():
        return _load_libsvm_files(name, test_file, seed, _multiclass_labelled)
    raise DataError(f"unknown dataset '{name}' and no such file; use one of "
                    f"{', '.join(MULTICLASS_DATASETS + BINARY_DATASETS)} or the path of "
                    f"a LIBSVM file")


def _load_mnist10(data_dir):
    images, digits, test_images, test_digits = load_mnist(data_dir)
    return Dataset(name="mnist10", X_train=_pixels(images[MNIST_DROPPED:]),
                   y_train=digits[MNIST_DROPPED:], X_test=_pixels(test_images),
                   y_test=test_digits, classes=np.arange(10),
                   n_features=images.shape[1] * images.shape[2])


def _multiclass_labelled(name, X_train, y_train_raw, X_test, y_test_raw):
    """Dataset with labels mapped to 0 .. K-1 by sorted unique value of both parts."""
    y_all, classes = encode_numeric_labels(np.concatenate([y_train_raw, y_test_raw]), name)
    if len(classes) < 2:
        raise DataError(f"{name}: found a single label ({classes[0]:g}); a classification "
                        f"dataset needs at least 2")
    return _split_labels(name, X_train, X_test, y_all, classes)


def _split_labels(name, X_train, X_test, y_all, classes, hint=""):
    """The Dataset of encoded labels ``y_all`` (training rows first); DataError when a
    test label is not a training label."""
    y_train, y_test = y_all[:X_train.shape[0]], y_all[X_train.shape[0]:]
    unseen = np.setdiff1d(y_test, y_train)
    if unseen.size:
        raise DataError(f"{name}: the test set has label {classes[unseen[0]]:g}, which "
                        f"the training set lacks{hint}")
    return Dataset(name, X_train, y_train, X_test, y_test, classes, X_train.shape[1])
