"""The engines of a run: where the partitions live and how a step runs over them.

An engine holds the partitions of a source and offers one small interface, so that
the pipeline (``experiments/pipeline.py``) is written once:

- ``put(values)``: client objects as handles; ``map(f, *columns, args=())``: f on
  every partition, where it lives; ``gather(handles)``: small results to the client;
  ``reduce(handles)``: their sum, in a fixed tree over the partition order (so any
  number of workers gives the same numbers); ``send(array)``: an array for the tasks;
- ``fit(model, blocks, C, W0=None)``: minimise J over the training blocks of an edit,
  from W0 (zeros by default);
- ``phi(model, W, parts, C, solver)``: the influence of every training row.

:class:`MemoryEngine` keeps the partitions in this process and fits and solves on their
rows stacked, with the model's own minimiser and ``influence.influence``.
:class:`DaskEngine` keeps them on a Dask cluster: the fit is the model's trust-region
Newton (``models.newton``) on J summed over partitions, phi the same CG on the summed
Hessian. Each partition works on the columns its rows use, and a product is one round
trip: one task per partition, on its worker, with its entries of the vector inside, and
the values of its result back to the client, which adds them at the entries it keeps.
"""

import contextlib
import operator
from collections import namedtuple
from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse as sp

from rdia import influence
from rdia.edits import TrainingSet
from rdia.experiments.cluster import dask_client
from rdia.models import newton
from rdia.models.linear import FitResult, JacobiPreconditioner, check_newton_result
from rdia.settings import ConfigError

#: Partial results added by one task of the reduction tree.
TREE_FANIN = 8

#: Largest array sent inside each task instead of through a task of its own.
EMBED_BYTES = 64 * 1024

#: Partitions' entries of a vector (and results) travel while they add up to at most
#: this many vectors; else the vector goes once to each worker, results add up there.
PARTS_FACTOR = 2

#: Trust-region iteration limit of the distributed Newton fit.
NEWTON_MAX_ITER = 1000


def add_all(*parts):
    """The sum of partial results in the order given: arrays, :class:`Compact` vectors
    (added at their entries, the same sums as dense), or tuples of them."""
    if isinstance(parts[0], tuple):
        return tuple(add_all(*column) for column in zip(*parts))
    first = parts[0]
    total = np.zeros(first.size) if isinstance(first, Compact) else np.zeros_like(first, float)
    for part in parts:
        if isinstance(part, Compact):
            total[part.index] += part.values
        else:
            total += part
    return total


def combine_tree(parts, combine=add_all):
    """``parts`` combined in groups of TREE_FANIN, level by level, in their order."""
    level = list(parts)
    while len(level) > 1:
        level = [combine(*level[i:i + TREE_FANIN]) for i in range(0, len(level), TREE_FANIN)]
    return level[0]


def stack(blocks):
    """Row blocks (CSR or dense) stacked in order."""
    return sp.vstack(blocks, format="csr") if sp.issparse(blocks[0]) else np.concatenate(blocks)


def stacked_set(blocks):
    """One ``edits.TrainingSet`` of several partitions' training sets, rows in order."""
    if len(blocks) == 1:
        return blocks[0]
    sizes = [b.X.shape[0] for b in blocks]
    relabeled = weights = None
    if any(b.relabeled is not None for b in blocks):
        relabeled = np.concatenate([np.zeros(n, bool) if b.relabeled is None
                                    else b.relabeled for b, n in zip(blocks, sizes)])
    if any(b.weights is not None for b in blocks):
        weights = np.concatenate([np.ones(n) if b.weights is None else b.weights
                                  for b, n in zip(blocks, sizes)])
    return TrainingSet(stack([b.X for b in blocks]), np.concatenate([b.labels for b in blocks]),
                       relabeled, weights)


