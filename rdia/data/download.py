"""Download of the dataset files from their canonical sources.

``ensure_file`` is the entry point of the loaders: it returns the path of a known
dataset file under the data folder and downloads it first when it is missing.
Every download goes to a temporary file in the destination folder, is checked for
completeness (and MD5 when a checksum is published) and is then moved into place
with ``os.replace``, so a failed or interrupted transfer never leaves a partial file;
the folders it created for the file (the data folder included) are removed again.

Mirrors: ``ensure_file(..., base_urls=[...])`` or the environment variable
``RDIA_MIRROR`` (whitespace-separated base URLs) replace the scheme, host and folder
of the canonical URLs; the file name is kept.

Each URL is announced on stderr before connecting. A server that does not answer
within ``TIMEOUT_S`` seconds (connecting, or between two reads) is given up and the
next URL is tried; the environment variable ``RDIA_DOWNLOAD_TIMEOUT`` (seconds)
overrides the limit.
"""

import bz2
import hashlib
import http.client
import math
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from .bundled import BUNDLED, bundled_file
from .checksums import verify_md5
from .errors import DataError
from .paths import DATA_DIR_ENV, data_dir_candidates, resolve_data_dir

#: Environment variable with base URLs that replace the canonical ones.
MIRROR_ENV = "RDIA_MIRROR"

#: Bytes read per step while streaming.
CHUNK_BYTES = 1 << 20

#: Seconds to wait for a server (to connect, or for the next bytes) before giving up
#: on a URL and trying the next one.
TIMEOUT_S = 10

#: Environment variable that overrides TIMEOUT_S, in seconds.
TIMEOUT_ENV = "RDIA_DOWNLOAD_TIMEOUT"

