"""Tests of experiments/queue.py: the reuse rule, the queue, last10 and spread."""

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

from rdia.experiments import deep, queue
from builders import epoch_rows, trained_run, write_run


def test_run_config_is_the_papers_setting_with_the_candidate():
    config = queue.run_config(("method", 0.05), 2, 200, "r")
    assert (config.loss, config.gamma, config.seed, config.n_epoch, config.threads) == \
        ("method", 0.05, 2, 200, 1)
    assert (config.noise_rate, config.weight_decay, config.method) == (0.8, 1e-5, "rdia-ls")
    assert config.output == str(Path("r") / "mnist_rdia-ls-method_symmetric_0.8_gamma0.05_seed2.json")
    ce = queue.run_config("ce", 1, 200, "r")
    assert ce.output == str(Path("r") / "mnist_ce_symmetric_0.8_seed1.json")


def test_config_argv_gives_every_set_value_as_a_flag():
    config = deep.LSConfig(loss="method", noise_rate=0.8, seed=3, gamma=0.05,
                           weight_decay=1e-5, threads=1, result_dir="r", progress=False)
    assert queue.config_argv(config) == [
        "--dataset", "mnist", "--method", "rdia-ls", "--loss", "method",
        "--noise_type", "symmetric", "--noise_rate", "0.8", "--num_gradual", "10",
        "--warmup", "10", "--n_epoch", "200", "--epoch_decay_start", "80",
        "--lr", "0.001", "--batch_size", "128", "--seed", "3", "--gamma", "0.05",
        "--weight_decay", "1e-05", "--threads", "1", "--result_dir", "r", "--no_progress",
        "--alpha", "0.0", "--if_warmup", "4", "--if_every", "1", "--if_damping", "1e-05",
        "--if_holdout", "0"]


# ----------------------------------------------------------------------------
# Finished runs, written here as JSON


def test_pending_skips_finished_runs_and_reruns_those_without_val_acc(tmp_path):
    configs = [queue.run_config(("method", 0.5), seed, 3, tmp_path) for seed in (1, 2, 3)]
    write_run(configs[0], epoch_rows([50, 60, 70], [40, 50, 60], [50, 60, 70]))
    write_run(configs[1], epoch_rows([50, 60, 70]))                  # before the split
    assert queue.pending(configs, ("val_acc", "scored_acc")) == configs[1:]
    assert queue.pending(configs) == configs[2:]


# ----------------------------------------------------------------------------
# The queue, with a stand-in for RDIA-LS.py


FAKE_SCRIPT = '''
import os, sys
events = sys.argv[sys.argv.index("--result_dir") + 1] + "/events.txt"
seed = sys.argv[sys.argv.index("--seed") + 1]
with open(events, "a") as handle:
    handle.write(f"start {seed}\\n")
print("training seed", seed, "threads", sys.argv[sys.argv.index("--threads") + 1],
      "OMP", os.environ.get("OMP_NUM_THREADS"))
with open(events, "a") as handle:
    handle.write(f"end {seed}\\n")
sys.exit(1 if seed == "2" else 0)
'''


def most_at_once(lines):
    """Largest number of runs between their start and end lines."""
    running = peak = 0
    for line in lines:
        running += 1 if line.startswith("start") else -1
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("jobs", [1, 2])
def test_queue_runs_at_most_jobs_processes_and_reports_failures(tmp_path, jobs):
    script = tmp_path / "fake.py"
    script.write_text(FAKE_SCRIPT)
    configs = [queue.run_config(("method", 0.5), seed, 3, tmp_path) for seed in (1, 2, 3, 4)]
    finished = []
    failed = queue.run_queue(configs, jobs, tmp_path / "logs", script=script, poll=0.05,
                                on_finish=lambda: finished.append(1))
    assert failed == [deep.run_name(configs[1])]
    lines = (tmp_path / "events.txt").read_text().split()
    events = [" ".join(lines[i:i + 2]) for i in range(0, len(lines), 2)]
    assert sorted(events) == sorted(f"{e} {s}" for e in ("start", "end") for s in "1234")
    assert most_at_once(events) <= jobs
    assert len(finished) == 4
    log = (tmp_path / "logs" / f"{deep.run_name(configs[2])}.log").read_text()
    assert "training seed 3 threads 1 OMP 1" in log


