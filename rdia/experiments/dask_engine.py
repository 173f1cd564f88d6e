"""RDIA for logistic regression on partitioned data with Dask (``RDIA.py --engine dask``).

Every step of RDIA for logistic regression is a sum over rows or a map over rows, so
each runs where the rows are:

- **load**: every worker reads its own shards (``data.shards``) into SciPy CSR blocks
  and keeps them in memory as futures; partition k is split and made noisy with
  ``SeedSequence([seed, k])`` (``experiments.sharded.partition_of``), so nothing
  depends on the number of workers. The client learns only each shard's row count,
  width and labels.
- **fit**: trust-region Newton-CG (``scipy.optimize.minimize(method="trust-ncg")``) on
  the client; the objective, its gradient and its Hessian-vector products are sums
  over partitions of what the in-memory model computes on one CSR block
  (``models.logreg.sample_losses``, ``Logistic.validation_gradient``,
  ``Logistic.hessian(...).matvec``).
- **phi**: the same ``influence.ConjugateGradient`` as in memory, on
  :class:`DistributedHessian`, whose ``matvec`` is one map-reduce; then phi is a map
  (``influence.sample_influence`` per partition) and stays on the workers.
- **methods**: each partition applies the method's edit to its rows
  (``experiments.sharded.partition_edit``: the harmful set, R, random and uids
  sampling with the partition's seed) and the refit is again a map-reduce fit.
- **scores**: log-loss and accuracy are sums; the ROC AUC is counted exactly (the
  Mann-Whitney pairs) by bucketing the scores and counting within each bucket on a
  worker (:func:`distributed_auc`).

Only vectors of length d (the weights, a CG direction, a gradient) and a few numbers
per partition travel between the client and the workers. A vector goes out as the
result of a small task that holds it, so a lost copy is recomputed like any task;
partial sums are added in a fixed tree over the partition order (:data:`TREE_FANIN`),
so the sums, and every result, are the same for any number of workers. When a worker
dies, the scheduler recomputes its partitions from their files.
"""

import contextlib
import logging
import resource
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from rdia import influence
from rdia import relabel
from rdia.data.shards import check_totals, read_shard, summarize
from rdia.experiments import sharded
from rdia.experiments.cli import ConfigError
from rdia.models.linear import ranked_pairs
from rdia.models.logreg import Logistic, sample_losses


#: Seconds to reach a scheduler given with --scheduler.
CONNECT_TIMEOUT = 10

#: Partial results added by one task of the reduction tree.
TREE_FANIN = 8

#: Relative gradient norm at which the trust-region phase of a fit hands over to
#: Newton steps (``experiments.sharded.newton_polish``).
ROUGH_TOL = 1e-6

#: Largest vector sent inside each task that takes it instead of through a task of its
#: own (see :meth:`Cluster.send`).
EMBED_BYTES = 64 * 1024

#: Quantiles of its scores that each partition proposes as AUC bucket boundaries.
AUC_QUANTILES = 16


# --------------------------------------------------------------------------- cluster

def quiet_logs():
    """Keep Dask's log lines (connection retries, worker restarts) off stderr."""
    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def session(config):
    """A Dask client for a run: to ``config.scheduler``, or to a new LocalCluster.

    The LocalCluster has ``config.workers`` worker processes of one thread each and its
    HTTP server on a free port (not 8787, which another cluster may hold); it is
    closed on exit.

    Yields
    ------
    client : distributed.Client

    Raises
    ------
    experiments.cli.ConfigError
        When the scheduler cannot be reached within CONNECT_TIMEOUT seconds.
    """
    from distributed import Client, LocalCluster

    quiet_logs()
    with contextlib.ExitStack() as stack:
        if config.scheduler is None:
            cluster = stack.enter_context(LocalCluster(
                n_workers=config.workers, threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=logging.CRITICAL))
            client = stack.enter_context(Client(cluster, set_as_default=False))
        else:
            client = stack.enter_context(connect(config.scheduler))
        yield client


