"""experiments/engines.py: the memory and Dask engines behind one interface."""

import logging
import os
import signal

import numpy as np
import pytest
import scipy.sparse as sp

from rdia.edits import TrainingSet
from rdia.experiments import pipeline
from rdia.experiments.config import RunConfig
from rdia.experiments.engines import (DaskEngine, MemoryEngine, SummedObjective, add_all,
                                      combine_tree, quiet_logs, stacked_set)
from rdia.models.logreg import Logistic
from rdia.models.softmax import Softmax
from test_experiments_pipeline import synthetic_shards

distributed = pytest.importorskip("distributed")


def blocks_of(n=90, d=7, k=3, seed=0):
    """Three blocks of dense rows with labels in 0 .. k-1, some relabeled and weighted."""
    rng = np.random.default_rng(seed)
    blocks = []
    for size in (40, 30, 20):
        X = rng.normal(size=(size, d))
        blocks.append(TrainingSet(X, rng.integers(0, k, size), rng.random(size) < 0.2,
                                  rng.integers(0, 3, size).astype(float)))
    return blocks


@pytest.mark.parametrize("model", [Logistic(), Softmax(3)], ids=["logreg", "softmax"])
def test_the_summed_objective_is_the_model_objective_on_the_stacked_rows(model):
    blocks = blocks_of(k=2 if model.n_columns == 1 else 3)
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


def test_a_sum_is_added_in_the_same_tree_whatever_the_grouping():
    parts = [np.array([v]) for v in np.random.default_rng(0).normal(size=20) * 1e8]
    assert MemoryEngine().reduce(parts) == combine_tree(parts)
    assert add_all(np.ones(2), np.ones(2), np.ones(2)).tolist() == [3, 3]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return synthetic_shards(tmp_path_factory.mktemp("engines") / "binary", n=400)


def dask_run(config, n_workers, processes=False, on_matvec=None):
    quiet_logs()
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                  processes=processes, dashboard_address=":0",
                                  silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
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
