"""experiments/engines.py: the memory and Dask engines behind one interface."""

import logging
import os
import signal
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp

from rdia.data.shards import write_shards
from rdia.edits import TrainingSet
from rdia.experiments import pipeline
from rdia.experiments.config import RunConfig
from rdia.experiments import engines, sources
from rdia.experiments.cluster import quiet_logs
from rdia.experiments.engines import (Compact, DaskEngine, MemoryEngine, SummedObjective,
                                      add_all, combine_tree, observed_rows,
                                      stacked_set)
from rdia.models.logreg import Logistic
from rdia.models.softmax import Softmax
from test_experiments_pipeline import synthetic_shards

distributed = pytest.importorskip("distributed")


def blocks_of(n=90, d=7, k=3, seed=0, sparse=False):
    """Three blocks of rows with labels in 0 .. k-1, some relabeled and weighted; sparse
    blocks use overlapping runs of columns (block b: columns 2b .. 2b + 2), not all."""
    rng = np.random.default_rng(seed)
    blocks = []
    for b, size in enumerate((40, 30, 20)):
        X = rng.normal(size=(size, d))
        if sparse:
            X[:, [j for j in range(d) if not 2 * b <= j <= 2 * b + 2]] = 0.0
            X = sp.csr_matrix(X)
        blocks.append(TrainingSet(X, rng.integers(0, k, size), rng.random(size) < 0.2,
                                  rng.integers(0, 3, size).astype(float)))
    return blocks


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("model", [Logistic(), Softmax(3)], ids=["logreg", "softmax"])
def test_the_summed_objective_is_the_model_objective_on_the_stacked_rows(model, sparse):
    blocks = blocks_of(k=2 if model.n_columns == 1 else 3, sparse=sparse)
    summed = SummedObjective(MemoryEngine(), model, blocks, 0.7)
    rows = stacked_set(blocks)
    whole = model.objective(rows.X, rows.labels, 0.7, rows.relabeled, rows.weights)
    w = np.random.default_rng(1).normal(size=7 * model.n_columns) * 0.3
    point, reference = summed.evaluate(w), whole.evaluate(w)
    assert point.value == pytest.approx(reference.value, rel=1e-12)
    np.testing.assert_allclose(summed.gradient(point), whole.gradient(reference),
                               rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(2).normal(size=w.size)
    np.testing.assert_allclose(summed.hessian(point).matvec(v),
                               whole.hessian(reference).matvec(v), rtol=1e-10, atol=1e-12)
    # and the gradient is the derivative of the summed value (central differences)
    step = 1e-6
    numeric = [(summed.evaluate(w + step * e).value - summed.evaluate(w - step * e).value)
               / (2 * step) for e in np.eye(w.size)]
    np.testing.assert_allclose(summed.gradient(point), numeric, rtol=1e-5, atol=1e-6)


def test_compact_parts_add_up_to_the_dense_sum_bit_for_bit():
    rng = np.random.default_rng(0)
    dense, compact = [], []
    for index in (np.array([0, 3, 4]), np.array([1, 3]), np.array([4, 5, 0])):
        values = rng.normal(size=index.size) * 1e8
        vector = np.zeros(6)
        vector[index] = values
        dense.append(vector)
        compact.append(Compact(index, values, 6))
    np.testing.assert_array_equal(add_all(*compact), add_all(*dense))
    np.testing.assert_array_equal(add_all(dense[0], *compact[1:]), add_all(*dense))
    assert add_all(*dense).tolist() == (dense[0] + dense[1] + dense[2]).tolist()


def test_a_sum_is_added_in_the_same_tree_whatever_the_grouping():
    parts = [np.array([v]) for v in np.random.default_rng(0).normal(size=20) * 1e8]
    assert MemoryEngine().reduce(parts) == combine_tree(parts)
    assert add_all(np.ones(2), np.ones(2), np.ones(2)).tolist() == [3, 3]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return synthetic_shards(tmp_path_factory.mktemp("engines") / "binary", n=400)


@pytest.fixture(scope="module")
def wide_shards(tmp_path_factory):
    """Five shards of 2,000 columns, 20 non-zeros a row: each partition's rows use
    about half of the columns, not all."""
    rng = np.random.default_rng(0)
    X = sp.random(400, 2000, density=0.01, format="csr", random_state=rng)
    folder = tmp_path_factory.mktemp("engines") / "wide"
    write_shards(X, rng.integers(0, 2, 400), folder, 5)
    return str(folder)


def dask_run(config, n_workers, processes=False, on_matvec=None):
    """The pipeline on a new LocalCluster, its client gathering straight from the
    workers as ``cluster.dask_client``'s does."""
    quiet_logs()
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                  processes=processes, dashboard_address=":0",
                                  silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster, set_as_default=False, direct_to_workers=True) as client:
        client.wait_for_workers(n_workers)
        engine = DaskEngine(client)
        engine.on_matvec = on_matvec and (lambda c, calls: on_matvec(c, calls))
        report = pipeline.run_on(engine, config, progress=False)
        return report, set(client.run(os.getpid).values())