def connect(address):
    """A client of the scheduler at ``address``; ConfigError after CONNECT_TIMEOUT s."""
    from distributed import Client

    check_address(address)
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        detail = " ".join(str(error).split()) or type(error).__name__
        raise ConfigError(f"--scheduler {address}: cannot reach a Dask scheduler within "
                          f"{CONNECT_TIMEOUT} s ({detail}); start one with 'dask "
                          f"scheduler' and workers with 'dask worker {address}'") from None


def check_address(address):
    """ConfigError unless ``address`` reads as a scheduler address (tcp://host:port).

    Checked before connecting: a client built on an address that does not parse is
    left half made, and its clean-up at exit times out 20 s later with a traceback.
    """
    from distributed.comm import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except (ValueError, TypeError) as error:
        detail = " ".join(str(error).split())
        raise ConfigError(f"--scheduler {address}: not a scheduler address ({detail}); "
                          f"give one such as tcp://host:8786") from None


# ------------------------------------------------------------------------ map-reduce

@dataclass
class Traffic:
    """Bytes of arrays the client sent to and received from the cluster."""

    sent: int = 0
    received: int = 0


def hold(value):
    """The task that carries a vector to the workers: it returns its argument."""
    return value


def add_all(*parts):
    """The sum of partial results in the order given (arrays, or tuples of them)."""
    total = parts[0]
    for part in parts[1:]:
        total = tuple(a + b for a, b in zip(total, part)) if isinstance(total, tuple) \
            else total + part
    return total


def min_all(*parts):
    """Elementwise minimum of arrays, in the order given."""
    return np.min(np.stack(parts), axis=0)


class Cluster:
    """The client of a run, with map, reduce and the bytes it moved.

    Parameters
    ----------
    client : distributed.Client

    Attributes
    ----------
    small_results : bool
        Whether reductions gather their leaves to the client (set once d is known:
        vectors of at most :data:`EMBED_BYTES`).
    """

    def __init__(self, client):
        self.client = client
        self.traffic = Traffic()
        self.small_results = True

    def send(self, array):
        """``array`` for the arguments of tasks on the cluster.

        A small array (at most :data:`EMBED_BYTES`) is returned as it is and travels
        inside each task that takes it, which saves a hop; a larger one becomes the
        future of a task that holds it, sent once and fetched by the workers that need
        it. Either way a lost copy is recomputed, unlike a scattered one.
        """
        array = np.asarray(array)
        if array.nbytes <= EMBED_BYTES:
            return array
        self.traffic.sent += int(array.nbytes)
        return self.client.submit(hold, array)

    def submit(self, function, *args):
        """``function(*args)`` on the cluster; counts the bytes of embedded arrays."""
        self.traffic.sent += sum(int(a.nbytes) for a in args if isinstance(a, np.ndarray))
        return self.client.submit(function, *args)

    def map(self, function, *columns, args=()):
        """``function(column_1[k], column_2[k], ..., *args)`` for every k; futures."""
        return [self.submit(function, *row, *args) for row in zip(*columns)]

    def reduce(self, futures, combine=add_all):
        """Combine per-partition results in a fixed tree over their order; the result.

        With ``small_results`` set the leaves are gathered and combined here, in the
        same tree (one hop less); otherwise the tree runs on the workers and only its
        root comes back.
        """
        if self.small_results:
            return combine_tree(self.gather(futures), combine)
        level = list(futures)
        while len(level) > 1:
            level = [self.client.submit(combine, *level[i:i + TREE_FANIN])
                     for i in range(0, len(level), TREE_FANIN)]
        result = level[0].result()
        self.traffic.received += _nbytes(result)
        return result

    def map_reduce(self, function, *columns, args=(), combine=add_all):
        return self.reduce(self.map(function, *columns, args=args), combine)

    def gather(self, futures):
        """Small per-partition results (counts, summaries) on the client."""
        results = self.client.gather(futures)
        self.traffic.received += sum(_nbytes(r) for r in results)
        return results


