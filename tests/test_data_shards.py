"""data/shards.py: which files are shards, and how each partition is split and noised."""

import gzip
import math

import numpy as np
import pytest
import scipy.sparse as sp

from rdia.data import DataError
from rdia.data.shards import (TEST_RATIO, build_partition, dataset_classes, is_sharded,
                         list_shards, read_shard, shard_roles, shard_seed, describe_shard,
                         widen, write_shards)


def small_rows(n=40, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.5, format="csr", random_state=rng)
    X.data = np.round(X.data * 8) / 8 + 0.125  # exact in decimal text
    return X, np.where(rng.random(n) < 0.5, -1.0, 1.0)


def test_folder_shards_are_its_visible_files_in_name_order(tmp_path):
    for name in ("part-00002", "part-00000", "part-00001", ".hidden", "._crc"):
        (tmp_path / name).write_text("1 1:1\n")
    (tmp_path / "sub").mkdir()
    assert [p.rsplit("/", 1)[1] for p in list_shards(tmp_path)] == \
        ["part-00000", "part-00001", "part-00002"]


def test_glob_matches_files_only_and_no_match_is_a_data_error(tmp_path):
    (tmp_path / "a.svm").write_text("1 1:1\n")
    (tmp_path / "b.svm").write_text("1 1:1\n")
    (tmp_path / "c.txt").write_text("1 1:1\n")
    assert [p.rsplit("/", 1)[1] for p in list_shards(str(tmp_path / "*.svm"))] == \
        ["a.svm", "b.svm"]
    assert is_sharded(str(tmp_path / "*.svm")) and is_sharded(tmp_path)
    assert not is_sharded("cancer") and not is_sharded(str(tmp_path / "a.svm"))
    with pytest.raises(DataError, match=r"--test-file: the pattern .*names no shard"):
        list_shards(str(tmp_path / "*.parquet"), "--test-file")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="the folder .*empty names no shard"):
        list_shards(tmp_path / "empty")


def test_write_shards_round_trips_consecutive_rows(tmp_path):
    X, y = small_rows(23)
    paths = write_shards(X, y, tmp_path / "s", 4)
    assert len(paths) == 4 and paths == list_shards(tmp_path / "s")
    blocks = [read_shard(path) for path in paths]
    assert [b[0].shape[0] for b in blocks] == [6, 6, 5, 6]
    back = sp.vstack([widen(b[0], X.shape[1]) for b in blocks])
    np.testing.assert_array_equal(back.toarray(), X.toarray())
    np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks]), y)


def test_a_malformed_shard_names_the_shard_and_its_line(tmp_path):
    X, y = small_rows(12)
    paths = write_shards(X, y, tmp_path, 3)
    lines = open(paths[1]).read().splitlines()
    lines[2] = "1 3:0.5 2:0.5"
    with gzip.open(paths[1], "wt") as handle:  # compressed shards read as well
        handle.write("\n".join(lines) + "\n")
    read_shard(paths[0])
    with pytest.raises(DataError, match=rf"{paths[1]}:3: malformed LIBSVM line: feature "
                                        r"index 2 does not increase"):
        read_shard(paths[1])


@pytest.mark.parametrize("n", [1, 2, 7, 10, 101])
@pytest.mark.parametrize("test_shards", [False, True])
def test_roles_cover_every_row_once_with_the_documented_counts(n, test_shards):
    train, val, test = shard_roles(n, seed=3, shard_index=2, val_ratio=0.3,
                                   has_test_shards=test_shards)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(n))
    n_test = 0 if test_shards else math.ceil(TEST_RATIO * n)
    assert len(test) == n_test
    assert len(val) == math.ceil(0.3 * (n - n_test) - 0.5)
    for role in (train, val, test):
        assert np.all(np.diff(role) > 0)  # file order kept


def test_roles_depend_on_the_seed_and_the_shard_index_only():
    first = shard_roles(50, 0, 1, 0.3, False)
    assert all(np.array_equal(a, b) for a, b in zip(first, shard_roles(50, 0, 1, 0.3, False)))
    assert not np.array_equal(first[1], shard_roles(50, 0, 2, 0.3, False)[1])
    assert not np.array_equal(first[1], shard_roles(50, 1, 1, 0.3, False)[1])
    assert shard_seed(0, 1, 0) == int(np.random.SeedSequence([0, 1]).generate_state(3)[0])
    assert len({shard_seed(0, 1, stream) for stream in range(3)}) == 3


