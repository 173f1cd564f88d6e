"""RDIA.py on the command line: its files, its flags and its one-line errors.

The experiment itself is tested through its engine in test_experiments_lr.py; here the
script runs as a user runs it, in a subprocess.
"""

import contextlib
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from builders import (ROOT, interruptible, write_libsvm, write_libsvm_problem,
                      write_multiclass_libsvm)



def run_cli(*args, env=None, cwd=None):
    """Run RDIA.py in a subprocess; return (exit code, stdout, stderr).

    Without ``cwd`` it runs in a fresh empty folder, so its default ``runs/`` files
    neither land in the checkout nor meet those of an earlier run."""
    full_env = dict(os.environ, **(env or {}))
    with tempfile.TemporaryDirectory() as fresh:
        done = subprocess.run([sys.executable, str(ROOT / "RDIA.py"), *args],
                              capture_output=True, text=True, env=full_env,
                              cwd=cwd or fresh, timeout=300)
    return done.returncode, done.stdout, done.stderr


def closed_port():
    """A localhost port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_output_json_influence_csv_and_plot(tmp_path):
    out, csv_path, png = tmp_path / "r.json", tmp_path / "phi.csv", tmp_path / "phi.png"
    code, stdout, stderr = run_cli("--dataset", "wdbc", "--noise", "0.3",
                                   "--output", str(out), "--save-influence", str(csv_path),
                                   "--plot", str(png), "--methods", "full,rdia")
    assert code == 0, stderr
    assert "rdia" in stdout and "time: load" in stdout
    report = json.loads(out.read_text())
    assert set(report) == RECORD_KEYS
    assert report["files"] == {"json": str(out), "influence": str(csv_path),
                               "relabeled": None, "plot": str(png), "harmful_images": None}
    assert report["config"]["noise"] == 0.3 and report["config"]["n_features"] == 30
    assert [r["method"] for r in report["results"]] == ["full", "rdia"]
    assert set(report["results"][0]) == {
        "method", "test_logloss", "test_accuracy", "test_auc", "val_logloss",
        "val_accuracy", "val_auc", "n_train_used", "n_relabeled", "n_removed", "precision",
        "recall"}
    assert report["config"]["tol"] == 1e-7  # influence.DEFAULT_TOL
    phi = report["work"]["phi"]
    assert phi["solver"] == "cg" and phi["residual"] <= 1e-7
    with csv_path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == report["config"]["n_train"]
    assert list(rows[0]) == ["index", "observed_label", "clean_label", "noisy", "phi",
                             "relabeled"]
    assert [int(r["index"]) for r in rows] == list(range(len(rows)))
    flipped = sum(r["observed_label"] != r["clean_label"] for r in rows)
    assert flipped == sum(int(r["noisy"]) for r in rows) == report["config"]["n_flipped"]
    relabeled = sum(int(r["relabeled"]) for r in rows)
    assert relabeled == report["results"][1]["n_relabeled"]
    assert all((float(r["phi"]) > 0.0002) == bool(int(r["relabeled"])) for r in rows)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("dataset", ["cancer", "diabetes"])
def test_first_run_works_offline_from_the_shipped_copy(dataset):
    """No data folder, no $RDIA_DATA_DIR, every download refused: the package's own copy
    of the LIBSVM file is used (rdia/data/bundled)."""
    env = {k: v for k, v in os.environ.items() if k != "RDIA_DATA_DIR"}
    env["RDIA_MIRROR"] = f"http://127.0.0.1:{closed_port()}/"
    with tempfile.TemporaryDirectory() as fresh:
        done = subprocess.run([sys.executable, str(ROOT / "RDIA.py"), "--dataset", dataset,
                               "--noise", "0.8", "--alpha", "0.0002"], capture_output=True,
                              text=True, env=env, cwd=fresh, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "downloading" not in done.stderr
        assert f"data {dataset}: train 350" in done.stdout
        assert sorted(p.name for p in (Path(fresh) / "runs").iterdir()) == [
            f"rdia-{dataset}-noise0.8-alpha0.0002-seed0-phi.png",
            f"rdia-{dataset}-noise0.8-alpha0.0002-seed0.json"]


def test_missing_file_offline_names_file_url_and_data_dir(tmp_path):
    # a1a: cancer and diabetes are shipped with the package and never downloaded
    code, stdout, stderr = run_cli(
        "--dataset", "a1a", "--data-dir", str(tmp_path),
        env={"RDIA_MIRROR": f"http://127.0.0.1:{closed_port()}/"})
    assert code == 2 and "Traceback" not in stderr + stdout
    # each URL is announced before connecting; then one line says what failed
    *announced, error = stderr.strip().splitlines()
    assert announced and all(line.startswith("downloading http") for line in announced)
    assert error.startswith("RDIA.py: error:")
    assert "a1a" in error and "http" in error
    assert "RDIA_DATA_DIR" in error
    assert list(tmp_path.iterdir()) == []  # nothing left behind


@pytest.mark.parametrize("args, message", [
    (["--dataset", "nosuchset"], "cancer"),
    (["--dataset", "wdbc", "--noise", "1.0"], "--noise"),
    (["--dataset", "wdbc", "--noise", "-0.1"], "--noise"),
    (["--dataset", "wdbc", "--alpha", "-0.01"], "--alpha"),
    (["--dataset", "wdbc", "--C", "-1"], "--C"),
    (["--dataset", "wdbc", "--C", "inf"], "--C"),
    (["--dataset", "wdbc", "--C", "1e300"], "--C"),
    (["--dataset", "wdbc", "--C", "1e-300"], "--C"),
    (["--dataset", "wdbc", "--seed", "-1"], "--seed"),
    (["--dataset", "wdbc", "--seed", str(2 ** 32)], "--seed"),
    (["--dataset", "wdbc", "--alpha", "inf"], "--alpha"),
    (["--dataset", "wdbc", "--alpha", "nan"], "--alpha"),
    (["--dataset", "wdbc", "--tol", "nan"], "--tol"),
    (["--dataset", "wdbc", "--methods", "full,magic"], "magic"),
    (["--dataset", "wdbc", "--noise", "abc"], "--noise"),
    (["--dataset", "wdbc", "--solver", "cg", "--max-iter", "1", "--tol", "1e-14"],
     "relative residual"),
])
def test_bad_input_is_one_line_and_exit_code_2(args, message):
    one_line_error(*run_cli(*args, "--no-files"), words=(message,))


def test_malformed_libsvm_line_is_reported_with_its_number(tmp_path):
    path = write_libsvm_problem(tmp_path)
    lines = path.read_text().splitlines()
    lines[6] = "1 1:0.5 2:oops"
    path.write_text("\n".join(lines) + "\n")
    code, stdout, stderr = run_cli("--dataset", str(path), "--no-files")
    assert code == 2 and "Traceback" not in stderr + stdout
    assert len(stderr.strip().splitlines()) == 1 and ":7:" in stderr


def test_labels_that_do_not_fit_are_rejected(tmp_path):
    path = write_libsvm_problem(tmp_path, labels=(1, 2, 3))
    code, stdout, stderr = run_cli("--dataset", str(path), "--no-files")
    assert code == 2 and "Traceback" not in stderr + stdout
    assert len(stderr.strip().splitlines()) == 1 and "3" in stderr


def test_help_lists_the_paper_flags():
    code, stdout, _ = run_cli("--help")
    assert code == 0
    for flag in ("--dataset", "--noise", "--alpha", "--seed", "--methods", "--solver",
                 "--output", "--save-influence"):
        assert flag in stdout


def test_softmax_outputs_have_the_binary_format_and_accuracy_leads_the_table(tmp_path):
    out, csv_path = tmp_path / "r.json", tmp_path / "phi.csv"
    code, stdout, stderr = run_cli("--dataset", "digits", "--noise", "0.3",
                                   "--noise-type", "pairflip", "--methods", "full,rdia",
                                   "--output", str(out), "--save-influence", str(csv_path),
                                   "--no-files")
    assert code == 0, stderr
    header = stdout.splitlines()[2].split()
    assert header[:3] == ["method", "test_acc", "test_logloss"]
    report = json.loads(out.read_text())
    assert set(report) == RECORD_KEYS
    assert report["files"] == {"json": str(out), "influence": str(csv_path),
                               "relabeled": None, "plot": None, "harmful_images": None}
    assert set(report["results"][0]) == {
        "method", "test_logloss", "test_accuracy", "test_auc", "val_logloss",
        "val_accuracy", "val_auc", "n_train_used", "n_relabeled", "n_removed", "precision",
        "recall"}
    assert report["config"]["noise_type"] == "pairflip"
    with csv_path.open() as handle:
        rows = list(csv.DictReader(handle))
    changed = [r for r in rows if r["observed_label"] != r["clean_label"]]
    assert len(changed) == report["config"]["n_flipped"] > 0
    # pairflip moves class c to c + 1 (mod 10).
    assert all(int(r["observed_label"]) == (int(r["clean_label"]) + 1) % 10 for r in changed)


@pytest.mark.parametrize("args, message", [
    (["--dataset", "digits", "--model", "logreg"], "--model softmax"),
    (["--dataset", "mnist10", "--model", "logreg"], "--model softmax"),
    (["--dataset", "wdbc", "--noise-type", "symmetric"], "--noise-type"),
    (["--dataset", "digits", "--noise-type", "uniform"], "--noise-type"),
    (["--dataset", "CLASSES", "--model", "softmax", "--noise-type", "asymmetric"],
     "asymmetric"),
    (["--dataset", "WIDE", "--model", "softmax", "--solver", "direct"], "use cg"),
])
def test_multiclass_bad_input_is_one_line_and_exit_code_2(tmp_path, args, message):
    paths = {"CLASSES": str(write_multiclass_libsvm(tmp_path)),
             "WIDE": str(write_multiclass_libsvm(tmp_path, width=2000))}
    code, stdout, stderr = run_cli(*[paths.get(a, a) for a in args], "--no-files")
    one_line_error(code, stdout, stderr, words=(message,))



@pytest.mark.parametrize("spelling", [["--noise-type", "pairflip", "--max-iter", "500"],
                                      ["--noise_type", "pairflip", "--max_iter=500"]])
def test_every_flag_works_with_hyphens_or_underscores(tmp_path, spelling):
    out = tmp_path / "r.json"
    code, _, stderr = run_cli("--dataset", "digits", "--noise", "0.2", "--methods", "full",
                              *spelling, "--output", str(out), "--no-files")
    assert code == 0, stderr
    config = json.loads(out.read_text())["config"]
    assert config["noise_type"] == "pairflip" and config["max_iter"] == 500


def test_cleanlab_edits_are_methods_of_the_script(tmp_path):
    code, stdout, stderr = run_cli("--dataset", "wdbc", "--methods",
                                   "full,cleanlab-prune,cleanlab-relabel", "--no-files")
    assert code == 0, stderr
    assert "cleanlab-relabel" in stdout


# ---------------------------------------------------------------------------
# No result is ever lost (issue 10)

FAST = ("--dataset", "wdbc", "--noise", "0.3", "--methods", "full,rdia")


#: The keys of a run's JSON, whatever its source and engine.
RECORD_KEYS = {"config", "alpha_auto", "results", "summary", "timings", "work",
               "trusted_check", "files"}

#: A progress line of a stage, printed on stderr when it is not a terminal.
PROGRESS_LINE = re.compile(r"[\w .-]+: \d+\.\d s(, .*)?")


def progress_free(stderr):
    """The lines of stderr that are not progress lines."""
    return [line for line in stderr.strip().splitlines() if not PROGRESS_LINE.fullmatch(line)]


def one_line_error(code, stdout, stderr, words=()):
    """Exit status 2 and one line on stderr besides the progress lines of the stages."""
    assert code == 2 and "Traceback" not in stderr + stdout, stderr
    lines = [line for line in stderr.strip().splitlines() if not PROGRESS_LINE.fullmatch(line)]
    assert len(lines) == 1, stderr
    for word in words:
        assert word in stderr


def test_every_flag_is_a_setting_of_the_run_or_names_an_output_file():
    """RDIA.py hands the flags that are RunConfig fields to the run; a new setting flag
    without its field would be dropped unseen."""
    from dataclasses import fields
    from importlib.util import module_from_spec, spec_from_file_location

    from rdia.experiments.config import RunConfig
    from rdia.experiments.output import FILE_KEYS

    spec = spec_from_file_location("rdia_script", ROOT / "RDIA.py")
    script = module_from_spec(spec)
    spec.loader.exec_module(script)
    flags = {action.dest for action in script.build_parser()._actions} - {"help"}
    outputs = {flag[2:].replace("-", "_") for flag in FILE_KEYS} | {"no_files", "overwrite"}
    assert flags - outputs == {field.name for field in fields(RunConfig)}


@pytest.mark.parametrize("flag, key", [("--noise", "noise"), ("--alpha", "alpha"),
                                       ("--seed", "seed")])
def test_a_zero_given_on_the_command_line_is_the_value_run(tmp_path, flag, key):
    """0 is a value, not a missing flag: --noise 0 ran with the default noise 0.4."""
    code, _, stderr = run_cli(*FAST, flag, "0", "--output", "r.json", cwd=tmp_path)
    assert code == 0, stderr
    assert json.loads((tmp_path / "r.json").read_text())["config"][key] == 0


@pytest.mark.parametrize("flag", ["--C", "--val-ratio", "--tol", "--max-iter"])
def test_a_zero_that_is_out_of_range_is_refused(flag):
    one_line_error(*run_cli(*FAST, flag, "0", "--no-files"), words=(flag,))


def test_default_names_carry_alpha_whole_and_another_seed_keeps_the_first_files(tmp_path):
    code, _, stderr = run_cli("--dataset", "wdbc", "--noise", "0.8", "--alpha", "0.0002",
                              cwd=tmp_path)
    assert code == 0, stderr
    first = tmp_path / "runs" / "rdia-wdbc-noise0.8-alpha0.0002-seed0.json"
    plot = tmp_path / "runs" / "rdia-wdbc-noise0.8-alpha0.0002-seed0-phi.png"
    saved = first.read_bytes(), plot.read_bytes()
    code, _, stderr = run_cli("--dataset", "wdbc", "--noise", "0.8", "--alpha", "0.0002",
                              "--seed", "1", cwd=tmp_path)
    assert code == 0, stderr
    assert (first.read_bytes(), plot.read_bytes()) == saved
    second = json.loads((first.parent / first.name.replace("seed0", "seed1")).read_text())
    assert second["config"]["seed"] == 1 and second["config"]["alpha"] == 0.0002


def test_a_run_never_replaces_the_json_of_other_settings(tmp_path):
    out = tmp_path / "r.json"
    assert run_cli(*FAST, "--output", str(out), "--no-files")[0] == 0
    before = out.read_bytes()
    one_line_error(*run_cli(*FAST, "--seed", "3", "--output", str(out), "--no-files"),
                   words=("seed", "--overwrite"))
    assert out.read_bytes() == before
    assert run_cli(*FAST, "--output", str(out), "--no-files")[0] == 0  # same settings
    code, _, stderr = run_cli(*FAST, "--seed", "3", "--output", str(out), "--no-files",
                              "--overwrite")
    assert code == 0, stderr
    assert json.loads(out.read_text())["config"]["seed"] == 3


def test_an_existing_file_of_no_run_is_not_replaced(tmp_path):
    table = tmp_path / "mine.csv"
    table.write_text("precious\n")
    one_line_error(*run_cli(*FAST, "--save-influence", str(table), "--no-files"),
                   words=("--save-influence", "--overwrite"))
    assert table.read_text() == "precious\n"


def test_output_paths_must_be_distinct(tmp_path):
    out = tmp_path / "r.json"
    one_line_error(*run_cli(*FAST, "--output", str(out), "--save-influence", str(out)),
                   words=("same file",))
    assert not out.exists()


def read_only_folder(tmp_path):
    """A folder this process cannot create files in (root ignores mode bits)."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o555)
        return folder
    return Path("/sys")


