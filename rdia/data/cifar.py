"""Reader of the CIFAR-10 python batches.

Each batch file is a pickled dict with ``b'data'``, a uint8 array of shape (n, 3072)
whose rows hold the 1024 red, then 1024 green, then 1024 blue pixels of a 32x32
image in row-major order, and ``b'labels'``, a list of n class indices 0..9.
"""

import pickle

import numpy as np

from .download import CIFAR10_FOLDER, ensure_file
from .errors import DataError

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
IMAGE_SHAPE = (3, 32, 32)
N_CLASSES = 10

#: The only globals a CIFAR-10 batch pickle needs: numpy arrays and dtypes.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that refuses anything but numpy arrays and plain containers."""

    def find_class(self, module, name):
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class(module, name)


def read_cifar_batch(path):
    """Read one CIFAR-10 python batch.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    X : ndarray of shape (n, 3, 32, 32), uint8
        Images, channel first (red, green, blue).
    y : ndarray of shape (n,), int64
        Classes 0..9.

    Raises
    ------
    DataError
        If the file is missing or is not a well-formed batch.
    """
    try:
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(f, encoding="bytes").load()
        data, labels = batch[b"data"], batch[b"labels"]
        X = np.asarray(data)
        y = np.asarray(labels)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; check the path or set RDIA_DATA_DIR") from None
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError,
            ValueError, AttributeError, IndexError) as exc:
        raise _corrupt(path, " ".join(str(exc).split()) or type(exc).__name__) from None
    n_values = int(np.prod(IMAGE_SHAPE))
    if X.dtype != np.uint8 or X.ndim != 2 or X.shape[1] != n_values:
        raise _corrupt(path, f"b'data' is {X.dtype} {X.shape}, expected uint8 (n, {n_values})")
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise _corrupt(path, f"{y.shape} labels for {X.shape[0]} images")
    if y.size and (y.min() < 0 or y.max() >= N_CLASSES):
        raise _corrupt(path, f"labels outside 0..{N_CLASSES - 1}")
    return X.reshape((-1,) + IMAGE_SHAPE), y.astype(np.int64)


def load_cifar10(data_dir=None):
    """The CIFAR-10 training and test sets, downloaded when missing.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Data folder; see ``resolve_data_dir``. Batches live in its
        ``cifar10/cifar-10-batches-py/``.

    Returns
    -------
    X_train : ndarray of shape (50000, 3, 32, 32), uint8
    y_train : ndarray of shape (50000,), int64
    X_test : ndarray of shape (10000, 3, 32, 32), uint8
    y_test : ndarray of shape (10000,), int64
        Row counts are those of the files (the published batches hold 10,000 each).
    """
    train = [read_cifar_batch(ensure_file(f"{CIFAR10_FOLDER}/{name}", data_dir))
             for name in TRAIN_BATCHES]
    X_test, y_test = read_cifar_batch(ensure_file(f"{CIFAR10_FOLDER}/{TEST_BATCH}", data_dir))
    X_train = np.concatenate([X for X, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return X_train, y_train, X_test, y_test


def _corrupt(path, why):
    return DataError(f"{path}: corrupt CIFAR-10 batch ({why}); delete the "
                     f"cifar-10-batches-py folder and download it again")