def test_partition_flips_exactly_floor_noise_of_its_training_rows():
    X, y = small_rows(40)
    classes = np.array([-1.0, 1.0])
    part = build_partition(X, y, index=4, width=9, classes=classes, seed=5,
                           val_ratio=0.3, noise=0.45, is_test_shard=False,
                           has_test_shards=False)
    train, val, test = shard_roles(40, 5, 4, 0.3, False)
    assert part.X_train.shape == (len(train), 9) and part.X_test.shape == (len(test), 9)
    clean = (y == 1).astype(int)
    np.testing.assert_array_equal(part.y_clean, clean[train])
    np.testing.assert_array_equal(part.y_val, clean[val])
    np.testing.assert_array_equal(part.X_val.toarray()[:, :6], X[val].toarray())
    assert part.noisy.sum() == math.floor(0.45 * len(train))
    np.testing.assert_array_equal(part.y_noisy != part.y_clean, part.noisy)
    assert part.edit_seed == shard_seed(5, 4, 2)


def test_a_test_shard_is_all_test_rows_without_noise():
    X, y = small_rows(10)
    part = build_partition(X, y, index=7, width=6, classes=np.array([-1.0, 1.0]), seed=0,
                           val_ratio=0.3, noise=0.5, is_test_shard=True,
                           has_test_shards=True)
    assert part.n_train == 0 and len(part.y_val) == 0 and len(part.y_test) == 10


def test_the_labels_of_all_shards_together_are_the_classes():
    X, _ = small_rows(4)
    two = dataset_classes([describe_shard((X, np.array([2.0, 2, 2, 2]))),
                           describe_shard((X, np.array([4.0, 2, 4, 4])))], "s")
    np.testing.assert_array_equal(two, [2.0, 4.0])
    three = dataset_classes([describe_shard((X, np.array([1.0, 2, 3, 1])))], "s")
    np.testing.assert_array_equal(three, [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match=r"s: the shards hold 1 distinct label\(s\) "
                                        r"\(2\); a classifier needs at least 2"):
        dataset_classes([describe_shard((X, np.array([2.0, 2, 2, 2])))], "s")


def test_parquet_shards_read_as_their_libsvm_twins(tmp_path):
    X, y = small_rows(23)
    for libsvm, parquet in zip(write_shards(X, y, tmp_path / "svm", 3),
                               write_shards(X, y, tmp_path / "pq", 3, suffix=".parquet")):
        assert parquet.endswith(".parquet")
        (X_svm, y_svm), (X_pq, y_pq) = read_shard(libsvm), read_shard(parquet)
        assert X_pq.format == "csr" and X_pq.shape == X_svm.shape
        assert (X_pq != X_svm).nnz == 0
        np.testing.assert_array_equal(y_pq, y_svm)


def parquet_rows(path, labels, indices, values):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"label": labels, "indices": indices, "values": values}),
                   str(path))
    return str(path)


@pytest.mark.parametrize("row, words", [
    (([3, 1], [1.0]), "row 2: indices and values differ in length"),
    (([0, 2], [1.0, 1.0]), "row 2: a feature index is below 1"),
    (([2, 2], [1.0, 1.0]), "row 2: the feature indices do not increase"),
    (([1, 2], [1.0, float("nan")]), "row 2: a value is not a finite number"),
])
def test_a_bad_parquet_row_is_named(tmp_path, row, words):
    path = parquet_rows(tmp_path / "s.parquet", [1.0, 0.0, 1.0], [[1, 4], row[0], [2]],
                        [[0.5, 0.5], row[1], [1.0]])
    with pytest.raises(DataError, match=rf"{path}: {words}"):
        read_shard(path)


def test_a_parquet_shard_needs_its_columns_and_must_be_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"label": [1.0], "indices": [[1]]}), str(path))
    with pytest.raises(DataError, match="'values' is missing"):
        read_shard(path)
    (tmp_path / "t.pq").write_text("1 1:1\n")
    with pytest.raises(DataError, match=r"t.pq: cannot read as Parquet"):
        read_shard(tmp_path / "t.pq")
    labels = parquet_rows(tmp_path / "u.parquet", ["a"], [[1]], [[1.0]])
    with pytest.raises(DataError, match="label must be a number"):
        read_shard(labels)
