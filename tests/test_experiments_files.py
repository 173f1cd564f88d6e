"""results.py: atomic writers leave either the old file or the whole new one."""

import csv
import json
import os
import stat

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from experiments.files import save_figure_atomic, write_csv_atomic, write_json_atomic, write_text_atomic


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_json_round_trip_with_numpy_values(tmp_path):
    path = tmp_path / "sub" / "r.json"
    write_json_atomic(path, {"phi": np.array([0.5, -1.0]), "n": np.int64(3)})
    assert json.loads(path.read_text()) == {"phi": [0.5, -1.0], "n": 3}
    assert leftovers(path.parent) == []


def test_csv_round_trip(tmp_path):
    path = tmp_path / "r.csv"
    write_csv_atomic(path, ["index", "phi"], [(0, 0.25), (1, -2.0)])
    with open(path, newline="") as handle:
        assert list(csv.reader(handle)) == [["index", "phi"], ["0", "0.25"], ["1", "-2.0"]]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_get_the_mode_of_a_new_file_not_0600(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_text_atomic(tmp_path / "a.md", "x\n")
        fig, ax = plt.subplots()
        ax.plot([0, 1])
        save_figure_atomic(fig, tmp_path / "a.png")
        plt.close(fig)
    finally:
        os.umask(old)
    for name in ("a.md", "a.png"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "r.md"
    write_text_atomic(path, "old\n")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(path, "new \ud800 text\n")  # a lone surrogate cannot be encoded
    assert path.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_failed_figure_keeps_no_temporary(tmp_path):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError):
        save_figure_atomic(fig, tmp_path / "plot.png", format="not-a-format")
    plt.close(fig)
    assert list(tmp_path.iterdir()) == []
