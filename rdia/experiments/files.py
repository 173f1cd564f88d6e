"""Writing results files: checked before the work, written atomically after it.

- :func:`check_output_paths` is called by the scripts before any computation: every
  output path must be distinct, writable, of a known format, and either absent, a
  regular file, or a device / FIFO that is written through.
- The writers render the whole file in memory, write it to a temporary file in the
  destination folder and rename it over the destination with ``os.replace`` (atomic on
  POSIX and Windows), so a crash, Ctrl-C or SIGTERM never leaves half a file; an
  error removes the temporary file, and one left by kill -9 is removed by a later run. Only regular files are ever replaced: a character device such as
  ``/dev/null`` or a FIFO is written through, anything else is refused.
- JSON is strict (``allow_nan=False``): a non-finite number is written as ``null``.
- No output may be a file the run reads (``inputs`` of :func:`check_output_paths`,
  compared after symbolic links and ``..``, and by inode for hard links).
- :func:`output_set` makes a run's files one unit: it locks every output (a file
  ``<output>.lock`` holding the pid, so a second writer refuses), and every write
  inside it is staged as ``.<name>.<pid>.tmp`` beside its destination and moved into
  place only when the whole run succeeded; on any failure the staged files are
  removed. A later run removes the staged files and locks of dead processes.
- :func:`stored_path` is how a path is recorded inside a results file: relative to the
  repository when it lies inside it, so that a clone elsewhere recognises it.
"""

import contextlib
import contextvars
import csv
import io
import json
import math
import glob
import os
import re
import stat
import tempfile
import time
from pathlib import Path

from rdia.experiments.cli import ConfigError

#: The repository: the folder that holds the ``rdia`` package.
REPOSITORY = Path(__file__).resolve().parents[2]


class OutputError(ConfigError):
    """An output path that cannot be written; the message is one line."""


# ----------------------------------------------------------------------------
# Paths recorded in results files


def stored_path(path, root=None):
    """A path as recorded in a results file (a run's JSON).

    Parameters
    ----------
    path : path-like or None
    root : path-like, optional
        Default :data:`REPOSITORY`.

    Returns
    -------
    path : str or None
        Relative to ``root``, with forward slashes, when the path lies inside it
        (after resolving ``..`` and links); else the path as given; None for None.
    """
    if path is None:
        return None
    root = Path(REPOSITORY if root is None else root).resolve()
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


# ----------------------------------------------------------------------------
# Checks before the work


def figure_suffixes():
    """File suffixes matplotlib can save a figure as (".png", ".pdf", ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple("." + ext for ext in FigureCanvasBase.get_supported_filetypes())


def check_output_paths(outputs, inputs=None):
    """Check every output path of a run before the run starts.

    Parameters
    ----------
    outputs : dict or iterable
        ``{flag: (path, suffixes)}``, or ``(flag, path, suffixes)`` triples where one
        flag names several files: the flag that named the path (for the message),
        the path (str or path-like; None entries are skipped) and the allowed file
        suffixes (tuple of str, lower case, or None for any).
    inputs : dict, optional
        ``{flag: path or list of paths}`` of the files the run reads (None entries are
        skipped). No output may be one of them, whatever the flags: not by the same
        path, not through ``..`` or a symbolic link, not as a hard link.

    Raises
    ------
    OutputError
        One line naming the flag and the path: an output is a file the run reads, two
        flags name the same file (or one names a folder that holds the other), a path
        is a folder, under a file, in a folder that cannot be written, not a regular
        file (other than a character device or a FIFO), or has an unknown suffix.
    """
    entries = [(flag, *value) for flag, value in outputs.items()] \
        if isinstance(outputs, dict) else list(outputs)
    read = input_index(_input_files(inputs or {}))
    seen, folders = {}, {}  # resolved outputs, and the folders above them
    for flag, path, suffixes in entries:
        if path is None:
            continue
        path = Path(path)
        check_not_an_input(path, flag, read)
        check_output_path(path, flag, suffixes)
        key = Path(os.path.realpath(path))
        other = seen.get(key) or folders.get(key) or next(
            (seen[parent] for parent in key.parents if parent in seen), None)
        if other is not None:
            raise OutputError(f"{other} and {flag} name the same file {path}; "
                              f"give each output its own path")
        seen[key] = flag
        folders.update((parent, flag) for parent in key.parents)


def _input_files(inputs):
    """(flag, path) of every file named in ``inputs`` ({flag: path or list})."""
    for flag, paths in inputs.items():
        if paths is None:
            continue
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        for path in paths:
            if path is not None:
                yield flag, Path(path)


def file_keys(path):
    """What makes two paths one file: the path after symbolic links and ``..`` are
    resolved and, for an existing file, its (device, inode) (a hard link)."""
    keys = [os.path.realpath(path)]
    with contextlib.suppress(OSError):
        status = os.stat(path)
        keys.append((status.st_dev, status.st_ino))
    return keys


def input_index(inputs):
    """{key of :func:`file_keys`: (flag, path)} of the (flag, path) pairs a run reads,
    so that each output is looked up once instead of compared with every input."""
    index = {}
    for flag, path in inputs:
        for key in file_keys(path):
            index.setdefault(key, (flag, path))
    return index


def check_not_an_input(path, flag, inputs):
    """Raise OutputError when output ``path`` is one of the files of ``inputs``
    (:func:`input_index`)."""
    hit = next((inputs[key] for key in file_keys(path) if key in inputs), None)
    if hit is not None:
        input_flag, input_path = hit
        shown = "" if os.fspath(path) == os.fspath(input_path) else f" ({input_path})"
        raise OutputError(f"{flag} {path} is the file that {input_flag} reads"
                          f"{shown}; the run never writes over its input: give "
                          f"{flag} another path")


def check_output_path(path, flag, suffixes=None):
    """Check that one output path can be written (see :func:`check_output_paths`)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{flag} {path} is a folder; give a file path")
    if path.exists() or path.is_symlink():
        if _written_through(path):
            return
        if not path.is_file():
            raise OutputError(f"{flag} {path} exists and is not a regular file; "
                              f"refusing to replace it")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise OutputError(f"{flag} {path}: unknown file type {path.suffix or '(none)'!r}; "
                          f"use one of {', '.join(suffixes)}")
    folder = _nearest_existing_folder(path, flag)
    _probe_writable(folder, flag, path)