LIBSVM_BINARY_URL = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/binary/"
MNIST_URLS = (
    "http://yann.lecun.com/exdb/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar10/cifar-10-python.tar.gz"
CIFAR10_FOLDER = "cifar10/cifar-10-batches-py"
CIFAR10_FILES = (
    "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
    "test_batch", "batches.meta",
)


@dataclass(frozen=True)
class Source:
    """Where one dataset file comes from.

    Attributes
    ----------
    urls : tuple of str
        URLs tried in turn. A URL ending in ``.bz2`` is decompressed on arrival.
    md5 : str or None
        Published MD5 of the downloaded bytes (before any decompression).
    archive : str or None
        Relative path of a tar archive that holds the file. The archive is
        downloaded there, its folder is unpacked beside it and it is deleted.
    """

    urls: tuple
    md5: str = None
    archive: str = None


def _libsvm(name):
    return Source((LIBSVM_BINARY_URL + name,))


def _mnist(name, md5):
    return Source(tuple(base + name for base in MNIST_URLS), md5)


#: Known dataset files: path relative to the data folder -> Source.
SOURCES = {
    "breast-cancer/breast-cancer_scale": _libsvm("breast-cancer_scale"),
    "diabetes/diabetes_scale": _libsvm("diabetes_scale"),
    "adult/a1a": _libsvm("a1a"),
    "adult/a1a.t": _libsvm("a1a.t"),
    "adult/a9a": _libsvm("a9a"),
    "adult/a9a.t": _libsvm("a9a.t"),
    "real-sim/real-sim": _libsvm("real-sim.bz2"),
    "news20/news20.binary": _libsvm("news20.binary.bz2"),
    "covtype/covtype.libsvm.binary.scale": _libsvm("covtype.libsvm.binary.scale.bz2"),
    "mnist/train-images-idx3-ubyte.gz": _mnist(
        "train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "mnist/train-labels-idx1-ubyte.gz": _mnist(
        "train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    "mnist/t10k-images-idx3-ubyte.gz": _mnist(
        "t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    "mnist/t10k-labels-idx1-ubyte.gz": _mnist(
        "t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}
SOURCES.update({
    f"{CIFAR10_FOLDER}/{name}": Source((CIFAR10_URL,), CIFAR10_MD5, CIFAR10_ARCHIVE)
    for name in CIFAR10_FILES
})


class _FetchError(Exception):
    """One URL failed; the message is the reason, without advice."""


def download_file(url, dest, md5=None, desc=None):
    """Download ``url`` to ``dest`` atomically, with a progress bar.

    Parameters
    ----------
    url : str
        Source URL. When it ends in ``.bz2`` and ``dest`` does not, the bzip2
        stream is decompressed into ``dest``.
    dest : str or path-like
        Destination file; its folder is created when missing.
    md5 : str, optional
        Expected MD5 (hex) of the downloaded bytes.
    desc : str, optional
        Label of the progress bar; defaults to the file name.

    Returns
    -------
    dest : pathlib.Path

    Raises
    ------
    DataError
        On a network or HTTP failure, an interrupted transfer, an MD5 mismatch or
        a corrupt bzip2 stream. Neither ``dest`` nor a temporary file is left.
    """
    dest = Path(dest)
    try:
        with _folders_removed_on_failure(dest.parent):
            _fetch(url, dest, md5, desc)
    except _FetchError as exc:
        raise DataError(
            f"cannot download {url} to {dest}: {exc}; place the file at {dest} "
            f"or set {DATA_DIR_ENV} to a folder that has it") from None
    return dest


def ensure_file(relpath, data_dir=None, base_urls=None):
    """Path of a dataset file, downloaded first when it is missing.

    Parameters
    ----------
    relpath : str
        Path inside the data folder, e.g. ``"adult/a9a"`` (see ``SOURCES``).
    data_dir : str or path-like, optional
        Data folder; see ``resolve_data_dir``.
    base_urls : str or list of str, optional
        Mirror base URLs that replace the canonical ones (file name kept).
        Defaults to the environment variable ``RDIA_MIRROR`` when set.

    Returns
    -------
    path : pathlib.Path
        ``resolve_data_dir(data_dir) / relpath``, an existing file. A file with a
        published MD5 is checked against it (once per size and mtime, see
        ``data.checksums``), whether it was downloaded or already there. A file
        shipped with the package (``data.bundled``) is never downloaded: the first of
        ``data_dir``, ``$RDIA_DATA_DIR`` and ``datasets/`` that has it, else the
        shipped copy (its SHA-256 checked).

    Raises
    ------
    DataError
        When the file is missing and cannot be downloaded (one line naming the
        file, the URLs tried and ``RDIA_DATA_DIR``), has no known source, or does
        not have its published MD5.
    """
    relpath = PurePosixPath(relpath).as_posix()
    if relpath in BUNDLED:
        return find_bundled(relpath, data_dir)
    folder = resolve_data_dir(data_dir)
    path = folder / relpath
    source = SOURCES.get(relpath)
    if path.is_file():
        _verify_known_md5(path, source, folder)
        return path
    advice = (f"place the file at {path} or set {DATA_DIR_ENV} to a folder "
              f"that has {relpath}")
    if source is None:
        raise DataError(f"{path} not found and no download source is known for "
                        f"{relpath}; {advice}")
    target = resolve_data_dir(data_dir) / (source.archive or relpath)
    with _folders_removed_on_failure(path.parent):
        failures = []
        for url in mirror_urls(source.urls, base_urls):
            try:
                _fetch(url, target, source.md5, desc=PurePosixPath(relpath).name)
                break
            except _FetchError as exc:
                failures.append(f"{url} ({exc})")
        else:
            raise DataError(f"{path} is missing and could not be downloaded from "
                            f"{', '.join(failures)}; {advice}")
        if source.archive:
            _unpack_archive(target, relpath, source.archive, advice)
        if not path.is_file():
            raise DataError(f"{path} is still missing after the download; {advice}")
    _verify_known_md5(path, source, folder)
    return path


def find_bundled(relpath, data_dir=None):
    """A shipped file: from the first data folder that has it, else the shipped copy."""
    for folder in data_dir_candidates(data_dir):
        if (folder / relpath).is_file():
            return folder / relpath
    return bundled_file(relpath)


def _verify_known_md5(path, source, folder):
    """Check a file against its published MD5 when it has one (not for files taken
    from an archive, whose MD5 is the archive's); see ``data.checksums``."""
    if source is not None and source.md5 is not None and source.archive is None:
        verify_md5(path, source.md5, folder)


def mirror_urls(urls, base_urls=None):
    """Replace the folder part of each URL by each mirror base URL.

    Parameters
    ----------
    urls : sequence of str
        Canonical URLs of one file.
    base_urls : str or sequence of str, optional
        Mirror bases; defaults to ``RDIA_MIRROR`` split on whitespace. When
        neither is given, ``urls`` is returned unchanged.

    Returns
    -------
    urls : list of str
    """
    if base_urls is None:
        base_urls = os.environ.get(MIRROR_ENV, "").split()
    if isinstance(base_urls, str):
        base_urls = [base_urls]
    if not base_urls:
        return list(urls)
    names = dict.fromkeys(url.rsplit("/", 1)[-1] for url in urls)
    return [base.rstrip("/") + "/" + name for base in base_urls for name in names]


@contextmanager
def _folders_removed_on_failure(folder):
    """Context in which ``folder`` may be created; if the block fails, the folders
    that did not exist before it (``folder`` and missing parents) are removed again,
    deepest first, up to the first that is not empty."""
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    try:
        yield
    except BaseException:
        for candidate in missing:
            try:
                candidate.rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                break
        raise


def _fetch(url, dest, md5, desc):
    """Download one URL into ``dest`` or raise ``_FetchError``."""
    folder = dest.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _FetchError(f"cannot create {folder} ({_one_line(exc)})") from None
    print(f"downloading {url} to {dest}", file=sys.stderr, flush=True)
    raw = _stream_to_temp(url, folder, md5, desc or dest.name)
    try:
        if url.endswith(".bz2") and not dest.name.endswith(".bz2"):
            plain = _decompress_bz2_to_temp(raw, folder)
            try:
                os.replace(plain, dest)
            finally:
                _remove_quietly(plain)
        else:
            os.replace(raw, dest)
    except OSError as exc:
        raise _FetchError(f"cannot write {dest} ({_one_line(exc)})") from None
    finally:
        _remove_quietly(raw)


def download_timeout():
    """Seconds to wait for a server: ``$RDIA_DOWNLOAD_TIMEOUT`` when set, else TIMEOUT_S.

    Raises
    ------
    DataError
        If the variable is set to something other than a positive number.
    """
    value = os.environ.get(TIMEOUT_ENV, "").strip()
    if not value:
        return TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise DataError(f"{TIMEOUT_ENV}={value!r} is not a positive number of seconds; "
                        f"unset it or set it to e.g. {TIMEOUT_S}")
    return seconds


def _stream_to_temp(url, folder, md5, desc):
    """Stream ``url`` into a temporary file in ``folder``; return its path."""
    received, expected, tmp, complete = 0, None, None, False
    timeout = download_timeout()
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".download-", suffix=".part")
        digest = hashlib.md5()
        with os.fdopen(fd, "wb") as out, \
                urllib.request.urlopen(url, timeout=timeout) as response:
            expected = _content_length(response)
            with tqdm(total=expected, desc=desc, unit="B", unit_scale=True,
                      unit_divisor=1024) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if expected is not None and received != expected:
            raise _FetchError(f"transfer interrupted after {received} of "
                              f"{expected} bytes")
        if md5 is not None and digest.hexdigest() != md5.lower():
            raise _FetchError(f"MD5 {digest.hexdigest()} differs from the "
                              f"published {md5}")
        complete = True
        return Path(tmp)
    except http.client.IncompleteRead:
        raise _FetchError(f"transfer interrupted after {received} of "
                          f"{expected} bytes") from None
    except urllib.error.HTTPError as exc:
        raise _FetchError(f"HTTP {exc.code} {_one_line(exc.reason)}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _FetchError(f"no answer within {timeout:g} s") from None
        raise _FetchError(_one_line(exc.reason)) from None
    except TimeoutError:
        raise _FetchError(f"no answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _FetchError(_one_line(exc)) from None
    finally:
        if tmp is not None and not complete:
            _remove_quietly(tmp)


def _content_length(response):
    """Announced size in bytes, or None when the server did not send one."""
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _decompress_bz2_to_temp(compressed, folder):
    """Decompress a bzip2 file into a temporary file in ``folder``."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".decompress-", suffix=".part")
    complete = False
    try:
        with os.fdopen(fd, "wb") as out, bz2.open(compressed, "rb") as source:
            shutil.copyfileobj(source, out, CHUNK_BYTES)
        complete = True
        return Path(tmp)
    except (OSError, EOFError, ValueError) as exc:
        raise _FetchError(f"not a valid bzip2 file ({_one_line(exc)})") from None
    finally:
        if not complete:
            _remove_quietly(tmp)


def _unpack_archive(archive, relpath, archive_relpath, advice):
    """Unpack the folder of ``archive`` that holds ``relpath``, then delete it.

    Only regular files directly inside that one folder are written (each
    atomically); links, devices, absolute paths and ``..`` are skipped.
    """
    base = PurePosixPath(archive_relpath).parent
    folder = PurePosixPath(relpath).relative_to(base).parts[0]
    dest_dir = archive.parent / folder
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if (member.isfile() and len(parts) == 2 and parts[0] == folder
                        and parts[1] not in ("..", ".")):
                    _write_atomically(tar.extractfile(member), dest_dir / parts[1])
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot unpack {archive} ({_one_line(exc)}); {advice}") from None
    finally:
        _remove_quietly(archive)


def _write_atomically(stream, dest):
    """Copy a binary stream into ``dest`` through a temporary file."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".unpack-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(stream, out, CHUNK_BYTES)
        os.replace(tmp, dest)
    finally:
        _remove_quietly(tmp)


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _one_line(value):
    """Text of an exception or reason on a single line."""
    return " ".join(str(value).split()) or type(value).__name__
