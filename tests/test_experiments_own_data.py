"""experiments/own_data.py: RDIA on your own files, as an engine."""

import re

import numpy as np
import pandas as pd
import pytest

from builders import breast_cancer_noisy, digits_train_val, mixed_table
from rdia.data.tables import TableError
from rdia.experiments import own_data
from rdia.experiments.cli import ConfigError


def cancer_files(tmp_path, seed=0):
    """Noisy training and clean validation CSVs of breast cancer, with text labels."""
    X, y, X_val, y_val, flipped = breast_cancer_noisy(seed=seed)
    names = np.array(["malignant", "benign"], dtype=object)
    columns = [f"f{j}" for j in range(X.shape[1])]
    train = pd.DataFrame(X, columns=columns).assign(diagnosis=names[y])
    train.insert(0, "id", np.arange(len(y)) + 1)
    val = pd.DataFrame(X_val, columns=columns).assign(diagnosis=names[y_val])
    train.to_csv(tmp_path / "noisy.csv", index=False)
    val.to_csv(tmp_path / "trusted.csv", index=False)
    return tmp_path / "noisy.csv", tmp_path / "trusted.csv", flipped


def config_for(train, val, **settings):
    settings.setdefault("label_column", "diagnosis")
    return own_data.OwnDataConfig(train=str(train), val=str(val), **settings)


def test_a_run_reports_suspects_scores_and_no_precision(tmp_path):
    train, val, flipped = cancer_files(tmp_path)
    report = own_data.run(config_for(train, val, drop_columns=("id",)), progress=False)
    cfg, rows = report["config"], {row["method"]: row for row in report["results"]}
    assert list(rows) == ["full", "random", "drop", "uids", "rdia"]
    assert all(row["precision"] is None and row["recall"] is None for row in rows.values())
    assert all(row["test_logloss"] is None for row in rows.values())  # no test file
    assert cfg["model_used"] == "logreg" and cfg["classes"] == ["benign", "malignant"]
    assert cfg["n_train"] == 400 and cfg["n_val"] == 169 and cfg["n_features"] == 30
    harmful = report["harmful"]
    assert report["summary"]["n_suspects"] == harmful.sum() == rows["rdia"]["n_relabeled"]
    assert rows["drop"]["n_removed"] == harmful.sum()
    assert report["summary"]["after"]["val_logloss"] == rows["rdia"]["val_logloss"]
    assert report["summary"]["after"]["val_logloss"] < \
        0.5 * report["summary"]["before"]["val_logloss"]
    # the same rows as relabel.find_harmful finds on the arrays: the files are
    # standardised already, so the engine's scaler changes them by rounding only
    np.testing.assert_array_equal(harmful, report["phi"] > 0.0002)
    assert np.sum(harmful & flipped) / harmful.sum() > 0.75


def test_the_relabeled_table_keeps_the_rows_columns_and_label_types(tmp_path):
    train, val, _ = cancer_files(tmp_path)
    report = own_data.run(config_for(train, val, drop_columns=("id",),
                                     methods=("full", "rdia")), progress=False)
    table = own_data.relabeled_table(report)
    original = pd.read_csv(train)
    assert list(table.columns) == list(original.columns) + ["phi", "harmful",
                                                            "suggested_label"]
    pd.testing.assert_frame_equal(table[original.columns], original)
    flipped = {"benign": "malignant", "malignant": "benign"}
    expected = [flipped[label] if harm else label
                for label, harm in zip(original["diagnosis"], table["harmful"])]
    assert table["suggested_label"].tolist() == expected


def test_alpha_auto_is_the_cross_fitted_choice_of_the_library(tmp_path):
    """--alpha auto runs estimator.choose_alpha: the same grid, curve and choice as
    the library on the same arrays, with "relabel nothing" written as the largest
    phi; the trusted-file check is recorded (and silent: the trusted file is clean)."""
    from rdia import estimator

    train, val, _ = cancer_files(tmp_path, seed=1)
    report = own_data.run(config_for(train, val, alpha="auto", drop_columns=("id",),
                                     methods=("full", "rdia")), progress=False)
    data = report["data"]
    fit = estimator.influence_scores(data.X_train, data.y_train, data.X_val, data.y_val)
    choice = estimator.choose_alpha(fit, data.X_train, data.X_val, 0.1)
    grid = report["alpha_grid"]
    assert [row["val_logloss"] for row in grid] == pytest.approx(list(choice.curve))
    assert [row["alpha"] for row in grid][1:] == pytest.approx(list(choice.grid[1:]))
    assert grid[0]["n_harmful"] == 0
    chosen = report["config"]["alpha_used"]
    expected = grid[0]["alpha"] if np.isinf(choice.alpha) else choice.alpha
    assert chosen == pytest.approx(expected)
    assert report["summary"]["n_suspects"] == int(np.sum(report["phi"] > chosen))
    assert report["config"]["alpha"] == "auto"
    assert report["trusted_check"]["suspicious"] is False
    assert report["trusted_warning"] is None
    text = own_data.format_report(report)
    assert "alpha auto: cross-fitted" in text and text.count("<- chosen") == 1