@pytest.mark.parametrize("flag, where, words", [
    ("--output", "FOLDER", ("is a folder",)),
    ("--output", "UNDER_FILE/r.json", ("is a file",)),
    ("--output", "READ_ONLY/r.json", ("cannot write",)),
    ("--plot", "phi.xyz", ("'.xyz'", ".png")),
    ("--save-influence", "READ_ONLY/phi.csv", ("cannot write",)),
])
def test_output_paths_are_checked_before_any_work(tmp_path, flag, where, words):
    (tmp_path / "UNDER_FILE").write_text("a file\n")
    path = (where.replace("FOLDER", str(tmp_path)).replace("READ_ONLY", str(read_only_folder(tmp_path))))
    path = str(tmp_path / path)
    out = tmp_path / "ok.json"
    args = ["--output", str(out)] if flag != "--output" else []
    code, stdout, stderr = run_cli(*FAST, *args, flag, path)
    one_line_error(code, stdout, stderr, words=(flag, *words))
    assert "rdia" not in stdout  # the table is printed after the work: no work was done
    assert not out.exists()
    assert not list(tmp_path.glob(".*"))  # no temporary file either


def test_devices_are_written_through_never_replaced(tmp_path):
    code, _, stderr = run_cli(*FAST, "--output", "/dev/null", "--no-files")
    assert code == 0, stderr
    assert Path("/dev/null").is_char_device()
    one_line_error(*run_cli(*FAST, "--output", "/dev/full", "--no-files"),
                   words=("/dev/full", "No space left"))
    assert Path("/dev/full").is_char_device()


