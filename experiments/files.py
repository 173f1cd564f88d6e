"""Writing results files atomically, so that a crash never leaves half a file.

Each writer renders the whole file in memory, writes it to a temporary file in the
destination folder and renames it over the destination with ``os.replace``, which is
atomic on POSIX and Windows file systems.
"""

import csv
import io
import json
import os
import tempfile
from pathlib import Path


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` atomically, creating parent folders.

    Parameters
    ----------
    path : str or Path
        Destination file.
    text : str
        Whole file content.
    """
    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)

    _replace_atomically(path, write)


def write_json_atomic(path, obj):
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, default=_to_builtin) + "\n")


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
    _replace_atomically(path, lambda tmp: fig.savefig(tmp, **kwargs))


def _replace_atomically(path, write):
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over path.

    The file gets the permissions of a newly created file (0666 minus the umask), not
    the private 0600 of ``tempfile.mkstemp``. On any error the temporary file is removed
    and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask():
    """The process umask (read by setting it and restoring it at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _to_builtin(value):
    """JSON fallback for NumPy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")