def combine_tree(parts, combine=add_all):
    """``parts`` combined in the tree of :meth:`Cluster.reduce`, here."""
    level = list(parts)
    while len(level) > 1:
        level = [combine(*level[i:i + TREE_FANIN]) for i in range(0, len(level), TREE_FANIN)]
    return level[0]


def _nbytes(value):
    if isinstance(value, tuple):
        return sum(_nbytes(v) for v in value)
    return int(getattr(value, "nbytes", 8))


# ----------------------------------------------------------------- partition tasks

def shard_summary(shard):
    """``data.shards.summarize`` of a read shard (X, y)."""
    return summarize(*shard)


def build(shard, index, plan, config):
    """Partition ``index`` from its read shard, on the worker that read it."""
    return sharded.partition_of(shard[0], shard[1], index, plan, config)


@dataclass
class FitState:
    """One partition's part of J at w: the Hessian operator, the loss and its gradient.

    Attributes
    ----------
    hessian : models.linear.LinearHessian
        ``model.hessian(w, X, C)`` on the partition's rows (I + C X^T D X).
    value : float
        C sum_i l_i over the partition's rows.
    gradient : ndarray of shape (d,)
        C X^T (p - y) over the partition's rows.
    """

    hessian: object
    value: float
    gradient: np.ndarray


def fit_state(block, w, C, model):
    """The :class:`FitState` of a ``sharded.FitBlock`` at w, from the model's functions."""
    return FitState(hessian=model.hessian(w, block.X, C),
                    value=C * float(sample_losses(w, block.X, block.y).sum()),
                    gradient=model.validation_gradient(w, block.X, block.y, C))


def state_terms(state):
    """(C sum l, C X^T (p - y)) of a partition, for the reduction."""
    return np.array([state.value]), state.gradient


def hessian_term(state, v):
    """C X^T D X v on the partition: its Hessian operator's H v minus the identity's v."""
    return state.hessian.matvec(v) - v


def hessian_diagonal_term(state):
    """C sum_i x_ij^2 D_ii on the partition: diag(H) minus the identity's ones."""
    return state.hessian.diagonal() - 1.0


def training_block(partition):
    """The partition's training rows with their observed labels."""
    return sharded.FitBlock(partition.X_train, partition.y_noisy)


def validation_gradient(partition, W, C, model):
    """g_val on the partition's validation rows (``model.validation_gradient``)."""
    return model.validation_gradient(W, partition.X_val, partition.y_val, C)


def partition_phi(partition, W, s, C, model):
    """phi of the partition's training rows (``influence.sample_influence``)."""
    return influence.sample_influence(model, W, partition.X_train, partition.y_noisy, s, C)


def count_harmful(phi, alpha):
    return np.array([int(relabel.harmful_mask(phi, alpha).sum())], dtype=np.int64)


@dataclass
class Scores:
    """A model's scores of one partition's validation or test rows, kept on the worker.

    Attributes
    ----------
    p1 : ndarray of shape (n,)
        P(y = 1), as ``LinearModel.evaluate`` ranks them for the AUC.
    y : ndarray of shape (n,)
    sums : ndarray of shape (4,)
        [summed log-loss, correct predictions, n, positives].
    """

    p1: np.ndarray
    y: np.ndarray
    sums: np.ndarray


def partition_scores(partition, W, which, model):
    """:class:`Scores` of the partition's ``which`` rows ("val" or "test")."""
    X, y = (partition.X_val, partition.y_val) if which == "val" else \
        (partition.X_test, partition.y_test)
    log_p = model.log_proba(W, X)
    P = np.exp(log_p)
    sums = np.array([-log_p[np.arange(len(y)), y].sum(), np.sum(P.argmax(axis=1) == y),
                     len(y), np.sum(y == 1)], dtype=float)
    return Scores(P[:, 1], y, sums)


def score_sums(scores):
    return scores.sums


