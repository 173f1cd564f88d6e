"""experiments/files.py: outputs checked before the work, atomic writers that leave
either the old file or the whole new one, strict JSON."""

import contextlib
import csv
import importlib.util
import io
import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rdia.experiments.files import (OutputError, check_not_replacing, check_output_paths,
                               output_set, save_figure_atomic, stored_path, write_csv_atomic,
                               write_json_atomic, write_text_atomic)

from builders import ROOT, write_libsvm



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


# ---------------------------------------------------------------------------
# Output sets: all files or none, one writer at a time; never an input


def test_an_output_set_writes_all_files_or_none(tmp_path):
    with pytest.raises(RuntimeError):
        with output_set([tmp_path / "a.md", tmp_path / "b.md"]):
            write_text_atomic(tmp_path / "a.md", "a\n")
            raise RuntimeError("the second file fails")
    assert list(tmp_path.iterdir()) == []
    with output_set([tmp_path / "a.md", tmp_path / "b.md"]):
        write_text_atomic(tmp_path / "a.md", "a\n")
        write_text_atomic(tmp_path / "b.md", "b\n")
        assert list(tmp_path.iterdir()) != [] and not (tmp_path / "a.md").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "b.md"]


def test_a_live_lock_is_refused_naming_its_pid_and_a_dead_one_is_taken(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "r.json.lock").write_text(f"{sleeper.pid}\n")
        with pytest.raises(OutputError, match=f"pid {sleeper.pid}"):
            with output_set([tmp_path / "r.json"]):
                pass
    finally:
        sleeper.kill()
        sleeper.wait()
    with output_set([tmp_path / "r.json"]):  # its process is gone: the lock is stale
        assert (tmp_path / "r.json.lock").read_text() == f"{os.getpid()}\n"
    assert list(tmp_path.iterdir()) == []


SCRIPTS = {name: ROOT / f"{name}.py" for name in ("RDIA", "RDIA-LS", "reproduce")}


def script_main(name):
    """The main() of a top-level script (RDIA-LS.py has no importable name)."""
    spec = importlib.util.spec_from_file_location(f"script_{name.replace('-', '_')}",
                                                  SCRIPTS[name])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def write_inputs(folder):
    """Small input files of every kind the scripts read, named by their role."""
    from builders import mixed_table

    table = mixed_table(n=40)
    table.to_csv(folder / "train.csv", index=False)
    table.to_csv(folder / "val.csv", index=False)
    rows = [[(1, "0.5"), (2, "1")], [(1, "-1")]] * 20
    write_libsvm(folder / "data.libsvm", [1, -1] * 20, rows)
    (folder / "data" / "mnist").mkdir(parents=True)
    (folder / "data" / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"labels")


#: (script, output flag, input it reads, the rest of the command line).
CASES = [("RDIA", flag, name, ["--train", "train.csv", "--val", "val.csv",
                               "--label-column", "label", "--overwrite"])
         for flag in ("--output", "--relabeled", "--plot") for name in ("train.csv",
                                                                         "val.csv")] + \
        [("RDIA", flag, "data.libsvm", ["--dataset", "data.libsvm", "--overwrite"])
         for flag in ("--output", "--save-influence", "--plot")] + \
        [("RDIA-LS", "--output", "data/mnist/t10k-labels-idx1-ubyte.gz",
          ["--data_dir", "data", "--overwrite"])] + \
        [("reproduce", flag, name, ["ls-curves", "--quick", "--data-dir", "data"])
         for flag in ("--results-dir", "--runs-dir")
         for name in ("data.libsvm", "data/mnist/t10k-labels-idx1-ubyte.gz")]


def spelled(folder, name, spelling):
    """A path that resolves to ``folder / name``: itself, through .., a link or two."""
    target = folder / name
    if spelling == "same":
        return name
    if spelling == "absolute":
        return str(target)
    if spelling == "dotdot":
        (folder / "sub").mkdir(exist_ok=True)
        return f"./sub/../{name}"
    link = folder / f"link-{spelling}{target.suffix}"
    if spelling == "hardlink":
        os.link(target, link)
    elif spelling == "symlink":
        link.symlink_to(target)
    else:  # a link to a link
        (folder / "hop").symlink_to(target)
        link.symlink_to(folder / "hop")
    return link.name


@settings(max_examples=40, deadline=None)
@given(case=st.sampled_from(CASES),
       spelling=st.sampled_from(["same", "absolute", "dotdot", "hardlink", "symlink",
                                 "chain"]))
def test_no_output_of_any_script_may_resolve_to_an_input(case, spelling):
    script, flag, name, rest = case
    with tempfile.TemporaryDirectory() as fresh:
        folder = Path(fresh)
        write_inputs(folder)
        before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
        output = [flag, spelled(folder, name, spelling)]
        argv = rest[:1] + output + rest[1:] if script == "reproduce" else rest + output
        stderr = io.StringIO()
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                try:
                    code = script_main(script)(argv)
                except SystemExit as exit_:
                    code = exit_.code
        finally:
            os.chdir(cwd)
        assert code == 2, stderr.getvalue()
        assert len(stderr.getvalue().strip().splitlines()) == 1, stderr.getvalue()
        assert flag in stderr.getvalue()
        assert {path: path.read_bytes() for path in before} == before


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


@pytest.mark.parametrize("order", ["file first", "folder first"])
def test_an_output_inside_another_outputs_path_is_refused_in_either_order(tmp_path, order):
    entries = [("--part", tmp_path / "x" / "part-00000.parquet", None),
               ("--output", tmp_path / "x", None)]
    if order == "folder first":
        entries.reverse()
    with pytest.raises(OutputError, match="name the same file"):
        check_output_paths(entries)
    check_output_paths([("--part", tmp_path / "x" / "a", None),
                        ("--output", tmp_path / "xa", None)])  # a sibling is fine
