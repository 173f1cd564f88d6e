"""Reader of LIBSVM (SVMlight) text files.

Each line reads ``label index:value index:value ...``: a numeric label, then feature
indices that start at 1 and increase strictly, each with its value. Features that
are absent are zero. ``#`` starts a comment, blank lines are ignored and an optional
``qid:N`` may follow the label. gzip and bzip2 files are decompressed; they are told
apart by their first bytes (``COMPRESSED_MAGIC``), not by the name.
"""

import bz2
import gzip
import math
import zlib
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .decoded import cached_arrays
from .errors import DataError, printable
from .memory import check_memory, format_bytes

#: Leading bytes of the compressed formats read: gzip (deflate) and bzip2. A bzip2
#: stream starts with "BZh", the block size 1-9, then a block or end-of-stream marker.
COMPRESSED_MAGIC = {
    "gzip": (b"\x1f\x8b\x08",),
    "bzip2": tuple(b"BZh" + bytes([level]) + marker for level in b"123456789"
                   for marker in (b"1AY&SY", b"\x17rE8P\x90")),
}

#: Bytes read to recognise a compressed file.
MAGIC_BYTES = 10

#: Largest feature index: scikit-learn's parser holds an index in a C int.
MAX_INDEX = 2**31 - 1

#: Peak bytes per stored value and per row of loading a LIBSVM dataset (parse,
#: zero-column compaction, train / test split). Measured: 52 bytes per value for
#: 5,000,000 values in 500,000 rows through ``load_binary``; rounded up.
BYTES_PER_VALUE = 64
BYTES_PER_ROW = 64

#: Bytes read per step when counting a file before it is parsed.
CHUNK_BYTES = 1 << 20


def read_libsvm(path, n_features=None):
    """Read a LIBSVM file into a sparse matrix and its raw labels.

    Parameters
    ----------
    path : str or path-like
        The file.
    n_features : int, optional
        Width of X. Defaults to the largest feature index in the file; pass it to
        give a training and a test file the same width.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), float64
        Labels as written in the file (e.g. -1/+1, 2/4 or 1..K).

    Raises
    ------
    DataError
        If the file is missing, empty, or has a malformed line (the message names
        the first malformed line as ``path:LINE``), or if loading it would need more
        memory than is available (checked before parsing; see ``data.memory``).
    """
    path = _existing_file(path)
    needed = None
    try:
        n_values, n_rows = count_values_and_rows(path)
        needed = n_values * BYTES_PER_VALUE + n_rows * BYTES_PER_ROW
        check_memory(needed, f"{path}: loading at most {n_values:,} values in "
                             f"{n_rows:,} lines")
        # scikit-learn's parser, imported only by runs that read LIBSVM files (after
        # the check, which it does not change).
        from sklearn.datasets import load_svmlight_file

        with _open_binary(path) as f:
            X, y = load_svmlight_file(f, n_features=n_features, dtype=np.float64,
                                      zero_based=False)
    except (ValueError, OverflowError) as exc:
        raise _parse_error(path, n_features, exc) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read ({_one_line(exc)}); "
                        f"delete the file and download it again") from None
    except MemoryError:
        estimate = f" (estimated {format_bytes(needed)})" if needed else ""
        raise DataError(f"{path}: ran out of memory while reading it{estimate}; free "
                        f"memory or use a machine with more") from None
    if X.shape[0] == 0:
        raise DataError(f"{path}: no samples in the file; check that it is a "
                        f"LIBSVM file or download it again")
    if not (np.isfinite(X.data).all() and np.isfinite(y).all()):
        raise _parse_error(path, n_features, ValueError("non-finite number"))
    return sp.csr_matrix(X), np.asarray(y, dtype=np.float64)


#: Names of the arrays in the decoded cache of a LIBSVM file: X in CSR form, its
#: shape (the file's own width) and the raw labels.
CACHE_NAMES = ("data", "indices", "indptr", "shape", "y")


def read_libsvm_cached(path, n_features=None, md5=None):
    """:func:`read_libsvm` through the decoded cache (``data.decoded``).

    The file is parsed once; later reads load the parsed arrays from a ``.npz`` named
    by the file's MD5, so a changed file is parsed again and a corrupt cache is
    rebuilt. The datasets known by name use it; a user's own files are read with
    :func:`read_libsvm`, which writes nothing beside them.

    Parameters
    ----------
    path : str or path-like
        The file.
    n_features : int, optional
        Width of X, as in :func:`read_libsvm`.
    md5 : str, optional
        The file's verified MD5 when known; otherwise it is computed.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), float64

    Raises
    ------
    DataError
        As :func:`read_libsvm`.
    """
    path = _existing_file(path)
    arrays = cached_arrays(path, _parsed_arrays, md5, names=CACHE_NAMES)
    n_rows, width = (int(n) for n in arrays["shape"])
    if n_features is not None:
        if width > n_features:
            raise _parse_error(path, n_features, ValueError(
                f"feature index {width} exceeds n_features={n_features}"))
        width = n_features
    X = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                      shape=(n_rows, width))
    return X, arrays["y"]


