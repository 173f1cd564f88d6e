"""experiments/lr.py: the logistic-regression experiment as an engine, on real data."""

import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from builders import write_libsvm, write_libsvm_problem, write_multiclass_libsvm
from rdia.experiments import lr
from rdia.experiments.cli import ConfigError

DATA_DIR = os.environ.get("RDIA_DATA_DIR")
needs_data = pytest.mark.skipif(
    not DATA_DIR or not (Path(DATA_DIR) / "breast-cancer").is_dir(),
    reason="set RDIA_DATA_DIR to the shared datasets")


def report_for(**settings):
    return lr.run(lr.LRConfig(**settings), progress=False)


def by_method(report):
    return {row["method"]: row for row in report["results"]}


@needs_data
def test_cancer_at_noise_08_rdia_beats_full_and_matches_drop():
    results = by_method(report_for(dataset="cancer", noise=0.8, alpha=0.0002))
    assert results["rdia"]["test_logloss"] < 0.5 * results["full"]["test_logloss"]
    assert results["rdia"]["test_logloss"] <= results["drop"]["test_logloss"]
    assert results["rdia"]["n_relabeled"] > 0


@needs_data
def test_same_seed_same_numbers_and_another_seed_other_numbers():
    first = report_for(dataset="diabetes", noise=0.4, seed=3)
    second = report_for(dataset="diabetes", noise=0.4, seed=3)
    other = report_for(dataset="diabetes", noise=0.4, seed=4)
    assert first["results"] == second["results"]
    np.testing.assert_array_equal(first["phi"], second["phi"])
    assert first["results"] != other["results"]


def test_wdbc_runs_offline_and_counts_are_consistent():
    report = report_for(dataset="wdbc", noise=0.4, alpha=0.0002)
    cfg, results = report["config"], by_method(report)
    assert cfg["n_flipped"] == int(0.4 * cfg["n_train"])
    n = cfg["n_train"]
    assert results["full"]["n_train_used"] == n and results["full"]["precision"] is None
    assert results["random"]["n_train_used"] == round(0.95 * n)
    assert results["drop"]["n_removed"] == cfg["n_harmful"] == results["rdia"]["n_relabeled"]
    assert results["rdia"]["n_train_used"] == n
    noisy, harmful = report["split"].noisy, report["phi"] > 0.0002
    assert results["rdia"]["precision"] == pytest.approx((noisy & harmful).sum() / harmful.sum())
    assert results["rdia"]["recall"] == pytest.approx((noisy & harmful).sum() / noisy.sum())
    assert results["clean"]["test_logloss"] < results["full"]["test_logloss"]


def test_dataset_by_path_with_test_file(tmp_path):
    train = write_libsvm_problem(tmp_path, n=150, labels=(2, 4), seed=1)
    test = write_libsvm(tmp_path / "toy.t", [2, 4, 4], [[(1, "-1")], [(1, "1")],
                                                        [(2, "2")]])
    report = report_for(dataset=str(train), test_file=str(test), noise=0.2)
    assert report["config"]["n_test"] == 3
    assert report["config"]["n_train"] + report["config"]["n_val"] == 150


def test_digits_runs_softmax_rdia_offline_with_consistent_counts():
    report = report_for(dataset="digits", noise=0.5, alpha=0.001,
                        methods=("full", "drop", "rdia", "clean"))
    cfg, results, split = report["config"], by_method(report), report["split"]
    assert cfg["model"] == "softmax" and cfg["n_classes"] == 10
    assert cfg["noise_type"] == "symmetric" and cfg["n_features"] == 64
    np.testing.assert_array_equal(split.noisy, split.y_noisy != split.y_clean)
    assert cfg["n_flipped"] == split.noisy.sum()
    assert 0.4 < cfg["n_flipped"] / cfg["n_train"] < 0.6
    assert results["rdia"]["n_relabeled"] == results["drop"]["n_removed"] == cfg["n_harmful"]
    assert results["rdia"]["n_train_used"] == cfg["n_train"]
    harmful = report["phi"] > 0.001
    assert results["rdia"]["precision"] == pytest.approx(
        (split.noisy & harmful).sum() / harmful.sum())
    # At half the labels wrong, relabeling the harmful set helps a lot.
    assert results["rdia"]["test_accuracy"] > results["full"]["test_accuracy"] + 0.03
    assert results["clean"]["test_accuracy"] > results["full"]["test_accuracy"]


def test_multiclass_libsvm_by_path_with_softmax(tmp_path):
    path = write_multiclass_libsvm(tmp_path)
    report = report_for(dataset=str(path), model="softmax", noise=0.2,
                        methods=("full", "rdia"))
    assert report["config"]["n_classes"] == 3 and report["config"]["n_train"] == 74
    assert report["results"][0]["test_auc"] is not None


def test_two_class_softmax_matches_binary_logreg_at_twice_C(tmp_path):
    """K = 2: softmax at C is logreg at 2C (see test_influence.py), same flips and split."""
    path = str(write_libsvm_problem(tmp_path, n=400, seed=2))
    binary = by_method(report_for(dataset=path, noise=0.3, C=0.2, methods=("full", "clean")))
    soft = by_method(report_for(dataset=path, model="softmax", noise=0.3,
                                methods=("full", "clean")))
    for method in ("full", "clean"):
        assert soft[method]["test_logloss"] == pytest.approx(binary[method]["test_logloss"],
                                                             rel=1e-4)
        assert soft[method]["test_accuracy"] == binary[method]["test_accuracy"]