class MemoryEngine:
    """Every partition in this process; fits and solves on the stacked rows."""

    name = "memory"

    def put(self, values):
        return list(values)

    def send(self, array, inside=False):
        return array

    def map(self, function, *columns, args=()):
        return [function(*row, *args) for row in zip(*columns)]

    def gather(self, handles):
        return list(handles)

    def reduce(self, handles):
        return combine_tree(handles)

    def fit(self, model, blocks, C, W0=None):
        """The model's minimiser on the blocks' rows stacked, from W0 (zeros); a FitResult."""
        rows = stacked_set(blocks)
        return model.minimise(rows.X, rows.labels, C, rows.relabeled, W0=W0,
                              weights=rows.weights)

    def phi(self, model, W, parts, C, solver):
        """``influence.influence`` on the stacked rows, split back by partition."""
        phi = influence.influence(model, W, stack([p.X_train for p in parts]),
                                  np.concatenate([p.y_noisy for p in parts]),
                                  stack([p.X_val for p in parts]),
                                  np.concatenate([p.y_val for p in parts]), C, solver)
        return np.split(phi, np.cumsum([p.n_train for p in parts])[:-1])

    def describe(self):
        return {}


# ------------------------------------------------------------------- Dask engine

def hold(value):
    """The task that carries a value to the workers: it returns its argument."""
    return value


