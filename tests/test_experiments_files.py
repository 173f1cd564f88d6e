"""experiments/files.py: outputs checked before the work, atomic writers that leave
either the old file or the whole new one, strict JSON."""

import csv
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rdia.experiments.files import (OutputError, check_not_replacing, check_output_paths,
                               save_figure_atomic, stored_path, write_csv_atomic,
                               write_json_atomic, write_text_atomic)

ROOT = Path(__file__).resolve().parents[1]


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


def test_json_is_strict_non_finite_numbers_become_null(tmp_path):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"ratio": float("nan"), "up": np.inf, "ok": np.float64(0.5),
                             "rows": [np.array([1.0, -np.inf])]})

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    assert json.loads(path.read_text(), parse_constant=refuse) == {
        "ratio": None, "up": None, "ok": 0.5, "rows": [[1.0, None]]}


SIGTERM_DURING_SAVE = """
import os, signal, sys
import matplotlib
matplotlib.use("Agg")
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from rdia.experiments.cli import run_script
from rdia.experiments.files import save_figure_atomic

class SendsSigterm(Artist):
    def draw(self, renderer):
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the temporary PNG exists

fig = Figure()
fig.add_artist(SendsSigterm())
sys.exit(run_script("save", lambda: save_figure_atomic(fig, sys.argv[1]) or 0))
"""


def test_sigterm_during_a_figure_write_leaves_no_temporary_file(tmp_path):
    done = subprocess.run([sys.executable, "-c", SIGTERM_DURING_SAVE,
                           str(tmp_path / "plot.png")], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert done.returncode == 143, done.stderr
    assert done.stderr.strip() == "save: terminated"
    assert list(tmp_path.iterdir()) == []


def test_an_existing_regular_file_is_replaced_a_device_written_through(tmp_path):
    path = tmp_path / "r.md"
    path.write_text("old\n")
    link = tmp_path / "link.md"
    link.symlink_to(path)
    write_text_atomic(link, "new\n")
    assert link.is_symlink() and path.read_text() == "new\n"  # the target, not the link
    write_text_atomic("/dev/null", "discarded\n")
    assert Path("/dev/null").is_char_device()


@pytest.mark.parametrize("make, words", [
    (lambda tmp: tmp, "is a folder"),
    (lambda tmp: tmp / "file.txt" / "r.png", "is a file"),
    (lambda tmp: tmp / "plot.xyz", "unknown file type"),
])
def test_check_output_paths_refuses_in_one_line(tmp_path, make, words):
    (tmp_path / "file.txt").write_text("x\n")
    with pytest.raises(OutputError, match=words) as caught:
        check_output_paths({"--plot": (make(tmp_path), (".png", ".pdf"))})
    assert "\n" not in str(caught.value)


def test_check_output_paths_creates_nothing(tmp_path):
    check_output_paths({"--output": (tmp_path / "new" / "deeper" / "r.json", None)})
    assert list(tmp_path.iterdir()) == []


def test_check_not_replacing_allows_only_the_files_of_the_same_settings(tmp_path):
    record, plot = tmp_path / "r.json", tmp_path / "r.png"
    plot.write_bytes(b"png")
    write_json_atomic(record, {"config": {"seed": 0, "methods": ["full"]},
                               "files": {"plot": str(plot)}})
    outputs = {"--output": record, "--plot": plot}
    check_not_replacing(outputs, record, {"seed": 0, "methods": ("full",)})
    with pytest.raises(OutputError, match="seed 0, not 1"):
        check_not_replacing(outputs, record, {"seed": 1, "methods": ("full",)})
    other = tmp_path / "other.png"
    other.write_bytes(b"png")
    with pytest.raises(OutputError, match="--plot"):
        check_not_replacing({"--plot": other}, record, {"seed": 0})
    check_not_replacing({"--plot": other}, record, {"seed": 1}, overwrite=True)


def test_stored_path_is_relative_to_the_repository_inside_it(tmp_path):
    root = tmp_path / "repo"
    (root / "results").mkdir(parents=True)
    assert stored_path(root / "results" / "runs" / "a.json", root) == "results/runs/a.json"
    assert stored_path(str(root / "x" / ".." / "results"), root) == "results"
    assert stored_path(tmp_path / "elsewhere" / "a.json", root) == \
        str(tmp_path / "elsewhere" / "a.json")
    assert stored_path(None, root) is None
    # a link from outside into the repository is recorded by where it points
    (tmp_path / "link").symlink_to(root / "results")
    assert stored_path(tmp_path / "link" / "b.csv", root) == "results/b.csv"
