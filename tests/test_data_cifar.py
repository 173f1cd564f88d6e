import pickle
import socket

import numpy as np
import pytest

from rdia.data import DataError, load_cifar10, read_cifar_batch
from rdia.data.download import CIFAR10_FOLDER


def pattern(n, offset):
    """Images whose pixel (channel c, row h, column w) of image i is known."""
    i, c, h, w = np.indices((n, 3, 32, 32))
    return ((i + offset) * 31 + c * 101 + h * 7 + w) % 256


def flat_rows(images):
    """The CIFAR-10 layout written out by hand: all red, then green, then blue,
    each 32 rows of 32 pixels."""
    n = len(images)
    rows = np.empty((n, 3072), dtype=np.uint8)
    for i in range(n):
        pos = 0
        for c in range(3):
            for h in range(32):
                for w in range(32):
                    rows[i, pos] = images[i, c, h, w]
                    pos += 1
    return rows


def write_batch(path, images, labels, protocol=2):
    batch = {b"batch_label": b"batch", b"data": flat_rows(images),
             b"labels": [int(v) for v in labels], b"filenames": [b"x.png"] * len(labels)}
    path.write_bytes(pickle.dumps(batch, protocol=protocol))


def write_cifar(data_dir, n_per_batch=3, n_test=2):
    folder = data_dir / CIFAR10_FOLDER
    folder.mkdir(parents=True)
    for b in range(1, 6):
        offset = (b - 1) * n_per_batch
        write_batch(folder / f"data_batch_{b}", pattern(n_per_batch, offset),
                    np.arange(offset, offset + n_per_batch) % 10)
    write_batch(folder / "test_batch", pattern(n_test, 100), [9, 0][:n_test])
    (folder / "batches.meta").write_bytes(pickle.dumps(
        {b"num_cases_per_batch": n_per_batch, b"num_vis": 3072,
         b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                          b"dog", b"frog", b"horse", b"ship", b"truck"]}, protocol=2))
    return folder


def test_load_cifar10_reads_channel_first_images(tmp_path):
    write_cifar(tmp_path)
    X_train, y_train, X_test, y_test = load_cifar10(tmp_path)
    assert X_train.shape == (15, 3, 32, 32) and X_train.dtype == np.uint8
    assert X_test.shape == (2, 3, 32, 32)
    np.testing.assert_array_equal(X_train, pattern(15, 0))
    np.testing.assert_array_equal(X_test, pattern(2, 100))
    np.testing.assert_array_equal(y_train, np.arange(15) % 10)
    np.testing.assert_array_equal(y_test, [9, 0])
    assert y_train.dtype == np.int64


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_batch_of_any_pickle_protocol(tmp_path, protocol):
    write_batch(tmp_path / "b", pattern(4, 0), [1, 2, 3, 4], protocol)
    X, y = read_cifar_batch(tmp_path / "b")
    np.testing.assert_array_equal(X, pattern(4, 0))
    np.testing.assert_array_equal(y, [1, 2, 3, 4])


class Trap:
    def __reduce__(self):
        return (print, ("executed",))


@pytest.mark.parametrize("content, match", [
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]})[:-30],
     "corrupt CIFAR-10 batch"),
    (pickle.dumps({b"labels": [0]}), "corrupt CIFAR-10 batch"),
    (pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}),
     r"expected uint8 \(n, 3072\)"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}),
     r"labels outside 0..9"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}),
     r"labels for 2 images"),
    (pickle.dumps({b"data": Trap(), b"labels": []}), "unexpected object builtins.print"),
])
def test_corrupt_batch_is_a_data_error(tmp_path, capsys, content, match):
    (tmp_path / "b").write_bytes(content)
    with pytest.raises(DataError, match=match):
        read_cifar_batch(tmp_path / "b")
    assert "executed" not in capsys.readouterr().out


def test_missing_batch_offline_is_a_data_error(tmp_path, monkeypatch):
    folder = write_cifar(tmp_path)
    (folder / "data_batch_3").unlink()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("RDIA_MIRROR", closed)
    with pytest.raises(DataError, match="RDIA_DATA_DIR") as info:
        load_cifar10(tmp_path)
    assert str(folder / "data_batch_3") in str(info.value)
