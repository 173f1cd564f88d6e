"""Decoded dataset files, cached so that a run does not decode the same file twice.

Decompressing and decoding MNIST's four gzip IDX files, or parsing a LIBSVM text file,
is repeated work on every run. :func:`cached_arrays` keeps the decoded arrays of a
source file in an uncompressed ``.npz`` named by the source's MD5 (:func:`cached_decode`
does the same for a single array):

- beside the source (``.<name>.<md5>.npz``) when its folder is writable, else in
  ``$RDIA_CACHE_DIR`` (default ``~/.cache/rdia``), so a read-only shared data folder
  is cached too;
- a changed source has another MD5 and so another cache file (the old one is removed
  when the new one is written);
- a cache file that cannot be read, or whose CRC-32 does not match (``zipfile`` checks
  it on every read), is rebuilt from the source, never trusted.

The cache is an optimisation only: when it cannot be written, the decoded arrays are
returned all the same.
"""

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .checksums import file_md5, folder_is_writable

#: Environment variable naming the cache folder used when a data folder is read-only.
CACHE_DIR_ENV = "RDIA_CACHE_DIR"

#: Name of the array inside the cache file of :func:`cached_decode`.
KEY = "array"


def cached_decode(source, decode, md5=None):
    """The decoded array of ``source``, from its cache when that is valid.

    Parameters
    ----------
    source : path-like
        The dataset file.
    decode : callable
        ``decode(source) -> ndarray``; called when there is no valid cache.
    md5 : str, optional
        The source's MD5 (hex) when already known and verified, e.g. the published
        one; otherwise it is computed.

    Returns
    -------
    array : ndarray
        What ``decode`` returns (from the cache: the same values, dtype and shape).
    """
    return cached_arrays(source, lambda path: {KEY: decode(path)}, md5, names=(KEY,))[KEY]


def cached_arrays(source, decode, md5=None, names=None):
    """The decoded arrays of ``source``, from its cache when that is valid.

    Parameters
    ----------
    source : path-like
        The dataset file.
    decode : callable
        ``decode(source) -> dict`` of name -> ndarray (numeric, no objects); called
        when there is no valid cache.
    md5 : str, optional
        The source's MD5 (hex) when already known and verified, e.g. the published
        one; otherwise it is computed.
    names : iterable of str, optional
        The names ``decode`` returns; a cache with other names is decoded again.

    Returns
    -------
    arrays : dict of str -> ndarray
        What ``decode`` returns (from the cache: the same names, values, dtypes and
        shapes).
    """
    source = Path(source)
    cache = cache_path(source, (md5 or file_md5(source)).lower())
    arrays = _load(cache)
    if arrays is not None and names is not None and set(arrays) != set(names):
        arrays = None
    if arrays is None:
        arrays = decode(source)
        _store(cache, arrays)
    return arrays


def cache_path(source, md5):
    """Where the cache of ``source`` with content hash ``md5`` lives."""
    if folder_is_writable(source.parent):
        return source.parent / f".{source.name}.{md5}.npz"
    folder = Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "rdia")
    return folder / f"{source.name}.{md5}.npz"


def _load(cache):
    """The cached arrays, or None when the file is missing or not a valid cache."""
    try:
        with np.load(cache, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        _remove(cache)
        return None


def _store(cache, arrays):
    """Write the cache atomically and remove older caches of the same source."""
    tmp = None
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".decoding-", suffix=".npz")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, cache)
        tmp = None
    except OSError:
        return
    finally:
        if tmp is not None:
            _remove(tmp)
    stem = cache.name.rsplit(".", 2)[0]  # ".<name>" or "<name>", without md5 and suffix
    for old in cache.parent.glob(f"{stem}.*.npz"):
        if old != cache and len(old.name) == len(cache.name):
            _remove(old)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
