"""Where the dataset files live: outside the code, never inside the data package."""

import os
from pathlib import Path

#: Environment variable naming the folder that holds the datasets.
DATA_DIR_ENV = "RDIA_DATA_DIR"

#: Default folder: ``datasets/`` at the repository root (ignored by git).
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "datasets"


def resolve_data_dir(data_dir=None):
    """Folder that holds the dataset files.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Explicit folder. When None, the environment variable ``RDIA_DATA_DIR`` is
        used, and when that is unset or empty, ``datasets/`` at the repository root.

    Returns
    -------
    path : pathlib.Path
        The folder. It is not required to exist yet; downloads create it.
        Inside, files follow the layout of the shared datasets folder, for
        example ``mnist/train-images-idx3-ubyte.gz`` or ``adult/a9a``.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    from_env = os.environ.get(DATA_DIR_ENV, "")
    if from_env:
        return Path(from_env).expanduser()
    return DEFAULT_DATA_DIR


def data_dir_candidates(data_dir=None):
    """The folders searched, in order, for a file that is also shipped with the package
    (``data.bundled``): ``data_dir`` when given, ``$RDIA_DATA_DIR`` when set, then
    ``datasets/`` at the repository root.

    Returns
    -------
    folders : list of pathlib.Path
        Without repeats; none is required to exist.
    """
    from_env = os.environ.get(DATA_DIR_ENV, "")
    folders = [Path(data_dir).expanduser() if data_dir is not None else None,
               Path(from_env).expanduser() if from_env else None, DEFAULT_DATA_DIR]
    return list(dict.fromkeys(folder for folder in folders if folder is not None))


#: File names read as Parquet (tables and shards); anything else by its own rule.
PARQUET_SUFFIXES = (".parquet", ".pq")