def test_queue_skips_finished_runs(tmp_path):
    script = tmp_path / "fake.py"
    script.write_text(FAKE_SCRIPT)
    configs = [queue.run_config(("method", 0.5), seed, 3, tmp_path) for seed in (1, 3)]
    write_run(configs[0], epoch_rows([50, 60, 70], [40, 50, 60], [50, 60, 70]))
    assert queue.run_queue(configs, 2, tmp_path / "logs", script=script, poll=0.05) == []
    assert (tmp_path / "events.txt").read_text().split() == ["start", "3", "end", "3"]




# ----------------------------------------------------------------------------
# The reuse rule, on runs trained here


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 2-epoch ce run of the paper's setting."""
    data_dir = os.environ.get("RDIA_DATA_DIR", "")
    if not data_dir:
        pytest.skip("RDIA_DATA_DIR is not set (CI sets it to the datasets folder beside the checkout)")
    return trained_run(data_dir, tmp_path_factory.mktemp("runs"), method="ce")


def test_a_finished_run_is_recognised_and_reused(finished, capsys):
    config, result = finished
    saved = json.loads(Path(config.output).read_text())
    assert saved["final"] == result["final"] and len(saved["epochs"]) == 2
    # settings that do not change the numbers, and those ce does not read, may differ
    same = dataclasses.replace(config, threads=None, progress=True, loss="method",
                               gamma=0.5, alpha=0.01)
    assert queue.run_or_reuse(same, reuse=True) == saved
    assert "reusing" in capsys.readouterr().out


@pytest.mark.parametrize("changes", [{"n_epoch": 3}, {"noise_seed": 0}, {"seed": 2},
                                     {"method": "rdia-ls"}, {"weight_decay": 1e-4}])
def test_a_run_with_other_settings_is_not_reused(finished, monkeypatch, changes):
    config, _ = finished
    monkeypatch.setattr(queue, "run", lambda config: "trained")
    assert queue.run_or_reuse(dataclasses.replace(config, **changes), reuse=True) == "trained"


def test_reuse_false_trains_again(finished, monkeypatch):
    config, _ = finished
    monkeypatch.setattr(queue, "run", lambda config: "trained")
    assert queue.run_or_reuse(config, reuse=False) == "trained"
    assert queue.pending([config]) == []
    assert queue.pending([dataclasses.replace(config, seed=3)]) != []


def test_load_finished_asks_for_the_columns_the_caller_needs(finished, tmp_path):
    config, _ = finished
    assert queue.load_finished(config, columns=("test_acc", "val_acc")) is not None
    # the same run as one from before the validation split: no val_acc in its epochs
    saved = json.loads(Path(config.output).read_text())
    for row in saved["epochs"]:
        del row["val_acc"]
    copy = dataclasses.replace(config, output=str(tmp_path / "old.json"))
    Path(copy.output).write_text(json.dumps(saved))
    assert queue.load_finished(copy, columns=("test_acc",)) is not None
    assert queue.load_finished(copy, columns=("val_acc",)) is None


def test_a_setting_missing_from_an_old_json_counts_as_none(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"config": {"seed": 1}, "alphas": [0.01]}))
    assert queue.saved_result(path, {"seed": 1, "noise_seed": None}) is not None
    assert queue.saved_result(path, {"seed": 1, "noise_seed": 0}) is None
    assert queue.saved_result(path, {"alphas": [0.01]}, section=None) is not None
    assert queue.saved_result(path, {"alphas": [0.02]}, section=None) is None
    assert queue.saved_result(tmp_path / "none.json", {}) is None


# ----------------------------------------------------------------------------
# last10 and spread: one behaviour on missing values


def result_of(values):
    return {"epochs": [{"acc": v} if v != "absent" else {} for v in values]}


def test_last10_is_the_mean_of_the_last_ten_epochs():
    values = list(range(1, 16))
    assert queue.last10(result_of(values), "acc") == np.mean(values[-10:])
    assert queue.last10(result_of([4.0, 6.0]), "acc") == 5.0


@pytest.mark.parametrize("missing", [None, "absent"])
def test_a_missing_value_in_the_last_ten_epochs_makes_last10_none(missing):
    assert queue.last10(result_of([missing] + [1.0] * 10), "acc") == 1.0
    assert queue.last10(result_of([1.0] * 10 + [missing]), "acc") is None


def test_spread_leaves_out_runs_without_the_column_and_counts_the_others():
    runs = [result_of([70.0] * 10), result_of([74.0] * 10), result_of([None] * 10)]
    assert queue.spread(runs, "acc") == (f"72.00 ± {np.sqrt(8):.2f}", 2)
    assert queue.spread(runs, "acc", digits=1) == (f"72.0 ± {np.sqrt(8):.1f}", 2)
    assert queue.spread(runs[2:], "acc") == ("-", 0)
