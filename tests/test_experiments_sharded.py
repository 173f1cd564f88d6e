"""experiments/sharded.py: RDIA on shards in one process, the Dask engine's reference."""

import csv
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from rdia import influence
from rdia.data.shards import list_shards, read_shard, shard_roles, write_shards
from rdia.experiments import sharded
from rdia.experiments.cli import ConfigError
from rdia.models.logreg import Logistic, objective_gradient


def synthetic_shards(folder, n=600, d=80, n_shards=5, seed=0):
    """Sparse logistic data (about 8 non-zeros a row) written as LIBSVM shards."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.1, format="csr", random_state=rng,
                  data_rvs=lambda k: rng.normal(size=k))
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ rng.normal(size=d) * 2))).astype(int)
    write_shards(X, 2 * y - 1, folder, n_shards)
    return folder


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return str(synthetic_shards(tmp_path_factory.mktemp("synthetic")))


@pytest.fixture(scope="module")
def report(shards):
    return sharded.run(sharded.ShardedConfig(dataset=shards, noise=0.3, alpha=0.001))


def test_sizes_follow_the_per_shard_split_and_noise(shards, report):
    counts = np.array([[len(role) for role in shard_roles(read_shard(p)[0].shape[0], 0, k,
                                                         0.3, False)]
                       for k, p in enumerate(list_shards(shards))])
    cfg = report["config"]
    assert (cfg["n_train"], cfg["n_val"], cfg["n_test"]) == tuple(counts.sum(axis=0))
    assert cfg["n_flipped"] == sum(math.floor(0.3 * n) for n in counts[:, 0])
    assert cfg["n_partitions"] == cfg["n_train_shards"] == 5 and cfg["n_features"] == 80
    assert [r["method"] for r in report["results"]] == list(sharded.METHODS)


def exact_optimum(X, y, C, steps=30):
    """Newton's method with dense solves (a test-side reference for small d)."""
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(X @ w)))
        H = np.eye(len(w)) + C * (X.T @ sp.diags(p * (1 - p)) @ X).toarray()
        w = w - np.linalg.solve(H, objective_gradient(w, X, y, C))
    return w


def test_phi_is_influence_at_the_exact_optimum(report):
    parts = report["partitions"].partitions
    X = sp.vstack([p.X_train for p in parts]).tocsr()
    y = np.concatenate([p.y_noisy for p in parts])
    X_val = sp.vstack([p.X_val for p in parts]).tocsr()
    y_val = np.concatenate([p.y_val for p in parts])
    w = exact_optimum(X, y, 0.1)
    phi = influence.influence(Logistic(), w, X, y, X_val, y_val, 0.1)
    np.testing.assert_allclose(np.concatenate(report["partitions"].phi), phi, rtol=1e-8,
                               atol=1e-8 * np.abs(phi).max())


def test_fit_tight_goes_past_liblinear(report):
    parts = report["partitions"].partitions
    X = sp.vstack([p.X_train for p in parts]).tocsr()
    y = np.concatenate([p.y_noisy for p in parts])
    start = np.linalg.norm(objective_gradient(np.zeros(80), X, y, 0.1))
    liblinear = Logistic(learner="liblinear")
    loose = np.linalg.norm(objective_gradient(liblinear.fit(X, y, 0.1), X, y, 0.1))
    tight = np.linalg.norm(objective_gradient(sharded.fit_tight(Logistic(), X, y, 0.1,
                                                                1e-10), X, y, 0.1))
    assert tight <= 1e-10 * start < loose


