"""Tests of benchmarks/rdia_if_mnist.py: the choice on validation, the queue and the table."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from benchmarks import rdia_if_mnist as bench
from builders import ROOT, epoch_rows, write_run
from rdia.experiments import deep



def names(configs):
    return [deep.run_name(c) for c in configs]


def test_queue_trains_the_selection_first_and_the_comparison_once_chosen():
    before = bench.queue_configs(200, "r", baselines=False)
    # the selection runs keep 5 validation images per class out of phi
    assert names(before) == ["mnist_rdia-if_symmetric_0.8_alpha0.0_seed1_if_holdout5",
                             "mnist_rdia-if_symmetric_0.8_alpha0.002_seed1_if_holdout5",
                             "mnist_rdia-if_symmetric_0.8_alpha0.01_seed1_if_holdout5",
                             "mnist_rdia-if_symmetric_0.8_alpha0.0_seed1_if_every5_if_holdout5"]
    after = names(bench.queue_configs(200, "r", baselines=False, chosen=(0.002, 1)))
    # the comparison's runs take phi against all 100 validation images
    assert after[:4] == names(before) and len(after) == len(set(after)) == 4 + 9
    assert "mnist_rdia-if_symmetric_0.8_alpha0.002_seed1" in after
    assert "mnist_rdia-if_pairflip_0.45_alpha0.002_seed3" in after
    everything = bench.queue_configs(200, "r", chosen=(0.002, 1))
    assert "mnist_rdia-ls-published_symmetric_0.5_gamma0.2_seed2" in names(everything)
    assert "mnist_coteaching_pairflip_0.45_seed1" in names(everything)
    for config in everything:
        resolved = config.resolved()
        assert (resolved.weight_decay, resolved.n_epoch, resolved.threads) == (1e-5, 200, 1)
        assert resolved.forget_rate == config.noise_rate


def if_rows(holdout, scored, precision, val=100.0, n=12):
    """Epoch rows of a finished rdia-if run: constant accuracies and harmful-set columns."""
    rows = epoch_rows([scored + 0.5] * n, [val] * n, [scored] * n)
    for row in rows:
        row.update(holdout_acc=holdout, harmful_precision=precision,
                   harmful_recall=precision / 2, label_precision=precision / 3)
    return rows


def finish(runs, candidate, noise, seed, rows, holdout=0):
    write_run(bench.config_of(candidate, seed, 12, runs, noise=noise, holdout=holdout), rows)


def finish_selection(runs, candidate, rows):
    write_run(bench.selection_config(candidate, 1, 12, runs), rows)


def test_choice_reads_the_holdout_accuracy_only(tmp_path):
    runs = tmp_path / "runs"
    # the best on the hold-out is the worst on the scored images and on all 100
    # validation images, and the other way round
    for k, candidate in enumerate(bench.CANDIDATES):
        finish_selection(runs, candidate, if_rows(holdout=60.0 + 10 * k, scored=90.0 - 10 * k,
                                                  precision=80.0, val=100.0 - k))
    chosen, _ = bench.choose(12, runs)
    assert chosen == bench.CANDIDATES[-1]
    # runs that took phi against all 100 images do not count as selection runs
    for candidate in bench.CANDIDATES:
        finish(runs.parent / "all100", candidate, bench.SELECTION_NOISE, 1,
               if_rows(70.0, 70.0, 80.0))
    assert bench.choose(12, runs.parent / "all100")[0] is None


def test_no_choice_while_a_selection_run_is_missing(tmp_path):
    runs = tmp_path / "runs"
    for candidate in bench.CANDIDATES[:-1]:
        finish_selection(runs, candidate, if_rows(70.0, 70.0, 80.0))
    assert bench.choose(12, runs)[0] is None


def test_table_compares_the_chosen_candidate_with_the_baselines(tmp_path):
    runs = tmp_path / "runs"
    for k, candidate in enumerate(bench.CANDIDATES):
        finish_selection(runs, candidate,
                         if_rows(holdout=90.0 if k == 1 else 50.0, scored=80.0, precision=90.0))
    chosen = bench.CANDIDATES[1]
    for seed, scored in ((1, 80.0), (2, 84.0), (3, 82.0)):
        finish(runs, chosen, bench.SELECTION_NOISE, seed,
               if_rows(None, scored, 94.0 if seed > 1 else 90.0))
    finish(runs, "ce", ("pairflip", 0.45), 1, epoch_rows([60.5] * 12, [60.0] * 12, [60.0] * 12))
    # a run from before the validation split has no scored accuracy: not counted
    finish(runs, "coteaching", bench.SELECTION_NOISE, 1, epoch_rows([81.0] * 12))
    report = bench.write_outputs(tmp_path / "out", [1, 2, 3], 12, runs)
    assert "Chosen: rdia-if, alpha 0.002, phi every 1 epoch." in report
    assert ("| symmetric 0.8 | rdia-if, alpha 0.002, phi every 1 epoch | 3 of 3 | "
            "82.00 ± 2.00 | 82.50 ± 2.00 | 92.7 ± 2.3 | 46.3 ± 1.2 | 30.9 ± 0.8 |") in report
    assert "| pairflip 0.45 | ce | 1 of 3 | 60.00 | 60.50 | - | - | - |" in report
    assert "| symmetric 0.8 | coteaching | 0 of 3 | - | - | - | - | - |" in report
    assert "mnist_coteaching_symmetric_0.8_seed1" in report.split("Missing runs")[1]
    for name in ("table.md", "table.csv", "test_acc.png", "harmful.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def test_seed_mean_skips_missing_seeds_and_leaves_empty_epochs_missing():
    values = np.array([[np.nan, 1.0, 2.0], [np.nan, np.nan, 4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice"
        mean = bench.seed_mean(values)
    np.testing.assert_array_equal(mean, [np.nan, 1.0, 3.0])


def test_time_step_times_an_epoch_and_a_phi_step(shared_data_dir):
    rows = bench.time_influence_step(repeat=2, data_dir=shared_data_dir, subset=600)
    # the last warm-up epoch, then one that trains with the harmful set
    assert [row["epoch"] for row in rows] == [4, 5]
    for row in rows:
        assert row["epoch_seconds"] > 0 and row["phi_seconds"] > 0
        assert 1 <= row["cg_iterations"] and 0 <= row["n_harmful"] <= 600
    assert "Median phi / epoch:" in bench.step_markdown(rows)


def test_treatment_loss_is_l_r_on_relabeled_and_ce_on_the_rest_without_the_dropped():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 10, generator=generator, dtype=torch.float64)
    y = torch.tensor([3, 1, 4, 1, 5])
    relabel = torch.tensor([True, False, True, False, False])
    drop = torch.tensor([False, False, True, True, False])
    p = torch.softmax(logits, dim=1)[torch.arange(5), y]
    # trained: 0 (l_R), 1 (CE), 4 (CE)
    expected = (-torch.log(1 - p[0]) - torch.log(p[1]) - torch.log(p[4])) / 3
    torch.testing.assert_close(bench.treatment_loss(logits, y, relabel, drop), expected)
    assert bench.treatment_loss(logits, y, relabel, torch.ones(5, dtype=torch.bool)) is None


def test_diagnose_starts_every_treatment_from_the_same_network(shared_data_dir):
    accuracies = bench.diagnose(epochs=1, data_dir=shared_data_dir, subset=600)
    assert list(accuracies) == list(bench.TREATMENTS)
    for values in accuracies.values():
        (scored, holdout), = values
        assert 0.0 <= scored <= 100.0 and 0.0 <= holdout <= 100.0
    # CE on all twice from the same state gives the same network
    assert bench.diagnose(epochs=1, data_dir=shared_data_dir, subset=600)["CE on all"] == \
        accuracies["CE on all"]
    table = bench.diagnosis_markdown(accuracies)
    assert "| oracle: the noisy dropped |" in table and "epoch +1" in table


@pytest.mark.parametrize("mode, name", [(["--diagnose", "--diagnose-epochs", "1"], "diagnose.md"),
                                        (["--time-step", "--repeat", "1"], "time_step.md")])
def test_time_step_and_diagnose_write_their_table_into_out(shared_data_dir, tmp_path, mode,
                                                           name):
    result = subprocess.run([sys.executable, "-m", "benchmarks.rdia_if_mnist", *mode,
                             "--subset", "300", "--data_dir", str(shared_data_dir),
                             "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    written = (tmp_path / name).read_text()
    assert written.startswith("| ") and written.strip() in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("flags, words", [
    (["--jobs", "0"], "at least 1"), (["--repeat", "0"], "at least 1"),
    (["--epochs", "0"], "at least 1"), (["--diagnose-epochs", "0"], "at least 1"),
    (["--diagnose", "--subset", "1"], "subset"),
    (["--time-step", "--data_dir", "/nonexistent/folder"], "nonexistent")])
def test_bad_flags_give_one_line(flags, words, tmp_path):
    result = subprocess.run([sys.executable, "-m", "benchmarks.rdia_if_mnist", "--no-train",
                             "--out", str(tmp_path), *flags],
                            cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "RDIA_DOWNLOAD_TIMEOUT": "1"})
    assert result.returncode == 2, result.stderr
    # a missing file is announced before its download is tried; the error is one line
    *announced, error = result.stderr.strip().splitlines()
    assert all(line.startswith("downloading ") for line in announced)
    assert error.startswith(f"{bench.PROG}: error: ") and words in error
    assert "Traceback" not in result.stderr
