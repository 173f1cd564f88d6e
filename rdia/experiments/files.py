"""Writing results files: checked before the work, written atomically after it.

- :func:`check_output_paths` is called by the scripts before any computation: every
  output path must be distinct, writable, of a known format, and either absent, a
  regular file, or a device / FIFO that is written through.
- The writers render the whole file in memory, write it to a temporary file in the
  destination folder and rename it over the destination with ``os.replace`` (atomic on
  POSIX and Windows), so a crash, Ctrl-C or SIGTERM never leaves half a file nor a
  temporary one. Only regular files are ever replaced: a character device such as
  ``/dev/null`` or a FIFO is written through, anything else is refused.
- JSON is strict (``allow_nan=False``): a non-finite number is written as ``null``.
- :func:`stored_path` is how a path is recorded inside a results file: relative to the
  repository when it lies inside it, so that a clone elsewhere recognises it.
"""

import csv
import io
import json
import math
import os
import stat
import tempfile
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


def check_output_paths(outputs):
    """Check every output path of a run before the run starts.

    Parameters
    ----------
    outputs : dict
        ``{flag: (path, suffixes)}``: the flag that named the path (for the message),
        the path (str or path-like; None entries are skipped) and the allowed file
        suffixes (tuple of str, lower case, or None for any).

    Raises
    ------
    OutputError
        One line naming the flag and the path: two flags name the same file, a path
        is a folder, under a file, in a folder that cannot be written, not a regular
        file (other than a character device or a FIFO), or has an unknown suffix.
    """
    seen = {}
    for flag, (path, suffixes) in outputs.items():
        if path is None:
            continue
        path = Path(path)
        check_output_path(path, flag, suffixes)
        key = os.path.realpath(path)
        if key in seen:
            raise OutputError(f"{seen[key]} and {flag} name the same file {path}; "
                              f"give each output its own path")
        seen[key] = flag


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


def check_not_replacing(outputs, record, settings, overwrite=False):
    """Refuse to replace the files of another run.

    A run's JSON (``record``) is its record: it holds the run's settings and the paths
    of the files it wrote (``"files"``). An existing output file may be replaced only
    when the record at ``record`` has the same settings and lists that file, or when
    ``overwrite`` is set.

    Parameters
    ----------
    outputs : dict
        ``{flag: path}`` of every file the run will write (None entries are skipped).
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
        owned = {os.path.realpath(path) for path in previous.get("files", {}).values()
                 if path} | {os.path.realpath(record)}
    for flag, path in outputs.items():
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


def save_figure_atomic(fig, path, **kwargs):
    """Save a matplotlib figure to ``path`` atomically (format from the suffix)."""
    kwargs.setdefault("format", Path(path).suffix.lstrip(".").lower() or None)
    _replace_atomically(path, lambda target: fig.savefig(target, **kwargs))


def _replace_atomically(path, write):
    """Call ``write(target)`` on a temporary file beside ``path``, then rename it.

    An existing character device or FIFO is written through instead (``write(path)``);
    any other existing non-regular file is refused. The new file gets the permissions
    of a newly created file (0666 minus the umask), not the private 0600 of
    ``tempfile.mkstemp``. On any error, KeyboardInterrupt included, the temporary file
    is removed and ``path`` is left as it was. A symbolic link is followed: its target
    is replaced, not the link.
    """
    shown, path = path, Path(os.path.realpath(path))
    try:
        if path.exists():
            if _written_through(path):
                write(path)
                return
            if not path.is_file():
                raise OutputError(f"{shown} exists and is not a regular file; "
                                  f"refusing to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.",
                                   suffix=path.suffix)
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    try:
        os.close(fd)
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None
        raise


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
