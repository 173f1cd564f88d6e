"""reproduce.py on the command line: dispatch to the engines and one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from builders import ROOT

DATA_DIR = os.environ.get("RDIA_DATA_DIR")
needs_data = pytest.mark.skipif(
    not DATA_DIR or not (Path(DATA_DIR) / "mnist").is_dir(),
    reason="set RDIA_DATA_DIR to the shared datasets")


def run_cli(*args):
    """Run reproduce.py in a subprocess; return (exit code, stdout, stderr)."""
    done = subprocess.run([sys.executable, str(ROOT / "reproduce.py"), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    return done.returncode, done.stdout, done.stderr


@needs_data
def test_alpha_grid_quick_writes_its_files_and_names_them(tmp_path):
    code, stdout, stderr = run_cli("alpha-grid", "--quick", "--results_dir", str(tmp_path))
    assert code == 0, stderr
    assert "(paper 0.0405)" in stdout
    for name in ("alpha-grid-quick.md", "alpha-grid-quick.csv", "alpha-grid-quick-ratio.png"):
        assert (tmp_path / name).is_file() and name in stdout.splitlines()[-1]


@pytest.mark.parametrize("args, words", [
    (["ls-curves", "--epochs", "0"], "--epochs"),
    (["alpha-grid", "--seeds", "x"], "--seeds"),
    (["alpha-grid", "--seeds", ","], "no seed"),
    (["lr-table", "--seeds", "1,-2"], "[0, 2^32)"),
    (["alpha-grid", "--seeds", "1," + "9" * 23], "[0, 2^32)"),
    (["alpha-grid", "--seeds", "9" * 23], "[1, 1000]"),
    (["ls-curves", "--seeds", "1,1"], "distinct"),
    (["ls-curves", "--quick", "--epochs", "5"], "--quick sets --epochs"),
    (["lr-table", "--quick", "--seeds", "2"], "--quick sets --seeds"),
    (["no-such-command"], "invalid choice"),
])
def test_bad_settings_are_one_line_and_exit_code_2(tmp_path, args, words):
    code, stdout, stderr = run_cli(*args, "--results-dir", str(tmp_path)) if \
        args[0] != "no-such-command" else run_cli(*args)
    assert code == 2
    assert "Traceback" not in stdout + stderr
    assert len(stderr.strip().splitlines()) == 1 and words in stderr


@pytest.mark.parametrize("command, replaced", [("alpha-grid", "--seeds"),
                                               ("lr-table", "cancer and wdbc"),
                                               ("ls-curves", "3 epochs")])
def test_help_describes_each_subcommands_quick_mode(command, replaced):
    code, stdout, _ = run_cli(command, "--help")
    assert code == 0
    entry = " ".join(stdout.split("--quick ", 1)[1].split("--data-dir")[0].split())
    assert replaced in entry and "replaces" in entry


def test_results_dir_that_is_a_file_is_refused_before_the_work(tmp_path):
    path = tmp_path / "results"
    path.write_text("mine\n")
    code, stdout, stderr = run_cli("ls-curves", "--quick", "--results-dir", str(path))
    assert code == 2 and stdout == "" and "Traceback" not in stderr
    assert stderr.count("\n") == 1 and "--results-dir" in stderr and "not a folder" in stderr
    assert path.read_text() == "mine\n"


@needs_data
def test_ls_curves_names_a_truncated_run_and_trains_it_again(tmp_path):
    args = ("ls-curves", "--epochs", "1", "--subset", "200", "--seeds", "0,",
            "--results-dir", str(tmp_path))
    code, _, stderr = run_cli(*args)
    assert code == 0, stderr
    run = next((tmp_path / "ls-curves-1ep-runs").glob("mnist_ce_*.json"))
    run.write_text(run.read_text()[:100])
    code, stdout, stderr = run_cli(*args)
    assert code == 0, stderr
    assert f"{run} does not parse" in stdout
    assert json.loads(run.read_text())["config"]["method"] == "ce"
