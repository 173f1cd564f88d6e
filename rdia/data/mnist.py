"""Reader of the MNIST IDX files."""

import gzip
import zlib

import numpy as np

from .decoded import cached_decode
from .download import SOURCES, ensure_file
from .errors import DataError

#: IDX type code (third byte of the magic number) -> big-endian numpy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

MNIST_FILES = {
    "train_images": "mnist/train-images-idx3-ubyte.gz",
    "train_labels": "mnist/train-labels-idx1-ubyte.gz",
    "test_images": "mnist/t10k-images-idx3-ubyte.gz",
    "test_labels": "mnist/t10k-labels-idx1-ubyte.gz",
}

GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path):
    """Read an IDX file, gzip-compressed or plain.

    The header is two zero bytes, a type code, the number of dimensions D, then
    D big-endian uint32 sizes; the data follow in C order, big-endian.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    array : ndarray of the shape in the header, native byte order
        uint8 for MNIST.

    Raises
    ------
    DataError
        If the file is missing, not gzip when it looks like it, or its header
        and size disagree.
    """
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise _corrupt(path, "bad IDX magic number")
    dtype, ndim = IDX_DTYPES[data[2]], data[3]
    header_bytes = 4 + 4 * ndim
    if ndim == 0 or len(data) < header_bytes:
        raise _corrupt(path, "truncated IDX header")
    shape = tuple(int(n) for n in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header_bytes + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise _corrupt(path, f"{len(data)} bytes where the header {shape} needs {expected}")
    values = np.frombuffer(data, dtype=dtype, offset=header_bytes)
    return values.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def load_mnist(data_dir=None):
    """The MNIST training and test sets, downloaded when missing.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Data folder; see ``resolve_data_dir``. Files live in its ``mnist/``.

    Returns
    -------
    X_train : ndarray of shape (60000, 28, 28), uint8
        Pixel intensities 0..255.
    y_train : ndarray of shape (60000,), int64
        Digits 0..9.
    X_test : ndarray of shape (10000, 28, 28), uint8
    y_test : ndarray of shape (10000,), int64
    """
    paths = {key: ensure_file(rel, data_dir) for key, rel in MNIST_FILES.items()}
    # ensure_file has verified a published MD5, which then names the decoded cache.
    arrays = {key: cached_decode(path, read_idx, SOURCES[MNIST_FILES[key]].md5)
              for key, path in paths.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
            raise _corrupt(paths[f"{part}_images"],
                           f"expected uint8 images of 28x28, got {images.dtype} {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images) or labels.dtype != np.uint8:
            raise _corrupt(paths[f"{part}_labels"],
                           f"{labels.dtype} labels of shape {labels.shape} for {len(images)} images")
        if labels.size and labels.max() > 9:
            raise _corrupt(paths[f"{part}_labels"], "labels outside 0..9")
    return (arrays["train_images"], arrays["train_labels"].astype(np.int64),
            arrays["test_images"], arrays["test_labels"].astype(np.int64))


def _read_bytes(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data[:2] == GZIP_MAGIC:
            data = gzip.decompress(data)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; check the path or set RDIA_DATA_DIR") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise _corrupt(path, f"cannot decompress ({' '.join(str(exc).split())})") from None
    return data


def _corrupt(path, why):
    return DataError(f"{path}: corrupt IDX file ({why}); delete it and download it again")
