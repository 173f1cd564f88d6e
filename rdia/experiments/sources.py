"""The data sources of a run: each yields partitions where the engine keeps them.

A partition (``data.shards.Partition``) holds training rows with their observed
labels, validation and test rows, and, where known, the clean labels and the noise
mask, plus the seed of its sampling edits:

- ``benchmark``: a named dataset of ``data.datasets`` or a LIBSVM file, one partition,
  read on the client: the dataset's training part without its last ``val_ratio`` (the
  clean validation set), noise added with the run's noise stream (docs/method.md
  section 4), edits seeded by the run's seed;
- ``shards``: a folder or glob of LIBSVM or Parquet shards (``data.shards``), one
  partition per shard, read, split and made noisy where the engine runs it, all
  seeded by ``SeedSequence([seed, k])``;
- ``files``: your own noisy training file and trusted validation file (``--train``,
  ``--val``), one partition, used as they are: no clean labels.

:func:`load` returns a :class:`Source`: the engine's handles of the partitions and
what the data turned out to be.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rdia import edits
from rdia.data.datasets import load_binary, load_multiclass, split_validation
from rdia.data.noise import add_noise, applied_noise_type
from rdia.data.shards import (Partition, build_partition, check_totals, dataset_classes,
                              describe_shard, list_shards, read_shard)
from rdia.data.tables import load_tables
from rdia.experiments.config import data_label


@dataclass
class Source:
    """The partitions of a run, as the engine holds them, and what the data is.

    Attributes
    ----------
    name : str
        The dataset's name in tables and titles.
    classes : ndarray of shape (K,)
        Label values, sorted; class k is ``classes[k]``.
    n_features : int
    parts : list
        The engine's handles of the partitions.
    info : dict
        What the report's ``config`` adds about the data (sizes, columns, noise).
    data : data.tables.OwnData or None
        Your files as read, for the table of suggested labels.
    """

    name: str
    classes: np.ndarray
    n_features: int
    parts: list
    info: dict = field(default_factory=dict)
    data: object = None

    @property
    def n_classes(self):
        return len(self.classes)

    @property
    def n_train(self):
        return self.info["n_train"]


def load(config, engine):
    """The :class:`Source` of a resolved config, its partitions put on ``engine``.

    Raises
    ------
    data.DataError
    """
    loader = {"benchmark": benchmark, "shards": shards, "files": files}[config.source]
    return loader(config, engine)


def benchmark(config, engine):
    """A named dataset or LIBSVM file: one noisy partition (docs/method.md section 4)."""
    load_data = load_binary if config.model == "logreg" else load_multiclass
    dataset = load_data(config.dataset, data_dir=config.data_dir,
                        test_file=config.test_file, seed=config.seed)
    X_train, y_clean, X_val, y_val = split_validation(dataset.X_train, dataset.y_train,
                                                      config.val_ratio)
    K = len(dataset.classes)
    y_noisy, noisy = add_noise(y_clean, K, config.noise, config.noise_type,
                               edits.child_seed(config.seed, edits.NOISE_STREAM),
                               dataset.name)
    part = Partition(index=0, X_train=X_train, y_clean=y_clean, y_noisy=y_noisy,
                     noisy=noisy, X_val=X_val, y_val=y_val, X_test=dataset.X_test,
                     y_test=dataset.y_test, edit_seed=config.seed)
    info = dict(n_train=len(y_noisy), n_dropped_features=int(dataset.n_dropped_features),
                noise_type=applied_noise_type(config.noise_type, K), n_partitions=1)
    return Source(dataset.name, dataset.classes, int(dataset.n_features),
                  engine.put([part]), info)


def files(config, engine):
    """Your own training, validation and test files: one partition, labels as given."""
    data = load_tables(config.train, config.val, config.test, config.label_column,
                       config.drop_columns, config.impute)
    part = Partition(index=0, X_train=data.X_train, y_clean=None, y_noisy=data.y_train,
                     noisy=None, X_val=data.X_val, y_val=data.y_val, X_test=data.X_test,
                     y_test=data.y_test, edit_seed=config.seed)
    info = dict(n_train=len(data.y_train), n_dropped_features=data.n_dropped_features,
                kind=data.kind, n_numeric=data.n_numeric, n_categorical=data.n_categorical,
                noise_type=None, n_partitions=1)
    return Source(Path(config.train).name, data.classes, int(data.n_features),
                  engine.put([part]), info, data)


def build_shard(shard, index, is_test_shard, plan):
    """Partition ``index`` from its read shard (X, y), where the shard was read; ``plan``
    holds the rest of ``data.shards.build_partition``'s settings."""
    return build_partition(*shard, index=index, is_test_shard=is_test_shard, **plan)


def partition_sizes(part):
    """(n_train, n_val, n_test, n_flipped) of a partition, int64."""
    return np.array([part.n_train, len(part.y_val),
                     0 if part.y_test is None else len(part.y_test),
                     0 if part.noisy is None else int(part.noisy.sum())], dtype=np.int64)


def shards(config, engine):
    """A dataset written as shards: the engine reads each shard and builds its partition
    where it runs; the client sees only each shard's size, width and labels."""
    train = list_shards(config.dataset, "--dataset")
    test = [] if config.test_file is None else list_shards(config.test_file, "--test-file")
    read = engine.map(read_shard, train + test)
    summaries = engine.gather(engine.map(describe_shard, read))
    classes = dataset_classes(summaries, config.dataset)
    plan = dict(has_test_shards=bool(test), classes=classes,
                width=max(s.width for s in summaries), seed=config.seed,
                val_ratio=config.val_ratio, noise=config.noise, noise_type=config.noise_type)
    parts = engine.map(build_shard, read, range(len(read)),
                       [k >= len(train) for k in range(len(read))], args=(plan,))
    n_train = check_totals([s[:3] for s in engine.gather(engine.map(partition_sizes, parts))],
                           config.dataset)[0]
    info = dict(n_train=n_train, n_dropped_features=0, n_partitions=len(read),
                n_train_shards=len(train),
                noise_type=applied_noise_type(config.noise_type, len(classes)))
    return Source(data_label(config.dataset), classes, plan["width"], parts, info)