def score_quantiles(scores, count):
    """``count`` quantiles of the partition's scores (none for no rows)."""
    if len(scores.p1) == 0:
        return np.zeros(0)
    return np.quantile(scores.p1, np.linspace(0.0, 1.0, count))


def bucket_of(scores, cuts):
    """Bucket of every score: the number of cuts at or below it."""
    return np.searchsorted(cuts, scores.p1, side="right")


def bucket_counts(scores, cuts):
    """Positives and negatives of the partition in every bucket, shape (2, buckets)."""
    bucket = bucket_of(scores, cuts)
    size = len(cuts) + 1
    return np.stack([np.bincount(bucket[scores.y == 1], minlength=size),
                     np.bincount(bucket[scores.y == 0], minlength=size)]).astype(float)


def bucket_rows(scores, cuts, bucket):
    """(scores, labels) of the partition's rows in one bucket."""
    mask = bucket_of(scores, cuts) == bucket
    return scores.p1[mask], scores.y[mask]


def pairs_within(*pieces):
    """Mann-Whitney count of one bucket: positive above negative 1, tie 1/2."""
    p1 = np.concatenate([p for p, _ in pieces])
    y = np.concatenate([labels for _, labels in pieces])
    return np.array([ranked_pairs(p1, y == 1)])


def peak_rss(dask_worker=None):
    """Peak resident memory of this process, bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def outgoing_bytes(dask_worker):
    """Bytes this worker has sent to other workers."""
    return int(dask_worker.transfer_outgoing_bytes_total)


# ------------------------------------------------------------------- distributed ops

class DistributedHessian:
    """H = I + sum_k C X_k^T D_k X_k over partitions, for ``influence.ConjugateGradient``.

    Parameters
    ----------
    cluster : Cluster
    states : list of futures of FitState
        One per partition, at the fitted weights.
    n_features : int
    on_matvec : callable, optional
        Called as ``on_matvec(client, calls)`` before each product (tests use it to
        kill a worker during the solve).

    Attributes
    ----------
    calls : int
        Hessian-vector products so far.
    """

    def __init__(self, cluster, states, n_features, on_matvec=None):
        self.cluster = cluster
        self.states = states
        self.n_features = n_features
        self.on_matvec = on_matvec
        self.calls = 0

    def matvec(self, v):
        """H v, shape (d,)."""
        self.calls += 1
        if self.on_matvec is not None:
            self.on_matvec(self.cluster.client, self.calls)
        held = self.cluster.send(v)
        return v + self.cluster.map_reduce(hessian_term, self.states, args=(held,))

    def diagonal(self):
        """diag(H), shape (d,): the Jacobi preconditioner."""
        return 1.0 + self.cluster.map_reduce(hessian_diagonal_term, self.states)

    def dense(self):
        raise ConfigError("the Dask engine never builds the dense Hessian; use cg")


class DistributedObjective:
    """J(w) = 1/2 |w|^2 + C sum_i l_i over partitions, for ``scipy.optimize.minimize``.

    The partition states at the last w are kept on the workers, so the
    Hessian-vector products of a trust-region step reuse them.

    Parameters
    ----------
    cluster : Cluster
    blocks : list of futures of experiments.sharded.FitBlock
    C : float
    model : models.logreg.Logistic
    """

    def __init__(self, cluster, blocks, C, model):
        self.cluster = cluster
        self.blocks = blocks
        self.C = C
        self.model = model
        self.w = None

    def at(self, w):
        """Compute, once per w, the partition states and the summed value and gradient."""
        if self.w is not None and np.array_equal(w, self.w):
            return
        held = self.cluster.send(w)
        self.states = self.cluster.map(fit_state, self.blocks,
                                       args=(held, self.C, self.model))
        value, gradient = self.cluster.map_reduce(state_terms, self.states)
        self.w, self.value, self.gradient = w.copy(), float(value[0]), gradient

    def value_and_gradient(self, w):
        """(J(w), grad J(w))."""
        self.at(w)
        return 0.5 * float(w @ w) + self.value, w + self.gradient

    def hessian(self, w):
        """The Hessian of J at w as a :class:`DistributedHessian`."""
        self.at(w)
        return DistributedHessian(self.cluster, self.states, len(w))

    def hessp(self, w, v):
        """grad^2 J(w) v."""
        self.at(w)
        held = self.cluster.send(v)
        return v + self.cluster.map_reduce(hessian_term, self.states, args=(held,))


def fit(cluster, blocks, n_features, C, model, fit_tol):
    """Minimise J over the blocks: trust-region Newton-CG, then exact Newton steps.

    The trust region (``scipy.optimize.minimize(method="trust-ncg")``) brings
    |grad J| to :data:`ROUGH_TOL` |grad J(0)|; below that the predicted decrease of J
    is lost in its rounding, and ``experiments.sharded.newton_polish`` (the in-memory
    engine's last steps, here on the distributed Hessian) takes it to
    fit_tol |grad J(0)|.

    Returns
    -------
    w : ndarray of shape (d,)
    objective : DistributedObjective
        Its states are at w.

    Raises
    ------
    influence.ConvergenceError
        When the Newton steps do not reach the tolerance.
    """
    objective = DistributedObjective(cluster, blocks, C, model)
    w = np.zeros(n_features)
    g0 = np.linalg.norm(objective.value_and_gradient(w)[1])
    w = minimize(objective.value_and_gradient, w, jac=True, hessp=objective.hessp,
                 method="trust-ncg", options=dict(gtol=ROUGH_TOL * g0, maxiter=1000)).x
    w = sharded.newton_polish(w, lambda v: objective.value_and_gradient(v)[1],
                              objective.hessian, fit_tol * g0)
    objective.at(w)
    return w, objective


def distributed_auc(cluster, scores, n_pos, n_neg):
    """Exact ROC AUC of scores that stay on the workers; None when a class is missing.

    Bucket boundaries come from quantiles of each partition's scores; pairs in
    different buckets are counted from per-bucket class counts, pairs in the same
    bucket on one worker per bucket (:func:`pairs_within`). Ties count 1/2, as in
    ``sklearn.metrics.roc_auc_score``.
    """
    if n_pos == 0 or n_neg == 0:
        return None
    proposals = np.sort(np.concatenate(cluster.gather(
        cluster.map(score_quantiles, scores, args=(AUC_QUANTILES,)))))
    n_buckets = max(len(scores), 1)
    cuts = np.unique(proposals[np.linspace(0, len(proposals) - 1, n_buckets + 1)
                               .round().astype(int)[1:-1]])
    counts = cluster.map_reduce(bucket_counts, scores, args=(cuts,))
    negatives_below = np.concatenate([[0.0], np.cumsum(counts[1])[:-1]])
    across = float(np.sum(counts[0] * negatives_below))
    within = cluster.gather([cluster.client.submit(
        pairs_within, *cluster.map(bucket_rows, scores, args=(cuts, b)))
        for b in range(len(cuts) + 1)])
    return (across + float(np.sum(within))) / (n_pos * n_neg)


# ----------------------------------------------------------------------------- run

class DaskPartitions:
    """The partitions of a Dask run with their phi, for the writers.

    Parameters
    ----------
    cluster : Cluster
    partitions, phi : lists of futures
    n_train : list of int
        Training rows of each partition.
    """

    def __init__(self, cluster, partitions, phi, n_train):
        self.cluster = cluster
        self.partitions = partitions
        self.phi = phi
        self.offsets = np.concatenate([[0], np.cumsum(n_train)]).astype(int)

    def influence_rows(self, alpha):
        """The influence table, gathered (only for a CSV: at most CSV_MAX_ROWS rows)."""
        pieces = self.cluster.gather([
            self.cluster.client.submit(sharded.influence_rows, p, phi, int(offset), alpha)
            for p, phi, offset in zip(self.partitions, self.phi, self.offsets)])
        return [row for piece in pieces for row in piece]

    def write_parquet(self, folder, alpha):
        """Each worker writes its partitions' tables into ``folder`` (a shared path)."""
        return self.cluster.gather([
            self.cluster.client.submit(sharded.write_phi_parquet, str(folder), p, phi,
                                       int(offset), alpha)
            for p, phi, offset in zip(self.partitions, self.phi, self.offsets)])

    def histogram(self):
        edges = sharded.histogram_edges(self.cluster.map_reduce(
            sharded.phi_range, self.phi, combine=min_all))
        return edges, self.cluster.map_reduce(sharded.phi_histogram, self.partitions,
                                              self.phi, args=(edges,))


def load(cluster, config):
    """Read the shards on the workers and build the partitions there.

    Returns
    -------
    plan : experiments.sharded.ShardPlan
    partitions : list of futures of data.shards.Partition
    sizes : ndarray of shape (P, 4)
        (n_train, n_val, n_test, n_flipped) of each partition.
    """
    train, test = sharded.shard_paths(config)
    client = cluster.client
    shards = [client.submit(read_shard, path, pure=False) for path in train + test]
    summaries = cluster.gather(cluster.map(shard_summary, shards))
    plan = sharded.make_plan(train, test, summaries, config.dataset)
    cluster.small_results = 8 * plan.width <= EMBED_BYTES
    partitions = [client.submit(build, shard, k, plan, config)
                  for k, shard in enumerate(shards)]
    sizes = np.array(cluster.gather(cluster.map(sharded.partition_sizes, partitions)))
    check_totals(sizes[:, :3], config.dataset)
    return plan, partitions, sizes


def fit_and_influence(cluster, partitions, sizes, plan, config, model, on_matvec=None):
    """The full fit, then phi of every training row (kept on the workers).

    Returns
    -------
    W : ndarray of shape (d,)
    phi : list of futures of ndarray
    solver : influence.ConjugateGradient
    seconds : dict
        ``fit`` and ``influence``.
    traffic : dict
        Bytes moved during the CG solve (:func:`traffic_since`), its ``iterations``
        and Hessian-vector ``products`` (iterations + 1: the true residual).
    """
    training = [p for p, n in zip(partitions, sizes[:, 0]) if n > 0]
    start = time.perf_counter()
    W, objective = fit(cluster, cluster.map(training_block, training), plan.width,
                       config.C, model, config.fit_tol)
    fitted = time.perf_counter()
    held = cluster.send(W)
    g_val = cluster.map_reduce(validation_gradient, partitions, args=(held, config.C, model))
    hessian = DistributedHessian(cluster, objective.states, plan.width, on_matvec)
    solver = influence.make_solver(config.solver, tol=config.tol, max_iter=config.max_iter)
    before = cluster_bytes(cluster)
    s = solver.inverse_hvp(hessian, g_val)
    traffic = dict(traffic_since(cluster, before), iterations=int(solver.n_iter_),
                   products=hessian.calls)
    phi = cluster.map(partition_phi, partitions, args=(held, cluster.send(s), config.C,
                                                       model))
    seconds = dict(fit=fitted - start, influence=time.perf_counter() - fitted)
    return W, phi, solver, seconds, traffic


def evaluate(cluster, partitions, W, which, model, auc=True):
    """{logloss, accuracy, auc} of W on every partition's ``which`` rows.

    Without ``auc`` its entry is None (the validation rows need only the log-loss).
    """
    scores = cluster.map(partition_scores, partitions, args=(cluster.send(W), which, model))
    loss, correct, n, n_pos = cluster.map_reduce(score_sums, scores)
    return dict(logloss=float(loss / n), accuracy=float(correct / n),
                auc=distributed_auc(cluster, scores, n_pos, n - n_pos) if auc else None)


def run_method(method, cluster, partitions, phi, sizes, W_full, plan, config, model):
    """One method: its edit on every partition, the refit, the scores; a results row."""
    pieces = cluster.map(sharded.partition_edit, partitions, phi,
                         args=(method, config.alpha, config.C, model))
    counts = cluster.map_reduce(sharded.edit_counts, partitions, pieces)
    W = W_full
    if method != "full":
        used = [b for b, n in zip(cluster.map(sharded.fit_block, partitions, pieces),
                                  sizes[:, 0]) if n > 0]
        W, _ = fit(cluster, used, plan.width, config.C, model, config.fit_tol)
    return sharded.method_row(method, int(sizes[:, 0].sum()), counts,
                              evaluate(cluster, partitions, W, "val", model, auc=False),
                              evaluate(cluster, partitions, W, "test", model))


def run(config, client, on_matvec=None):
    """Run the whole experiment of ``config`` on the cluster of ``client``.

    Parameters
    ----------
    config : experiments.sharded.ShardedConfig
    client : distributed.Client
        From :func:`session`, or any client.
    on_matvec : callable, optional
        See :class:`DistributedHessian`.

    Returns
    -------
    report : dict
        As ``experiments.sharded.run``: ``config``, ``results``, ``timings``,
        ``solver`` and ``partitions`` (a :class:`DaskPartitions`, usable while the
        client is open); also ``traffic``: the bytes moved during the CG solve (see
        :func:`fit_and_influence`). ``config`` has ``n_workers``.

    Raises
    ------
    data.DataError, influence.ConvergenceError
    """
    with environment_errors():
        return _run(config, client, on_matvec)


def _run(config, client, on_matvec):
    cluster, model, timings = Cluster(client), Logistic(), {}
    start = time.perf_counter()
    plan, partitions, sizes = load(cluster, config)
    timings["load"] = time.perf_counter() - start
    W, phi, solver, seconds, traffic = fit_and_influence(cluster, partitions, sizes, plan,
                                                         config, model, on_matvec)
    timings.update(seconds)
    start = time.perf_counter()
    results = [run_method(method, cluster, partitions, phi, sizes, W, plan, config, model)
               for method in config.methods]
    timings["methods"] = time.perf_counter() - start
    n_harmful = int(cluster.map_reduce(count_harmful, phi, args=(config.alpha,))[0])
    workers = len(client.scheduler_info()["workers"])
    return dict(config=sharded.describe(config, plan, sizes.sum(axis=0), n_harmful,
                                        n_workers=workers),
                results=results, timings=timings, solver=sharded.solver_record(solver),
                partitions=DaskPartitions(cluster, partitions, phi, sizes[:, 0]),
                traffic=traffic)


@contextlib.contextmanager
def environment_errors():
    """A scheduler or worker that cannot import this project's modules: ConfigError.

    A cluster started elsewhere deserialises the tasks, whose functions live in the
    package rdia; where it is not installed they fail with a
    ModuleNotFoundError, or the scheduler with a RuntimeError about deserialisation.
    """
    try:
        yield
    except (ModuleNotFoundError, RuntimeError) as error:
        cause = error if isinstance(error, ModuleNotFoundError) else error.__cause__
        if not isinstance(cause, ModuleNotFoundError) \
                and "deserializ" not in str(error):
            raise
        raise ConfigError(f"the Dask cluster cannot load this project's code "
                          f"({' '.join(str(cause or error).split())[:120]}); install it on "
                          f"the scheduler and every worker: pip install -r "
                          f"requirement.txt in a clone of the same version") from None


def cluster_bytes(cluster):
    """(client sent, client received, worker-to-worker sent) so far."""
    outgoing = cluster.client.run(outgoing_bytes)
    return (cluster.traffic.sent, cluster.traffic.received, sum(outgoing.values()))


def traffic_since(cluster, before):
    """Bytes moved since ``before`` (:func:`cluster_bytes`), by kind."""
    now = cluster_bytes(cluster)
    return dict(client_sent=now[0] - before[0], client_received=now[1] - before[1],
                between_workers=now[2] - before[2])


def worker_peak_memory(client):
    """Peak resident memory of each worker process, {address: bytes}."""
    return client.run(peak_rss)
