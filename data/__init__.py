"""Datasets, their download, and synthetic label noise for the RDIA experiments.

Scripts catch ``DataError`` and exit with status 2; its message is one line that
says what to do.
"""

from .cifar import load_cifar10, read_cifar_batch
from .download import download, ensure_file, mirror_urls
from .errors import DataError
from .labels import binary_labels, encode_labels
from .libsvm import read_libsvm
from .mnist import load_mnist, read_idx
from .paths import resolve_data_dir

__all__ = [
    "DataError", "binary_labels", "download", "encode_labels", "ensure_file",
    "load_cifar10", "load_mnist", "mirror_urls", "read_cifar_batch", "read_idx",
    "read_libsvm", "resolve_data_dir",
]
