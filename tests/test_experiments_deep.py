"""Tests of experiments/deep.py: configuration, schedule, end-to-end runs and plots."""

import csv
import dataclasses
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from rdia.experiments import deep, methods
from rdia.experiments.cli import ConfigError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: One torch thread: on a busy 2-core machine two threads wait on each other and an
#: epoch takes 25 times longer.
THREADS = 1

#: The settings and their defaults (the keys of a run's JSON config), in order: the
#: tracked runs in results/ are recognised by them. ``loss`` took the place of the
#: former ``compat`` ("method" -> "method", "official" -> "published").
FIELDS = {
    "dataset": "mnist", "method": "rdia-ls", "loss": "published", "noise_type": "symmetric",
    "noise_rate": 0.2, "forget_rate": None, "num_gradual": 10, "warmup": 10,
    "n_epoch": 200, "epoch_decay_start": 80, "lr": 0.001, "batch_size": 128, "seed": 0,
    "noise_seed": None, "gamma": None, "weight_decay": None, "subset": None, "gpu": None,
    "threads": None, "data_dir": None, "result_dir": "runs", "output": None,
    "progress": True, "alpha": 0.0, "if_warmup": 4, "if_every": 1, "if_damping": 1e-5,
    "if_holdout": 0,
}


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def without_seconds(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def mnist_config(data_dir, result_dir, **overrides):
    """2 epochs on 2,000 MNIST images; warm-up and ramp of one epoch, so that epoch 2
    already uses the unsure set."""
    settings = dict(dataset="mnist", subset=2000, n_epoch=2, warmup=1, num_gradual=1,
                    noise_rate=0.2, seed=5, data_dir=str(data_dir),
                    result_dir=str(result_dir), progress=False, threads=THREADS)
    settings.update(overrides)
    return deep.LSConfig(**settings)


# ----------------------------------------------------------------------------
# Configuration and schedule


def test_defaults_follow_the_paper_per_dataset():
    mnist = deep.LSConfig(dataset="mnist", noise_rate=0.8, seed=4).resolved()
    cifar = deep.LSConfig(dataset="cifar10").resolved()
    assert (mnist.gamma, mnist.weight_decay) == (0.2, 1e-5)
    assert (cifar.gamma, cifar.weight_decay) == (0.05, 0.0)
    assert mnist.forget_rate == 0.8 and mnist.noise_seed == 4
    assert (mnist.n_epoch, mnist.epoch_decay_start, mnist.lr, mnist.batch_size) == \
        (200, 80, 0.001, 128)
    assert deep.LSConfig(seed=4, noise_seed=0).resolved().noise_seed == 0


def test_fields_and_defaults_are_those_of_the_run_json():
    assert dataclasses.asdict(deep.LSConfig()) == FIELDS
    assert list(dataclasses.asdict(deep.LSConfig())) == list(FIELDS)


def test_resolved_returns_a_new_config_and_leaves_given_values():
    config = deep.LSConfig(noise_rate=0.5, forget_rate=0.3, gamma=0.7, weight_decay=0.0)
    resolved = config.resolved()
    assert config.noise_seed is None and resolved.noise_seed == 0      # original unchanged
    assert (resolved.forget_rate, resolved.gamma, resolved.weight_decay) == (0.3, 0.7, 0.0)
    assert resolved.resolved() == resolved


def test_config_is_frozen_and_sweeps_use_replace():
    config = deep.LSConfig(noise_rate=0.8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 3
    swept = [dataclasses.replace(config, seed=seed).resolved() for seed in (1, 2)]
    assert [(c.seed, c.noise_seed) for c in swept] == [(1, 1), (2, 2)]


def test_paths_are_stored_as_text():
    config = deep.LSConfig(data_dir=Path("d"), result_dir=Path("r"), output=Path("o.json"))
    assert (config.data_dir, config.result_dir, config.output) == ("d", "r", "o.json")


@pytest.mark.parametrize("settings, message", [
    ({"noise_rate": 1.0}, "noise_rate"),
    ({"noise_rate": -0.1}, "noise_rate"),
    ({"noise_rate": float("nan")}, "noise_rate"),
    ({"gamma": 1.5}, "gamma"),
    ({"gamma": -0.01}, "gamma"),
    ({"dataset": "svhn"}, "dataset"),
    ({"noise_type": "uniform"}, "noise type"),
    ({"method": "mentornet"}, "method"),
    ({"loss": "official"}, "loss"),
    ({"n_epoch": 0}, "n_epoch"),
    ({"batch_size": 1}, "batch_size"),
    ({"lr": 0.0}, "lr"),
    ({"subset": 1}, "subset"),
    ({"threads": 0}, "threads"),
    ({"alpha": -0.001}, "alpha"),
    ({"alpha": float("inf")}, "alpha"),
    ({"if_warmup": 0}, "if_warmup"),
    ({"if_every": 0}, "if_every"),
    ({"if_damping": 0.0}, "if_damping"),
    ({"if_holdout": -1}, "if_holdout"),
    ({"if_holdout": 10}, "if_holdout"),
])
def test_bad_settings_are_refused_with_one_line(settings, message):
    with pytest.raises(ConfigError, match=message) as info:
        deep.LSConfig(**settings)
    assert "\n" not in str(info.value)


def test_bad_settings_are_refused_by_replace_too():
    with pytest.raises(ConfigError, match="--noise_rate must be a number in \\[0, 1\\)"):
        dataclasses.replace(deep.LSConfig(), noise_rate=1.0)


def test_unknown_setting_is_refused():
    # A dataclass refuses an unknown keyword itself (a programming error, not a flag).
    with pytest.raises(TypeError, match="epochs"):
        deep.LSConfig(epochs=3)


def test_run_takes_a_config_only():
    with pytest.raises(TypeError, match="LSConfig"):
        deep.run({"dataset": "mnist"})


# ----------------------------------------------------------------------------
# Run names


@pytest.mark.parametrize("settings, name", [
    ({}, "mnist_rdia-ls-published_symmetric_0.8_gamma0.2_seed1"),
    ({"loss": "method", "gamma": 0.05}, "mnist_rdia-ls-method_symmetric_0.8_gamma0.05_seed1"),
    ({"loss": "unsure-over-batch"},
     "mnist_rdia-ls-unsure-over-batch_symmetric_0.8_gamma0.2_seed1"),
    # the paper's values of the dataset, and the derived defaults, are not written
    ({"weight_decay": 1e-5, "gamma": 0.2, "forget_rate": 0.8, "noise_seed": 1},
     "mnist_rdia-ls-published_symmetric_0.8_gamma0.2_seed1"),
    ({"weight_decay": 0.0002}, "mnist_rdia-ls-published_symmetric_0.8_gamma0.2_seed1"
                               "_weight_decay0.0002"),
    ({"weight_decay": 0.0}, "mnist_rdia-ls-published_symmetric_0.8_gamma0.2_seed1"
                            "_weight_decay0.0"),
    ({"n_epoch": 20, "subset": 2000, "noise_seed": 0},
     "mnist_rdia-ls-published_symmetric_0.8_gamma0.2_seed1_n_epoch20_subset2000_noise_seed0"),
    ({"forget_rate": 0.5, "num_gradual": 5, "warmup": 3, "epoch_decay_start": 40,
      "lr": 0.0005, "batch_size": 64},
     "mnist_rdia-ls-published_symmetric_0.8_gamma0.2_seed1_forget_rate0.5_num_gradual5"
     "_warmup3_epoch_decay_start40_lr0.0005_batch_size64"),
    # ce and co-teaching read neither the loss nor gamma
    ({"method": "ce", "loss": "method", "gamma": 0.5}, "mnist_ce_symmetric_0.8_seed1"),
    ({"method": "coteaching"}, "mnist_coteaching_symmetric_0.8_seed1"),
    ({"dataset": "cifar10", "noise_type": "pairflip", "noise_rate": 0.45},
     "cifar10_rdia-ls-published_pairflip_0.45_gamma0.05_seed1"),
    ({"dataset": "cifar10", "weight_decay": 1e-5},
     "cifar10_rdia-ls-published_symmetric_0.8_gamma0.05_seed1_weight_decay1e-05"),
    # rdia-if reads alpha and its schedule, not the loss or gamma
    ({"method": "rdia-if", "gamma": 0.5}, "mnist_rdia-if_symmetric_0.8_alpha0.0_seed1"),
    ({"method": "rdia-if", "alpha": 0.0002, "if_every": 5, "if_warmup": 3},
     "mnist_rdia-if_symmetric_0.8_alpha0.0002_seed1_if_warmup3_if_every5"),
    ({"alpha": 0.0002, "if_every": 5}, "mnist_rdia-ls-published_symmetric_0.8_gamma0.2_seed1"),
])
def test_run_name_spells_out_the_settings_off_their_defaults(settings, name):
    config = deep.LSConfig(**{"noise_rate": 0.8, "seed": 1, **settings})
    assert deep.run_name(config) == name
    assert deep.run_name(config.resolved()) == name


#: A value other than the default for every setting that changes a run's numbers.
CHANGED = {"dataset": "cifar10", "method": "ce", "loss": "method",
           "noise_type": "pairflip", "noise_rate": 0.5, "forget_rate": 0.7,
           "num_gradual": 5, "warmup": 3, "n_epoch": 50, "epoch_decay_start": 20,
           "lr": 0.01, "batch_size": 64, "seed": 2, "noise_seed": 9, "gamma": 0.5,
           "weight_decay": 0.001, "subset": 1000,
           "alpha": 0.01, "if_warmup": 2, "if_every": 3, "if_damping": 1e-3,
           "if_holdout": 5}


def test_every_setting_is_named_or_declared_not_a_result():
    fields = {f.name for f in dataclasses.fields(deep.LSConfig)}
    assert set(CHANGED) | set(deep.NOT_RESULTS) == fields
    assert not set(CHANGED) & set(deep.NOT_RESULTS)


@pytest.mark.parametrize("key", sorted(CHANGED))
def test_changing_a_result_setting_changes_the_run_name(key):
    method = "rdia-if" if key in methods.RdiaIf.reads else "rdia-ls"
    base = deep.LSConfig(noise_rate=0.8, seed=1, method=method)
    assert deep.run_name(dataclasses.replace(base, **{key: CHANGED[key]})) != \
        deep.run_name(base)


@pytest.mark.parametrize("key, value", [("threads", 1), ("progress", False), ("gpu", 0),
                                        ("output", "x.json"), ("result_dir", "elsewhere"),
                                        ("data_dir", "d")])
def test_settings_that_do_not_change_numbers_leave_the_name(key, value):
    base = deep.LSConfig(noise_rate=0.8, seed=1)
    assert deep.run_name(dataclasses.replace(base, **{key: value})) == deep.run_name(base)


def test_result_settings_ignore_the_loss_and_gamma_of_other_methods():
    ce = deep.LSConfig(method="ce", noise_rate=0.8)
    assert deep.result_settings(ce) == deep.result_settings(
        dataclasses.replace(ce, loss="method", gamma=0.7, threads=1))
    ls = deep.LSConfig(noise_rate=0.8)
    assert deep.result_settings(ls) != deep.result_settings(
        dataclasses.replace(ls, loss="method"))
    assert deep.result_settings(ls)["gamma"] == 0.2      # resolved
    assert deep.result_settings(ls) == deep.result_settings(
        dataclasses.replace(ls, alpha=0.5, if_every=3))
    rif = deep.LSConfig(method="rdia-if", noise_rate=0.8)
    assert deep.result_settings(rif) == deep.result_settings(
        dataclasses.replace(rif, loss="method", gamma=0.7))
    assert deep.result_settings(rif) != deep.result_settings(
        dataclasses.replace(rif, alpha=0.5))


# ----------------------------------------------------------------------------
# The validation split of the test set


def seeded_labels(m=1000, n_classes=10, seed=0):
    """Test labels with unequal class sizes, each class at least 11 images."""
    rng = np.random.default_rng(seed)
    y = rng.choice(n_classes, size=m, p=np.linspace(1, 3, n_classes) / np.linspace(
        1, 3, n_classes).sum())
    y[:n_classes * 11] = np.repeat(np.arange(n_classes), 11)
    return y


def test_validation_split_is_stratified_disjoint_and_covers_the_test_set():
    y = seeded_labels()
    val, scored = deep.validation_split(y, seed=3)
    assert np.bincount(y[val], minlength=10).tolist() == [10] * 10
    assert len(val) == 100 and len(scored) == len(y) - 100
    assert not set(val.tolist()) & set(scored.tolist())
    assert sorted(val.tolist() + scored.tolist()) == list(range(len(y)))
    assert val.tolist() == sorted(val.tolist()) and scored.tolist() == sorted(scored.tolist())
    # the scored part keeps every other image of each class
    assert (np.bincount(y[scored], minlength=10) == np.bincount(y, minlength=10) - 10).all()


def test_validation_split_is_seeded():
    y = seeded_labels()
    first, _ = deep.validation_split(y, seed=3)
    again, _ = deep.validation_split(y.copy(), seed=3)
    other, _ = deep.validation_split(y, seed=4)
    assert first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()


def test_validation_seed_is_a_stream_of_the_runs_seed():
    # word 3 of numpy's SeedSequence(seed) state, not the seed itself
    assert deep.validation_seed(7) == int(np.random.SeedSequence(7).generate_state(4)[3])
    assert deep.validation_seed(7) != 7


def test_validation_split_needs_more_than_10_images_per_class():
    y = np.repeat(np.arange(10), 12)
    y[:2] = 1                                   # class 0 keeps 10 images
    with pytest.raises(ConfigError, match="10 images of class 0") as info:
        deep.validation_split(y, seed=0)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("epoch, lr, beta1", [
    (0, 0.001, 0.9), (79, 0.001, 0.9), (80, 0.001, 0.1), (140, 0.0005, 0.1),
    (199, 0.001 / 120, 0.1),
])
def test_adam_schedule(epoch, lr, beta1):
    config = deep.LSConfig(n_epoch=200, epoch_decay_start=80, lr=0.001)
    got_lr, got_beta1 = deep.adam_schedule(epoch, config)
    assert got_lr == pytest.approx(lr) and got_beta1 == beta1


@pytest.mark.parametrize("n, B, expected", [
    (300, 128, [(0, 128), (128, 256), (256, 300)]),
    (256, 128, [(0, 128), (128, 256)]),
    (257, 128, [(0, 128), (128, 257)]),   # a single left-over sample joins the last batch
    (5, 128, [(0, 5)]),
])
def test_batch_slices_keep_every_sample(n, B, expected):
    assert deep.batch_slices(n, B) == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fallback")
@pytest.mark.parametrize("gpu, words", [(None, "running on CPU"), (0, "CUDA is not available")])
def test_device_is_cpu_without_cuda_and_says_so(gpu, words):
    device, notice = deep.select_device(gpu)
    assert device.type == "cpu" and words in notice and "\n" not in notice


def test_plot_draws_several_runs(tmp_path):
    paths = []
    for i in range(2):
        path = tmp_path / f"run{i}.csv"
        rows = [[e, 10.0, 50.0 + e + i, "", 1, 0, 0, 0.001, 0.1] for e in (1, 2, 3)]
        deep.write_csv_atomic(path, deep.CSV_COLUMNS, rows)
        paths.append(path)
    deep.plot_curves(paths, tmp_path / "both.png", labels=["a", "b"])
    assert (tmp_path / "both.png").read_bytes()[:8] == PNG_MAGIC
    epochs, accs = deep.read_curve(paths[1])
    assert epochs.tolist() == [1.0, 2.0, 3.0] and accs.tolist() == [52.0, 53.0, 54.0]


# ----------------------------------------------------------------------------
# End to end on real MNIST


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    data_dir = os.environ.get("RDIA_DATA_DIR", "")
    if not data_dir:
        pytest.skip("RDIA_DATA_DIR is not set (CI sets it to the datasets folder beside the checkout)")
    out = tmp_path_factory.mktemp("mnist_run")
    config = mnist_config(data_dir, out / "a", output=str(out / "run.json"))
    return config, deep.run(config)


def test_two_epochs_on_2000_mnist_images_beat_chance_by_far(mnist_run):
    config, result = mnist_run
    rows = read_rows(result["files"]["csv"])
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert result["data"]["n_train"] == 2000 and result["data"]["n_test"] == 10000
    assert float(rows[-1]["test_acc"]) > 60.0      # chance is 10%


def test_set_sizes_over_an_epoch_follow_the_partition_arithmetic(mnist_run):
    _, result = mnist_run
    first, second = read_rows(result["files"]["csv"])
    # epoch 1 is the warm-up with f(0) = 0: every sample is kept
    assert (first["n_keep"], first["n_unsure"], first["n_drop"]) == ("2000", "0", "0")
    # epoch 2: f = r = 0.2; 2000 = 15 x 128 + 80
    # B = 128: keep floor(102.4) = 102, drop floor(12.8) = 12, unsure 14
    # B = 80:  keep 64, drop 8, unsure 8
    assert int(second["n_keep"]) == 15 * 102 + 64
    assert int(second["n_unsure"]) == 15 * 14 + 8
    assert int(second["n_drop"]) == 15 * 12 + 8


def test_label_precision_is_measured_against_the_noise_mask(mnist_run):
    _, result = mnist_run
    first, second = read_rows(result["files"]["csv"])
    actual = result["data"]["actual_noise_rate"]
    assert 0.17 < actual < 0.23
    # everything is kept in epoch 1, so the keep set is exactly as clean as the data
    assert float(first["label_precision"]) == pytest.approx(100 * (1 - actual))
    # selecting small losses keeps cleaner labels than the data
    assert float(second["label_precision"]) > 100 * (1 - actual) + 5


def test_accuracies_on_the_split_add_up_to_the_test_accuracy(mnist_run):
    config, result = mnist_run
    data = result["data"]
    assert (data["n_val"], data["n_scored"]) == (100, 9900)
    assert len(data["val_index"]) == 100
    labels = deep.load_data(config.resolved())[0]["y_test"].numpy()
    assert np.bincount(labels[data["val_index"]], minlength=10).tolist() == [10] * 10
    assert data["val_index"] == deep.validation_split(labels, config.seed)[0].tolist()
    for row in result["epochs"]:
        # correct counts: all 10,000 = the 100 held out + the other 9,900
        n_test, n_val, n_scored = (row["test_acc"] * 100, row["val_acc"],
                                   row["scored_acc"] * 99)
        assert n_test == pytest.approx(n_val + n_scored)
        assert n_val == pytest.approx(round(n_val))


def test_json_output_holds_config_epochs_and_final(mnist_run):
    config, result = mnist_run
    saved = json.loads(Path(config.output).read_text())
    assert list(saved) == ["config", "data", "epochs", "final", "files"]
    assert saved["config"] == dataclasses.asdict(config.resolved())
    assert list(saved["config"]) == list(FIELDS)
    assert saved["config"]["subset"] == 2000 and saved["config"]["method"] == "rdia-ls"
    assert (saved["config"]["gamma"], saved["config"]["noise_seed"]) == (0.2, 5)
    assert [row["epoch"] for row in saved["epochs"]] == [1, 2]
    accs = [row["test_acc"] for row in saved["epochs"]]
    assert saved["final"]["test_acc_last"] == accs[-1]
    assert saved["final"]["test_acc_last10_mean"] == pytest.approx(np.mean(accs))
    vals = [row["val_acc"] for row in saved["epochs"]]
    assert saved["final"]["val_acc_last10_mean"] == pytest.approx(np.mean(vals))
    assert saved["config"]["loss"] == "published"
    assert set(saved["epochs"][0]) == set(deep.CSV_COLUMNS)
    assert Path(result["files"]["png"]).read_bytes()[:8] == PNG_MAGIC


def test_paths_inside_the_repository_are_stored_relative_to_it(shared_data_dir, tmp_path,
                                                                 monkeypatch):
    # tmp_path stands for the repository: a run inside it records relative paths
    monkeypatch.setattr(deep.files, "REPOSITORY", tmp_path)
    config = mnist_config(shared_data_dir, tmp_path / "results" / "runs", n_epoch=1,
                          subset=200, output=str(tmp_path / "results" / "runs" / "r.json"))
    result = deep.run(config)
    saved = json.loads(Path(config.output).read_text())
    name = deep.run_name(config)
    assert saved["files"] == result["files"] == {"csv": f"results/runs/{name}.csv",
                                                 "png": f"results/runs/{name}.png"}
    assert (saved["config"]["result_dir"], saved["config"]["output"]) == \
        ("results/runs", "results/runs/r.json")
    # the data folder lies outside it: kept as given
    assert saved["config"]["data_dir"] == str(shared_data_dir)
    assert (tmp_path / "results" / "runs" / f"{name}.csv").is_file()


def numbers(rows):
    """Per-epoch rows without the wall-clock columns."""
    return [{k: v for k, v in row.items() if "seconds" not in k} for row in rows]


def test_a_session_continued_in_two_calls_trains_like_one_run(shared_data_dir, tmp_path):
    config = mnist_config(shared_data_dir, tmp_path, subset=300, method="coteaching")
    prepared = deep.prepare(config)
    whole = deep.train(prepared)
    session = deep.start_session(prepared)
    halves = deep.train(prepared, session, n_epochs=1) + deep.train(prepared, session, 1)
    assert session.epoch == 2 and [row["epoch"] for row in halves] == [1, 2]
    assert numbers(halves) == numbers(whole)


def test_copied_sessions_train_alike_and_leave_the_original_alone(shared_data_dir, tmp_path):
    prepared = deep.prepare(mnist_config(shared_data_dir, tmp_path, subset=300, n_epoch=3))
    session = deep.start_session(prepared)
    deep.train(prepared, session, n_epochs=1)
    first, second = deep.copy_session(session), deep.copy_session(session)
    # Adam's moments must not be shared: the second copy starts where the first did
    from_first = deep.train(prepared, first, n_epochs=1)
    assert numbers(deep.train(prepared, second, n_epochs=1)) == numbers(from_first)
    # and the original, still after epoch 1, trains epoch 2 as they did
    assert session.epoch == 1
    assert numbers(deep.train(prepared, session, n_epochs=1)) == numbers(from_first)


def test_same_seed_gives_identical_csv_other_seed_does_not(mnist_run, tmp_path):
    """All columns but ``seconds`` (wall time) must match."""
    config, result = mnist_run
    again = deep.run(dataclasses.replace(config, result_dir=str(tmp_path / "b"), output=None))
    other = deep.run(dataclasses.replace(config, result_dir=str(tmp_path / "c"), output=None,
                                         seed=6, noise_seed=5))
    first = without_seconds(read_rows(result["files"]["csv"]))
    assert without_seconds(read_rows(again["files"]["csv"])) == first
    assert without_seconds(read_rows(other["files"]["csv"])) != first


@pytest.mark.parametrize("method, loss, kept", [
    ("ce", "published", 2000),
    ("coteaching", "published", 15 * 102 + 64),
    ("rdia-ls", "method", 15 * 102 + 64),
])
def test_other_methods_run_end_to_end(shared_data_dir, tmp_path, method, loss, kept):
    config = mnist_config(shared_data_dir, tmp_path, n_epoch=1, warmup=0, num_gradual=0,
                          method=method, loss=loss)
    result = deep.run(config)
    (row,) = read_rows(result["files"]["csv"])
    assert int(row["n_keep"]) == kept
    assert int(row["n_keep"]) + int(row["n_unsure"]) + int(row["n_drop"]) == 2000
    assert float(row["test_acc"]) > 40.0


# ----------------------------------------------------------------------------
# CIFAR-10 from batches in the real pickle format


def write_cifar_batches(folder, rows_per_batch, test_rows, seed=0):
    """CIFAR-10 python batches as published: pickled dicts (protocol 2, bytes keys)
    with b'data' uint8 (n, 3072) and b'labels' a list of ints, plus batches.meta."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = test_rows if name == "test_batch" else rows_per_batch
        # test labels cycle through the classes, so that each has more than the
        # 10 images the validation split holds out once there are over 100
        labels = np.arange(n) % 10 if name == "test_batch" else rng.integers(0, 10, n)
        batch = {b"batch_label": name.encode(),
                 b"labels": [int(v) for v in labels],
                 b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
        with open(folder / name, "wb") as handle:
            pickle.dump(batch, handle, protocol=2)
    meta = {b"num_cases_per_batch": rows_per_batch, b"num_vis": 3072,
            b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                             b"dog", b"frog", b"horse", b"ship", b"truck"]}
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump(meta, handle, protocol=2)


def test_cifar10_runs_one_epoch_from_pickle_batches(tmp_path):
    write_cifar_batches(tmp_path / "data" / "cifar10" / "cifar-10-batches-py", 5, 110)
    config = deep.LSConfig(dataset="cifar10", data_dir=str(tmp_path / "data"),
                           n_epoch=1, batch_size=8, warmup=0, num_gradual=0,
                           noise_rate=0.5, noise_type="asymmetric",
                           result_dir=str(tmp_path / "out"), progress=False,
                           threads=THREADS)
    result = deep.run(config)
    assert result["data"]["n_train"] == 25 and result["data"]["n_test"] == 110
    assert (result["data"]["n_val"], result["data"]["n_scored"]) == (100, 10)
    assert (result["config"]["gamma"], result["config"]["weight_decay"]) == (0.05, 0.0)
    (row,) = read_rows(result["files"]["csv"])
    # 25 = 8 + 8 + 9 (the single left-over sample joins the last batch)
    # B = 8: keep 4, drop 2, unsure 2; B = 9: keep 4, drop 2, unsure 3
    assert (int(row["n_keep"]), int(row["n_unsure"]), int(row["n_drop"])) == (12, 7, 6)
    correct = float(row["test_acc"]) / 100 * 110    # evaluated on all 110 test images
    assert correct == pytest.approx(round(correct))


def test_subset_larger_than_the_data_is_refused(tmp_path):
    write_cifar_batches(tmp_path / "cifar10" / "cifar-10-batches-py", 2, 2)
    config = deep.LSConfig(dataset="cifar10", data_dir=str(tmp_path), subset=50,
                           result_dir=str(tmp_path / "out"), progress=False)
    with pytest.raises(ConfigError, match="subset"):
        deep.run(config)


# ----------------------------------------------------------------------------
# rdia-if: relabeling by the influence of each sample through the last layer


@pytest.fixture(scope="module")
def rdia_if_run(tmp_path_factory):
    data_dir = os.environ.get("RDIA_DATA_DIR", "")
    if not data_dir:
        pytest.skip("RDIA_DATA_DIR is not set (CI sets it to the datasets folder beside the checkout)")
    config = mnist_config(data_dir, tmp_path_factory.mktemp("rdia-if"), n_epoch=3,
                          method="rdia-if", noise_rate=0.5, if_warmup=1, subset=1000)
    return config, deep.run(config)


def test_rdia_if_relabels_the_samples_with_phi_above_alpha(rdia_if_run):
    config, result = rdia_if_run
    rows = read_rows(result["files"]["csv"])
    first, second, third = rows
    assert int(first["n_unsure"]) == 0 and int(first["n_keep"]) == 1000  # CE before phi
    assert float(first["influence_seconds"]) > 0                       # phi after epoch 1
    assert int(second["n_unsure"]) == int(first["n_harmful"])          # trained with l_R
    for row in rows:
        assert int(row["n_keep"]) + int(row["n_unsure"]) == 1000 and int(row["n_drop"]) == 0
        assert 0 < int(row["n_harmful"]) < 1000
    # the harmful set recomputed from the run's own network is the logged one
    # (at 50% noise it is mostly noisy: precision above the noise rate)
    assert float(third["harmful_precision"]) > 50.0
    assert float(third["harmful_recall"]) > 0.0


def test_rdia_if_is_seeded(rdia_if_run, tmp_path):
    config, result = rdia_if_run
    again = deep.run(dataclasses.replace(config, result_dir=str(tmp_path), output=None))
    columns = lambda rows: [{k: v for k, v in row.items()
                             if k not in ("seconds", "influence_seconds")} for row in rows]
    assert columns(read_rows(again["files"]["csv"])) == columns(read_rows(result["files"]["csv"]))


@pytest.mark.parametrize("holdout", [0, 1, 4])
def test_influence_split_holds_out_the_last_images_of_every_class(holdout):
    y_test = np.random.default_rng(0).integers(0, 10, size=2000)
    val_index, _ = deep.validation_split(y_test, seed=3)
    phi_index, holdout_index = deep.influence_split(y_test, val_index, holdout)
    assert len(holdout_index) == 10 * holdout and len(phi_index) == 100 - 10 * holdout
    np.testing.assert_array_equal(np.sort(np.concatenate([phi_index, holdout_index])),
                                  val_index)
    for label in range(10):
        seen, held = phi_index[y_test[phi_index] == label], \
            holdout_index[y_test[holdout_index] == label]
        assert len(held) == holdout
        if holdout:
            assert seen.max() < held.min()


def test_rdia_if_holdout_images_are_not_seen_by_phi_and_are_scored(shared_data_dir, tmp_path):
    config = mnist_config(shared_data_dir, tmp_path, n_epoch=2, method="rdia-if",
                          noise_rate=0.5, if_warmup=1, subset=500, if_holdout=2)
    result = deep.run(config)
    holdout = result["data"]["holdout_index"]
    assert len(holdout) == 20 and set(holdout) < set(result["data"]["val_index"])
    for row in read_rows(result["files"]["csv"]):
        assert row["holdout_acc"] != "" and 0.0 <= float(row["holdout_acc"]) <= 100.0
    # other methods ignore the setting: no hold-out, no column
    ce = deep.run(dataclasses.replace(config, method="ce", result_dir=str(tmp_path / "ce")))
    assert ce["data"]["holdout_index"] == []
    assert all(row["holdout_acc"] == "" for row in read_rows(ce["files"]["csv"]))


def test_cifar10_runs_one_epoch_of_rdia_if_from_pickle_batches(tmp_path):
    write_cifar_batches(tmp_path / "data" / "cifar10" / "cifar-10-batches-py", 5, 110)
    config = deep.LSConfig(dataset="cifar10", method="rdia-if", data_dir=str(tmp_path / "data"),
                           n_epoch=1, batch_size=8, if_warmup=1, noise_rate=0.5,
                           result_dir=str(tmp_path / "out"), progress=False, threads=THREADS)
    result = deep.run(config)
    (row,) = read_rows(result["files"]["csv"])
    # CIFAR-10 trains without weight decay: C = 1 / (n if_damping)
    assert result["config"]["weight_decay"] == 0.0
    assert int(row["n_keep"]) == 25 and float(row["influence_seconds"]) > 0
    assert 0 <= int(row["n_harmful"]) <= 25