def test_a_socket_is_refused_not_replaced(tmp_path):
    path = tmp_path / "sock.json"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        one_line_error(*run_cli(*FAST, "--output", str(path), "--no-files"),
                       words=("not a regular file",))
        assert path.is_socket()


def test_ctrl_c_prints_interrupted_and_exits_130(tmp_path):
    # digits with softmax takes a few seconds; interrupt it once it has started
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "RDIA.py"), "--dataset", "mnist10", "--noise", "0.5",
         "--methods", "full,rdia", "--output", str(tmp_path / "r.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        preexec_fn=interruptible)
    wait_for_line(process.stdout)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1] == "RDIA.py: interrupted"
    assert list(tmp_path.iterdir()) == []


def test_sigterm_is_one_line_and_exit_143(tmp_path):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "RDIA.py"), "--dataset", "mnist10", "--noise", "0.5",
         "--methods", "full,rdia"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    wait_for_line(process.stdout)
    process.terminate()
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 143
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1] == "RDIA.py: terminated"


def wait_for_line(stream):
    """Block until the process has printed its first line (its imports are done)."""
    assert stream.readline()


def test_a_closed_pipe_ends_quietly():
    process = subprocess.Popen([sys.executable, str(ROOT / "RDIA.py"), *FAST, "--no-files"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    stderr = process.stderr.read().decode()
    process.wait(timeout=120)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    assert process.returncode in (0, 141)


def test_messages_escape_control_characters():
    code, stdout, stderr = run_cli("--dataset", "no\x1b[31msuch\x07set", "--no-files")
    one_line_error(code, stdout, stderr, words=("\\x1b",))
    assert "\x1b" not in stderr and "\x07" not in stderr


# ---------------------------------------------------------------------------
# Your own data: --train, --val, --test (CSV, Parquet, LIBSVM)

def write_cancer_files(folder, kind="csv", seed=0):
    """Noisy training and clean validation files of breast cancer with text labels.

    The features are standardised on the training rows already, so RDIA.py's scaler
    leaves them as they are (up to rounding) and LIBSVM files of the same arrays, which
    are not scaled, describe the same problem.
    """
    import numpy as np
    import pandas as pd

    from builders import breast_cancer_noisy

    X, y, X_val, y_val, flipped = breast_cancer_noisy(seed=seed)
    names = np.array(["malignant", "benign"], dtype=object)
    paths = []
    for name, features, labels in (("noisy", X, y), ("trusted", X_val, y_val)):
        frame = pd.DataFrame(features, columns=[f"f{j}" for j in range(30)])
        frame.insert(0, "id", np.arange(len(labels)) + 1)
        frame["diagnosis"] = names[labels]
        path = folder / f"{name}.{kind}"
        if kind == "csv":
            frame.to_csv(path, index=False)
        elif kind == "parquet":
            frame.to_parquet(path, index=False)
        else:
            rows = [[(j + 1, repr(float(v))) for j, v in enumerate(row)] for row in features]
            write_libsvm(path, np.where(labels == 1, 1, -1), rows)
        paths.append(str(path))
    return paths + [flipped]


OWN = ("--label-column", "diagnosis", "--drop-columns", "id")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_own_files_give_suspects_scores_and_the_relabeled_rows(tmp_path, kind):
    import pandas as pd

    train, val, flipped = write_cancer_files(tmp_path, kind)
    out, record, png = tmp_path / "suspects.csv", tmp_path / "r.json", tmp_path / "phi.png"
    code, stdout, stderr = run_cli("--train", train, "--val", val, *OWN,
                                   "--relabeled", str(out), "--output", str(record),
                                   "--plot", str(png))
    assert code == 0, stderr
    assert "suspects: " in stdout and "no precision or recall" in stdout
    assert "validation: log-loss" in stdout and "clean" not in stdout.split("suspects")[1]
    report = json.loads(record.read_text())
    assert set(report) == RECORD_KEYS
    assert [r["method"] for r in report["results"]] == ["full", "random", "drop", "uids",
                                                        "rdia"]
    assert all(r["precision"] is None and r["recall"] is None for r in report["results"])
    assert report["files"] == {"json": str(record), "influence": None,
                               "relabeled": str(out), "plot": str(png),
                               "harmful_images": None}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out)
    given = pd.read_csv(train) if kind == "csv" else pd.read_parquet(train)
    assert list(table.columns) == list(given.columns) + ["phi", "harmful",
                                                         "suggested_label"]
    assert table["id"].tolist() == given["id"].tolist()  # the input's row order
    assert table["harmful"].sum() == report["summary"]["n_suspects"] > 0
    changed = table["suggested_label"] != table["diagnosis"]  # alpha auto, the default:
    assert not (changed & ~table["harmful"]).any()  # flagged rows relabeled or kept
    assert changed.sum() == report["alpha_auto"]["labels_changed"] > 0
    assert set(table["suggested_label"]) == {"benign", "malignant"}
    precision = (table["harmful"] & flipped).sum() / table["harmful"].sum()
    assert precision > 0.75
    assert report["summary"]["after"]["val_logloss"] < report["summary"]["before"]["val_logloss"]


def test_the_csv_and_the_libsvm_path_give_the_same_phi(tmp_path):
    import numpy as np
    import pandas as pd

    (tmp_path / "csv").mkdir()
    (tmp_path / "svm").mkdir()
    csv_train, csv_val, _ = write_cancer_files(tmp_path / "csv", "csv")
    svm_train, svm_val, _ = write_cancer_files(tmp_path / "svm", "svm")
    for train, val, extra in ((csv_train, csv_val, OWN), (svm_train, svm_val, ())):
        # a tight tol: the table's dense X and the LIBSVM file's CSR take different
        # preconditioners, and the two paths must give the same phi, not the same
        # rounding of a 1e-7 solve
        code, _, stderr = run_cli("--train", train, "--val", val, *extra, "--relabeled",
                                  str(Path(train).parent / "out.csv"), "--methods",
                                  "full,rdia", "--no-files", "--tol", "1e-12")
        assert code == 0, stderr
    from_csv = pd.read_csv(tmp_path / "csv" / "out.csv")
    from_svm = pd.read_csv(tmp_path / "svm" / "out.csv")
    assert list(from_svm.columns) == ["label", "phi", "harmful", "suggested_label"]
    assert np.abs(from_csv["phi"]).max() > 1e-3
    np.testing.assert_allclose(from_csv["phi"], from_svm["phi"], rtol=1e-6, atol=1e-9)
    assert from_csv["harmful"].tolist() == from_svm["harmful"].tolist()
    # LIBSVM labels keep their values: -1 / +1 (benign is +1 here)
    names = {-1: "malignant", 1: "benign"}
    assert [names[v] for v in from_svm["suggested_label"]] == \
        from_csv["suggested_label"].tolist()


def test_alpha_auto_prints_the_rounds_and_records_them(tmp_path):
    train, val, _ = write_cancer_files(tmp_path)
    out = tmp_path / "r.json"
    code, stdout, stderr = run_cli("--train", train, "--val", val, *OWN, "--alpha", "auto",
                                   "--methods", "full,rdia", "--output", str(out),
                                   "--no-files")
    assert code == 0, stderr
    assert "alpha auto" in stdout and stdout.count("<- chosen") == 1
    lines = stdout.split("cv_logloss\n")[1].split("flags:")[0].strip().splitlines()
    report = json.loads(out.read_text())
    auto = report["alpha_auto"]
    assert len(lines) == len(auto["curve"]) == len(auto["n_relabeled"]) > 1
    assert lines[0].split()[:2] == ["0", "0.0"]  # zero rounds relabel nothing
    chosen = next(line for line in lines if "<- chosen" in line)
    assert int(chosen.split()[0]) == auto["rounds"]
    assert float(chosen.split()[2]) == pytest.approx(auto["curve"][auto["rounds"]], abs=1e-4)
    assert report["config"]["alpha"] == "auto" and report["config"]["alpha_used"] is None
    rdia = next(r for r in report["results"] if r["method"] == "rdia")
    assert rdia["n_relabeled"] == auto["labels_changed"] > 0
    assert report["config"]["n_harmful"] >= auto["labels_changed"]
    assert report["trusted_check"]["suspicious"] is False and "warning" not in stderr


def test_missing_values_stop_the_run_unless_imputed(tmp_path):
    import pandas as pd

    train, val, _ = write_cancer_files(tmp_path)
    frame = pd.read_csv(train)
    frame.loc[11, "f3"] = None
    frame.to_csv(train, index=False)
    one_line_error(*run_cli("--train", train, "--val", val, *OWN, "--no-files"),
                   words=("noisy.csv", "column 'f3'", "row 12", "--impute"))
    code, stdout, stderr = run_cli("--train", train, "--val", val, *OWN, "--impute",
                                   "--no-files")
    assert code == 0, stderr
    assert "suspects" in stdout


def own_bad_input(tmp_path, case):
    """Files and flags of one bad --train run, as a user would make them."""
    import pandas as pd

    train, val, _ = write_cancer_files(tmp_path)
    edit = {
        "no label column": lambda t, v: (t.drop(columns="diagnosis"), v),
        "label unseen in training": lambda t, v: (t, v.assign(
            diagnosis=["unknown"] + v["diagnosis"].tolist()[1:])),
        "single class": lambda t, v: (t.assign(diagnosis="benign"),
                                      v.assign(diagnosis="benign")),
        "mismatched columns": lambda t, v: (t, v.drop(columns="f7")),
        "text in a numeric column": lambda t, v: (t, v.assign(
            f2=v["f2"].astype(str).where(v.index != 4, "high"))),
    }
    if case in edit:
        t, v = edit[case](pd.read_csv(train), pd.read_csv(val))
        t.to_csv(train, index=False)
        v.to_csv(val, index=False)
    if case == "empty file":
        Path(val).write_text("")
    if case == "unreadable parquet":
        val = str(tmp_path / "trusted.parquet")
        Path(val).write_bytes(b"PAR1\x00not really parquet")
    return ["--train", train, "--val", val, *OWN]


@pytest.mark.parametrize("case, extra, words", [
    ("no label column", [], ("noisy.csv", "no label column 'diagnosis'")),
    ("label unseen in training", [], ("trusted.csv", "label 'unknown' (row 1)",
                                      "does not occur in the training labels")),
    ("single class", [], ("every label is 'benign'", "at least 2 classes")),
    ("mismatched columns", [], ("trusted.csv", "column 'f7'", "is missing")),
    ("text in a numeric column", [], ("trusted.csv", "column 'f2' is numeric",
                                      "row 5 holds 'high'")),
    ("empty file", [], ("trusted.csv", "empty")),
    ("unreadable parquet", [], ("trusted.parquet", "cannot read it as Parquet")),
    ("ok", ["--dataset", "cancer"], ("--dataset does not apply to your own files",)),
    ("ok", ["--noise", "0.2"], ("--noise does not apply to your own files",
                                "labels are used as they are")),
    ("ok", ["--val-ratio", "0.2"], ("--val-ratio",)),
    ("ok", ["--methods", "full,clean"], ("--methods: clean (not offered for your own files",)),
    ("ok", ["--model", "logreg", "--alpha", "most"], ("--alpha", "'auto'")),
    ("ok", ["--relabeled", "out.txt"], ("--relabeled", "'.txt'", ".csv")),
])
def test_own_data_bad_input_is_one_line_and_exit_code_2(tmp_path, case, extra, words):
    args = own_bad_input(tmp_path, case)
    code, stdout, stderr = run_cli(*args, *extra, "--no-files", cwd=tmp_path)
    one_line_error(code, stdout, stderr, words=words)
    assert "suspects" not in stdout  # stopped before the work
    assert not (tmp_path / "out.txt").exists()


@pytest.mark.parametrize("args, words", [
    (["--val", "v.csv"], ("--val does not apply to a benchmark dataset", "--train")),
    (["--label-column", "y"], ("--label-column does not apply to a benchmark dataset",)),
    (["--train", "t.csv"], ("--train needs --val",)),
    (["--train", "t.csv", "--val", "v.csv", "--noise", "0.2"],
     ("--noise does not apply to your own files",)),
    (["--relabeled", "r.csv"], ("--relabeled applies to your own files",)),
    (["--train", "t.csv", "--val", "v.csv"], ("--label-column is required",)),
    (["--train", "t.svm", "--val", "v.svm", "--label-column", "y"],
     ("--label-column applies to CSV and Parquet",)),
])
def test_flags_of_the_other_kind_of_run_are_refused(args, words):
    one_line_error(*run_cli(*args, "--no-files"), words=words)


def test_a_training_column_named_phi_is_refused_before_the_fit(tmp_path):
    import pandas as pd

    train, val, _ = write_cancer_files(tmp_path)
    for path in (train, val):
        pd.read_csv(path).rename(columns={"f0": "phi"}).to_csv(path, index=False)
    out = tmp_path / "out.csv"
    one_line_error(*run_cli("--train", train, "--val", val, *OWN, "--relabeled", str(out),
                            "--no-files"), words=("already has a column 'phi'",))
    assert not out.exists()


def test_own_data_runs_never_replace_another_runs_json(tmp_path):
    train, val, _ = write_cancer_files(tmp_path)
    out = tmp_path / "r.json"
    args = ("--train", train, "--val", val, *OWN, "--methods", "full,rdia", "--output",
            str(out), "--no-files")
    assert run_cli(*args)[0] == 0
    assert run_cli(*args)[0] == 0  # the same settings: its own file
    before = out.read_bytes()
    one_line_error(*run_cli(*args, "--C", "1.0"), words=("other settings", "--overwrite"))
    assert out.read_bytes() == before


# --------------------------------------------------------------- sharded datasets

def write_synthetic_shards(folder, n=400, d=40, n_shards=4, seed=0, suffix=""):
    """A sparse logistic problem as shards ``part-00000<suffix>`` ... (LIBSVM, or
    Parquet with suffix ".parquet"); the folder."""
    import numpy as np
    import scipy.sparse as sp

    from rdia.data.shards import write_shards

    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.2, format="csr", random_state=rng,
                  data_rvs=lambda k: rng.normal(size=k))
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ rng.normal(size=d)))).astype(int)
    write_shards(X, 2 * y - 1, folder, n_shards, suffix=suffix)
    return str(folder)