def check_output_folder(path, flag):
    """Check before the work that ``path`` is, or can be made, a folder to write in.

    Raises
    ------
    OutputError
        One line: ``path`` is a file (or anything but a folder), lies under a file, or
        is in a folder that cannot be written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{flag} {path} is a file, not a folder; give a folder (it is "
                          f"created when missing)")
    folder = path if path.is_dir() else _nearest_existing_folder(path, flag)
    _probe_writable(folder, flag, path)


def check_not_replacing(outputs, record, settings, overwrite=False):
    """Refuse to replace the files of another run.

    A run's JSON (``record``) is its record: it holds the run's settings and the paths
    of the files it wrote (``"files"``). An existing output file may be replaced only
    when the record at ``record`` has the same settings and lists that file, or when
    ``overwrite`` is set.

    Parameters
    ----------
    outputs : dict or iterable
        ``{flag: path}``, or ``(flag, path)`` pairs, of every file the run will write
        (None entries are skipped).
    record : str or path-like or None
        Path of the run's JSON, or None when no JSON is written.
    settings : dict
        The run's settings; each must equal the previous record's ``"config"`` entry.
    overwrite : bool, default=False
        Replace existing files without looking.

    Raises
    ------
    OutputError
        One line naming the file and what differs.
    """
    if overwrite:
        return
    owned = set()
    if record is not None and Path(record).is_file():
        previous = _read_record(record)
        if previous is None:
            raise OutputError(f"{record} exists and is not the JSON of an RDIA run; "
                              f"choose another path or pass --overwrite")
        differs = [key for key, value in settings.items()
                   if previous["config"].get(key) != _round_trip(value)]
        if differs:
            key = differs[0]
            raise OutputError(
                f"{record} holds a run with other settings ({key} "
                f"{previous['config'].get(key)!r}, not {_round_trip(settings[key])!r}); "
                f"choose another path or pass --overwrite")
        listed = previous.get("files", {}).values()
        owned = {os.path.realpath(path) for entry in listed for path in
                 (entry if isinstance(entry, list) else [entry]) if path} \
            | {os.path.realpath(record)}
    for flag, path in (outputs.items() if isinstance(outputs, dict) else outputs):
        if path is not None and Path(path).is_file() and os.path.realpath(path) not in owned:
            raise OutputError(f"{flag} {path} exists and was not written by a run with "
                              f"these settings; choose another path or pass --overwrite")


def _read_record(path):
    """The JSON of a previous run, or None when the file is something else."""
    try:
        previous = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(previous, dict) or not isinstance(previous.get("config"), dict):
        return None
    return previous


def _round_trip(value):
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(_finite_or_none(value)))


def _nearest_existing_folder(path, flag):
    """The deepest existing ancestor of ``path``; it must be a folder."""
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{flag} {path}: {parent} is a file, not a folder")
    return parent


def _probe_writable(folder, flag, path):
    """Create and remove a temporary file in ``folder`` (root ignores mode bits)."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise OutputError(f"{flag} {path}: cannot write in {folder} "
                          f"({exc.strerror or exc})") from None