def _existing_file(path):
    """``path`` as a Path; DataError when it is not a file.

    The reader takes a path, never a dataset's name: a name that is not a file here
    is refused with the call that finds a known dataset file
    (``data.download.ensure_file``), since $RDIA_DATA_DIR is not searched."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: a folder, not a file; give the path of a data file")
    if not path.is_file():
        from .download import SOURCES  # the known dataset files: only for this message

        known = [relpath for relpath in SOURCES if relpath.split("/")[-1] == path.name]
        hint = (f"; for the dataset file {path.name} in the data folder (or the copy "
                f"shipped with rdia) give read_libsvm(ensure_file({known[0]!r}))"
                if known and not path.is_absolute() else "")
        raise DataError(f"{path}: no such file; read_libsvm takes the path of a LIBSVM "
                        f"file (relative to {Path.cwd()} or absolute){hint}")
    return path


def _parsed_arrays(path):
    """The arrays of :data:`CACHE_NAMES` of a parsed LIBSVM file."""
    X, y = read_libsvm(path)
    return {"data": X.data, "indices": X.indices, "indptr": X.indptr,
            "shape": np.array(X.shape, dtype=np.int64), "y": y}


def count_values_and_rows(path):
    """Upper bounds on the stored values and the rows of a LIBSVM file, found cheaply.

    Every stored value is written ``index:value``, so the number of ':' bytes bounds
    the values, and the number of newlines + 1 bounds the rows. The file is counted
    in chunks (decompressed when it is compressed), without parsing.

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    n_values, n_rows : int
    """
    colons = newlines = 0
    with _open_binary(path) as f:
        while chunk := f.read(CHUNK_BYTES):
            colons += chunk.count(b":")
            newlines += chunk.count(b"\n")
    return colons, newlines + 1


def _parse_error(path, n_features, exc):
    """DataError naming the first malformed line of ``path``."""
    with _open_binary(path) as lines:
        for lineno, raw in enumerate(lines, start=1):
            problem = line_problem(raw, n_features)
            if problem is not None:
                return DataError(f"{path}:{lineno}: malformed LIBSVM line: {problem} "
                                 f"in '{printable(raw.strip())}'; fix the line or "
                                 f"download the file again")
    return DataError(f"{path}: cannot parse as LIBSVM ({printable(_one_line(exc))})")


def line_problem(raw, n_features=None):
    """What is wrong with one line of a LIBSVM file.

    The rules are those of scikit-learn's parser, which reads the files: a line is
    well formed exactly when that parser accepts it and its numbers are finite.

    Parameters
    ----------
    raw : bytes
        The line, with or without its newline.
    n_features : int, optional
        Largest feature index allowed.

    Returns
    -------
    problem : str or None
        A short description, or None when the line is well formed.
    """
    tokens = _uncommented(raw).split()
    if not tokens:
        return None
    label, pairs = tokens[0], tokens[1:]
    if not _is_finite_number(label):
        return f"label '{printable(label)}' is not a finite number"
    if pairs and pairs[0].startswith(b"qid"):
        if b":" not in pairs[0]:
            return f"'{printable(pairs[0])}' is not qid:value"
        pairs = pairs[1:]
    previous = 0
    for pair in pairs:
        index, sep, value = pair.partition(b":")
        index = _integer(index)
        if not sep or index is None or not _is_finite_number(value):
            return (f"'{printable(pair)}' is not index:value with an integer index "
                    f"and a finite value")
        if index < 1:
            return f"feature index {index} is below 1 (LIBSVM indices start at 1)"
        if index > MAX_INDEX:
            return f"feature index {index} exceeds {MAX_INDEX}, the largest index read"
        if index <= previous:
            return f"feature index {index} does not increase"
        if n_features is not None and index > n_features:
            return f"feature index {index} exceeds n_features={n_features}"
        previous = index
    return None


def _uncommented(raw):
    """The line before its first '#'. As in scikit-learn's parser, which searches a C
    string, a '#' after a NUL byte does not start a comment."""
    nul = raw.find(b"\x00")
    hash_at = raw.find(b"#", 0, len(raw) if nul < 0 else nul)
    return raw if hash_at < 0 else raw[:hash_at]


def _integer(token):
    """``int(token)`` as scikit-learn's parser takes it, or None when not an integer."""
    try:
        return int(token)
    except ValueError:
        return None


def _is_finite_number(token):
    try:
        return math.isfinite(float(token))
    except ValueError:
        return False


def compression_of(path):
    """The compression of a file, from its first bytes.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    compression : {"gzip", "bzip2"} or None
        None for a file that starts like neither (plain text).
    """
    with open(path, "rb") as f:
        head = f.read(MAGIC_BYTES)
    for name, magics in COMPRESSED_MAGIC.items():
        if head.startswith(magics):
            return name
    return None


def _open_binary(path):
    """Open a plain, gzip or bzip2 file for reading its (decompressed) bytes."""
    compression = compression_of(path)
    if compression == "gzip":
        return gzip.open(path, "rb")
    if compression == "bzip2":
        return bz2.open(path, "rb")
    return open(path, "rb")


def _one_line(value):
    return " ".join(str(value).split()) or type(value).__name__