def test_edits_act_per_partition(report):
    rows = {r["method"]: r for r in report["results"]}
    local = report["partitions"]
    harmful = local.n_harmful(0.001)
    assert harmful == report["config"]["n_harmful"] > 0
    assert rows["rdia"]["n_relabeled"] == harmful and rows["rdia"]["n_removed"] == 0
    assert rows["drop"]["n_removed"] == harmful
    kept = sum(round(0.95 * p.n_train) for p in local.partitions)
    assert rows["random"]["n_train_used"] == kept
    classes = [round(0.95 * np.sum(p.y_noisy == c)) for p in local.partitions for c in (0, 1)]
    assert rows["uids"]["n_train_used"] == sum(classes)
    noisy = np.concatenate([p.noisy for p in local.partitions])
    selected = np.concatenate(local.phi) > 0.001
    assert rows["rdia"]["precision"] == pytest.approx((selected & noisy).sum() / selected.sum())
    assert rows["full"]["precision"] is None and rows["clean"]["recall"] is None


def test_influence_table_csv_and_parquet_agree(tmp_path, report):
    local = report["partitions"]
    sharded.write_influence(tmp_path / "phi.csv", local, 0.001)
    written = sharded.write_influence(tmp_path / "parts", local, 0.001)
    assert [p.rsplit("/", 1)[1] for p in written] == [f"part-{k:05d}.parquet"
                                                     for k in range(5)]
    with open(tmp_path / "phi.csv") as handle:
        rows = list(csv.DictReader(handle))
    table = pd.read_parquet(tmp_path / "parts").sort_values("index")
    assert [int(r["index"]) for r in rows] == table["index"].tolist() == \
        list(range(report["config"]["n_train"]))
    np.testing.assert_allclose([float(r["phi"]) for r in rows], table["phi"], rtol=1e-9)
    assert table["relabeled"].tolist() == [int(p > 0.001) for p in table["phi"]]
    assert table["noisy"].sum() == report["config"]["n_flipped"]


def test_histogram_counts_every_training_row(report):
    edges, counts = report["partitions"].histogram()
    assert len(edges) == sharded.HISTOGRAM_BINS + 1
    assert counts.sum() == report["config"]["n_train"]
    assert counts[1].sum() == report["config"]["n_flipped"]


def test_test_shards_hold_the_test_rows(tmp_path, shards):
    test = synthetic_shards(tmp_path / "test", n=90, n_shards=2, seed=1)
    result = sharded.run(sharded.ShardedConfig(dataset=shards, test_file=str(test),
                                               methods=("full",)))
    assert result["config"]["n_test"] == 90 and result["config"]["n_partitions"] == 7
    assert result["config"]["n_train"] + result["config"]["n_val"] == 600


@pytest.mark.parametrize("settings, message", [
    (dict(methods=("cleanlab-prune",)), "cleanlab-prune is not offered"),
    (dict(engine="spark"), "--engine: unknown 'spark'"),
    (dict(engine="dask", solver="direct"), "cg only"),
    (dict(workers=0), "--workers must be an integer >= 1"),
    (dict(noise=1.0), "--noise"),
])
def test_bad_settings_are_config_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        sharded.ShardedConfig(dataset="shards/", **settings)


def test_run_name_is_a_file_name_without_the_engine():
    config = sharded.ShardedConfig(dataset="data/x/part-*", test_file="data/t/*.svm",
                                   engine="dask", C=1.0)
    assert sharded.run_name(config) == \
        "rdia-part-_-noise0.4-alpha0.0002-seed0-test_.svm-C1.0"
    assert "engine" not in sharded.settings(config)


def test_parquet_shards_give_the_libsvm_shards_results(tmp_path, shards, report):
    for k, path in enumerate(list_shards(shards)):
        X, y = read_shard(path)
        write_shards(X, y, tmp_path / "pq", 1, prefix=f"part-{k:05d}-", suffix=".parquet")
    again = sharded.run(sharded.ShardedConfig(dataset=str(tmp_path / "pq" / "*.parquet"),
                                              noise=0.3, alpha=0.001))
    np.testing.assert_array_equal(np.concatenate(again["partitions"].phi),
                                  np.concatenate(report["partitions"].phi))
    assert again["results"] == report["results"]