def test_a_parquet_influence_folder_writes_over_no_shard_and_no_other_run(tmp_path):
    """--save-influence naming the Parquet shards' own folder once replaced the shards
    (part-00000.parquet ...) with the influence tables."""
    shards = write_synthetic_shards(tmp_path / "shards", n_shards=2, suffix=".parquet")
    before = {p.name: p.read_bytes() for p in Path(shards).iterdir()}
    one_line_error(*run_cli("--dataset", shards, "--save-influence", shards, "--no-files"),
                   words=("--save-influence", "part-00000.parquet", "--dataset reads"))
    assert {p.name: p.read_bytes() for p in Path(shards).iterdir()} == before
    phi = tmp_path / "phi"
    args = ("--dataset", shards, "--save-influence", str(phi), "--no-files", "--output")
    for _ in range(2):  # the same run replaces its own files
        assert run_cli(*args, str(tmp_path / "r.json"))[0] == 0
    assert sorted(p.name for p in phi.iterdir()) == ["part-00000.parquet",
                                                     "part-00001.parquet"]
    written = (phi / "part-00000.parquet").read_bytes()
    one_line_error(*run_cli(*args, str(tmp_path / "other.json"), "--seed", "1"),
                   words=("part-00000.parquet", "--overwrite"))
    assert (phi / "part-00000.parquet").read_bytes() == written