def test_more_than_two_labels_use_softmax_and_suggest_another_label(tmp_path):
    X, y, X_val, y_val, _ = digits_train_val(n_train=300, n_val=150, noise=0.3, seed=2)
    words = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                      "eight", "nine"], dtype=object)
    for name, features, labels in (("t.csv", X, y), ("v.csv", X_val, y_val)):
        pd.DataFrame(features).add_prefix("p").assign(digit=words[labels]).to_csv(
            tmp_path / name, index=False)
    report = own_data.run(config_for(tmp_path / "t.csv", tmp_path / "v.csv",
                                     label_column="digit", alpha=0.001,
                                     methods=("full", "rdia")), progress=False)
    assert report["config"]["model_used"] == "softmax"
    table = own_data.relabeled_table(report)
    harmful = table["harmful"].to_numpy()
    assert harmful.any()
    assert (table["suggested_label"][harmful] != table["digit"][harmful]).all()
    assert (table["suggested_label"][~harmful] == table["digit"][~harmful]).all()
    assert set(table["suggested_label"]) <= set(words)


def test_categorical_columns_and_a_test_file_are_scored(tmp_path):
    frames = {"t.csv": mixed_table(120), "v.csv": mixed_table(60, seed=1),
              "s.csv": mixed_table(40, seed=2)}
    for name, frame in frames.items():
        frame.to_csv(tmp_path / name, index=False)
    config = own_data.OwnDataConfig(train=str(tmp_path / "t.csv"),
                                    val=str(tmp_path / "v.csv"),
                                    test=str(tmp_path / "s.csv"), label_column="label",
                                    drop_columns=("id",), methods=("full", "rdia"))
    report = own_data.run(config, progress=False)
    cfg = report["config"]
    assert (cfg["n_numeric"], cfg["n_categorical"], cfg["n_features"]) == (2, 1, 5)
    assert cfg["n_test"] == 40 and report["results"][0]["test_auc"] is not None
    assert "test: log-loss" in own_data.format_report(report)


@pytest.mark.parametrize("settings, words", [
    (dict(alpha=-0.1), "--alpha"),
    (dict(alpha="most"), "--alpha"),
    (dict(methods=("full", "clean")), "--methods clean needs the true training labels"),
    (dict(methods=("magic",)), "unknown magic"),
    (dict(C=0.0), "--C"),
    (dict(seed=-1), "--seed"),
    (dict(model="tree"), "--model"),
    (dict(label_column=None), "--label-column is required"),
    (dict(train="t.svm", val="v.svm"), "--label-column applies to CSV and Parquet"),
    (dict(train="t.svm", val="v.svm", label_column=None, drop_columns=("id",)),
     "--drop-columns applies"),
])
def test_bad_settings_raise_the_one_config_error(settings, words):
    settings = dict(dict(train="t.csv", val="v.csv", label_column="y"), **settings)
    with pytest.raises(ConfigError, match=re.escape(words)):
        own_data.OwnDataConfig(**settings)


def test_logreg_on_three_labels_is_refused_after_loading(tmp_path):
    for name, seed in (("t.csv", 0), ("v.csv", 1)):
        frame = mixed_table(30, seed=seed)
        frame.loc[:2, "label"] = "maybe"
        frame.to_csv(tmp_path / name, index=False)
    config = config_for(tmp_path / "t.csv", tmp_path / "v.csv", label_column="label",
                        model="logreg")
    with pytest.raises(ConfigError, match="--model logreg fits two labels but t.csv has 3"):
        own_data.load(config)


def test_a_training_column_named_like_an_output_column_is_refused(tmp_path):
    mixed_table(30).rename(columns={"dose": "phi"}).to_csv(tmp_path / "t.csv", index=False)
    mixed_table(20, seed=1).rename(columns={"dose": "phi"}).to_csv(tmp_path / "v.csv",
                                                                   index=False)
    data = own_data.load(config_for(tmp_path / "t.csv", tmp_path / "v.csv",
                                    label_column="label"))
    with pytest.raises(TableError, match="already has a column 'phi'"):
        own_data.check_output_columns(data, "t.csv")


def test_run_name_carries_the_files_and_the_settings_off_their_defaults():
    config = own_data.OwnDataConfig(train="data/noisy.csv", val="data/trusted.csv",
                                    label_column="my label", alpha="auto", C=1.0,
                                    drop_columns=("id", "name"))
    assert own_data.run_name(config) == ("rdia-noisy.csv-valtrusted.csv-labelmy_label-"
                                         "alphaauto-seed0-dropid+name-C1.0")
    assert own_data.settings(config)["drop_columns"] == ["id", "name"]
