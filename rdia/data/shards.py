"""A dataset written as shards: a folder or a glob of LIBSVM or Parquet files, one
partition each.

On the Dask engine (``experiments/engines.py``) every worker reads its own shards; the
in-memory engine reads them all in one process. Both build every partition with the
functions of this module (``experiments/sources.py``), so they see the same rows, the
same split and the same noise.

Conventions, which make every result independent of the number of workers:

- Shards are the regular, non-hidden files of a folder, or the files a glob matches,
  in sorted order of their names; shard k is partition k. Name them with zero-padded
  numbers (``part-00000``, ``part-00001``, ...) so the sorted order is the intended one.
- Partition k draws all its randomness from ``SeedSequence([seed, k])``
  (:func:`shard_seed`): one stream for the split, one for the noise, one for the
  sampling edits.
- The split is per row and per shard (:func:`shard_roles`): without test shards,
  ceil(0.3 n_k) rows of shard k, drawn with the split stream, are test rows; of the
  other rows, ``round(val_ratio * rest)`` (ties down) drawn with the same stream are
  validation rows; the rest are training rows. Each role keeps the file order. With
  test shards, only validation and training rows are drawn.
- Labels are mapped to {0, 1} by the sorted unique values of every shard, training and
  test (as for the single-file datasets).
"""

import glob
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .datasets import TEST_RATIO
from .errors import DataError
from .libsvm import read_libsvm
from .noise import add_noise
from .paths import PARQUET_SUFFIXES

#: Streams of a partition's seed (words of ``SeedSequence([seed, k])``).
SPLIT_STREAM, NOISE_STREAM, EDIT_STREAM = 0, 1, 2

#: Characters that make a dataset argument a glob pattern.
GLOB_CHARACTERS = "*?["


def is_sharded(dataset):
    """Whether a ``--dataset`` value names shards: an existing folder or a glob.

    Parameters
    ----------
    dataset : str or path-like

    Returns
    -------
    sharded : bool
        False for an empty value, which is no folder ("" would read as ".").
    """
    text = os.fspath(dataset)
    if not text.strip():
        return False
    return Path(text).is_dir() or any(char in text for char in GLOB_CHARACTERS)


def list_shards(spec, flag="--dataset"):
    """The shard files of a folder or a glob, in sorted order of their names.

    Parameters
    ----------
    spec : str or path-like
        A folder (its regular files whose names do not start with '.') or a glob
        pattern (``data/part-*``).
    flag : str
        The flag that named ``spec``, quoted in the message.

    Returns
    -------
    paths : list of str
        At least one file.

    Raises
    ------
    DataError
        When the folder holds no file or the glob matches none.
    """
    text = os.fspath(spec)
    if Path(text).is_dir():
        paths = [str(path) for path in Path(text).iterdir()
                 if path.is_file() and not path.name.startswith(".")]
        where = f"the folder {text}"
    else:
        paths = [path for path in glob.glob(text) if Path(path).is_file()]
        where = f"the pattern {text}"
    if not paths:
        raise DataError(f"{flag}: {where} names no shard file; give a folder of LIBSVM "
                        f"files or a glob such as 'shards/part-*'")
    return sorted(paths, key=lambda path: (Path(path).name, path))


def shard_seed(seed, shard_index, stream):
    """An independent seed for one consumer of one partition.

    Parameters
    ----------
    seed : int
        The run's seed.
    shard_index : int
        k, the partition.
    stream : int
        ``SPLIT_STREAM``, ``NOISE_STREAM`` or ``EDIT_STREAM``.

    Returns
    -------
    seed : int
        Word ``stream`` of ``numpy.random.SeedSequence([seed, k]).generate_state(3)``.
    """
    return int(np.random.SeedSequence([seed, shard_index]).generate_state(3)[stream])


