"""experiments/dask_engine.py on a real dask.distributed.LocalCluster.

The Dask engine must give the in-memory engine's phi and results on the same shards
(relative difference <= 1e-6) for 1, 2 and 3 workers, keep doing so when a worker is
killed during the CG solve, and count the AUC exactly.
"""

import logging
import os
import signal

import dask
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score

from rdia.data import DataError, read_libsvm
from rdia.data.shards import write_shards
from rdia.experiments import dask_engine, sharded

distributed = pytest.importorskip("distributed")

RTOL = 1e-6


def synthetic_shards(folder, n=1500, d=300, seed=0):
    """A sparse logistic problem (about 10 non-zeros a row) as 5 LIBSVM shards."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=10 / d, format="csr", random_state=rng,
                  data_rvs=lambda k: rng.normal(size=k))
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ rng.normal(size=d) * 1.5))).astype(int)
    write_shards(X, y, folder, 5)
    return str(folder)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """name -> config kwargs: cancer (test shards), a1a (a1a.t as test), synthetic."""
    root = tmp_path_factory.mktemp("shards")
    found = {"synthetic": dict(dataset=synthetic_shards(root / "synthetic"), noise=0.3,
                               alpha=0.001)}
    data_dir = os.environ.get("RDIA_DATA_DIR", "")
    cancer = os.path.join(data_dir, "breast-cancer", "breast-cancer_scale")
    if data_dir and os.path.isfile(cancer):
        X, y = read_libsvm(cancer)
        write_shards(X[:500], y[:500], root / "cancer", 5)
        write_shards(X[500:], y[500:], root / "cancer-test", 2)
        found["cancer"] = dict(dataset=str(root / "cancer"),
                               test_file=str(root / "cancer-test"), noise=0.4)
    a1a = os.path.join(data_dir, "adult", "a1a")
    if data_dir and os.path.isfile(a1a):
        X, y = read_libsvm(a1a)
        write_shards(X, y, root / "a1a", 5)
        found["a1a"] = dict(dataset=str(root / "a1a"), test_file=a1a + ".t", noise=0.2,
                            alpha=0.002)
    return found


#: The in-memory reports, once per dataset.
MEMORY = {}

#: The first Dask phi of each dataset: every worker count must give it bit for bit.
FIRST_PHI = {}


def memory_report(config):
    if config.dataset not in MEMORY:
        MEMORY[config.dataset] = sharded.run(config)
    return MEMORY[config.dataset]


@pytest.fixture(scope="module", params=[1, 2, 3], ids=lambda n: f"{n}workers")
def client(request):
    """An in-process LocalCluster (threads) of 1, 2 or 3 one-thread workers."""
    dask_engine.quiet_logs()
    with distributed.LocalCluster(n_workers=request.param, threads_per_worker=1,
                                  processes=False, dashboard_address=":0",
                                  silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(request.param)
        yield client


def assert_same_results(memory, dask):
    for mine, theirs in zip(memory["results"], dask["results"]):
        assert mine.keys() == theirs.keys()
        for key, value in mine.items():
            if isinstance(value, float):
                assert theirs[key] == pytest.approx(value, rel=RTOL), (mine["method"], key)
            else:
                assert theirs[key] == value, (mine["method"], key)


def gathered_phi(client, report):
    return np.concatenate(client.gather(report["partitions"].phi))


@pytest.mark.parametrize("name", ["cancer", "a1a", "synthetic"])
def test_phi_and_rdia_equal_the_in_memory_engine(name, datasets, client):
    if name not in datasets:
        pytest.skip(f"{name} needs RDIA_DATA_DIR")
    config = sharded.ShardedConfig(**datasets[name], methods=("rdia",), engine="dask")
    memory, dask = memory_report(config), dask_engine.run(config, client)
    phi, reference = gathered_phi(client, dask), np.concatenate(memory["partitions"].phi)
    assert np.max(np.abs(phi - reference)) <= RTOL * np.max(np.abs(reference))
    assert_same_results(memory, dask)
    same = {key: memory["config"][key] for key in ("n_train", "n_val", "n_test",
                                                    "n_flipped", "n_harmful", "n_features")}
    assert {key: dask["config"][key] for key in same} == same
    assert dask["config"]["n_workers"] == len(client.scheduler_info()["workers"])
    assert dask["solver"]["residual"] <= config.tol
    # the same partitions and sums on any number of workers: the same bits
    assert np.array_equal(FIRST_PHI.setdefault(name, phi), phi)


def test_every_method_and_the_writers_equal_the_in_memory_engine(datasets, client,
                                                                 tmp_path):
    if len(client.scheduler_info()["workers"]) != 2:
        pytest.skip("once, on 2 workers")
    config = sharded.ShardedConfig(**datasets["synthetic"], engine="dask")
    memory = sharded.run(config)
    dask = dask_engine.run(config, client)
    assert [r["method"] for r in dask["results"]] == list(sharded.METHODS)
    assert_same_results(memory, dask)
    rows = dask["partitions"].influence_rows(config.alpha)
    expected = memory["partitions"].influence_rows(config.alpha)
    assert [r[:4] + r[5:] for r in rows] == [r[:4] + r[5:] for r in expected]
    np.testing.assert_allclose([float(r[4]) for r in rows], [float(r[4]) for r in expected],
                               rtol=RTOL, atol=RTOL * max(abs(float(r[4])) for r in expected))
    written = dask["partitions"].write_parquet(tmp_path / "phi", config.alpha)
    assert sorted(os.path.basename(p) for p in written) == \
        [f"part-{k:05d}.parquet" for k in range(5)]
    edges, counts = dask["partitions"].histogram()
    assert counts.sum() == memory["config"]["n_train"]


@pytest.mark.parametrize("n_pos_ties", [0, 40])
def test_auc_counts_pairs_exactly_with_ties_across_partitions(client, n_pos_ties):
    rng = np.random.default_rng(n_pos_ties)
    p1 = np.round(rng.random(400), 2)  # many ties, within and across partitions
    y = (rng.random(400) < p1).astype(np.int64)
    p1[:n_pos_ties] = 0.5
    cluster = dask_engine.Cluster(client)
    scores = [client.submit(dask_engine.Scores, p1[k::4], y[k::4], np.zeros(4))
              for k in range(4)]
    auc = dask_engine.distributed_auc(cluster, scores, int(y.sum()), int((1 - y).sum()))
    assert auc == pytest.approx(roc_auc_score(y, p1), rel=1e-12)
    assert dask_engine.distributed_auc(cluster, scores, 0, 400) is None


def test_a_malformed_shard_is_named_with_its_line(tmp_path, client):
    folder = synthetic_shards(tmp_path / "bad", n=200, d=20)
    path = os.path.join(folder, "part-00003")
    lines = open(path).read().splitlines()
    lines[4] = "1 5:1 x:2"
    open(path, "w").write("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"{path}:5: malformed LIBSVM line"):
        dask_engine.run(sharded.ShardedConfig(dataset=folder, engine="dask"), client)


def test_killed_worker_during_cg_gives_the_same_phi(datasets):
    """A worker process is killed at the third Hessian-vector product of the CG solve;
    the scheduler recomputes its partitions from their files on a new worker."""
    config = sharded.ShardedConfig(**datasets["synthetic"], methods=("rdia",),
                                   engine="dask")
    killed = []

    def kill_a_worker(client, calls):
        if calls == 3:
            pids = client.run(os.getpid)
            victim = next(address for key, addresses in client.who_has().items()
                          for address in addresses if str(key).startswith("build"))
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(pids[victim])

    dask_engine.quiet_logs()
    with dask.config.set({"distributed.admin.low-level-log-length": 1_000_000}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=":0",
                                  silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        report = dask_engine.run(config, client, on_matvec=kill_a_worker)
        phi = gathered_phi(client, report)
        builds = client.run_on_scheduler(count_finished, "build")
        alive = set(client.run(os.getpid).values())
    memory = memory_report(config)
    reference = np.concatenate(memory["partitions"].phi)
    assert killed and killed[0] not in alive
    assert builds > 5  # the lost partitions were built again, from their files
    assert np.max(np.abs(phi - reference)) <= RTOL * np.max(np.abs(reference))
    assert_same_results(memory, report)


def count_finished(prefix, dask_scheduler):
    """How many tasks whose key starts with ``prefix`` finished, from the scheduler's
    transition log."""
    return sum(1 for entry in dask_scheduler.transition_log
               if str(entry[0]).startswith(prefix) and entry[2] == "memory")