def test_dask_engine_writes_what_the_memory_engine_writes(tmp_path):
    import numpy as np
    import pandas as pd

    shards = write_synthetic_shards(tmp_path / "shards")
    common = ("--dataset", shards, "--noise", "0.3", "--alpha", "0.001", "--methods",
              "full,drop,rdia", "--overwrite")
    memory, dask = tmp_path / "memory", tmp_path / "dask"
    code, stdout, stderr = run_cli(*common, "--output", str(memory / "r.json"),
                                   "--save-influence", str(memory / "phi.csv"), "--plot",
                                   str(memory / "phi.png"))
    assert code == 0 and not progress_free(stderr), stderr
    code, stdout, stderr = run_cli(*common, "--engine", "dask", "--workers", "2",
                                   "--output", str(dask / "r.json"), "--save-influence",
                                   str(dask / "phi"), "--plot", str(dask / "phi.png"))
    assert code == 0 and not progress_free(stderr), stderr
    assert stdout.startswith("run rdia-shards-noise0.3-alpha0.001-seed0-methodsfull+drop+rdia")
    first, second = (json.loads((folder / "r.json").read_text()) for folder in (memory, dask))
    assert second["config"]["engine"] == "dask" and second["config"]["n_workers"] == 2
    assert second["files"]["influence"] == [str(dask / "phi" / f"part-{k:05d}.parquet")
                                            for k in range(4)]
    for mine, theirs in zip(first["results"], second["results"]):
        for key, value in mine.items():
            if isinstance(value, float):
                assert theirs[key] == pytest.approx(value, rel=1e-6), key
            else:
                assert theirs[key] == value, key
    table = pd.read_csv(memory / "phi.csv")
    parts = pd.read_parquet(dask / "phi").sort_values("index").reset_index(drop=True)
    assert list(parts.columns) == list(table.columns)
    assert (parts["relabeled"] == table["relabeled"]).all()
    np.testing.assert_allclose(parts["phi"], table["phi"], rtol=1e-6,
                               atol=1e-6 * table["phi"].abs().max())
    assert (dask / "phi.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unreachable_scheduler_is_one_line_after_the_timeout(tmp_path):
    shards = write_synthetic_shards(tmp_path / "shards", n=40)
    address = f"tcp://127.0.0.1:{closed_port()}"
    one_line_error(*run_cli("--dataset", shards, "--engine", "dask", "--scheduler",
                            address, "--no-files"),
                   words=(f"--scheduler {address}", "within 10 s", "dask scheduler"))


def test_a_malformed_shard_is_named_with_its_line(tmp_path):
    write_synthetic_shards(tmp_path / "shards", n=40)
    path = tmp_path / "shards" / "part-00002"
    lines = path.read_text().splitlines()
    lines[3] = "1 2:0.5 2:0.5"
    path.write_text("\n".join(lines) + "\n")
    one_line_error(*run_cli("--dataset", str(tmp_path / "shards" / "part-*"), "--no-files"),
                   words=(f"{path}:4: malformed LIBSVM line", "does not increase"))


@pytest.mark.parametrize("args, words", [
    (["--workers", "3"], ("--workers applies to --engine dask",)),
    (["--scheduler", "tcp://127.0.0.1:8786"], ("--scheduler applies to --engine dask",)),
    (["SHARDS", "--scheduler", "tcp://127.0.0.1:8786"], ("--scheduler applies to --engine dask",)),
    (["SHARDS", "--learner", "liblinear"], ("--learner does not apply to a dataset written",)),
    (["SHARDS", "--methods", "cleanlab-prune"], ("not offered for a dataset written as shards",)),
    (["SHARDS", "--engine", "dask", "--solver", "direct"], ("cg only",)),
    (["SHARDS", "--save-influence", "FILE"], ("not a folder",)),
])
def test_sharded_flag_errors_are_one_line(tmp_path, args, words):
    shards = write_synthetic_shards(tmp_path / "shards", n=40)
    (tmp_path / "file").write_text("x")
    args = [{"SHARDS": "--dataset", "FILE": str(tmp_path / "file")}.get(a, a) for a in args]
    if args[0] == "--dataset":
        args.insert(1, shards)
    else:
        args = ["--dataset", "cancer"] + args
    one_line_error(*run_cli(*args, "--no-files", cwd=tmp_path), words=words)


#: A sitecustomize that hides the installed package rdia, as on a machine where the
#: project is not installed.
WITHOUT_RDIA = """
import sys

class HideRdia:
    def find_spec(self, name, path=None, target=None):
        if name == "rdia" or name.startswith("rdia."):
            raise ModuleNotFoundError(f"No module named {name!r}")

sys.meta_path.insert(0, HideRdia())
"""


@contextlib.contextmanager
def external_cluster(tmp_path, installed):
    """A scheduler and one worker started with the ``dask scheduler`` and ``dask worker``
    commands of the README, as separate processes; yields the scheduler's address.
    ``installed=False`` hides the package rdia from both."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if not installed:
        (tmp_path / "hide").mkdir()
        (tmp_path / "hide" / "sitecustomize.py").write_text(WITHOUT_RDIA)
        env["PYTHONPATH"] = str(tmp_path / "hide")
    scheduler_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    processes = [subprocess.Popen(
        dask + ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                "--scheduler-file", str(scheduler_file)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        processes.append(subprocess.Popen(
            dask + ["worker", address, "--nthreads", "1", "--no-dashboard"],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)


def test_a_cluster_started_with_the_dask_commands_gives_the_memory_engines_results(tmp_path):
    shards = write_synthetic_shards(tmp_path / "shards")
    common = ("--dataset", shards, "--noise", "0.3", "--alpha", "0.001", "--methods",
              "full,rdia", "--no-files")
    memory = tmp_path / "memory.json"
    code, _, stderr = run_cli(*common, "--output", str(memory))
    assert code == 0, stderr
    with external_cluster(tmp_path, installed=True) as address:
        code, _, stderr = run_cli(*common, "--engine", "dask", "--scheduler", address,
                                  "--output", str(tmp_path / "dask.json"))
    assert code == 0, stderr
    dask = json.loads((tmp_path / "dask.json").read_text())
    assert dask["config"]["n_workers"] == 1
    for mine, theirs in zip(json.loads(memory.read_text())["results"], dask["results"]):
        for key, value in mine.items():
            assert theirs[key] == (pytest.approx(value, rel=1e-6) if isinstance(value, float)
                                   else value), key


def test_a_cluster_without_the_project_installed_is_one_line(tmp_path):
    shards = write_synthetic_shards(tmp_path / "shards", n=40)
    with external_cluster(tmp_path, installed=False) as address:
        result = run_cli("--dataset", shards, "--engine", "dask", "--scheduler", address,
                         "--no-files")
    one_line_error(*result, words=("pip install -r requirement.txt",))


# ------------------------------------------------- what a run imports (module lists)

#: Run RDIA.py with the arguments after the first one, as ``python RDIA.py`` does, and
#: write the names of the modules it imported to the file named by argv[1].
MODULES_AFTER_RUN = """
import json, runpy, sys
listing, sys.argv = sys.argv[1], ["RDIA.py"] + sys.argv[2:]
try:
    runpy.run_path("RDIA.py", run_name="__main__")
except SystemExit as stop:
    code = stop.code
else:
    code = 0
with open(listing, "w") as f:
    json.dump(dict(code=code, modules=sorted(sys.modules)), f)
"""

#: Packages that only some runs need: Dask runs, --train tables, plots, RDIA-LS,
#: the cleanlab edits.
HEAVY = ("dask", "distributed", "pandas", "pyarrow", "torch", "matplotlib", "cleanlab")


def imported_packages(tmp_path, *args):
    """The top-level packages (and scipy / sklearn submodules) a run imported."""
    listing = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", MODULES_AFTER_RUN, str(listing), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    record = json.loads(listing.read_text())
    assert record["code"] == 0, done.stderr
    return {name for module in record["modules"]
            for name in (module.split(".")[0], ".".join(module.split(".")[:2]))}


def test_help_imports_no_heavy_package_and_no_scikit_learn(tmp_path):
    packages = imported_packages(tmp_path, "--help")
    assert not packages & set(HEAVY + ("sklearn", "scipy.optimize", "scipy.linalg"))


@pytest.mark.parametrize("extra", [(), ("--methods", "full,random,drop,uids,rdia,clean")])
def test_a_binary_mnist_run_imports_neither_scikit_learn_nor_a_heavy_package(
        tmp_path, shared_data_dir, extra):
    packages = imported_packages(tmp_path, "--dataset", "mnist", "--noise", "0.8",
                                 "--methods", "full,random,rdia", "--no-files",
                                 "--data-dir", str(shared_data_dir), *extra)
    assert not packages & set(HEAVY + ("sklearn", "scipy.optimize"))


def test_a_libsvm_run_imports_scikit_learn_for_its_parser_only(tmp_path, shared_data_dir):
    """scikit-learn reads the LIBSVM file (and brings pandas) on the first run, no
    liblinear and no metrics; the next run loads the parsed file from its cache and
    imports no scikit-learn at all."""
    data_dir = tmp_path / "data"
    (data_dir / "breast-cancer").mkdir(parents=True)
    relpath = "breast-cancer/breast-cancer_scale"
    (data_dir / relpath).write_bytes((shared_data_dir / relpath).read_bytes())
    args = ("--dataset", "cancer", "--no-files", "--data-dir", str(data_dir))
    first, cached = (imported_packages(tmp_path, *args) for _ in range(2))
    assert "sklearn.datasets" in first
    assert not first & {"sklearn.linear_model", "sklearn.metrics", "dask", "distributed",
                        "torch", "matplotlib", "cleanlab"}
    assert not cached & set(HEAVY + ("sklearn",))


def test_a_plot_imports_matplotlib_and_liblinear_imports_its_solver(tmp_path):
    packages = imported_packages(tmp_path, "--dataset", "wdbc", "--methods", "full,rdia",
                                 "--learner", "liblinear", "--no-files",
                                 "--plot", str(tmp_path / "phi.png"))
    assert {"matplotlib", "sklearn.linear_model"} <= packages
    assert not packages & {"dask", "distributed", "torch", "cleanlab"}


# ---------------------------------------------------------------------------
# Reliability: the user's input is never written, a run writes all of its files or none


@pytest.mark.parametrize("spelling", ["same", "dotdot", "symlink", "hardlink"])
@pytest.mark.parametrize("flag,victim", [("--relabeled", 0), ("--relabeled", 1),
                                         ("--output", 0)])
def test_overwrite_never_replaces_an_input_file(tmp_path, spelling, flag, victim):
    train, val, _ = write_cancer_files(tmp_path)
    target = Path((train, val)[victim])
    before = target.read_bytes()
    (tmp_path / "sub").mkdir()
    path = {"same": target.name, "dotdot": f"sub/../{target.name}",
            "symlink": "link.csv", "hardlink": "hard.csv"}[spelling]
    if spelling == "symlink":
        (tmp_path / path).symlink_to(target)
    if spelling == "hardlink":
        os.link(target, tmp_path / path)
    code, stdout, stderr = run_cli("--train", train, "--val", val, *OWN, flag, path,
                                   "--overwrite", cwd=tmp_path)
    one_line_error(code, stdout, stderr, words=(flag, ("--train", "--val")[victim]))
    assert "pass --overwrite" not in stderr
    assert target.read_bytes() == before


@pytest.mark.parametrize("victim", ["file", "cache"])
def test_overwrite_never_replaces_a_named_datasets_file_or_its_cache(tmp_path, victim,
                                                                     shared_data_dir):
    """--dataset cancer reads breast-cancer_scale in the data folder and caches it
    beside it: neither is an output, though the flags name neither (nor when a file
    named cancer lies in the working folder, which the name does not read)."""
    (tmp_path / "cancer").write_text("not the dataset\n")
    relpath = "breast-cancer/breast-cancer_scale"
    data_dir = tmp_path / "data"
    (data_dir / "breast-cancer").mkdir(parents=True)
    (data_dir / relpath).write_bytes((shared_data_dir / relpath).read_bytes())
    args = ("--dataset", "cancer", "--data-dir", str(data_dir), "--no-files")
    assert run_cli(*args, cwd=tmp_path)[0] == 0  # writes the cache
    (cache,) = (data_dir / "breast-cancer").glob(".breast-cancer_scale.*.npz")
    target = {"file": data_dir / relpath, "cache": cache}[victim]
    before = target.read_bytes()
    code, stdout, stderr = run_cli(*args, "--output", str(target), "--overwrite",
                                   cwd=tmp_path)
    one_line_error(code, stdout, stderr, words=("--output", "--dataset reads"))
    assert target.read_bytes() == before


def test_two_writers_of_one_output_exactly_one_succeeds(tmp_path):
    out = tmp_path / "r.json"
    first = subprocess.Popen([sys.executable, str(ROOT / "RDIA.py"), *FAST, "--seed", "1",
                              "--output", str(out), "--save-influence",
                              str(tmp_path / "infl.csv"), "--no-files"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=tmp_path)
    try:
        assert first.stdout.readline().startswith("run ")  # the lock is held now
        first.send_signal(signal.SIGSTOP)  # the first writer is mid-run
        code, stdout, stderr = run_cli(*FAST, "--seed", "2", "--output", str(out),
                                       "--save-influence", str(tmp_path / "infl.csv"),
                                       "--no-files", cwd=tmp_path)
    finally:
        first.send_signal(signal.SIGCONT)
    one_line_error(code, stdout, stderr, words=(str(first.pid), "another run"))
    rest, errors = first.communicate(timeout=120)
    assert first.returncode == 0, errors
    record = json.loads(out.read_text())
    assert record["config"]["seed"] == 1
    assert (tmp_path / "infl.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["infl.csv", "r.json"]


def test_a_full_disk_leaves_none_of_the_run(tmp_path):
    """The influence CSV fits under the file size limit, the plot does not: before the
    output set, the CSV stayed behind alone and blocked the identical rerun."""
    import resource

    args = (*FAST, "--save-influence", "infl.csv", "--plot", "phi.png", "--output",
            "r.json")
    probe = tmp_path / "probe"
    probe.mkdir()
    assert run_cli(*args, cwd=probe)[0] == 0
    csv_size, png_size = ((probe / name).stat().st_size for name in ("infl.csv", "phi.png"))
    assert csv_size < png_size
    limit = (csv_size + png_size) // 2

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    folder = tmp_path / "full"
    folder.mkdir()
    done = subprocess.run([sys.executable, str(ROOT / "RDIA.py"), *args],
                          capture_output=True, text=True, cwd=folder, timeout=300,
                          preexec_fn=small_disk)
    one_line_error(done.returncode, done.stdout, done.stderr, words=("phi.png",))
    assert list(folder.iterdir()) == []
    code, _, stderr = run_cli(*args, cwd=folder)  # the rerun with space is not refused
    assert code == 0, stderr


def dead_pid():
    """The id of a process that has exited (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)
    return int(done.stdout)


def test_a_later_run_removes_what_a_killed_run_left(tmp_path):
    gone = dead_pid()
    left = [tmp_path / f".r.json.{gone}.tmp", tmp_path / f".phi.png.{gone}.tmp",
            tmp_path / "r.json.lock"]
    for path in left[:2]:
        path.write_bytes(b"")
    left[2].write_text(f"{gone}\n")
    alive = tmp_path / f".phi.png.{os.getpid()}.tmp"  # a live writer's file is kept
    alive.write_bytes(b"")
    code, _, stderr = run_cli(*FAST, "--output", "r.json", "--plot", "phi.png",
                              cwd=tmp_path)
    assert code == 0, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [alive.name, "phi.png", "r.json"])


