"""RDIA.py: the experiment end to end, its files, its reproducibility and its errors."""

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import RDIA

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = os.environ.get("RDIA_DATA_DIR")
needs_data = pytest.mark.skipif(
    not DATA_DIR or not (Path(DATA_DIR) / "breast-cancer").is_dir(),
    reason="set RDIA_DATA_DIR to the shared datasets")


def run_cli(*args, env=None, cwd=None):
    """Run RDIA.py in a subprocess; return (exit code, stdout, stderr)."""
    full_env = dict(os.environ, **(env or {}))
    done = subprocess.run([sys.executable, str(ROOT / "RDIA.py"), *args],
                          capture_output=True, text=True, env=full_env,
                          cwd=cwd or ROOT, timeout=300)
    return done.returncode, done.stdout, done.stderr


def report_for(*args):
    return RDIA.run(RDIA.parse_args(["--no-files", *args]))


def by_method(report):
    return {row["method"]: row for row in report["results"]}


def closed_port():
    """A localhost port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_libsvm(path, labels, rows):
    lines = [f"{label} " + " ".join(f"{j}:{v}" for j, v in row) for label, row in
             zip(labels, rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def libsvm_problem(tmp_path, n=120, labels=(-1, 1), seed=0):
    """A small separable-ish LIBSVM file with the given label values."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, labels[-1], labels[0])
    if len(labels) > 2:
        y[:len(labels)] = labels
    rows = [[(j + 1, f"{v:.4f}") for j, v in enumerate(x)] for x in X]
    return write_libsvm(tmp_path / "toy.svm", y, rows)


@needs_data
def test_cancer_at_noise_08_rdia_beats_full_and_matches_drop():
    results = by_method(report_for("--dataset", "cancer", "--noise", "0.8",
                                   "--alpha", "0.0002"))
    assert results["rdia"]["test_logloss"] < 0.5 * results["full"]["test_logloss"]
    assert results["rdia"]["test_logloss"] <= results["drop"]["test_logloss"]
    assert results["rdia"]["n_relabeled"] > 0


@needs_data
def test_same_seed_same_numbers_and_another_seed_other_numbers():
    first = report_for("--dataset", "diabetes", "--noise", "0.4", "--seed", "3")
    second = report_for("--dataset", "diabetes", "--noise", "0.4", "--seed", "3")
    other = report_for("--dataset", "diabetes", "--noise", "0.4", "--seed", "4")
    assert first["results"] == second["results"]
    np.testing.assert_array_equal(first["phi"], second["phi"])
    assert first["results"] != other["results"]


def test_wdbc_runs_offline_and_counts_are_consistent():
    report = report_for("--dataset", "wdbc", "--noise", "0.4", "--alpha", "0.0002")
    cfg, results = report["config"], by_method(report)
    assert cfg["n_flipped"] == int(0.4 * cfg["n_train"])
    n = cfg["n_train"]
    assert results["full"]["n_train_used"] == n and results["full"]["precision"] is None
    assert results["random"]["n_train_used"] == round(0.95 * n)
    assert results["drop"]["n_removed"] == cfg["n_harmful"] == results["rdia"]["n_relabeled"]
    assert results["rdia"]["n_train_used"] == n
    noisy, harmful = report["split"]["noisy"], report["phi"] > 0.0002
    assert results["rdia"]["precision"] == pytest.approx((noisy & harmful).sum() / harmful.sum())
    assert results["rdia"]["recall"] == pytest.approx((noisy & harmful).sum() / noisy.sum())
    assert results["clean"]["test_logloss"] < results["full"]["test_logloss"]


def test_output_json_influence_csv_and_plot(tmp_path):
    out, csv_path, png = tmp_path / "r.json", tmp_path / "phi.csv", tmp_path / "phi.png"
    code, stdout, stderr = run_cli("--dataset", "wdbc", "--noise", "0.3",
                                   "--output", str(out), "--save-influence", str(csv_path),
                                   "--plot", str(png), "--methods", "full,rdia")
    assert code == 0, stderr
    assert "rdia" in stdout and "time: load" in stdout
    report = json.loads(out.read_text())
    assert set(report) == {"config", "results", "timings", "solver"}
    assert report["config"]["noise"] == 0.3 and report["config"]["n_features"] == 30
    assert [r["method"] for r in report["results"]] == ["full", "rdia"]
    assert set(report["results"][0]) == {
        "method", "test_logloss", "test_accuracy", "test_auc", "val_logloss",
        "n_train_used", "n_relabeled", "n_removed", "precision", "recall"}
    assert report["solver"]["name"] == "cg" and report["solver"]["residual"] <= 1e-10
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


