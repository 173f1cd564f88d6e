"""experiments/sources.py: benchmark, shards and your files as partitions."""

import math

import numpy as np
import pandas as pd
import pytest

from rdia.data import DataError
from rdia.data.shards import list_shards, read_shard, shard_roles, write_shards
from rdia.experiments import sources
from rdia.experiments.config import RunConfig
from rdia.experiments.engines import MemoryEngine
from test_experiments_pipeline import synthetic_shards


def load(**values):
    return sources.load(RunConfig(**values).resolved(), MemoryEngine())


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return synthetic_shards(tmp_path_factory.mktemp("sources") / "binary")


def test_shard_sizes_follow_the_per_shard_split_and_noise(shards):
    source = load(dataset=shards, noise=0.3)
    counts = np.array([[len(role) for role in shard_roles(read_shard(p)[0].shape[0], 0, k,
                                                         0.3, False)]
                       for k, p in enumerate(list_shards(shards))])
    sizes = np.sum([sources.partition_sizes(p) for p in source.parts], axis=0)
    assert tuple(sizes[:3]) == tuple(counts.sum(axis=0))
    assert sizes[3] == sum(math.floor(0.3 * n) for n in counts[:, 0])
    assert source.info["n_partitions"] == 5 and source.n_features == 40
    assert source.classes.tolist() == [1, 4] and source.n_train == counts[:, 0].sum()


def test_softmax_shards_resample_labels_symmetrically(tmp_path):
    folder = synthetic_shards(tmp_path / "k", n=3000, classes=4, seed=2)
    source = load(dataset=folder, noise=0.4)
    assert source.n_classes == 4 and source.info["noise_type"] == "symmetric"
    noisy = np.concatenate([p.noisy for p in source.parts])
    assert abs(noisy.mean() - 0.4) < 0.05


def test_test_shards_hold_all_the_test_rows(tmp_path, shards):
    test = synthetic_shards(tmp_path / "test", n=90, n_shards=2, seed=1)
    source = load(dataset=shards, test_file=test)
    sizes = np.sum([sources.partition_sizes(p) for p in source.parts], axis=0)
    assert sizes[2] == 90 and sizes[0] + sizes[1] == 600
    assert source.info["n_partitions"] == 7 and source.info["n_train_shards"] == 5


def test_parquet_shards_give_the_libsvm_shards_partitions(tmp_path, shards):
    for k, path in enumerate(list_shards(shards)):
        X, y = read_shard(path)
        write_shards(X, y, tmp_path / "pq", 1, prefix=f"part-{k:05d}-", suffix=".parquet")
    parquet = load(dataset=str(tmp_path / "pq" / "*.parquet"), noise=0.3)
    libsvm = load(dataset=shards, noise=0.3)
    for a, b in zip(parquet.parts, libsvm.parts):
        assert (a.X_train != b.X_train).nnz == 0
        np.testing.assert_array_equal(a.y_noisy, b.y_noisy)


def test_shards_with_one_label_are_refused(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "part-00000").write_text("1 1:1\n1 2:1\n")
    with pytest.raises(DataError, match="needs at least 2"):
        load(dataset=str(tmp_path / "one"))


def test_the_benchmark_source_is_one_noisy_partition_with_the_runs_seed():
    source = load(dataset="wdbc", noise=0.2, seed=5)
    (part,) = source.parts
    assert part.edit_seed == 5 and part.noisy.sum() == int(0.2 * part.n_train)
    np.testing.assert_array_equal(part.y_noisy != part.y_clean, part.noisy)
    assert len(part.y_val) == round(0.3 * (part.n_train + len(part.y_val)))


def test_your_files_are_one_partition_without_clean_labels(tmp_path):
    frame = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3,
                          "y": ["no", "yes"] * 10})
    frame.to_csv(tmp_path / "t.csv", index=False)
    source = load(train=str(tmp_path / "t.csv"), val=str(tmp_path / "t.csv"),
                  label_column="y")
    (part,) = source.parts
    assert part.y_clean is None and part.noisy is None
    assert source.classes.tolist() == ["no", "yes"] and source.data is not None
    assert source.info["kind"] == "table" and source.n_train == 20