@needs_data
def test_mnist10_split_and_symmetric_noise():
    config = lr.LRConfig(dataset="mnist10", noise=0.5, seed=1, data_dir=DATA_DIR)
    split = lr.prepare_data(config)
    assert config.model_name == "softmax" and split.model.n_columns == 10
    assert split.X_train.shape == (41930, 784) and split.X_val.shape == (17970, 784)
    assert split.X_test.shape == (10000, 784)
    observed = np.bincount(split.y_noisy[split.noisy], minlength=10)
    assert abs(split.noisy.mean() - 0.5) < 0.01
    # Symmetric noise spreads the wrong labels over all classes.
    assert observed.min() > 0.5 * observed.mean()
    np.testing.assert_array_equal(split.y_val, split.dataset.y_train[41930:])


@pytest.mark.parametrize("settings, message", [
    (dict(noise=1.0), "--noise"), (dict(noise=-0.1), "--noise"),
    (dict(noise=float("nan")), "--noise"), (dict(alpha=-0.01), "--alpha"),
    (dict(alpha=float("inf")), "--alpha"), (dict(C=0.0), "--C"), (dict(seed=-1), "--seed"),
    (dict(val_ratio=1.0), "--val-ratio"), (dict(tol=0.0), "--tol"),
    (dict(max_iter=0), "--max-iter"), (dict(methods=("full", "magic")), "magic"),
    (dict(methods=()), "(empty)"), (dict(solver="lsqr"), "--solver"),
    (dict(model="svm"), "--model"), (dict(noise_type="uniform", model="softmax"), "uniform"),
    (dict(dataset="digits", model="logreg"), "--model softmax"),
    (dict(dataset="wdbc", noise_type="symmetric"), "--noise-type"),
])
def test_bad_settings_raise_the_one_config_error(settings, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        lr.LRConfig(**settings)


def test_sweeps_replace_settings_and_the_model_follows_the_dataset():
    base = lr.LRConfig(dataset="wdbc", methods=["full", "rdia"])
    assert base.methods == ("full", "rdia") and base.model_name == "logreg"
    digits = replace(base, dataset="digits")
    assert digits.model_name == "softmax" and digits.methods == base.methods
    with pytest.raises(ConfigError):
        replace(base, alpha=-1.0)


def test_run_name_carries_dataset_noise_alpha_and_seed():
    config = lr.LRConfig(dataset="cancer", noise=0.8, alpha=0.0002, seed=3)
    assert lr.run_name(config) == "rdia-cancer-noise0.8-alpha0.0002-seed3"


def test_table_influence_rows_and_plot_render_a_report(tmp_path):
    report = report_for(dataset="wdbc", noise=0.3, methods=("full", "rdia", "cleanlab-prune"))
    text = lr.format_table(report)
    lines = text.splitlines()
    assert lines[1].split()[:2] == ["method", "test_logloss"]
    assert [line.split()[0] for line in lines[3:6]] == ["full", "rdia", "cleanlab-prune"]
    assert lines[-1].startswith("time: load")
    rows = list(lr.influence_table(report))
    assert len(rows) == report["config"]["n_train"]
    assert sum(int(r[5]) for r in rows) == report["results"][1]["n_relabeled"]
    lr.plot_influence(tmp_path / "phi.png", report)
    assert (tmp_path / "phi.png").read_bytes()[:4] == b"\x89PNG"


def test_a_run_records_the_seconds_and_the_passes_of_every_stage():
    report = report_for(dataset="wdbc", noise=0.3, methods=("full", "random", "rdia"))
    timings, work = report["timings"], report["work"]
    assert set(timings) == {"load", "fit", "influence", "refits", "evaluation", "methods"}
    assert list(timings["refits"]) == ["full", "random", "rdia"]
    assert sum(timings["refits"].values()) + timings["evaluation"] <= timings["methods"]
    # wdbc is dense with 30 features: the Kronecker preconditioner, one Gram matrix
    # for the run (the fit computes it; phi and the refits on the same X reuse it)
    assert work["fit"]["learner"] == "newton" and work["fit"]["grams"] == 1
    assert work["fit"]["preconditioner"] == "kronecker"
    assert work["phi"]["grams"] == 0 and work["phi"]["iterations"] == report["solver"][
        "iterations"]
    assert work["phi"]["passes"] == 1 + 2 * work["phi"]["iterations"] + 4
    assert all(stage["grams"] == 0 for stage in work["refits"].values())
    # the full refit starts at the full fit's minimiser: no step, J and two gradients
    assert work["refits"]["full"]["iterations"] == 0
    assert work["refits"]["full"]["passes"] == 3
    fit = work["fit"]
    assert fit["passes"] >= 2 * fit["hvp"] + 2


def test_liblinear_is_the_papers_learner_on_request():
    newton = report_for(dataset="wdbc", noise=0.3, methods=("full", "rdia"))
    liblinear = report_for(dataset="wdbc", noise=0.3, methods=("full", "rdia"),
                           learner="liblinear")
    assert liblinear["work"]["fit"] == dict(learner="liblinear", iterations=liblinear[
        "work"]["fit"]["iterations"], hvp=0, passes=None, grams=0, preconditioner=None)
    assert lr.run_name(lr.LRConfig(dataset="wdbc", learner="liblinear")).endswith(
        "-learnerliblinear")
    for new, old in zip(newton["results"], liblinear["results"]):
        assert new["test_logloss"] == pytest.approx(old["test_logloss"], rel=1e-5)
        assert new["n_relabeled"] == old["n_relabeled"]


def test_softmax_runs_are_fitted_by_newton_only():
    with pytest.raises(ConfigError, match="--learner liblinear fits binary logreg only"):
        lr.LRConfig(dataset="digits", learner="liblinear")
    with pytest.raises(ConfigError, match="--learner: unknown 'sag'"):
        lr.LRConfig(dataset="wdbc", learner="sag")