def test_dataset_by_path_with_test_file(tmp_path):
    train = libsvm_problem(tmp_path, n=150, labels=(2, 4), seed=1)
    test = write_libsvm(tmp_path / "toy.t", [2, 4, 4], [[(1, "-1")], [(1, "1")],
                                                        [(2, "2")]])
    report = report_for("--dataset", str(train), "--test-file", str(test), "--noise", "0.2")
    assert report["config"]["n_test"] == 3
    assert report["config"]["n_train"] + report["config"]["n_val"] == 150


def test_missing_file_offline_names_file_url_and_data_dir(tmp_path):
    code, stdout, stderr = run_cli(
        "--dataset", "cancer", "--data-dir", str(tmp_path),
        env={"RDIA_MIRROR": f"http://127.0.0.1:{closed_port()}/"})
    assert code == 2 and "Traceback" not in stderr + stdout
    assert len(stderr.strip().splitlines()) == 1
    assert "breast-cancer_scale" in stderr and "http" in stderr
    assert "RDIA_DATA_DIR" in stderr


@pytest.mark.parametrize("args, message", [
    (["--dataset", "nosuchset"], "cancer"),
    (["--dataset", "wdbc", "--noise", "1.0"], "--noise"),
    (["--dataset", "wdbc", "--noise", "-0.1"], "--noise"),
    (["--dataset", "wdbc", "--alpha", "-0.01"], "--alpha"),
    (["--dataset", "wdbc", "--C", "-1"], "--C"),
    (["--dataset", "wdbc", "--methods", "full,magic"], "magic"),
    (["--dataset", "wdbc", "--noise", "abc"], "--noise"),
    (["--dataset", "wdbc", "--solver", "cg", "--max-iter", "1", "--tol", "1e-14"],
     "relative residual"),
])
def test_bad_input_is_one_line_and_exit_code_2(args, message):
    code, stdout, stderr = run_cli(*args, "--no-files")
    assert code == 2
    assert "Traceback" not in stderr + stdout
    assert len(stderr.strip().splitlines()) == 1
    assert message in stderr


def test_malformed_libsvm_line_is_reported_with_its_number(tmp_path):
    path = libsvm_problem(tmp_path)
    lines = path.read_text().splitlines()
    lines[6] = "1 1:0.5 2:oops"
    path.write_text("\n".join(lines) + "\n")
    code, stdout, stderr = run_cli("--dataset", str(path), "--no-files")
    assert code == 2 and "Traceback" not in stderr + stdout
    assert len(stderr.strip().splitlines()) == 1 and ":7:" in stderr


def test_labels_that_do_not_fit_are_rejected(tmp_path):
    path = libsvm_problem(tmp_path, labels=(1, 2, 3))
    code, stdout, stderr = run_cli("--dataset", str(path), "--no-files")
    assert code == 2 and "Traceback" not in stderr + stdout
    assert len(stderr.strip().splitlines()) == 1 and "3" in stderr


def test_help_lists_the_paper_flags():
    code, stdout, _ = run_cli("--help")
    assert code == 0
    for flag in ("--dataset", "--noise", "--alpha", "--seed", "--methods", "--solver",
                 "--output", "--save-influence"):
        assert flag in stdout


# K classes: --model softmax, mnist10, digits, --noise-type ---------------------------

