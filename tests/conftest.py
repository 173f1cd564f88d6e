"""Fixtures shared by the test files."""

import os
from pathlib import Path

import pytest


@pytest.fixture
def shared_data_dir():
    """Folder of the shared datasets from RDIA_DATA_DIR; skips the test when unset."""
    value = os.environ.get("RDIA_DATA_DIR", "")
    if not value:
        pytest.skip("RDIA_DATA_DIR is not set (CI sets it to the datasets folder beside the checkout)")
    return Path(value)


@pytest.fixture
def write_libsvm():
    """Function that writes a LIBSVM file; see ``_write_libsvm``."""
    return _write_libsvm


def _write_libsvm(path, labels, rows):
    """Write a LIBSVM text file as the LIBSVM tools do.

    Parameters
    ----------
    path : path-like
        File to create; its folder is created too.
    labels : sequence of str
        Label tokens as they appear in the file, e.g. "+1", "-1", "2".
    rows : sequence of dict
        ``{index: value}`` per line, 1-based indices, zeros omitted.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (" ".join([label] + [f"{j}:{v:g}" for j, v in sorted(row.items())]) + " \n"
             for label, row in zip(labels, rows))
    path.write_text("".join(lines))
    return path