def read_shard(path):
    """A shard as CSR at its own width, with its raw labels.

    Parameters
    ----------
    path : str
        A Parquet file (``.parquet``, ``.pq``; see :func:`read_parquet_shard`), or else
        a LIBSVM file (plain, gzip or bzip2).

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_k, d_k)
        d_k is the largest feature index of the shard (LIBSVM's 1-based indices:
        index j is column j - 1).
    y : ndarray of shape (n_k,), float64

    Raises
    ------
    DataError
        Naming the shard, and for a malformed line its number (``path:LINE``) or for
        a bad Parquet row its number (``path: row N``).
    """
    if Path(path).suffix.lower() in PARQUET_SUFFIXES:
        return read_parquet_shard(path)
    return read_libsvm(path)


#: Columns of a Parquet shard.
PARQUET_COLUMNS = ("label", "indices", "values")


def read_parquet_shard(path):
    """A Parquet shard: a row per sample, LIBSVM's content in three columns.

    ``label`` (a number), ``indices`` (a list of integers: the 1-based feature
    indices of the row's non-zeros, increasing) and ``values`` (a list of numbers of
    the same length). :func:`write_shards` writes them with ``suffix=".parquet"``.

    Returns
    -------
    X : csr_matrix of shape (n_k, d_k)
    y : ndarray of shape (n_k,), float64

    Raises
    ------
    DataError
        A file that is not Parquet, a missing column, or the first row whose lists
        differ in length, hold an index below 1 or not increasing, or a value or label
        that is not a finite number (``path: row N: ...``, rows counted from 1).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise DataError(f"{path}: cannot read as Parquet ({' '.join(str(error).split())}"
                        f")") from None
    missing = [name for name in PARQUET_COLUMNS if name not in table.column_names]
    if missing:
        raise DataError(f"{path}: a Parquet shard needs the columns label, indices and "
                        f"values; '{missing[0]}' is missing")
    try:
        y = table.column("label").to_numpy(zero_copy_only=False).astype(np.float64)
        indices = table.column("indices").combine_chunks()
        values = table.column("values").combine_chunks()
        starts = indices.offsets.to_numpy()
        flat = (indices.flatten().to_numpy(zero_copy_only=False).astype(np.int64),
                values.flatten().to_numpy(zero_copy_only=False).astype(np.float64))
        lengths = np.diff(values.offsets.to_numpy())
    except (AttributeError, TypeError, ValueError, pa.ArrowException) as error:
        raise DataError(f"{path}: label must be a number, indices a list of integers "
                        f"and values a list of numbers "
                        f"({' '.join(str(error).split())[:100]})") from None
    check_parquet_rows(path, y, starts, lengths, *flat)
    width = int(flat[0].max()) if len(flat[0]) else 0
    X = sp.csr_matrix((flat[1], flat[0] - 1, starts - starts[0]), shape=(len(y), width))
    return X, y


def check_parquet_rows(path, y, starts, lengths, indices, values):
    """DataError naming the first bad row of a Parquet shard (see read_parquet_shard)."""
    problems = [(np.flatnonzero(np.diff(starts) != lengths), "indices and values differ "
                                                               "in length"),
                (np.flatnonzero(~np.isfinite(y)), "the label is not a finite number")]
    if len(indices) == len(values):
        row_of = np.repeat(np.arange(len(y)), np.diff(starts))
        first = np.r_[True, row_of[1:] != row_of[:-1]] if len(row_of) else row_of
        bad_order = np.r_[False, np.diff(indices) <= 0] & ~first if len(indices) \
            else first
        problems += [(row_of[indices < 1], "a feature index is below 1"),
                     (row_of[bad_order], "the feature indices do not increase"),
                     (row_of[~np.isfinite(values)], "a value is not a finite number")]
    found = [(int(rows.min()), text) for rows, text in problems if len(rows)]
    if found:
        row, text = min(found)
        raise DataError(f"{path}: row {row + 1}: {text}; fix the row or write the shard "
                        f"again")
    if len(y) == 0:
        raise DataError(f"{path}: no rows in the shard")


@dataclass
class ShardSummary:
    """What the client learns of a shard before the partitions are built.

    Attributes
    ----------
    n_rows : int
    width : int
        Largest feature index of the shard.
    labels : ndarray
        Sorted distinct raw labels of the shard.
    """

    n_rows: int
    width: int
    labels: np.ndarray


def describe_shard(shard):
    """The :class:`ShardSummary` of a shard (X, y) as :func:`read_shard` returns it."""
    X, y = shard
    return ShardSummary(int(X.shape[0]), int(X.shape[1]), np.unique(y))


def widen(X, width):
    """CSR X as ``width`` columns wide (its columns stay where they are), no copy."""
    return sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], width))


def shard_roles(n_rows, seed, shard_index, val_ratio, has_test_shards):
    """Which rows of a shard are training, validation and test rows.

    Parameters
    ----------
    n_rows : int
        Rows of the shard.
    seed : int
        The run's seed.
    shard_index : int
        k, the partition; the draw uses ``shard_seed(seed, k, SPLIT_STREAM)``.
    val_ratio : float
        Share of the non-test rows that become validation rows, (0, 1).
    has_test_shards : bool
        When true no row of a training shard is a test row.

    Returns
    -------
    train, val, test : ndarray of int
        Sorted row indices; together every row once.
    """
    order = np.random.default_rng(shard_seed(seed, shard_index, SPLIT_STREAM)) \
        .permutation(n_rows)
    n_test = 0 if has_test_shards else math.ceil(TEST_RATIO * n_rows)
    n_val = math.ceil(val_ratio * (n_rows - n_test) - 0.5)
    test, val = order[:n_test], order[n_test:n_test + n_val]
    return np.sort(order[n_test + n_val:]), np.sort(val), np.sort(test)


@dataclass
class Partition:
    """The rows of one shard, split and made noisy, as one worker keeps them.

    Attributes
    ----------
    index : int
        k; the shard's place in the sorted shard list (test shards follow the
        training shards).
    X_train : scipy.sparse.csr_matrix of shape (n_train_k, d)
    y_clean, y_noisy : ndarray of shape (n_train_k,), int64
        True and observed training labels in {0, 1}.
    noisy : ndarray of bool, shape (n_train_k,)
        Labels the noise flipped.
    X_val : csr_matrix of shape (n_val_k, d)
    y_val : ndarray of shape (n_val_k,)
    X_test : csr_matrix of shape (n_test_k, d)
    y_test : ndarray of shape (n_test_k,)
    edit_seed : int
        Seed of the sampling edits of this partition (random, uids).
    """

    index: int
    X_train: object
    y_clean: np.ndarray
    y_noisy: np.ndarray
    noisy: np.ndarray
    X_val: object
    y_val: np.ndarray
    X_test: object
    y_test: np.ndarray
    edit_seed: int

    def __sizeof__(self):
        """Bytes of the arrays, which the Dask scheduler reads to place tasks next to
        their partition."""
        from dask.sizeof import sizeof

        return sum(sizeof(value) for value in vars(self).values())

    @property
    def n_train(self):
        return len(self.y_noisy)


def encode(y_raw, classes):
    """Raw labels as 0 .. K - 1 by their place in the sorted ``classes``."""
    return np.searchsorted(classes, y_raw).astype(np.int64)


def build_partition(X, y_raw, *, index, width, classes, seed, val_ratio, noise,
                    is_test_shard, has_test_shards, noise_type=None):
    """Split a read shard and make its training labels noisy.

    Parameters
    ----------
    X : csr_matrix of shape (n_k, d_k)
    y_raw : ndarray of shape (n_k,)
    index : int
        k, the partition.
    width : int
        d, the width of every partition (the largest d_k).
    classes : ndarray of shape (K,)
        The raw label values of the dataset, sorted.
    seed : int
        The run's seed.
    val_ratio : float
    noise : float
        Noise rate of the partition's training labels (``data.noise.add_noise``:
        exactly floor(noise * n_train_k) flips for two classes), drawn with
        ``shard_seed(seed, k, NOISE_STREAM)``.
    is_test_shard : bool
        All rows are test rows.
    has_test_shards : bool
        The dataset has test shards, so training shards have no test rows.
    noise_type : str, optional
        A transition matrix of ``data.noise`` (symmetric for K > 2 by default).

    Returns
    -------
    partition : Partition
    """
    X, y = widen(X, width), encode(y_raw, classes)
    if is_test_shard:
        train, val, test = (np.arange(0),) * 2 + (np.arange(len(y)),)
    else:
        train, val, test = shard_roles(len(y), seed, index, val_ratio, has_test_shards)
    y_noisy, noisy = add_noise(y[train], len(classes), noise, noise_type,
                               shard_seed(seed, index, NOISE_STREAM))
    return Partition(index=index, X_train=X[train], y_clean=y[train], y_noisy=y_noisy,
                     noisy=noisy, X_val=X[val], y_val=y[val], X_test=X[test],
                     y_test=y[test], edit_seed=shard_seed(seed, index, EDIT_STREAM))


def dataset_classes(summaries, source):
    """The sorted raw labels of all shards; DataError unless there are at least two."""
    labels = np.unique(np.concatenate([s.labels for s in summaries]))
    if len(labels) < 2:
        shown = ", ".join(f"{value:g}" for value in labels[:5])
        raise DataError(f"{source}: the shards hold {len(labels)} distinct label(s) "
                        f"({shown}{', ...' if len(labels) > 5 else ''}); a classifier "
                        f"needs at least 2")
    return labels


def check_totals(partitions_sizes, source):
    """Refuse a split with no training, validation or test row at all.

    Parameters
    ----------
    partitions_sizes : sequence of (n_train_k, n_val_k, n_test_k)
    source : str
        The dataset, quoted in the message.
    """
    totals = np.sum(np.asarray(partitions_sizes, dtype=np.int64).reshape(-1, 3), axis=0)
    for name, total in zip(("training", "validation", "test"), totals):
        if total == 0:
            raise DataError(f"{source}: the shards give no {name} row; use more rows "
                            f"per shard or another --val-ratio")
    return tuple(int(t) for t in totals)


def write_shards(X, y, folder, n_shards, prefix="part-", suffix=""):
    """Write rows as ``n_shards`` files of consecutive rows (sizes differ by <= 1).

    Parameters
    ----------
    X : csr_matrix or ndarray of shape (n, d)
    y : ndarray of shape (n,)
        Labels as they are to appear in the files.
    folder : str or path-like
        Created if missing.
    n_shards : int
        1 <= n_shards <= n.
    prefix : str
        Files are ``<prefix>00000``, ``<prefix>00001``, ... (sorted order = row order).
    suffix : str
        ``".parquet"`` writes Parquet shards (:func:`read_parquet_shard`); anything
        else LIBSVM text, named ``<prefix>KKKKK<suffix>``.

    Returns
    -------
    paths : list of str
    """
    from sklearn.datasets import dump_svmlight_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, X.shape[0], n_shards + 1).round().astype(int)
    paths = []
    for k, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        path = folder / f"{prefix}{k:05d}{suffix}"
        if suffix.lower() in PARQUET_SUFFIXES:
            write_parquet_shard(path, X[start:stop], np.asarray(y)[start:stop])
        else:
            dump_svmlight_file(X[start:stop], np.asarray(y)[start:stop], str(path),
                               zero_based=False)
        paths.append(str(path))
    return paths


def write_parquet_shard(path, X, y):
    """Write CSR rows and labels as a Parquet shard (columns label, indices, values)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    X = sp.csr_matrix(X)
    X.sort_indices()
    offsets = pa.array(X.indptr.astype(np.int64))
    indices = pa.array(X.indices.astype(np.int64) + 1)
    table = pa.table({"label": pa.array(np.asarray(y, dtype=np.float64)),
                      "indices": pa.LargeListArray.from_arrays(offsets, indices),
                      "values": pa.LargeListArray.from_arrays(offsets, pa.array(X.data))})
    pq.write_table(table, str(path))
