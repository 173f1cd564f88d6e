import dataclasses
import gzip
import struct

import numpy as np
import pytest

from rdia.data import DataError, load_mnist, read_idx
from rdia.data.download import SOURCES
from rdia.data.mnist import MNIST_FILES

# IDX type codes of the format description.
UINT8, INT32, FLOAT32 = 0x08, 0x0C, 0x0D


def idx_bytes(array, code):
    """An IDX file written from its description: 0, 0, type, ndim, big-endian sizes,
    big-endian data."""
    big_endian = {UINT8: ">u1", INT32: ">i4", FLOAT32: ">f4"}[code]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.astype(big_endian).tobytes()


@pytest.mark.parametrize("array, code", [
    (np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4), UINT8),
    (np.array([[-5, 70000], [3, 0]], dtype=np.int32), INT32),
    (np.array([1.5, -2.25, 1e10], dtype=np.float32), FLOAT32),
])
@pytest.mark.parametrize("compressed", [False, True])
def test_read_idx_round_trips(tmp_path, array, code, compressed):
    content = idx_bytes(array, code)
    path = tmp_path / "file.idx"
    path.write_bytes(gzip.compress(content) if compressed else content)
    result = read_idx(path)
    assert result.dtype == array.dtype and result.dtype.isnative
    np.testing.assert_array_equal(result, array)


GOOD = idx_bytes(np.zeros((2, 3), np.uint8), UINT8)


@pytest.mark.parametrize("content, match", [
    (b"\x00\x01" + GOOD[2:], "bad IDX magic"),
    (b"\x00\x00\x07\x02" + GOOD[4:], "bad IDX magic"),
    (GOOD[:10], "truncated IDX header"),
    (GOOD[:-1], "17 bytes where the header"),
    (GOOD + b"\x00", "19 bytes where the header"),
    (gzip.compress(GOOD)[:-8], "cannot decompress"),
])
def test_corrupt_idx_is_a_data_error(tmp_path, content, match):
    path = tmp_path / "bad.gz"
    path.write_bytes(content)
    with pytest.raises(DataError, match=match):
        read_idx(path)


@pytest.fixture
def unpublished_checksums(monkeypatch):
    """The synthetic files below are not the published MNIST: drop the known MD5s."""
    for relpath in MNIST_FILES.values():
        monkeypatch.setitem(SOURCES, relpath, dataclasses.replace(SOURCES[relpath],
                                                                  md5=None))


def write_mnist(data_dir, n_train, n_test, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    for key, relpath in MNIST_FILES.items():
        path = data_dir / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(idx_bytes(arrays[key], UINT8)))
    return arrays


def test_load_mnist_from_small_files(tmp_path, unpublished_checksums):
    arrays = write_mnist(tmp_path, 7, 3)
    X_train, y_train, X_test, y_test = load_mnist(tmp_path)
    np.testing.assert_array_equal(X_train, arrays["train_images"])
    np.testing.assert_array_equal(y_test, arrays["test_labels"])
    assert y_train.dtype == np.int64 and X_test.shape == (3, 28, 28)


def test_load_mnist_rejects_label_count_mismatch(tmp_path, unpublished_checksums):
    write_mnist(tmp_path, 7, 3)
    path = tmp_path / MNIST_FILES["test_labels"]
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(4, np.uint8), UINT8)))
    with pytest.raises(DataError, match="labels of shape \\(4,\\) for 3 images"):
        load_mnist(tmp_path)


def test_shared_mnist_has_the_published_sizes(shared_data_dir):
    X_train, y_train, X_test, y_test = load_mnist(shared_data_dir)
    assert X_train.shape == (60000, 28, 28) and X_train.dtype == np.uint8
    assert X_test.shape == (10000, 28, 28)
    # Published class counts of MNIST: digit 1 and digit 7, train and test.
    assert (np.sum(y_train == 1), np.sum(y_train == 7)) == (6742, 6265)
    assert (np.sum(y_test == 1), np.sum(y_test == 7)) == (1135, 1028)