def test_a_malformed_scheduler_address_is_one_line_at_once(tmp_path):
    shards = write_synthetic_shards(tmp_path / "shards", n=40)
    one_line_error(*run_cli("--dataset", shards, "--engine", "dask", "--scheduler",
                            "not an address", "--no-files"),
                   words=("--scheduler not an address", "tcp://host:8786"))


@pytest.mark.parametrize("args,words", [
    (("--dataset", ""), ("dataset is empty",)),
    (("--train", "folder", "--val", "folder/../trusted.csv"), ("--train folder",
                                                               "a folder")),
])
def test_an_empty_or_folder_path_is_one_line(tmp_path, args, words):
    (tmp_path / "folder").mkdir()
    (tmp_path / "RDIA-LS.py").write_text("not data\n")  # '' once read the folder
    one_line_error(*run_cli(*args, "--no-files", cwd=tmp_path), words=words)


@pytest.mark.parametrize("change,words", [
    ("duplicate", ("'f1' appears twice",)),
    ("huge", ("'f3'", "row 6", "too large")),
])
def test_a_bad_csv_column_is_one_line(tmp_path, change, words):
    import pandas as pd

    train, val, _ = write_cancer_files(tmp_path)
    frame = pd.read_csv(train)
    if change == "duplicate":
        frame.columns = ["f1" if name == "f2" else name for name in frame.columns]
    else:
        frame.loc[5, "f3"] = 1e308
    frame.to_csv(train, index=False)
    one_line_error(*run_cli("--train", train, "--val", val, *OWN, "--no-files"),
                   words=words)


