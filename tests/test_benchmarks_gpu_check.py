"""Tests of benchmarks/gpu_check.py, on the CPU with tiny settings (no GPU here)."""

import pickle

import numpy as np
import pytest
import torch

from benchmarks import gpu_check
from rdia.data import cifar
from builders import module_error


def test_written_batches_are_read_as_cifar10(tmp_path):
    folder = gpu_check.write_cifar_batches(tmp_path, n_train=23, n_test=12, seed=4)
    X_train, y_train, X_test, y_test = cifar.load_cifar10(tmp_path)
    assert X_train.shape == (23, 3, 32, 32) and X_test.shape == (12, 3, 32, 32)
    assert X_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert y_test.tolist() == [i % 10 for i in range(12)]
    # the published layout: rows of 1024 red, then green, then blue values, row-major
    with open(folder / "data_batch_1", "rb") as handle:
        raw = pickle.load(handle, encoding="bytes")
    assert len(raw[b"labels"]) == 5 and raw[b"data"].shape == (5, 3072)
    np.testing.assert_array_equal(X_train[0, 1, 2, 3], raw[b"data"][0, 1024 + 2 * 32 + 3])
    assert y_train[:5].tolist() == raw[b"labels"]
    with open(folder / "batches.meta", "rb") as handle:
        assert len(pickle.load(handle, encoding="bytes")[b"label_names"]) == 10


def test_a_tiny_check_on_the_cpu_prints_both_parts(shared_data_dir, tmp_path, capsys):
    status = gpu_check.main(["--cpu", "--mnist-epochs", "2", "--mnist-subset", "300",
                             "--cifar-train", "40", "--cifar-test", "110", "--cifar-epochs",
                             "2", "--data_dir", str(shared_data_dir), "--out",
                             str(tmp_path), "--no_progress"])
    assert status == 0
    table = (tmp_path / "table.md").read_text()
    assert table in capsys.readouterr().out
    mnist, cifar_row = [line for line in table.splitlines() if line.startswith("| MNIST")
                        or line.startswith("| CIFAR")]
    assert mnist.split(" | ")[1:3] == ["cpu", "2"]
    assert cifar_row.split(" | ")[1:3] == ["cpu", "2"]
    assert len(list((tmp_path / "runs").glob("*.json"))) == 2


@pytest.mark.parametrize("flags, words", [
    (["--cpu", "--mnist-epochs", "0"], "--mnist-epochs"),
    (["--cpu", "--cifar-test", "50"], "--cifar-test"),
])
def test_bad_flags_exit_2_with_one_line(flags, words):
    assert words in module_error("benchmarks.gpu_check", *flags)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is here")
def test_without_cuda_it_asks_for_cpu():
    assert "--cpu" in module_error("benchmarks.gpu_check")
