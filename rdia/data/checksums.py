"""Checksums of the dataset files, verified when a file is used, at most once per version.

A file with a published MD5 (``data.download.SOURCES``) is hashed the first time it
is loaded; the verdict is remembered with the file's size and modification time, so
later loads cost a ``stat`` and nothing more. A file that changes (size or mtime) is
hashed again. Verdicts are kept in the process and, when the data folder is
writable, in the small JSON file ``CACHE_NAME`` there, so other runs reuse them. A
read-only data folder works the same, without the file. Only files that match are
remembered; a mismatch is raised every time.
"""

import hashlib
import json
import os
import tempfile
from pathlib import Path

from .errors import DataError

#: File in the data folder that remembers verified checksums.
CACHE_NAME = ".rdia-verified-md5.json"

#: Bytes hashed per step.
CHUNK_BYTES = 1 << 20

#: Verdicts of this process: absolute path -> [size, mtime_ns, md5].
_VERIFIED = {}


def verify_md5(path, md5, data_dir):
    """Check that a data file has its published MD5, unless that is already known.

    Parameters
    ----------
    path : pathlib.Path
        The file, inside ``data_dir``.
    md5 : str
        Published MD5 (hex).
    data_dir : pathlib.Path
        The data folder; it holds the cache file when it is writable.

    Raises
    ------
    DataError
        One line naming the file, when its MD5 differs: delete it and download it
        again.
    """
    stamp = file_stamp(path, md5)
    key = str(Path(path).resolve())
    if _VERIFIED.get(key) == stamp:
        return
    cache = read_cache(data_dir)
    name = Path(path).relative_to(data_dir).as_posix()
    if cache.get(name) != stamp:
        digest = file_md5(path)
        if digest != md5.lower():
            raise DataError(f"{path}: MD5 {digest} differs from the published {md5}, so "
                            f"the file is corrupt; delete it and download it again")
        cache[name] = stamp
        write_cache(data_dir, cache)
    _VERIFIED[key] = stamp


def file_stamp(path, md5):
    """[size, mtime_ns, md5]: what a remembered verdict must match."""
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns, md5.lower()]


#: MD5 of each file hashed in this process, by (real path, size, mtime_ns): a run
#: that names a dataset's decoded cache before its work, then loads it, reads it once.
_MD5 = {}


def file_md5(path):
    """MD5 (hex) of a file, read in chunks; remembered while its size and mtime hold."""
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _MD5:
        digest = hashlib.md5()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                digest.update(chunk)
        _MD5[key] = digest.hexdigest()
    return _MD5[key]


def read_cache(data_dir):
    """The remembered verdicts of a data folder: relative path -> stamp; {} if none."""
    try:
        with open(Path(data_dir) / CACHE_NAME) as f:
            cache = json.load(f)
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def write_cache(data_dir, cache):
    """Store the verdicts in the data folder, atomically; skipped when it is read-only."""
    data_dir = Path(data_dir)
    if not folder_is_writable(data_dir):
        return
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".verified-", suffix=".part")
        with os.fdopen(fd, "w") as f:
            json.dump(cache, f, indent=1, sort_keys=True)
        os.replace(tmp, data_dir / CACHE_NAME)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            try:
                os.remove(tmp)
            except OSError:
                pass


def folder_is_writable(folder):
    """Whether files may be added to ``folder``.

    For root, which may write anywhere, the folder must carry a write permission
    bit: a folder made read-only with ``chmod`` (such as a shared datasets folder)
    is left untouched. For other users, ``os.access`` decides.
    """
    try:
        if os.geteuid() == 0:
            return bool(os.stat(folder).st_mode & 0o222)
        return os.access(folder, os.W_OK)
    except OSError:
        return False