def test_constant_and_id_columns_are_warned_about_in_one_line_each(tmp_path):
    import pandas as pd

    train, val, _ = write_cancer_files(tmp_path)
    for path in (train, val):
        frame = pd.read_csv(path)
        frame["site"] = "A"
        frame.to_csv(path, index=False)
    code, _, stderr = run_cli("--train", train, "--val", val, "--label-column",
                              "diagnosis", "--no-files")
    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if "warning" in line]
    assert len(warnings) == 2, stderr
    assert "'id'" in warnings[0] and "--drop-columns id" in warnings[0]
    assert "'site'" in warnings[1] and "constant" in warnings[1]


@pytest.mark.parametrize("alpha", ["0.0002", "auto"])
def test_progress_in_a_pipe_is_one_line_per_stage(tmp_path, alpha):
    """alpha auto's repair, the longest stage, has its line and its time."""
    code, stdout, stderr = run_cli(*FAST, "--alpha", alpha, "--no-files")
    assert code == 0, stderr
    lines = stderr.splitlines()
    stages = ["load", "fit", "influence", "refit full", "refit rdia"]
    for stage in stages + ["repair"] * (alpha == "auto"):
        assert any(line.startswith(f"{stage}: ") and line.endswith(" s")
                   for line in lines), stderr
    assert ("repair" in stderr) == (", repair " in stdout) == (alpha == "auto")
    assert "\r" not in stderr


