"""benchmarks/dask_scale.py: its synthetic Criteo-shaped shards (the runs themselves are
timed on a quiet machine, see the README)."""

import numpy as np
import pytest

from benchmarks.dask_scale import NUMERIC, main, shard_rows, write_data
from rdia.data.shards import list_shards, read_shard


def test_rows_have_39_fields_and_are_seeded_by_shard():
    X, y = shard_rows(500, 5000, seed=0, shard=3)
    assert X.shape == (500, 5000)
    per_row = np.diff(X.indptr)
    assert per_row.max() == 39 and per_row.min() >= 30  # hashed fields may collide
    assert X[:, :NUMERIC].nnz == 500 * NUMERIC
    assert 0.05 < y.mean() < 0.6
    again, _ = shard_rows(500, 5000, seed=0, shard=3)
    other, _ = shard_rows(500, 5000, seed=0, shard=4)
    assert (X != again).nnz == 0 and (X != other).nnz > 0


def test_written_shards_read_back(tmp_path):
    folder = write_data(tmp_path / "d", n_rows=200, n_features=1000, n_shards=4, seed=0)
    paths = list_shards(folder)
    assert len(paths) == 4
    X, y = read_shard(paths[1])
    expected, labels = shard_rows(50, 1000, 0, 1)
    np.testing.assert_allclose(X.toarray(), expected[:, :X.shape[1]].toarray(), rtol=1e-15)
    np.testing.assert_array_equal(y, labels)


def test_too_few_rows_are_refused():
    with pytest.raises(SystemExit, match="at least 10 per shard"):
        main(["--rows", "40", "--shards", "8"])