def multiclass_libsvm(tmp_path, n=150, labels=(1, 2, 3), width=None, seed=0):
    """A LIBSVM file with len(labels) classes from a seeded rule on 4 features.

    With ``width``, the first row also has feature ``width``, so X is that wide.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.asarray(labels)[np.argmax(X[:, :len(labels)], axis=1)]
    rows = [[(j + 1, f"{v:.4f}") for j, v in enumerate(x)] for x in X]
    if width:
        rows[0].append((width, "0.5"))
    return write_libsvm(tmp_path / f"classes{width or ''}.svm", y, rows)


def test_digits_runs_softmax_rdia_offline_with_consistent_counts():
    report = report_for("--dataset", "digits", "--noise", "0.5", "--alpha", "0.001",
                        "--methods", "full,drop,rdia,clean")
    cfg, results, split = report["config"], by_method(report), report["split"]
    assert cfg["model"] == "softmax" and cfg["n_classes"] == 10
    assert cfg["noise_type"] == "symmetric" and cfg["n_features"] == 64
    np.testing.assert_array_equal(split["noisy"], split["y_noisy"] != split["y_clean"])
    assert cfg["n_flipped"] == split["noisy"].sum()
    assert 0.4 < cfg["n_flipped"] / cfg["n_train"] < 0.6
    assert results["rdia"]["n_relabeled"] == results["drop"]["n_removed"] == cfg["n_harmful"]
    assert results["rdia"]["n_train_used"] == cfg["n_train"]
    harmful = report["phi"] > 0.001
    assert results["rdia"]["precision"] == pytest.approx(
        (split["noisy"] & harmful).sum() / harmful.sum())
    # At half the labels wrong, relabeling the harmful set helps a lot.
    assert results["rdia"]["test_accuracy"] > results["full"]["test_accuracy"] + 0.03
    assert results["clean"]["test_accuracy"] > results["full"]["test_accuracy"]


def test_softmax_outputs_have_the_binary_format_and_accuracy_leads_the_table(tmp_path):
    out, csv_path = tmp_path / "r.json", tmp_path / "phi.csv"
    code, stdout, stderr = run_cli("--dataset", "digits", "--noise", "0.3",
                                   "--noise-type", "pairflip", "--methods", "full,rdia",
                                   "--output", str(out), "--save-influence", str(csv_path),
                                   "--no-files")
    assert code == 0, stderr
    header = stdout.splitlines()[1].split()
    assert header[:3] == ["method", "test_acc", "test_logloss"]
    report = json.loads(out.read_text())
    assert set(report) == {"config", "results", "timings", "solver"}
    assert set(report["results"][0]) == {
        "method", "test_logloss", "test_accuracy", "test_auc", "val_logloss",
        "n_train_used", "n_relabeled", "n_removed", "precision", "recall"}
    assert report["config"]["noise_type"] == "pairflip"
    with csv_path.open() as handle:
        rows = list(csv.DictReader(handle))
    changed = [r for r in rows if r["observed_label"] != r["clean_label"]]
    assert len(changed) == report["config"]["n_flipped"] > 0
    # pairflip moves class c to c + 1 (mod 10).
    assert all(int(r["observed_label"]) == (int(r["clean_label"]) + 1) % 10 for r in changed)


def test_multiclass_libsvm_by_path_with_softmax(tmp_path):
    path = multiclass_libsvm(tmp_path)
    report = report_for("--dataset", str(path), "--model", "softmax", "--noise", "0.2",
                        "--methods", "full,rdia")
    assert report["config"]["n_classes"] == 3 and report["config"]["n_train"] == 74
    assert report["results"][0]["test_auc"] is not None


def test_two_class_softmax_matches_binary_logreg_at_twice_C(tmp_path):
    """K = 2: softmax at C is logreg at 2C (see test_influence.py), same flips and split."""
    path = str(libsvm_problem(tmp_path, n=400, seed=2))
    binary = by_method(report_for("--dataset", path, "--noise", "0.3", "--C", "0.2",
                                  "--methods", "full,clean"))
    soft = by_method(report_for("--dataset", path, "--model", "softmax", "--noise", "0.3",
                                "--methods", "full,clean"))
    for method in ("full", "clean"):
        assert soft[method]["test_logloss"] == pytest.approx(binary[method]["test_logloss"],
                                                             rel=1e-4)
        assert soft[method]["test_accuracy"] == binary[method]["test_accuracy"]


@needs_data
def test_mnist10_split_and_symmetric_noise():
    args = RDIA.parse_args(["--dataset", "mnist10", "--noise", "0.5", "--seed", "1",
                            "--data-dir", DATA_DIR])
    split = RDIA.prepare_data(args)
    assert args.model == "softmax" and split["learner"].n_columns == 10
    assert split["X_train"].shape == (41930, 784) and split["X_val"].shape == (17970, 784)
    assert split["X_test"].shape == (10000, 784)
    observed = np.bincount(split["y_noisy"][split["noisy"]], minlength=10)
    assert abs(split["noisy"].mean() - 0.5) < 0.01
    # Symmetric noise spreads the wrong labels over all classes.
    assert observed.min() > 0.5 * observed.mean()
    np.testing.assert_array_equal(split["y_val"], split["dataset"].y_train[41930:])


@pytest.mark.parametrize("args, message", [
    (["--dataset", "digits", "--model", "logreg"], "--model softmax"),
    (["--dataset", "mnist10", "--model", "logreg"], "--model softmax"),
    (["--dataset", "wdbc", "--noise-type", "symmetric"], "--noise-type"),
    (["--dataset", "digits", "--noise-type", "uniform"], "--noise-type"),
    (["--dataset", "CLASSES", "--model", "softmax", "--noise-type", "asymmetric"],
     "asymmetric"),
    (["--dataset", "WIDE", "--model", "softmax", "--solver", "direct"], "use cg"),
])
def test_multiclass_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, args, message):
    """Through RDIA.main in this process (an exception escaping it fails the test)."""
    paths = {"CLASSES": str(multiclass_libsvm(tmp_path)),
             "WIDE": str(multiclass_libsvm(tmp_path, width=2000))}
    try:
        code = RDIA.main([paths.get(a, a) for a in args] + ["--no-files"])
    except SystemExit as exit_:
        code = exit_.code
    stderr = capsys.readouterr().err
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1
    assert message in stderr
