"""The two small LIBSVM files shipped inside the package, so that the first run works
offline: ``breast-cancer_scale`` (the ``cancer`` dataset) and ``diabetes_scale``.

They are found last: ``data.download.ensure_file`` looks in ``--data-dir``, then
``$RDIA_DATA_DIR``, then ``datasets/``, and only when none of them has the file takes
the copy here (no download). Each copy is checked against its SHA-256 when it is used.
Sources and checksums: README.md in this folder and :data:`BUNDLED`.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError

#: This folder: the shipped files lie beside this module.
FOLDER = Path(__file__).resolve().parent


@dataclass(frozen=True)
class BundledFile:
    """One shipped file: its name here, its SHA-256 and where it comes from."""

    name: str
    sha256: str
    source: str


#: Shipped files, by their path inside a data folder (``data.download.SOURCES``).
BUNDLED = {
    "breast-cancer/breast-cancer_scale": BundledFile(
        "breast-cancer_scale",
        "3c90cd8f884810a0ff2eaf2cc7aabf09073f33c2dfcf113d826a13ca60b257ad",
        "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/binary.html#breast-cancer"),
    "diabetes/diabetes_scale": BundledFile(
        "diabetes_scale",
        "0c07eb4c49e7a8ffb9c9f25095ac3022df2ca85b0dcb7d294c3ddea69f392cba",
        "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/binary.html#diabetes"),
}


def is_bundled(path):
    """Whether ``path`` is one of the shipped files (read as is, never cached beside)."""
    return Path(path).resolve().parent == FOLDER


def bundled_file(relpath):
    """The shipped copy of ``relpath`` after its SHA-256 was checked.

    Parameters
    ----------
    relpath : str
        A key of :data:`BUNDLED`, e.g. ``"diabetes/diabetes_scale"``.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    DataError
        When the copy is missing or its SHA-256 differs (a damaged installation).
    """
    entry = BUNDLED[relpath]
    path = FOLDER / entry.name
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise DataError(f"{path}: cannot read the shipped copy of {relpath} "
                        f"({error.strerror}); reinstall rdia") from None
    if digest != entry.sha256:
        raise DataError(f"{path}: SHA-256 {digest} differs from {entry.sha256}, so the "
                        f"shipped copy of {relpath} is damaged; reinstall rdia")
    return path