def test_dask_gives_the_same_numbers_bit_for_bit_on_1_2_and_3_workers(shards):
    config = RunConfig(dataset=shards, noise=0.3, alpha=0.001, engine="dask",
                       workers=1).resolved()
    reports = [dask_run(config, n)[0] for n in (1, 2, 3)]
    phis = [np.concatenate([r["phi"] for r in report["rows"]]) for report in reports]
    for report, phi in zip(reports[1:], phis[1:]):
        np.testing.assert_array_equal(phi, phis[0])
        assert report["results"] == reports[0]["results"]
    assert [r["config"]["n_workers"] for r in reports] == [1, 2, 3]


def test_a_worker_killed_during_the_phi_solve_changes_nothing(shards):
    """A worker process is killed at the third Hessian-vector product; the scheduler
    rebuilds its partitions from their files on the other worker."""
    config = RunConfig(dataset=shards, noise=0.3, alpha=0.001, methods=("rdia",),
                       engine="dask", workers=2).resolved()
    killed = []

    def kill_a_worker(client, calls):
        if calls == 3 and not killed:
            pids = client.run(os.getpid)
            victim = sorted(pids)[0]
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(pids[victim])

    report, alive = dask_run(config, 2, processes=True, on_matvec=kill_a_worker)
    memory = pipeline.run(RunConfig(dataset=shards, noise=0.3, alpha=0.001,
                                    methods=("rdia",)), progress=False)
    assert killed and killed[0] not in alive
    phi = np.concatenate([r["phi"] for r in report["rows"]])
    reference = np.concatenate([r["phi"] for r in memory["rows"]])
    assert np.max(np.abs(phi - reference)) <= 1e-6 * np.max(np.abs(reference))
    assert report["results"][0]["n_relabeled"] == memory["results"][0]["n_relabeled"]


def test_the_memory_engine_stacks_sparse_blocks_with_their_weights():
    X = sp.random(5, 3, density=0.5, format="csr", random_state=0)
    blocks = [TrainingSet(X, np.zeros(5, int), None, None),
              TrainingSet(X[:2], np.ones(2, int), np.array([True, False]), np.array([2., 0.]))]
    rows = stacked_set(blocks)
    assert sp.issparse(rows.X) and rows.X.shape == (7, 3)
    assert rows.relabeled.tolist() == [False] * 5 + [True, False]
    assert rows.weights.tolist() == [1.0] * 5 + [2.0, 0.0]


@pytest.mark.parametrize("whole", [False, True], ids=["entries", "whole-vector"])
def test_one_hessian_vector_product_is_a_task_per_partition_and_one_reduction(
        wide_shards, whole, monkeypatch):
    """On a real LocalCluster: one round trip, a block_hvp task per partition, each on
    its partition's worker, and nothing else while the partitions' entries travel (the
    client adds their values at the entries it keeps); sent whole, one hold task for the
    vector and one add_all on the workers. The product is the stacked rows' H v."""
    if whole:
        monkeypatch.setattr(engines, "PARTS_FACTOR", 0)
        monkeypatch.setattr(engines, "EMBED_BYTES", 0)
    key_split = pytest.importorskip("dask.utils").key_split
    config = RunConfig(dataset=wide_shards, noise=0.3, alpha=0.001, engine="dask",
                       workers=2).resolved()
    quiet_logs()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0",
                                  silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2)
        engine = DaskEngine(client)
        source = sources.load(config, engine)
        parts = engine.gather(source.parts)
        summed = SummedObjective(engine, Logistic(), engine.map(observed_rows, source.parts),
                                 config.C)
        rng = np.random.default_rng(0)
        w, v = rng.normal(size=(2, source.n_features)) * 0.5
        hessian = summed.hessian(summed.evaluate(w))
        assert all(index.size < source.n_features for index in summed.indices)
        trips = engine.round_trips
        with distributed.get_task_stream(client=client) as stream:
            product = hessian.matvec(v)
        assert engine.round_trips == trips + 1
        tasks = Counter(key_split(record["key"]) for record in stream.data)
        assert tasks == {"block_hvp": len(parts), **({"add_all": 1, "hold": 1} if whole else {})}
        per_worker = Counter(record["worker"] for record in stream.data
                             if key_split(record["key"]) == "block_hvp")
        assert sorted(per_worker.values()) == [2, 3]  # partitions 0-1 and 2-4
    rows = stacked_set([observed_rows(p) for p in parts])
    whole = Logistic().objective(rows.X, rows.labels, config.C)
    np.testing.assert_allclose(product, whole.hessian(whole.evaluate(w)).matvec(v),
                               rtol=1e-12, atol=1e-12)


def worker_malloc_setting():
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_the_runs_local_workers_keep_the_adaptive_malloc_thresholds(shards, monkeypatch):
    """Dask's nannies give workers MALLOC_TRIM_THRESHOLD_=65536, which fixes glibc's
    thresholds: each weight-sized temporary of a product is then mapped and faulted in
    anew (docs/dask.md). The run's LocalCluster leaves it unset."""
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)  # an earlier nanny's
    config = RunConfig(dataset=shards, engine="dask", workers=1).resolved()
    with engines.open_engine(config) as engine:
        assert list(engine.client.run(worker_malloc_setting).values()) == [None]
