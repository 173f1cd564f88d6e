"""Datasets, their download, and synthetic label noise for the RDIA experiments.

Scripts catch ``DataError`` and exit with status 2; its message is one line that
says what to do.
"""

from .cifar import load_cifar10, read_cifar_batch
from .datasets import BINARY_DATASETS, Dataset, load_binary, split_validation
from .download import download_file, ensure_file, mirror_urls
from .errors import DataError
from .labels import binary_labels, encode_numeric_labels
from .libsvm import read_libsvm
from .mnist import load_mnist, read_idx
from .noise import NOISE_TYPES, apply_transition, flip_binary, transition_matrix
from .paths import resolve_data_dir

__all__ = [
    "BINARY_DATASETS", "NOISE_TYPES", "DataError", "Dataset", "apply_transition",
    "binary_labels", "download_file", "encode_numeric_labels", "ensure_file", "flip_binary",
    "load_binary", "load_cifar10", "load_mnist", "mirror_urls", "read_cifar_batch",
    "read_idx", "read_libsvm", "resolve_data_dir", "split_validation",
    "transition_matrix",
]