class DaskEngine:
    """The partitions on a Dask cluster, one task per partition and step.

    Attributes
    ----------
    bytes_sent, bytes_received : int
        Arrays the client sent to and received from the cluster.
    round_trips : int
        Results the client waited for (one per gather).
    on_matvec : callable or None
        Called as ``on_matvec(client, calls)`` before each Hessian-vector product of
        the phi solve (tests kill a worker there).
    """

    name = "dask"

    def __init__(self, client):
        self.client = client
        self.workers = sorted(client.scheduler_info()["workers"])
        self.bytes_sent = self.bytes_received = self.round_trips = 0
        self.on_matvec = None

    def put(self, values):
        """Client objects as tasks that hold them, so a lost copy is recomputed."""
        return [self.client.submit(hold, value, pure=False) for value in values]

    def send(self, array, inside=False):
        """A small array (or one sent ``inside``) inside each task, else as a task."""
        array = np.asarray(array)
        self.bytes_sent += int(array.nbytes)
        return array if inside or array.nbytes <= EMBED_BYTES else self.client.submit(hold, array)

    def map(self, function, *columns, args=()):
        """One task per partition, on its partition's worker, one message per worker:
        of the w workers the engine opened with (sorted), worker i holds partitions
        i n / w to (i + 1) n / w - 1; a task runs elsewhere once its worker has gone."""
        if not self.workers:  # a scheduler whose workers had not joined when it opened
            self.workers = sorted(self.client.scheduler_info()["workers"])
        n, w, tasks = len(columns[0]), max(len(self.workers), 1), []
        for i, rows in enumerate(slice(i * n // w, (i + 1) * n // w) for i in range(w)):
            if rows.stop > rows.start:
                tasks += self.client.map(function, *(list(c)[rows] for c in columns),
                                         *([a] * (rows.stop - rows.start) for a in args),
                                         workers=self.workers[i:i + 1] or None,
                                         allow_other_workers=bool(self.workers),
                                         pure=False)  # no hashing of the arguments
        return tasks

    def gather(self, handles):
        from dask.sizeof import sizeof

        results = self.client.gather(handles)
        self.round_trips += 1
        self.bytes_received += sizeof(results)
        return results

    def reduce(self, handles):
        """The tree of :func:`combine_tree` run on the workers; only its root returns."""
        return self.gather([combine_tree(handles, partial(self.client.submit, add_all))])[0]

    def fit(self, model, blocks, C, W0=None):
        """Trust-region Newton on J summed over the blocks, from W0 (zeros); a FitResult."""
        objective = SummedObjective(self, model, blocks, C)
        w0 = np.zeros(objective.size) if W0 is None else np.asarray(np.ravel(W0), float)
        gtol = model.newton_tolerance(objective.gradient(objective.evaluate(0.0 * w0)))
        result = newton.minimise(objective, w0, tol=gtol,
                                 max_iter=NEWTON_MAX_ITER, progress=False)
        check_newton_result(result, NEWTON_MAX_ITER, gtol)
        W = result.w if model.n_columns == 1 else result.w.reshape(-1, model.n_columns)
        return FitResult(W=W, method="newton", n_iter=result.n_iter,
                         n_value=objective.n_value, n_gradient=objective.n_gradient,
                         n_hvp=result.n_hvp, n_diagonal=objective.n_diagonal,
                         preconditioner="jacobi", message=result.message)

    def phi(self, model, W, parts, C, solver):
        """CG on the summed Hessian at W, then phi per partition, kept on the workers."""
        objective = SummedObjective(self, model, self.map(observed_rows, parts), C)
        hessian = objective.hessian(objective.evaluate(np.ravel(W)))
        held = self.send(W)
        g_val = self.reduce(self.map(validation_gradient, parts, args=(model, held, C)))
        s = solver.inverse_hvp(hessian, g_val)
        return self.map(partition_phi, parts, args=(model, held, self.send(s), C))

    def describe(self):
        return dict(n_workers=len(self.client.scheduler_info()["workers"]),
                    bytes_sent=self.bytes_sent, bytes_received=self.bytes_received,
                    round_trips=self.round_trips)


def observed_rows(part):
    """The partition's training rows with their observed labels, as a TrainingSet."""
    return TrainingSet(part.X_train, part.y_noisy, None, None)


def validation_gradient(part, model, W, C):
    return model.validation_gradient(W, part.X_val, part.y_val, C)


def partition_phi(part, model, W, s, C):
    return influence.sample_influence(model, W, part.X_train, part.y_noisy, s, C)


# ------------------------------------------- J summed over partitions, for Newton

@dataclass
class Compact:
    """``values`` at the entries ``index`` of a vector of ``size``, zero elsewhere: a
    sparse partition's part of a weight-sized sum, added without the dense vector."""

    index: np.ndarray
    values: np.ndarray
    size: int


@dataclass
class Block:
    """J of one partition's rows on the weights they touch, and its last point.

    ``objective`` is the model's J on X restricted to the columns its rows use (all
    for dense X, ``index`` None), ``index`` those entries of vec(W) among ``size``.
    """

    objective: object
    index: object
    size: int
    point: object = None

    def __sizeof__(self):  # what the Dask scheduler weighs to keep tasks by their block
        from dask.sizeof import sizeof

        return sizeof(self.objective.X) + sizeof(self.index)

    def restrict(self, vector):
        """Its entries of a vector, and how results go back (alone if sent only those)."""
        if self.index is None or vector.size == self.index.size:  # aligned: out of a frame
            return np.require(vector, requirements="A"), lambda values: values
        return vector[self.index], lambda values: Compact(self.index, values, self.size)


def block_objective(block, model, C):
    """The :class:`Block` of a TrainingSet: the model's J (R applied, with its L2 term)."""
    X, index = block.X, None
    if sp.issparse(X):
        used = np.zeros(X.shape[1], bool)
        used[X.indices] = True
        columns = np.flatnonzero(used)
        X = sp.csr_matrix((X.data, (np.cumsum(used) - 1)[X.indices], X.indptr),
                          shape=(X.shape[0], columns.size))
        index = (columns[:, None] * model.n_columns + np.arange(model.n_columns)).ravel()
    return Block(model.objective(X, block.labels, C, block.relabeled, block.weights),
                 index, block.X.shape[1] * model.n_columns)


def evaluate_block(block, w):
    """(the block at w, its entries of w given, and its sums less the L2 terms: J,
    gradient, plain diag(H)), in one pass, so that one round trip gives Newton all three."""
    w, spread = block.restrict(w)
    point = block.objective.evaluate(w)
    sums = (np.array([point.value - 0.5 * float(w @ w)]),
            spread(block.objective.gradient(point) - w),
            spread(block.objective.plain_hessian(point).diagonal() - 1.0))
    return Block(block.objective, block.index, block.size, point), sums


def block_hvp(evaluated, v):
    block = evaluated[0]
    v, spread = block.restrict(v)
    return spread(block.objective.hessian(block.point).matvec(v) - v)


def at_entries(part, index, size):
    """A partition's values (an array, or a tuple of J's and arrays) as Compacts."""
    if isinstance(part, tuple):
        return part[:1] + tuple(at_entries(p, index, size) for p in part[1:])
    return part if index is None else Compact(index, part, size)


SummedPoint = namedtuple("SummedPoint", "w states value gradient diagonal")


class SummedObjective:
    """J(w) = 1/2 |w|^2 + sum_k C L_k(w) over the engine's blocks, as
    ``models.newton.minimise`` sees it: each partition evaluates the model's own
    objective on its rows, and the parts are added without their L2 terms. One round
    trip per point gives J, its gradient and the Jacobi diagonal; ``n_value``,
    ``n_gradient`` and ``n_diagonal`` count the passes Newton uses, as in memory.
    """

    def __init__(self, engine, model, blocks, C):
        self.engine = engine
        self.objectives = engine.map(block_objective, blocks, args=(model, C))
        self.indices, sizes = zip(*engine.gather(engine.map(
            operator.attrgetter("index", "size"), self.objectives)))
        self.size = sizes[0]
        self.whole = sum(self.size if i is None else i.size
                         for i in self.indices) > PARTS_FACTOR * self.size
        self.n_value = self.n_gradient = self.n_diagonal = 0

    def send(self, vector):
        """Each partition's part of a vector: its entries in its task; ``whole``, the vector."""
        if self.whole:
            return [self.engine.send(vector)] * len(self.indices)
        return [self.engine.send(vector if index is None else vector[index], inside=True)
                for index in self.indices]

    def add(self, handles):
        """The partitions' results added in partition order (:func:`combine_tree`): here,
        at the entries kept here (only values travel); sent ``whole``, on the workers."""
        if self.whole:
            return self.engine.reduce(handles)
        parts = self.engine.gather(handles)
        return combine_tree([at_entries(part, index, self.size)
                             for part, index in zip(parts, self.indices)])

    def evaluate(self, w):
        self.n_value += 1
        states = self.engine.map(evaluate_block, self.objectives, self.send(w))
        value, gradient, diagonal = self.add(self.engine.map(operator.itemgetter(1), states))
        return SummedPoint(w, states, 0.5 * float(w @ w) + float(value[0]), w + gradient,
                           1.0 + diagonal)

    def gradient(self, point):
        self.n_gradient += 1
        return point.gradient

    def hessian(self, point):
        return SummedHessian(self, point)

    def preconditioner(self, point):
        """Jacobi: the diagonal of the plain Hessian (l_R's negative part left out)."""
        self.n_diagonal += 1
        return JacobiPreconditioner(point.diagonal)


class SummedHessian:
    """H v = v + sum_k (H_k v - v) over partitions at a point, for CG (``matvec``, and
    ``diagonal``: the plain Hessian's, H's own on phi's rows, which R leaves alone)."""

    def __init__(self, objective, point):
        self.objective, self.states, self.n_features = objective, point.states, len(point.w)
        self.calls, self.diagonal = 0, lambda: point.diagonal

    def matvec(self, v):
        self.calls += 1
        engine = self.objective.engine
        if getattr(engine, "on_matvec", None) is not None:
            engine.on_matvec(engine.client, self.calls)
        return v + self.objective.add(engine.map(block_hvp, self.states,
                                                 self.objective.send(v)))

    def dense(self):
        raise ConfigError("the Dask engine never builds the dense Hessian; use cg")


@contextlib.contextmanager
def open_engine(config):
    """The engine of a resolved config: in memory, or on the Dask cluster of
    ``cluster.dask_client`` (a new LocalCluster, or the scheduler of --scheduler)."""
    if config.engine == "memory":
        yield MemoryEngine()
        return
    with dask_client(config) as client:
        yield DaskEngine(client)
