import dataclasses
import gzip
import socket

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer

from rdia.data import BINARY_DATASETS, DataError, load_binary, split_validation
from rdia.data.datasets import LIBSVM_DATASETS, load_multiclass


@pytest.fixture(autouse=True)
def offline_mirror(monkeypatch):
    """Any download attempt goes to a closed local port, never to the internet."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("RDIA_MIRROR", f"http://127.0.0.1:{port}")


def first_tokens(path):
    """Label token of every non-empty line, read without the package."""
    with open(path) as f:
        return [line.split()[0] for line in f if line.strip()]


def parse_line(line, width):
    """One LIBSVM line as a dense row, read without the package."""
    row = np.zeros(width)
    for pair in line.split()[1:]:
        index, value = pair.split(":")
        row[int(index) - 1] = float(value)
    return row


# name, training file, n_train, n_test, n_features, classes (SOURCES.md and docs/method.md 4)
SHARED = [
    ("cancer", "breast-cancer/breast-cancer_scale", 500, 183, 10, [2, 4]),
    ("diabetes", "diabetes/diabetes_scale", 500, 268, 8, [-1, 1]),
    ("adult", "adult/a9a", 32561, 16281, 123, [-1, 1]),
    ("a1a", "adult/a1a", 1605, 30956, 123, [-1, 1]),
]


@pytest.mark.parametrize("name, relpath, n_train, n_test, n_features, classes", SHARED)
def test_shared_libsvm_datasets(shared_data_dir, name, relpath, n_train, n_test,
                                n_features, classes):
    ds = load_binary(name, shared_data_dir)
    assert ds.name == name
    assert ds.X_train.shape == (n_train, n_features) and sp.isspmatrix_csr(ds.X_train)
    assert ds.X_test.shape == (n_test, n_features) and ds.n_features == n_features
    np.testing.assert_array_equal(ds.classes, classes)
    labels = np.array([float(t) for t in first_tokens(shared_data_dir / relpath)])
    np.testing.assert_array_equal(ds.y_train, labels[:n_train] == classes[1])
    assert ds.y_train.dtype == np.int64
    with open(shared_data_dir / relpath) as f:
        lines = f.readlines()
    np.testing.assert_array_equal(ds.X_train[0].toarray()[0], parse_line(lines[0], n_features))
    if name in ("cancer", "diabetes"):
        np.testing.assert_array_equal(ds.y_test, labels[n_train:] == classes[1])
        np.testing.assert_array_equal(ds.X_test[0].toarray()[0],
                                      parse_line(lines[n_train], n_features))


def test_shared_mnist_one_versus_seven(shared_data_dir):
    with gzip.open(shared_data_dir / "mnist/train-labels-idx1-ubyte.gz") as f:
        digits = np.frombuffer(f.read(), np.uint8, offset=8)
    with gzip.open(shared_data_dir / "mnist/train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(shared_data_dir / "mnist/t10k-labels-idx1-ubyte.gz") as f:
        test_digits = np.frombuffer(f.read(), np.uint8, offset=8)
    # As the published code: drop the first 100 raw images, then keep the 1s and 7s.
    kept = [i for i, d in enumerate(digits) if d in (1, 7) and i >= 100]
    kept_test = [i for i, d in enumerate(test_digits) if d in (1, 7)]

    ds = load_binary("mnist", shared_data_dir)
    first_100 = int(np.isin(digits[:100], (1, 7)).sum())
    assert ds.X_train.shape == (6742 + 6265 - first_100, 784) == (len(kept), 784)
    # 9,088 training and 3,895 validation rows after the last-30% split.
    X_tr, _, X_val, _ = split_validation(ds.X_train, ds.y_train)
    assert (len(X_tr), len(X_val)) == (9088, 3895)
    assert ds.X_test.shape == (1135 + 1028, 784) == (len(kept_test), 784)
    np.testing.assert_array_equal(ds.y_train, [1 if digits[i] == 1 else 0 for i in kept])
    np.testing.assert_array_equal(ds.y_test, [1 if test_digits[i] == 1 else 0 for i in kept_test])
    np.testing.assert_array_equal(ds.classes, [7, 1])
    np.testing.assert_allclose(ds.X_train[0], images[kept[0]] / 255)
    np.testing.assert_allclose(ds.X_train[-1], images[kept[-1]] / 255)
    assert ds.X_train.dtype == np.float64 and ds.X_train.max() == 1.0


def test_wdbc_split_is_seeded(tmp_path):
    X_all, y_all = load_breast_cancer(return_X_y=True)
    first, again, other = (load_binary("wdbc", tmp_path, seed=s) for s in (0, 0, 1))
    assert first.X_train.shape == (398, 30) and first.X_test.shape == (171, 30)
    np.testing.assert_array_equal(first.X_train, again.X_train)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.X_train, other.X_train)
    rows = np.vstack([first.X_train, first.X_test])
    order = np.lexsort(rows.T)
    np.testing.assert_array_equal(rows[order], X_all[np.lexsort(X_all.T)])
    labels = np.concatenate([first.y_train, first.y_test])[order]
    np.testing.assert_array_equal(labels, y_all[np.lexsort(X_all.T)])


def numbered_rows(n, width=3):
    """Rows whose feature 1 is the 1-based row number, so splits can be traced."""
    return [{1: i + 1, width: 0.5} for i in range(n)]


def row_numbers(X):
    return np.asarray(X[:, 0].toarray()).ravel().astype(int)


@pytest.mark.parametrize("name, relpath, tokens", [
    ("realsim", "real-sim/real-sim", ("-1", "+1")),
    ("news20", "news20/news20.binary", ("-1", "+1")),
])
def test_random_split_datasets_with_their_real_sizes(tmp_path, write_libsvm, name,
                                                     relpath, tokens):
    n_train = LIBSVM_DATASETS[name].n_train
    n = n_train + 500
    labels = [tokens[i % 3 == 0] for i in range(n)]
    write_libsvm(tmp_path / relpath, labels, numbered_rows(n))
    ds = load_binary(name, tmp_path, seed=3)
    # Feature 2 is zero in every row: dropped.
    assert ds.X_train.shape == (n_train, 2) and ds.X_test.shape == (500, 2)
    assert ds.n_dropped_features == 1
    train, test = row_numbers(ds.X_train), row_numbers(ds.X_test)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(1, n + 1))
    assert not np.array_equal(train, np.arange(1, n_train + 1))
    np.testing.assert_array_equal(ds.y_train, (train - 1) % 3 == 0)
    np.testing.assert_array_equal(ds.classes, [-1, 1])


def test_random_split_follows_the_seed(tmp_path, write_libsvm, monkeypatch):
    spec = LIBSVM_DATASETS["realsim"]
    monkeypatch.setitem(LIBSVM_DATASETS, "realsim", dataclasses.replace(spec, n_train=60))
    write_libsvm(tmp_path / spec.train, ["+1", "-1"] * 50, numbered_rows(100))
    first, again, other = (load_binary("realsim", tmp_path, seed=s) for s in (5, 5, 6))
    assert first.X_train.shape == (60, 2) and first.X_test.shape == (40, 2)
    np.testing.assert_array_equal(row_numbers(first.X_train), row_numbers(again.X_train))
    assert not np.array_equal(row_numbers(first.X_train), row_numbers(other.X_train))


def test_a_named_dataset_is_parsed_once_and_a_users_file_is_left_alone(tmp_path,
                                                                       write_libsvm):
    write_libsvm(tmp_path / "adult/a1a", ["+1", "-1"] * 40, numbered_rows(80))
    write_libsvm(tmp_path / "adult/a1a.t", ["-1", "+1"] * 10, numbered_rows(20))
    first, again = (load_binary("a1a", tmp_path) for _ in range(2))
    np.testing.assert_array_equal(row_numbers(first.X_train), row_numbers(again.X_train))
    np.testing.assert_array_equal(first.y_test, again.y_test)
    cached = sorted(p.name for p in (tmp_path / "adult").iterdir() if p.suffix == ".npz")
    assert [name.split(".")[1] for name in cached] == ["a1a", "a1a"]  # .a1a.<md5>, .a1a.t.<md5>
    mine = tmp_path / "mine" / "data.libsvm"
    write_libsvm(mine, ["+1", "-1"] * 40, numbered_rows(80))
    load_binary(str(mine), seed=0)
    assert [p.name for p in mine.parent.iterdir()] == ["data.libsvm"]


def test_covtype_takes_the_first_rows(tmp_path, write_libsvm, monkeypatch):
    spec = LIBSVM_DATASETS["covtype"]
    assert spec.n_train == 400_000
    monkeypatch.setitem(LIBSVM_DATASETS, "covtype", dataclasses.replace(spec, n_train=300))
    labels = ["1" if i % 4 else "2" for i in range(400)]
    write_libsvm(tmp_path / spec.train, labels, numbered_rows(400, width=54))
    ds = load_binary("covtype", tmp_path)
    np.testing.assert_array_equal(row_numbers(ds.X_train), np.arange(1, 301))
    np.testing.assert_array_equal(row_numbers(ds.X_test), np.arange(301, 401))
    np.testing.assert_array_equal(ds.y_test, np.arange(300, 400) % 4 == 0)
    np.testing.assert_array_equal(ds.classes, [1, 2])
    # Features 2 .. 53 are zero in every row: only 1 and 54 are kept.
    assert ds.n_features == 2 and ds.n_dropped_features == 52
    np.testing.assert_array_equal(ds.X_test[:, 1].toarray().ravel(), 0.5)


def test_named_file_with_too_few_rows(tmp_path, write_libsvm):
    write_libsvm(tmp_path / "breast-cancer/breast-cancer_scale", ["2", "4"] * 100,
                 numbered_rows(200))
    with pytest.raises(DataError, match="has 200 rows but the split needs more than 500"):
        load_binary("cancer", tmp_path)


def test_missing_named_file_offline(tmp_path):
    with pytest.raises(DataError, match="RDIA_DATA_DIR") as info:
        load_binary("news20", tmp_path)
    assert str(tmp_path / "news20" / "news20.binary") in str(info.value)


def test_path_with_test_file_shares_width_and_mapping(tmp_path, write_libsvm):
    train = write_libsvm(tmp_path / "train.txt", ["+1", "-1", "+1"],
                         [{1: 1.0}, {3: 2.0}, {2: 0.5}])
    test = write_libsvm(tmp_path / "test.txt", ["-1", "+1"], [{5: 1.0}, {1: 3.0}])
    ds = load_binary(str(train), test_file=test)
    assert ds.name == "train.txt"
    # Feature 4 is zero in both files: dropped; feature 5 (test only) is kept.
    assert ds.X_train.shape == (3, 4) and ds.X_test.shape == (2, 4) and ds.n_features == 4
    assert ds.n_dropped_features == 1
    np.testing.assert_array_equal(ds.X_train.toarray(), [[1, 0, 0, 0], [0, 0, 2, 0],
                                                         [0, 0.5, 0, 0]])
    np.testing.assert_array_equal(ds.X_test.toarray(), [[0, 0, 0, 1], [3, 0, 0, 0]])
    np.testing.assert_array_equal(ds.y_train, [1, 0, 1])
    np.testing.assert_array_equal(ds.y_test, [0, 1])


BILLION = 10**9


@pytest.mark.parametrize("load", [load_binary, load_multiclass])
def test_columns_zero_in_every_file_are_dropped_from_train_and_test(tmp_path, write_libsvm,
                                                                    load):
    # Feature 10^9 is used once in each file, feature 7 only as an explicit zero,
    # feature 4 only in the test file.
    train = write_libsvm(tmp_path / "train.txt", ["+1", "-1", "+1"],
                         [{1: 1.0, BILLION: 2.0}, {2: 0.5, 7: 0.0}, {1: -1.0}])
    test = write_libsvm(tmp_path / "test.txt", ["-1", "+1"], [{4: 1.0}, {BILLION: 3.0}])
    ds = load(str(train), test_file=test)
    assert ds.n_features == 4 and ds.n_dropped_features == BILLION - 4
    assert ds.X_train.shape == (3, 4) and ds.X_test.shape == (2, 4)
    # Kept columns in file order: features 1, 2, 4, 10^9.
    np.testing.assert_array_equal(ds.X_train.toarray(), [[1, 0, 0, 2], [0, 0.5, 0, 0],
                                                         [-1, 0, 0, 0]])
    np.testing.assert_array_equal(ds.X_test.toarray(), [[0, 0, 1, 0], [0, 0, 0, 3]])
    assert ds.X_train.nnz == 4


def test_named_dataset_counts_the_columns_of_its_declared_width(tmp_path, write_libsvm):
    # a1a is declared 123 features wide; these files use features 1, 5 and 123 only.
    write_libsvm(tmp_path / "adult/a1a", ["+1", "-1"], [{1: 1.0}, {5: 1.0}])
    write_libsvm(tmp_path / "adult/a1a.t", ["-1", "+1"], [{123: 1.0}, {1: 1.0}])
    ds = load_binary("a1a", tmp_path)
    assert ds.n_features == 3 and ds.n_dropped_features == 120
    np.testing.assert_array_equal(ds.X_test.toarray(), [[0, 0, 1], [1, 0, 0]])


def test_a_file_whose_values_are_all_zero_is_rejected(tmp_path, write_libsvm):
    path = write_libsvm(tmp_path / "zeros.txt", ["+1", "-1"] * 5, [{1: 0.0, 3: 0.0}] * 10)
    with pytest.raises(DataError, match="zeros.txt: every feature value is zero"):
        load_binary(path)


def test_path_without_test_file_is_split_70_30(tmp_path, write_libsvm):
    path = write_libsvm(tmp_path / "all.txt", ["+1", "-1"] * 10, numbered_rows(20))
    ds = load_binary(path, seed=0)
    assert ds.X_train.shape[0] == 14 and ds.X_test.shape[0] == 6
    again = load_binary(path, seed=0)
    np.testing.assert_array_equal(row_numbers(ds.X_train), row_numbers(again.X_train))


def test_three_labels_are_rejected(tmp_path, write_libsvm):
    path = write_libsvm(tmp_path / "three.txt", ["1", "2", "3"] * 4, numbered_rows(12))
    with pytest.raises(DataError, match="found 3 distinct label.*binary dataset"):
        load_binary(path)


def test_test_label_missing_from_training_is_rejected(tmp_path, write_libsvm):
    train = write_libsvm(tmp_path / "train.txt", ["+1", "+1"], numbered_rows(2))
    test = write_libsvm(tmp_path / "test.txt", ["-1", "+1"], numbered_rows(2))
    with pytest.raises(DataError, match="test set has label -1, which the training set lacks"):
        load_binary(train, test_file=test)


def test_unknown_name_lists_the_valid_names(tmp_path):
    with pytest.raises(DataError) as info:
        load_binary("no-such-dataset", tmp_path)
    message = str(info.value)
    assert "no-such-dataset" in message
    assert all(name in message for name in BINARY_DATASETS)


def test_test_file_with_a_named_dataset_is_rejected(tmp_path):
    with pytest.raises(DataError, match="test_file applies only"):
        load_binary("cancer", tmp_path, test_file=tmp_path / "x")


@pytest.mark.parametrize("sparse", [False, True])
# The last 0.3 n rows to the nearest integer, ties down: 204.9 -> 205, 3894.9 -> 3895
# (MNIST 1 vs 7), 377.1 -> 377, 31.5 -> 31, 481.5 -> 481 (a1a).
@pytest.mark.parametrize("n, n_val", [(10, 3), (500, 150), (683, 205), (12983, 3895),
                                      (1257, 377), (105, 31), (1605, 481)])
def test_split_validation_takes_the_last_rows(sparse, n, n_val):
    X = np.arange(n, dtype=float)[:, None] * [1.0, 2.0]
    X = sp.csr_matrix(X) if sparse else X
    y = np.arange(n) % 2
    X_tr, y_tr, X_val, y_val = split_validation(X, y)
    dense = (lambda A: A.toarray()) if sparse else (lambda A: A)
    np.testing.assert_array_equal(dense(X_tr)[:, 0], np.arange(n - n_val))
    np.testing.assert_array_equal(dense(X_val)[:, 0], np.arange(n - n_val, n))
    np.testing.assert_array_equal(y_val, np.arange(n - n_val, n) % 2)
    assert len(y_tr) == n - n_val and sp.issparse(X_val) == sparse


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1])
def test_split_validation_rejects_bad_ratios(ratio):
    with pytest.raises(DataError):
        split_validation(np.zeros((10, 2)), np.zeros(10), val_ratio=ratio)


# K classes: load_multiclass ------------------------------------------------------------

def test_digits_are_loaded_offline_scaled_and_split_by_the_seed(tmp_path):
    from sklearn.datasets import load_digits

    from rdia.data.datasets import load_multiclass
    X_all, y_all = load_digits(return_X_y=True)
    first, again, other = (load_multiclass("digits", tmp_path, seed=s) for s in (0, 0, 1))
    assert first.X_train.shape == (1257, 64) and first.X_test.shape == (540, 64)
    np.testing.assert_array_equal(first.classes, np.arange(10))
    np.testing.assert_array_equal(first.X_train, again.X_train)
    assert not np.array_equal(first.X_train, other.X_train)
    order = np.random.default_rng(0).permutation(len(y_all))
    np.testing.assert_array_equal(first.X_train, X_all[order[:1257]] / 16)
    np.testing.assert_array_equal(first.y_test, y_all[np.sort(order[1257:])])
    assert first.X_train.max() == 1.0 and first.y_train.dtype == np.int64


def test_shared_mnist_all_ten_digits(shared_data_dir):
    """mnist10 is load_mnist (tested on its own) minus the first 100 images, / 255."""
    from rdia.data.datasets import load_multiclass
    from rdia.data.mnist import load_mnist
    images, digits, _, test_digits = load_mnist(shared_data_dir)
    ds = load_multiclass("mnist10", shared_data_dir)
    assert ds.X_train.shape == (59900, 784) and ds.X_test.shape == (10000, 784)
    np.testing.assert_array_equal(ds.y_train, digits[100:])
    np.testing.assert_array_equal(ds.y_test, test_digits)
    np.testing.assert_allclose(ds.X_train[0], images[100].ravel() / 255)
    np.testing.assert_array_equal(ds.classes, np.arange(10))
    assert ds.X_train.dtype == np.float64 and ds.X_train.max() == 1.0


def test_multiclass_libsvm_path_maps_labels_in_sorted_order(tmp_path, write_libsvm):
    from rdia.data.datasets import load_multiclass
    labels = ["5", "-1", "2"] * 10
    path = write_libsvm(tmp_path / "three.txt", labels, numbered_rows(30))
    ds = load_multiclass(path, seed=4)
    assert ds.X_train.shape == (21, 2) and ds.X_test.shape == (9, 2)
    np.testing.assert_array_equal(ds.classes, [-1, 2, 5])
    raw = np.array([-1, 2, 5])
    np.testing.assert_array_equal(raw[ds.y_train],
                                  [int(labels[r - 1]) for r in row_numbers(ds.X_train)])
    # Two labels: the same rows and labels as load_binary.
    binary_path = write_libsvm(tmp_path / "two.txt", ["+1", "-1"] * 10, numbered_rows(20))
    multi, binary = load_multiclass(binary_path, seed=2), load_binary(binary_path, seed=2)
    np.testing.assert_array_equal(row_numbers(multi.X_train), row_numbers(binary.X_train))
    np.testing.assert_array_equal(multi.y_train, binary.y_train)


def test_multiclass_libsvm_with_test_file_and_bad_labels(tmp_path, write_libsvm):
    from rdia.data.datasets import load_multiclass
    train = write_libsvm(tmp_path / "train.txt", ["1", "2", "3"], [{1: 1.0}, {2: 1.0},
                                                                    {3: 1.0}])
    test = write_libsvm(tmp_path / "test.txt", ["3", "1"], [{4: 1.0}, {1: 2.0}])
    ds = load_multiclass(train, test_file=test)
    assert ds.X_train.shape == (3, 4) and ds.X_test.shape == (2, 4)
    np.testing.assert_array_equal(ds.y_test, [2, 0])
    unseen = write_libsvm(tmp_path / "unseen.txt", ["4"], [{1: 1.0}])
    with pytest.raises(DataError, match="test set has label 4"):
        load_multiclass(train, test_file=unseen)
    single = write_libsvm(tmp_path / "single.txt", ["7"] * 10, numbered_rows(10))
    with pytest.raises(DataError, match="single label"):
        load_multiclass(single)
    with pytest.raises(DataError, match="mnist10, digits, cancer"):
        load_multiclass("no-such-dataset", tmp_path)
