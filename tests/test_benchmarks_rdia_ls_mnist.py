"""Tests of benchmarks/rdia_ls_mnist.py: the table from finished runs, the queue, bad flags."""

import numpy as np
import pytest

from benchmarks import rdia_ls_mnist as bench
from builders import module_error, write_run


def result(seconds, seed=1, acc=50.0):
    """A finished run's result with the given seconds per epoch."""
    epochs = [{"epoch": i + 1, "test_acc": acc, "seconds": s, "label_precision": 80.0}
              for i, s in enumerate(seconds)]
    return {"config": {"seed": seed}, "epochs": epochs,
            "final": {"test_acc_last10_mean": acc, "test_acc_last": acc}}


def test_seconds_at_epochs_1_100_and_200_are_means_over_runs():
    runs = [result(np.arange(1, 201) / 10, seed=1), result(np.arange(1, 201) / 5, seed=2)]
    row = bench.summarize("ce", runs)
    assert row["seconds_epoch1"] == pytest.approx((0.1 + 0.2) / 2)
    assert row["seconds_epoch100"] == pytest.approx((10.0 + 20.0) / 2)
    assert row["seconds_epoch200"] == pytest.approx((20.0 + 40.0) / 2)
    assert row["seconds_per_epoch"] == pytest.approx(np.mean(np.arange(1, 201)) * 0.15)
    table = bench.markdown_table([row])
    assert "| s, epoch 1 | s, epoch 100 | s, epoch 200 |" in table
    assert "| 0.15 | 15.00 | 30.00 | 15.07 |" in table


def test_a_short_run_has_no_seconds_at_later_epochs():
    row = bench.summarize("ce", [result([1.0, 2.0, 3.0])])
    assert row["seconds_epoch1"] == 1.0
    assert row["seconds_epoch100"] is None and row["seconds_epoch200"] is None
    assert "| 1.00 | - | - | 2.00 |" in bench.markdown_table([row])


def test_tables_come_from_the_finished_runs_only(tmp_path):
    args = bench.build_parser().parse_args(["--epochs", "3", "--seeds", "1", "2",
                                            "--methods", "ce", "coteaching"])
    configs = bench.variant_configs(args, tmp_path / "runs")
    assert [(m, c.seed) for m, c in configs] == [("ce", 1), ("ce", 2), ("coteaching", 1),
                                                 ("coteaching", 2)]
    for method, config in configs[:3]:
        rows = [{"epoch": e, "test_acc": 40.0 + e, "seconds": 1.0, "label_precision": 50.0}
                for e in (1, 2, 3)]
        write_run(config, rows)
        csv = config.output.replace(".json", ".csv")
        with open(csv, "w") as handle:
            handle.write("epoch,test_acc\n" + "".join(f"{e},{40 + e}\n" for e in (1, 2, 3)))
    runs = bench.finished_runs(configs)
    assert {m: len(r) for m, r in runs.items()} == {"ce": 2, "coteaching": 1}
    table = bench.write_outputs(tmp_path / "out", runs)
    assert "| ce | 2 x 3 | 42.00 +/- 0.00 |" in table
    assert "| coteaching | 1 x 3 | 42.00 +/- nan |" in table
    assert (tmp_path / "out" / "table.md").read_text() == table


@pytest.mark.parametrize("flags, words", [(["--jobs", "0"], "--jobs"),
                                          (["--epochs", "0"], "--epochs"),
                                          (["--methods", "sgd"], "sgd")])
def test_bad_flags_exit_2_with_one_line(flags, words):
    assert words in module_error("benchmarks.rdia_ls_mnist", *flags)
