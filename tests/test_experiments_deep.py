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

from experiments import deep
from experiments.cli import ConfigError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: One torch thread: on a busy 2-core machine two threads wait on each other and an
#: epoch takes 25 times longer.
THREADS = 1

#: The settings and their defaults before LSConfig (the keys of a run's JSON config),
#: in order: the tracked runs in results/ are recognised by them.
OLD_DEFAULTS = {
    "dataset": "mnist", "method": "rdia-ls", "compat": "method", "noise_type": "symmetric",
    "noise_rate": 0.2, "forget_rate": None, "num_gradual": 10, "warmup": 10,
    "n_epoch": 200, "epoch_decay_start": 80, "lr": 0.001, "batch_size": 128, "seed": 0,
    "noise_seed": None, "gamma": None, "weight_decay": None, "subset": None, "gpu": None,
    "threads": None, "data_dir": None, "result_dir": "runs", "output": None,
    "progress": True,
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
    assert dataclasses.asdict(deep.LSConfig()) == OLD_DEFAULTS
    assert list(dataclasses.asdict(deep.LSConfig())) == list(OLD_DEFAULTS)


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
    ({"compat": "paper"}, "compat"),
    ({"n_epoch": 0}, "n_epoch"),
    ({"batch_size": 1}, "batch_size"),
    ({"lr": 0.0}, "lr"),
    ({"subset": 1}, "subset"),
    ({"threads": 0}, "threads"),
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
        pytest.skip("RDIA_DATA_DIR is not set (CI sets it to ../shared/datasets)")
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


def test_json_output_holds_config_epochs_and_final(mnist_run):
    config, result = mnist_run
    saved = json.loads(Path(config.output).read_text())
    assert list(saved) == ["config", "data", "epochs", "final", "files"]
    assert saved["config"] == dataclasses.asdict(config.resolved())
    assert list(saved["config"]) == list(OLD_DEFAULTS)
    assert saved["config"]["subset"] == 2000 and saved["config"]["method"] == "rdia-ls"
    assert (saved["config"]["gamma"], saved["config"]["noise_seed"]) == (0.2, 5)
    assert [row["epoch"] for row in saved["epochs"]] == [1, 2]
    accs = [row["test_acc"] for row in saved["epochs"]]
    assert saved["final"]["test_acc_last"] == accs[-1]
    assert saved["final"]["test_acc_last10_mean"] == pytest.approx(np.mean(accs))
    assert set(saved["epochs"][0]) == set(deep.CSV_COLUMNS)
    assert Path(result["files"]["png"]).read_bytes()[:8] == PNG_MAGIC


def test_same_seed_gives_identical_csv_other_seed_does_not(mnist_run, tmp_path):
    """All columns but ``seconds`` (wall time) must match."""
    config, result = mnist_run
    again = deep.run(dataclasses.replace(config, result_dir=str(tmp_path / "b"), output=None))
    other = deep.run(dataclasses.replace(config, result_dir=str(tmp_path / "c"), output=None,
                                         seed=6, noise_seed=5))
    first = without_seconds(read_rows(result["files"]["csv"]))
    assert without_seconds(read_rows(again["files"]["csv"])) == first
    assert without_seconds(read_rows(other["files"]["csv"])) != first


@pytest.mark.parametrize("method, compat, kept", [
    ("ce", "method", 2000),
    ("coteaching", "method", 15 * 102 + 64),
    ("rdia-ls", "official", 15 * 102 + 64),
])
def test_other_methods_run_end_to_end(shared_data_dir, tmp_path, method, compat, kept):
    config = mnist_config(shared_data_dir, tmp_path, n_epoch=1, warmup=0, num_gradual=0,
                          method=method, compat=compat)
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
        batch = {b"batch_label": name.encode(),
                 b"labels": [int(v) for v in rng.integers(0, 10, n)],
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
    write_cifar_batches(tmp_path / "data" / "cifar10" / "cifar-10-batches-py", 5, 10)
    config = deep.LSConfig(dataset="cifar10", data_dir=str(tmp_path / "data"),
                           n_epoch=1, batch_size=8, warmup=0, num_gradual=0,
                           noise_rate=0.5, noise_type="asymmetric",
                           result_dir=str(tmp_path / "out"), progress=False,
                           threads=THREADS)
    result = deep.run(config)
    assert result["data"]["n_train"] == 25 and result["data"]["n_test"] == 10
    assert (result["config"]["gamma"], result["config"]["weight_decay"]) == (0.05, 0.0)
    (row,) = read_rows(result["files"]["csv"])
    # 25 = 8 + 8 + 9 (the single left-over sample joins the last batch)
    # B = 8: keep 4, drop 2, unsure 2; B = 9: keep 4, drop 2, unsure 3
    assert (int(row["n_keep"]), int(row["n_unsure"]), int(row["n_drop"])) == (12, 7, 6)
    correct = float(row["test_acc"]) / 100 * 10     # evaluated on all 10 test images
    assert correct == pytest.approx(round(correct))


def test_subset_larger_than_the_data_is_refused(tmp_path):
    write_cifar_batches(tmp_path / "cifar10" / "cifar-10-batches-py", 2, 2)
    config = deep.LSConfig(dataset="cifar10", data_dir=str(tmp_path), subset=50,
                           result_dir=str(tmp_path / "out"), progress=False)
    with pytest.raises(ConfigError, match="subset"):
        deep.run(config)
