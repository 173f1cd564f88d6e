"""experiments/config.py: one config for every source, its one validation, run names."""

import pytest

from rdia.experiments.config import RunConfig, run_name, settings
from rdia.settings import ConfigError


@pytest.mark.parametrize("values, message", [
    (dict(noise=1.0), "--noise must be a number in [0, 1)"),
    (dict(alpha=-1.0), "--alpha must be a finite number >= 0"),
    (dict(alpha=float("nan")), "--alpha must be a finite number >= 0"),
    (dict(val_ratio=0.0), "--val-ratio must be in (0, 1)"),
    (dict(C=0.0), "--C must be in"),
    (dict(tol=1.0), "--tol must be in (0, 1)"),
    (dict(max_iter=0), "--max-iter must be an integer >= 1"),
    (dict(seed=-1), "--seed must be an integer in [0, 2^32)"),
    (dict(methods=("full", "oracle")), "--methods: oracle"),
    (dict(methods=()), "--methods: (empty)"),
    (dict(model="svm"), "--model must be one of logreg, softmax"),
    (dict(solver="lu"), "--solver must be one of"),
    (dict(noise_type="any"), "--noise-type must be one of"),
    (dict(dataset="mnist10", model="logreg"), "binary logreg cannot fit it"),
    (dict(model="softmax", learner="liblinear"), "fits binary logreg only"),
    (dict(noise_type="symmetric"), "--noise-type applies to --model softmax"),
    (dict(engine="dask", solver="direct"), "--engine dask solves with cg only"),
    (dict(engine="dask", learner="liblinear"), "runs in memory only"),
    (dict(workers=2), "--workers applies to --engine dask"),
    (dict(engine="dask", workers=0), "--workers must be an integer >= 1"),
    (dict(val="trusted.csv"), "--val does not apply to a benchmark dataset"),
    (dict(train="n.csv"), "--train needs --val"),
    (dict(train="n.csv", val="t.csv"), "--label-column is required for n.csv"),
    (dict(train="n.svm", val="t.svm", label_column="y"), "--label-column applies to CSV"),
    (dict(train="n.csv", val="t.csv", label_column="y", noise=0.2),
     "--noise does not apply to your own files"),
    (dict(train="n.csv", val="t.csv", label_column="y", methods=("clean",)),
     "not offered for your own files"),
])
def test_each_bad_setting_is_one_config_error_naming_its_flag(values, message):
    with pytest.raises(ConfigError) as caught:
        RunConfig(**values)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_shards_refuse_what_cross_fits_on_all_rows(tmp_path):
    (tmp_path / "part-00000").write_text("1 1:1\n")
    with pytest.raises(ConfigError, match="not offered for a dataset written as shards"):
        RunConfig(dataset=str(tmp_path), methods=("cleanlab-prune",))
    with pytest.raises(ConfigError, match="--learner does not apply"):
        RunConfig(dataset=str(tmp_path), learner="newton")


@pytest.mark.parametrize("values, source", [
    (dict(), "benchmark"), (dict(dataset="digits"), "benchmark"),
    (dict(train="n.csv", val="t.csv", label_column="y"), "files"),
])
def test_the_source_follows_the_settings(values, source):
    assert RunConfig(**values).source == source


def test_defaults_depend_on_the_source_only_where_they_must():
    benchmark = RunConfig().resolved()
    assert (benchmark.dataset, benchmark.noise, benchmark.val_ratio, benchmark.learner,
            benchmark.model) == ("cancer", 0.4, 0.3, "newton", "logreg")
    assert "clean" in benchmark.methods
    files = RunConfig(train="n.csv", val="t.csv", label_column="y").resolved()
    assert files.noise is None and files.model is None and "clean" not in files.methods
    assert RunConfig(dataset="mnist10").resolved().model == "softmax"
    assert RunConfig(engine="dask").resolved().workers == 2


@pytest.mark.parametrize("values, name", [
    (dict(dataset="cancer", noise=0.8), "rdia-cancer-noise0.8-alpha0.0002-seed0"),
    (dict(dataset="mnist10", noise=0.5, noise_type="symmetric", alpha=0.001, seed=3),
     "rdia-mnist10-symmetric0.5-alpha0.001-seed3"),
    (dict(C=1.0, methods=("full", "rdia"), tol=1e-05),
     "rdia-cancer-noise0.4-alpha0.0002-seed0-C1.0-methodsfull+rdia-tol1e-05"),
    (dict(train="in/n.csv", val="in/t.csv", label_column="the y", test="in/x.csv",
          drop_columns=("id",), alpha="auto"),
     "rdia-n.csv-valt.csv-labelthe_y-alphaauto-seed0-testx.csv-dropid"),
    (dict(engine="dask", workers=3), "rdia-cancer-noise0.4-alpha0.0002-seed0"),
])
def test_a_run_name_carries_every_setting_that_changes_the_numbers(values, name):
    assert run_name(RunConfig(**values)) == name


def test_settings_record_the_numbers_settings_not_the_engine():
    memory = settings(RunConfig(seed=2))
    assert settings(RunConfig(seed=2, engine="dask", workers=3)) == memory
    assert memory["seed"] == 2 and memory["methods"][0] == "full"
    assert "engine" not in memory and "data_dir" not in memory
