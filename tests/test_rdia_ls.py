"""Tests of the RDIA-LS.py command line, run as a subprocess.

The engine behind it (config, schedule, training) is tested in
``test_experiments_deep.py``.
"""

import json
import os
import signal
import subprocess
import sys

import pytest
from builders import ROOT, interruptible



def run_cli(args, env_extra=None):
    env = {**os.environ, "MPLBACKEND": "Agg", **(env_extra or {})}
    return subprocess.run([sys.executable, "RDIA-LS.py", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


def assert_one_line_error(proc, words=""):
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("RDIA-LS.py: error:")
    assert proc.stderr.count("\n") == 1 and words in proc.stderr


@pytest.mark.parametrize("args, words", [
    (["--noise_rate", "1.0"], "noise_rate"),
    (["--dataset", "svhn"], "dataset"),
])
def test_cli_bad_values_exit_2_with_one_line(tmp_path, args, words):
    proc = run_cli(args + ["--result_dir", str(tmp_path)])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and words in proc.stderr


def test_cli_missing_file_offline_exits_2(tmp_path):
    # port 9 (discard) is closed on 127.0.0.1: the download fails at once
    proc = run_cli(["--data_dir", str(tmp_path / "empty"), "--result_dir", str(tmp_path)],
                   env_extra={"RDIA_MIRROR": "http://127.0.0.1:9/"})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    *announced, error = proc.stderr.strip().splitlines()
    assert all(line.startswith("downloading http") for line in announced)
    assert "train-images-idx3-ubyte.gz" in error and "RDIA_DATA_DIR" in error


@pytest.mark.parametrize("args", [
    ["--gamma", "1.5"],
    ["--noise_type", "uniform"],
    ["--noise_rate", "abc"],
    ["--method", "mentornet"],
    ["--no_such_flag"],
    ["--loss", "official"],
    ["--compat", "paper"],
    ["--loss", "method", "--compat", "official"],
    ["--loss", "published", "--compat", "method"],
    ["--method", "rdia-if", "--alpha", "-0.5"],
    ["--method", "rdia-if", "--alpha", "nan"],
    ["--method", "rdia-if", "--if_every", "0"],
    ["--method", "rdia-if", "--if_warmup", "0"],
    ["--method", "rdia-if", "--if_damping", "0"],
])
def test_main_bad_arguments_return_2_with_one_line(tmp_path, args):
    assert_one_line_error(run_cli(args + ["--result_dir", str(tmp_path)]))


@pytest.mark.parametrize("flag", ["--noise_rate", "--noise-rate"])
def test_both_flag_spellings_name_the_same_setting(tmp_path, flag):
    assert_one_line_error(run_cli([flag, "1.5", "--result_dir", str(tmp_path)]),
                          "--noise_rate must be a number in [0, 1), got 1.5")


def test_conflicting_loss_and_compat_name_both_flags():
    assert_one_line_error(run_cli(["--loss", "keep-on-softmax", "--compat", "official"]),
                          "--loss keep-on-softmax conflicts with --compat official")


def test_help_says_what_the_published_loss_changes():
    text = " ".join(run_cli(["--help"]).stdout.split())
    assert ("the published code's loss, which gives the paper's number, differs from the "
            "paper's equation (method) in that it applies softmax twice before the keep-set "
            "cross-entropy, divides the l_R term by the batch size and the warm-up loss by "
            "the keep-set size once more, and adds a constant") in text
    assert "{published,method,keep-on-softmax,unsure-over-batch,warmup-over-keep," \
           "published-no-keep-on-softmax,published-no-unsure-over-batch," \
           "published-no-warmup-over-keep}" in text
    assert "plus one of these changes, or the published loss without one of them" in text
    assert "(default: published)" in text


def test_help_lists_the_papers_flag_names():
    proc = run_cli(["--help"])
    assert proc.returncode == 0
    for flag in ("--noise_rate", "--result_dir", "--weight_decay", "--n_epoch", "--no_progress"):
        assert flag in proc.stdout
    assert "hyphens or underscores (--result_dir or --result-dir)" in " ".join(proc.stdout.split())
    assert "(default: True)" not in proc.stdout
    entries = " ".join(proc.stdout.split())
    assert "--no_progress hide the progress bar (default: shown)" in entries
    assert "(default: 0)" in entries.split("--seed SEED seed", 1)[1].split("--gamma", 1)[0]


def test_hyphen_spellings_train_a_run_and_write_its_json(shared_data_dir, tmp_path):
    out = tmp_path / "run.json"
    proc = run_cli(["--subset", "300", "--n-epoch", "1", "--noise-rate", "0.5",
                    "--num-gradual", "0", "--warmup", "0", "--seed", "2",
                    "--weight-decay", "0.0001", "--result-dir", str(tmp_path / "runs"),
                    "--compat", "method",
                    "--data-dir", str(shared_data_dir), "--threads", "1",
                    "--output", str(out), "--no-progress"])
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy: last epoch" in proc.stdout and "mean of the last 1 epoch " in proc.stdout
    saved = json.loads(out.read_text())
    config = saved["config"]
    assert (config["noise_rate"], config["forget_rate"], config["weight_decay"]) == \
        (0.5, 0.5, 0.0001)
    assert (config["n_epoch"], config["num_gradual"], config["warmup"], config["seed"],
            config["noise_seed"], config["subset"], config["progress"]) == \
        (1, 0, 0, 2, 2, 300, False)
    assert config["loss"] == "method"          # --compat method is --loss method
    assert config["result_dir"] == str(tmp_path / "runs")
    assert (tmp_path / "runs" / ("mnist_rdia-ls-method_symmetric_0.5_gamma0.2_seed2"
                                 "_weight_decay0.0001_n_epoch1_subset300_num_gradual0"
                                 "_warmup0.csv")).is_file()
    assert [row["epoch"] for row in saved["epochs"]] == [1]


# ---------------------------------------------------------------------------
# No result is ever lost (issue 10)

QUICK = ["--subset", "300", "--n_epoch", "1", "--threads", "1", "--no_progress"]


@pytest.mark.parametrize("make, flag, words", [
    (lambda tmp: ["--output", str(tmp)], "--output", "is a folder"),
    (lambda tmp: ["--result_dir", str(tmp / "file.txt" / "runs")], "--result_dir",
     "is a file"),
    (lambda tmp: ["--output", str(tmp / "run.json"), "--result_dir", str(tmp),
                  "--seed", str(2 ** 32)], "--seed", "[0, 2^32)"),
])
def test_cli_outputs_and_seed_are_checked_before_any_work(shared_data_dir, tmp_path, make,
                                                          flag, words):
    (tmp_path / "file.txt").write_text("a file\n")
    args = make(tmp_path)
    if "--result_dir" not in args:
        args += ["--result_dir", str(tmp_path / "runs")]
    proc = run_cli(QUICK + args)
    assert_one_line_error(proc, words)
    assert flag in proc.stderr
    assert "training images" not in proc.stdout  # printed once the data is loaded
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("victim", ["file", "cache"])
def test_cli_never_writes_over_a_dataset_file_or_its_cache(tmp_path, victim):
    """The run reads the MNIST files in --data_dir and caches them beside: neither may
    be --output, even with --overwrite (checked before any file is read)."""
    from rdia.data.download import SOURCES
    from rdia.data.mnist import MNIST_FILES

    relpath = MNIST_FILES["test_labels"]
    path = tmp_path / relpath
    if victim == "cache":
        path = path.parent / f".{path.name}.{SOURCES[relpath].md5}.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not to be replaced")
    proc = run_cli(QUICK + ["--data_dir", str(tmp_path), "--result_dir",
                            str(tmp_path / "runs"), "--output", str(path), "--overwrite"])
    assert_one_line_error(proc, "--data_dir reads")
    assert path.read_bytes() == b"not to be replaced"


def test_cli_never_replaces_the_json_of_other_settings(shared_data_dir, tmp_path):
    out = tmp_path / "run.json"
    first = run_cli(QUICK + ["--output", str(out), "--result_dir", str(tmp_path)])
    assert first.returncode == 0, first.stderr
    before = out.read_bytes()
    proc = run_cli(QUICK + ["--seed", "7", "--output", str(out), "--result_dir", str(tmp_path)])
    assert_one_line_error(proc, "seed 0, not 7")
    assert out.read_bytes() == before
    again = run_cli(QUICK + ["--output", str(out), "--result_dir", str(tmp_path)])
    assert again.returncode == 0, again.stderr  # same settings: replaced by the same run


def test_cli_ctrl_c_prints_interrupted_and_exits_130(shared_data_dir, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "RDIA-LS.py", "--subset", "3000", "--n_epoch", "50", "--threads", "1",
         "--no_progress", "--result_dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "Agg"}, preexec_fn=interruptible)
    while "training images" not in process.stdout.readline():
        pass
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1] == "RDIA-LS.py: interrupted"
    assert not list(tmp_path.glob(".*"))  # no temporary file left


@pytest.mark.skipif(not os.environ.get("RDIA_DATA_DIR"), reason="needs MNIST")
def test_overwrite_replaces_an_output_that_is_no_run(tmp_path):
    out = tmp_path / "run.json"
    out.write_text('{"config": {"trunc')
    args = ["--n_epoch", "1", "--subset", "200", "--no_progress", "--result_dir",
            str(tmp_path), "--output", str(out)]
    assert_one_line_error(run_cli(args), words="--overwrite")
    assert out.read_text() == '{"config": {"trunc'
    done = run_cli(args + ["--overwrite"])
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["config"]["n_epoch"] == 1
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".csv", ".json", ".png"]
