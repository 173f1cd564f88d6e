"""Tests of benchmarks/rdia_ls_ablation.py: candidates, the queue, tables, choice on val."""

import subprocess
import sys

import numpy as np
import pytest

from benchmarks import rdia_ls_ablation as ablation
from rdia.experiments import deep
from rdia.experiments.cli import ConfigError
from builders import ROOT, epoch_rows, write_run



# ----------------------------------------------------------------------------
# Candidates and configs


@pytest.mark.parametrize("text, expected", [
    ("method@0.05", ("method", 0.05)),
    ("published@1", ("published", 1.0)),
    ("keep-on-softmax@0", ("keep-on-softmax", 0.0)),
])
def test_parse_candidate(text, expected):
    assert ablation.parse_candidate(text) == expected


@pytest.mark.parametrize("text, words", [
    ("method", "LOSS@GAMMA"), ("official@0.2", "unknown loss 'official'"),
    ("method@1.5", "gamma"), ("method@x", "gamma"),
])
def test_bad_candidates_are_one_line_config_errors(text, words):
    with pytest.raises(ConfigError, match=words) as info:
        ablation.parse_candidate(text)
    assert "\n" not in str(info.value)


def test_the_default_queue_is_the_order_of_value():
    assert ablation.QUEUE == (
        ("keep-on-softmax", 0.2), ("unsure-over-batch", 0.2),
        ("method", 0.05), ("method", 0.5), ("method", 0.8), ("warmup-over-keep", 0.2),
        ("published", 0.2), ("method", 0.2),
        ("published", 0.05), ("published", 0.5), ("published", 0.8),
        ("published-no-keep-on-softmax", 0.2), ("published-no-unsure-over-batch", 0.2),
        ("published-no-warmup-over-keep", 0.2))


# ----------------------------------------------------------------------------
# Tables


def test_tables_use_the_finished_runs_and_list_the_missing(tmp_path):
    runs = tmp_path / "runs"
    candidates = [("method", 0.5), ("published", 0.05)]
    last = {1: [70.0] * 10, 2: [74.0] * 10}
    for seed in (1, 2):
        accs = [10.0] * 5 + last[seed]
        write_run(ablation.run_config(("method", 0.5), seed, 15, runs),
                  epoch_rows(accs, [a + 1 for a in accs], [a - 1 for a in accs]))
    write_run(ablation.run_config("ce", 1, 15, runs), epoch_rows([20.0] * 15))
    report = ablation.write_outputs(tmp_path / "out", candidates, [1, 2, 3], 15, runs,
                                    select=True)
    # last-10 means 70 and 74: mean 72, sample std sqrt(8)
    assert f"| method, gamma 0.5 | 2 of 3 | 72.00 ± {np.sqrt(8):.2f} | 73.00 ± 2.83 | " \
           "71.00 ± 2.83 |" in report
    assert "| published, gamma 0.05 | 0 of 3 | - | - | - |" in report
    assert "| ce | 1 of 3 | 20.00 | - | - |" in report  # one run: no spread
    assert "| published RDIA-LS (paper) | - | 87.85 ± 0.21 | - | - |" in report
    assert "Missing runs (9): " in report      # 4 candidate runs, 2 ce, 3 coteaching
    assert "mnist_rdia-ls-method_symmetric_0.8_gamma0.5_seed3_n_epoch15" in report
    assert "mnist_rdia-ls-published_symmetric_0.8_gamma0.05_seed1_n_epoch15" in report
    assert (tmp_path / "out" / "table.md").read_text() == report
    assert (tmp_path / "out" / "test_acc.png").read_bytes()[:4] == b"\x89PNG"
    rows = (tmp_path / "out" / "table.csv").read_text().splitlines()
    assert len(rows) == 1 + len(candidates) + len(ablation.BASELINES)


# ----------------------------------------------------------------------------
# Choice on validation accuracy


def seeded_test_set(m=1000, seed=0):
    return np.random.default_rng(seed).integers(0, 10, m)


def predictions(y, val_index, scored_index, p_val, p_scored, n_epochs=12, seed=0):
    """Per-epoch predictions, right with probability p_val on the validation images
    and p_scored on the others (wrong ones are another class)."""
    rng = np.random.default_rng(seed)
    preds = []
    for _ in range(n_epochs):
        right = np.empty(len(y), dtype=bool)
        right[val_index] = rng.random(len(val_index)) < p_val
        right[scored_index] = rng.random(len(scored_index)) < p_scored
        preds.append(np.where(right, y, (y + 1 + rng.integers(0, 9, len(y))) % 10))
    return np.array(preds)