def test_a_noisy_trusted_file_gives_one_warning_line_and_a_json_entry(tmp_path):
    """A third of the trusted labels changed (the training file has 20% flipped, so
    the trusted file is noisier): one stderr line that says so and names rows, and
    trusted_check in the JSON; the clean file of the other tests is silent."""
    import numpy as np
    import pandas as pd

    train, val, _ = write_cancer_files(tmp_path)
    frame = pd.read_csv(val)
    wrong = np.random.default_rng(0).choice(len(frame), len(frame) // 3, replace=False)
    flip = {"malignant": "benign", "benign": "malignant"}
    frame.loc[wrong, "diagnosis"] = frame.loc[wrong, "diagnosis"].map(flip)
    frame.to_csv(val, index=False)
    out = tmp_path / "r.json"
    code, stdout, stderr = run_cli("--train", train, "--val", val, *OWN, "--methods",
                                   "full,rdia", "--output", str(out), "--no-files")
    assert code == 0, stderr
    warning = [line for line in stderr.splitlines() if "warning" in line]
    assert len(warning) == 1
    assert warning[0].startswith("RDIA.py: warning: the trusted file looks no cleaner")
    check = json.loads(out.read_text())["trusted_check"]
    assert check["suspicious"] is True
    assert np.isin(check["suspicious_rows"], wrong).mean() >= 0.7


def test_an_image_dataset_writes_its_most_harmful_images(tmp_path):
    code, stdout, stderr = run_cli("--dataset", "digits", "--noise", "0.3",
                                   "--methods", "rdia", cwd=tmp_path)
    assert code == 0, stderr
    stem = tmp_path / "runs" / "rdia-digits-noise0.3-alpha0.0002-seed0-methodsrdia"
    picture = Path(f"{stem}-harmful.png")
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = json.loads(Path(f"{stem}.json").read_text())
    assert record["files"]["harmful_images"] == str(picture)
    code, _, stderr = run_cli("--dataset", "digits", "--noise", "0.3", "--methods", "rdia",
                              "--no-files", cwd=tmp_path / "runs")
    assert code == 0, stderr
    assert not (tmp_path / "runs" / "runs").exists()


@pytest.mark.parametrize("args, words", [
    (["--dataset", "wdbc"], "applies to the image datasets"),
    (["--dataset", "digits", "--plot", "same.png"], "same"),
    (["--dataset", "digits", "--plot", "x.png"], ".png"),
])
def test_harmful_images_flag_is_checked_before_any_work(tmp_path, args, words):
    target = "same.png" if "same.png" in args else "grid.txt" if "x.png" in args \
        else "grid.png"
    code, stdout, stderr = run_cli(*args, "--harmful-images", target, cwd=tmp_path)
    assert code == 2 and words in stderr and "Traceback" not in stderr
    assert not stdout and list(tmp_path.iterdir()) == []