def _written_through(path):
    """Whether an existing destination is a character device or a FIFO."""
    mode = os.stat(path).st_mode
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


# ----------------------------------------------------------------------------
# Writers


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` atomically, creating parent folders.

    Parameters
    ----------
    path : str or Path
        Destination file (a device or FIFO is written through).
    text : str
        Whole file content.

    Raises
    ------
    OutputError
        When ``path`` exists and is neither a regular file, a device nor a FIFO.
    OSError
        When the write fails (a full disk, a read-only folder); ``path`` is left as
        it was and no temporary file remains.
    """
    def write(target):
        with open(target, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)

    _replace_atomically(path, write)


def write_json_atomic(path, obj):
    """Write ``obj`` as indented strict JSON to ``path`` atomically.

    NumPy scalars and arrays become numbers and lists; NaN and infinities, which
    JSON cannot hold, become ``null``.
    """
    text = json.dumps(_finite_or_none(obj), indent=2, allow_nan=False)
    write_text_atomic(path, text + "\n")


def write_csv_atomic(path, header, rows):
    """Write a CSV with one ``header`` row and then ``rows`` to ``path`` atomically.

    Parameters
    ----------
    path : str or Path
        Destination file.
    header : sequence of str
        Column names.
    rows : iterable of sequences
        One sequence of values per row, in the order of ``header``.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def write_parquet_atomic(path, table):
    """Write a pyarrow Table to ``path`` as Parquet, atomically (staged in an output set)."""
    import pyarrow.parquet as pq

    _replace_atomically(path, lambda target: pq.write_table(table, target))


def save_figure_atomic(fig, path, **kwargs):
    """Save a matplotlib figure to ``path`` atomically (format from the suffix)."""
    kwargs.setdefault("format", Path(path).suffix.lstrip(".").lower() or None)
    _replace_atomically(path, lambda target: fig.savefig(target, **kwargs))


def _replace_atomically(path, write):
    """Call ``write(target)`` on a temporary file beside ``path``, then rename it.

    Inside :func:`output_set` the temporary file is staged instead, and renamed when
    the whole set is written. An existing character device or FIFO is written through
    instead (``write(path)``, at the end of an output set); any other existing
    non-regular file is refused. The new file gets the permissions of a newly created
    file (0666 minus the umask). On any error, KeyboardInterrupt included, the
    temporary file is removed and ``path`` is left as it was. A symbolic link is
    followed: its target is replaced, not the link.
    """
    shown, path = path, Path(os.path.realpath(path))
    stage = _STAGE.get()
    try:
        if path.exists():
            if _written_through(path):
                if stage is not None:
                    stage.deferred.append((path, write))
                else:
                    write(path)
                return
            if not path.is_file():
                raise OutputError(f"{shown} exists and is not a regular file; "
                                  f"refusing to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    tmp = temporary_path(path)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        if stage is not None:
            stage.staged[path] = tmp
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if stage is not None:
            stage.staged.pop(path, None)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None
        raise


# ----------------------------------------------------------------------------
# Output sets: locked, staged, moved into place together


class _Stage:
    """The files of an output set written so far: {destination: staged file}, and the
    writes to devices and FIFOs that wait for the end of the run."""

    def __init__(self):
        self.staged = {}
        self.deferred = []

    def commit(self):
        """Move every staged file into place, then write the devices and FIFOs."""
        try:
            for path in list(self.staged):
                os.replace(self.staged.pop(path), path)
        except OSError as exc:
            self.discard()
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        for path, write in self.deferred:
            try:
                write(path)
            except OSError as exc:
                raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None

    def discard(self):
        """Remove every staged file."""
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.staged.clear()


_STAGE = contextvars.ContextVar("rdia_output_stage", default=None)


def temporary_path(path, pid=None):
    """``.<name>.<pid>.tmp`` beside ``path``: a file being written by process ``pid``
    (default: this one), which a later run removes once that process is gone."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid() if pid is None else pid}.tmp")


def lock_path(path):
    """``<path>.lock``, the lock of an output file (beside its resolved path)."""
    path = Path(os.path.realpath(path))
    return path.with_name(path.name + ".lock")


def staged_path(path):
    """Where the file written to ``path`` in the current output set can be read now:
    its staged file, or ``path`` itself when nothing is staged for it."""
    stage = _STAGE.get()
    real = Path(os.path.realpath(path))
    if stage is not None and real in stage.staged:
        return stage.staged[real]
    return Path(path)


def pid_alive(pid):
    """Whether a process with id ``pid`` exists (a zombie counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_files(path):
    """Remove the temporary files of ``path`` left by processes that are gone."""
    path = Path(os.path.realpath(path))
    if not path.parent.is_dir():
        return
    pattern = re.compile(re.escape(f".{path.name}.") + r"(\d+)\.tmp")
    for entry in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        match = pattern.fullmatch(entry.name)
        if match and not pid_alive(int(match[1])):
            entry.unlink(missing_ok=True)


def acquire_lock(path, flag="output"):
    """Create ``<path>.lock`` holding this process's id; refuse while another lives.

    A lock whose process is gone (killed, crashed) is removed and taken.

    Returns
    -------
    lock : Path

    Raises
    ------
    OutputError
        One line naming the other run's pid.
    """
    lock = lock_path(path)
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            owner = _lock_owner(lock)
            if owner is not None:
                raise OutputError(f"{flag} {path} is being written by another run (pid "
                                  f"{owner}, lock {lock}); wait for it to finish or "
                                  f"choose another path") from None
            lock.unlink(missing_ok=True)
            continue
        except OSError as exc:
            raise OutputError(f"{flag} {path}: cannot create the lock {lock} "
                              f"({exc.strerror or exc})") from None
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        return lock
    raise OutputError(f"{flag} {path}: cannot take the lock {lock}; try again")


#: Seconds during which an empty lock counts as being created, not as left over.
LOCK_GRACE = 10.0


def _lock_owner(lock):
    """The live process that holds ``lock``, or None when the lock is stale."""
    try:
        text = lock.read_text(encoding="ascii").strip()
        age = time.time() - lock.stat().st_mtime
    except (OSError, UnicodeDecodeError):
        return None
    if text.isdigit():
        return int(text) if pid_alive(int(text)) else None
    return "unknown" if age < LOCK_GRACE else None


@contextlib.contextmanager
def output_set(paths):
    """Write a run's files as one unit: all of them, or none.

    On entry every output file is locked (``<file>.lock`` holding this pid; a second
    writer refuses in one line) and the temporary files and locks that dead processes
    left beside it are removed; take it before any work. Inside, every write of this
    module is staged as ``.<name>.<pid>.tmp``; on a normal exit all staged files are
    moved into place, on any error (KeyboardInterrupt and SIGTERM included) they are
    removed and the destinations are left as they were. The locks are released on
    exit either way.

    Parameters
    ----------
    paths : dict or iterable
        The run's output files, ``{flag: path}``, ``(flag, path)`` pairs or paths
        (None entries are skipped; devices and FIFOs, which are written through, are
        not locked).

    Yields
    ------
    stage : object
        With ``staged``, {destination: staged file}.
    """
    locks, folders = [], []
    stage = _Stage()
    try:
        for flag, path in _lockable(paths):
            folders.extend(_make_folders(Path(os.path.realpath(path)).parent))
            locks.append(acquire_lock(path, flag))
            remove_stale_files(path)
        token = _STAGE.set(stage)
        try:
            yield stage
        except BaseException:
            stage.discard()
            raise
        finally:
            _STAGE.reset(token)
        stage.commit()
    finally:
        for lock in locks:
            lock.unlink(missing_ok=True)
        for folder in reversed(folders):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only the empty folders this set created


def _lockable(paths):
    """(flag, path) of the regular-file outputs, one per resolved path, in order."""
    items = list(paths.items()) if isinstance(paths, dict) else \
        [path if isinstance(path, tuple) else ("output", path) for path in paths]
    seen = set()
    for flag, path in items:
        if path is None:
            continue
        real = os.path.realpath(path)
        if real in seen or (os.path.exists(real) and _written_through(real)):
            continue
        seen.add(real)
        yield flag, Path(path)


def _make_folders(folder):
    """Create ``folder`` and its missing parents; return those created, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    try:
        for created in reversed(missing):
            created.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot create the folder {created}: "
                          f"{exc.strerror or exc}") from None
    return list(reversed(missing))


def _umask():
    """The process umask (read by setting it and restoring it at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _finite_or_none(value):
    """``value`` with NumPy types made builtin and non-finite floats made None."""
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(item) for item in value]
    if hasattr(value, "tolist"):
        return _finite_or_none(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
