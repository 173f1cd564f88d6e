"""benchmarks/label_repair.py: one small run end to end, its numbers recomputed from the
runs it records, alpha="auto" blind to the test labels, and bad flags in one line."""

import json

import numpy as np
import pytest

from benchmarks import label_repair
from builders import module_error


@pytest.fixture
def small_run(tmp_path, shared_data_dir):
    folder = tmp_path / "label_repair"
    status = label_repair.main(["--datasets", "cancer", "--noises", "0.3", "--seeds", "0",
                                "1", "--rows", "400", "--output-dir", str(folder)])
    assert status == 0
    return folder


def test_every_method_is_recorded_and_the_table_holds_the_means(small_run):
    record = json.loads((small_run / "results.json").read_text())
    runs = record["runs"]
    assert sorted({r["method"] for r in runs}) == sorted(label_repair.METHODS)
    assert len(runs) == 2 * len(label_repair.METHODS)
    rdia = [r for r in runs if r["method"] == "rdia"]
    table = (small_run / "table.md").read_text()
    mean_f1 = np.mean([r["f1"] for r in rdia])
    mean_accuracy = np.mean([r["test"]["sklearn"]["accuracy"] for r in rdia])
    assert f"| cancer | 0.3 | rdia | {np.mean([r['flagged'] for r in rdia]):.1f} |" in table
    mean_right = np.mean([r["right_label"] for r in rdia])
    assert f"{mean_f1:.3f} | {mean_right:.3f} | {mean_accuracy:.4f} |" in table
    # rdia-k* relabels rdia's rows, to k*.
    k_star = [r for r in runs if r["method"] == "rdia-k*"]
    assert [r["flagged"] for r in k_star] == [r["flagged"] for r in rdia]
    assert (small_run / "figure.png").stat().st_size > 0
    # F1 is that of precision and recall; no relabeling flags nothing.
    for r in rdia:
        p, q = r["precision"], r["recall"]
        assert r["f1"] == pytest.approx(2 * p * q / (p + q) if p + q else 0.0)
    assert all(r["flagged"] == 0 for r in runs if r["method"] == "noisy")
    # At 30% noise the trusted rows are clean, and the check says so.
    assert all(r["trusted_warning"] is False for r in rdia)


def test_right_labels_against_hand_counts():
    flagged = np.array([True, True, False, True])
    repaired = np.array([1, 2, 0, 0])
    y_clean = np.array([1, 0, 0, 0])
    assert label_repair.right_labels(flagged, repaired, y_clean) == 2 / 3
    assert label_repair.right_labels(np.zeros(4, bool), repaired, y_clean) == 0.0


def test_flag_quality_against_hand_counts():
    flagged = np.array([True, True, False, False, True])
    changed = np.array([True, False, True, False, True])
    precision, recall, f1 = label_repair.flag_quality(flagged, changed)
    assert (precision, recall) == (2 / 3, 2 / 3) and f1 == pytest.approx(2 / 3)
    assert label_repair.flag_quality(np.zeros(5, bool), changed) == (0.0, 0.0, 0.0)


def test_alpha_auto_does_not_read_the_test_labels(monkeypatch, shared_data_dir):
    """The same run with the test labels shuffled: the same alpha and flagged rows."""
    X, y = label_repair.load_pooled("cancer")
    first = {r["method"]: r for r in label_repair.one_run("cancer", X, y, 0.2, 0, 400)}
    split = label_repair.split

    def shuffled_test_labels(X, y, rows, seed):
        parts = split(X, y, rows, seed)
        X_test, y_test = parts[2]
        parts[2] = (X_test, np.random.default_rng(1).permutation(y_test))
        return parts

    monkeypatch.setattr(label_repair, "split", shuffled_test_labels)
    second = {r["method"]: r for r in label_repair.one_run("cancer", X, y, 0.2, 0, 400)}
    for key in ("alpha", "rounds", "flagged", "relabeled", "precision", "recall"):
        assert second["rdia"][key] == first["rdia"][key]
    # The test scores did change: the shuffle reached the scoring.
    assert second["rdia"]["test"] != first["rdia"]["test"]


@pytest.mark.parametrize("flags, words", [
    (["--noises", "1.2"], "--noises must be numbers in [0, 1)"),
    (["--seeds", "-1"], "--seeds must be integers >= 0"),
    (["--rows", "50"], "--rows must be an integer >= 100"),
    (["--datasets", "iris"], "invalid choice: 'iris'"),
])
def test_bad_flags_exit_2_with_one_line(flags, words):
    assert words in module_error("benchmarks.label_repair", *flags)
