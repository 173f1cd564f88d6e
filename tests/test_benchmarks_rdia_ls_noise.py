"""Tests of benchmarks/rdia_ls_noise.py: the queue over noise settings and its table."""

import subprocess
import sys

import pytest

from benchmarks import rdia_ls_noise as noise_bench
from builders import ROOT, epoch_rows, write_run
from rdia.experiments import deep



def test_queue_advances_every_setting_together_in_the_order_of_value():
    configs = noise_bench.queue_configs(noise_bench.SETTINGS, [1, 2], 200, "r")
    names = [deep.run_name(c) for c in configs]
    assert names[:4] == ["mnist_rdia-ls-published_symmetric_0.5_gamma0.2_seed1",
                         "mnist_rdia-ls-published_symmetric_0.5_gamma0.2_seed2",
                         "mnist_rdia-ls-published_pairflip_0.45_gamma0.2_seed1",
                         "mnist_rdia-ls-published_pairflip_0.45_gamma0.2_seed2"]
    assert names[-1] == "mnist_ce_pairflip_0.45_seed2"
    assert len(set(names)) == len(names) == 2 * 2 * len(noise_bench.CANDIDATES)
    for config in configs:
        resolved = config.resolved()
        # the paper's setting otherwise; the forget rate follows the noise rate
        assert resolved.forget_rate == config.noise_rate
        assert (resolved.weight_decay, resolved.n_epoch, resolved.threads) == (1e-5, 200, 1)


def finish(runs, candidate, noise, seed, test, val):
    """Write a finished 12-epoch run whose accuracies are constant per column."""
    config = noise_bench.ablation.run_config(candidate, seed, 12, runs, noise=noise)
    write_run(config, epoch_rows([test] * 12, [val] * 12, [test - 0.5] * 12))


def test_table_chooses_on_val_per_seed_and_shows_the_published_coteaching(tmp_path):
    runs = tmp_path / "runs"
    pairflip = ("pairflip", 0.45)
    # seed 1: gamma 0.05 is better on val, worse on test; seed 2: the reverse
    finish(runs, noise_bench.DEFAULT, pairflip, 1, test=80.0, val=70.0)
    finish(runs, noise_bench.SELECTED, pairflip, 1, test=60.0, val=90.0)
    finish(runs, noise_bench.DEFAULT, pairflip, 2, test=70.0, val=95.0)
    finish(runs, noise_bench.SELECTED, pairflip, 2, test=90.0, val=50.0)
    finish(runs, "coteaching", pairflip, 1, test=75.0, val=75.0)
    finish(runs, "ce", noise_bench.REFERENCE, 1, test=20.0, val=20.0)
    report = noise_bench.write_outputs(tmp_path / "out", [1, 2], 12, runs)

    # scored = test - 0.5: seed 1 chose gamma 0.05 (59.5), seed 2 gamma 0.2 (69.5)
    assert ("| pairflip 0.45 | selected on val (seed 1: gamma 0.05, seed 2: gamma 0.2) | "
            "2 of 2 | - | 64.50 ± 7.07 | - |") in report
    assert "| pairflip 0.45 | published, gamma 0.2 | 2 of 2 | 75.00 ± 7.07 | 74.50 ± 7.07 | - |" \
        in report
    assert "| pairflip 0.45 | coteaching | 1 of 2 | 75.00 | 74.50 | 87.58 |" \
        in report
    assert "| symmetric 0.5 | coteaching | 0 of 2 | - | - | 91.68 |" in report
    assert "| symmetric 0.8 | ce | 1 of 2 | 20.00 | 19.50 | - |" in report
    # missing: 8 of symmetric 0.5, ce (2) and coteaching seed 2 of pairflip; never the reference
    assert "Missing runs (11): " in report and "symmetric_0.8" not in report
    csv = (tmp_path / "out" / "table.csv").read_text().splitlines()
    assert csv[0] == "setting,candidate,runs,test_acc,val_acc,scored_acc,seeds"
    assert len(csv) == 1 + 3 * len(noise_bench.CANDIDATES) + 1      # one selected row
    assert (tmp_path / "out" / "test_acc.png").read_bytes()[:4] == b"\x89PNG"


def run_cli(*args):
    done = subprocess.run([sys.executable, "-m", "benchmarks.rdia_ls_noise", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    return done.returncode, done.stdout, done.stderr


def test_no_train_lists_the_missing_runs_and_trains_nothing(tmp_path):
    code, stdout, stderr = run_cli("--no-train", "--seeds", "1", "--runs-dir",
                                   str(tmp_path / "runs"), "--out", str(tmp_path / "out"))
    assert code == 0, stderr
    assert "Missing runs (8): mnist_rdia-ls-published_symmetric_0.5_gamma0.2_seed1, " in stdout
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args", [["--jobs", "0"], ["--epochs", "0"], ["--seeds", "x"]])
def test_bad_flags_exit_2_with_one_line(tmp_path, args):
    code, _, stderr = run_cli(*args, "--no-train", "--out", str(tmp_path))
    assert code == 2 and "Traceback" not in stderr and stderr.count("\n") == 1