def scored_runs(y_true, preds_by_candidate, val_index, scored_index):
    """Run dicts whose per-epoch accuracies are those of the predictions on y_true."""
    runs = {}
    for candidate, preds in preds_by_candidate.items():
        correct = preds == y_true
        rows = [{"test_acc": 100 * c.mean(), "val_acc": 100 * c[val_index].mean(),
                 "scored_acc": 100 * c[scored_index].mean()} for c in correct]
        runs[candidate] = {"epochs": rows}
    return runs


def test_choice_on_val_ignores_the_test_labels():
    """Shuffling the labels of the 9,900-image part changes every test and scored
    accuracy, and which candidate is best on the test set, but not the choice."""
    y = seeded_test_set()
    seeds = [1, 2]
    candidates = {("method", 0.2): (0.95, 0.60), ("published", 0.2): (0.70, 0.95),
                  ("method", 0.5): (0.50, 0.50)}
    by_truth = {"true": {}, "shuffled": {}}
    best_on_test = {"true": [], "shuffled": []}
    for seed in seeds:
        val_index, scored_index = deep.validation_split(y, seed)
        preds = {c: predictions(y, val_index, scored_index, *p, seed=seed + i)
                 for i, (c, p) in enumerate(candidates.items())}
        shuffled = y.copy()
        shuffled[scored_index] = np.random.default_rng(seed).permutation(y[scored_index])
        for truth, labels in (("true", y), ("shuffled", shuffled)):
            runs = scored_runs(labels, preds, val_index, scored_index)
            for candidate, run in runs.items():
                by_truth[truth].setdefault(candidate, {})[seed] = run
            test_last10 = {c: np.mean([r["test_acc"] for r in run["epochs"][-10:]])
                           for c, run in runs.items()}
            best_on_test[truth].append(max(test_last10, key=test_last10.get))
    # the test set would pick another candidate once its labels are shuffled
    assert best_on_test["true"] != best_on_test["shuffled"]
    chosen = {truth: ablation.select_on_val(runs, seeds) for truth, runs in by_truth.items()}
    assert [c["candidate"] for c in chosen["true"]] == [("method", 0.2)] * 2
    assert [c["candidate"] for c in chosen["shuffled"]] == [("method", 0.2)] * 2
    assert [c["val_acc"] for c in chosen["true"]] == [c["val_acc"] for c in chosen["shuffled"]]
    # the reported number is the chosen run's last-10 mean on the scored images
    for choice in chosen["true"]:
        seed = choice["seed"]
        _, scored_index = deep.validation_split(y, seed)
        preds = predictions(y, *deep.validation_split(y, seed), 0.95, 0.60, seed=seed)
        expected = np.mean([100 * (p[scored_index] == y[scored_index]).mean()
                            for p in preds[-10:]])
        assert choice["scored_acc"] == pytest.approx(expected)
        assert choice["n_candidates"] == 3


def test_choice_skips_runs_without_val_acc_and_breaks_ties_by_order():
    flat = {"epochs": [{"test_acc": 50, "val_acc": 80, "scored_acc": 60}] * 10}
    old = {"epochs": [{"test_acc": 99}] * 10}
    runs = {("a", 0.1): {1: old}, ("b", 0.2): {1: flat}, ("c", 0.3): {1: flat, 2: flat}}
    choices = ablation.select_on_val(runs, [1, 2, 3])
    assert [(c["seed"], c["candidate"], c["n_candidates"]) for c in choices] == \
        [(1, ("b", 0.2), 2), (2, ("c", 0.3), 1)]


# ----------------------------------------------------------------------------
# Command line


def run_cli(*args):
    done = subprocess.run([sys.executable, "-m", "benchmarks.rdia_ls_ablation", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("args, words", [
    (["--jobs", "0"], "--jobs"), (["--epochs", "0"], "--epochs"),
    (["--candidates", "paper@0.2"], "unknown loss"), (["--no-such-flag"], "unrecognized"),
])
def test_bad_flags_exit_2_with_one_line(tmp_path, args, words):
    code, _, stderr = run_cli(*args, "--runs-dir", str(tmp_path), "--out", str(tmp_path))
    assert code == 2 and "Traceback" not in stderr
    assert stderr.count("\n") == 1 and words in stderr


def test_no_train_writes_the_tables_without_training(tmp_path):
    code, stdout, stderr = run_cli("--no-train", "--candidates", "method@0.5", "--seeds", "1",
                                   "--runs-dir", str(tmp_path / "runs"),
                                   "--out", str(tmp_path / "out"))
    assert code == 0, stderr
    assert "Missing runs (3): mnist_rdia-ls-method_symmetric_0.8_gamma0.5_seed1, " \
           "mnist_ce_symmetric_0.8_seed1, mnist_coteaching_symmetric_0.8_seed1" in stdout
    assert not (tmp_path / "runs").exists()
