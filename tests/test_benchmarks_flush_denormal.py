"""Tests of benchmarks/flush_denormal.py with tiny settings (the timings are not checked)."""

import json

import pytest

from benchmarks import flush_denormal as bench
from builders import module_error, trained_run


def test_paired_timing_leaves_the_run_as_the_plain_run(shared_data_dir, tmp_path):
    status = bench.main(["--epochs", "1", "3", "--subset", "300", "--repeat", "1",
                         "--data_dir", str(shared_data_dir), "--out", str(tmp_path / "out")])
    assert status == 0
    (record,) = (tmp_path / "out").glob("*.json")
    saved = json.loads(record.read_text())
    assert [(t["epoch"], t["flush_denormal"]) for t in saved["timings"]] == \
        [(1, False), (1, True), (3, False), (3, True)]
    # the timed copies leave the run alone: it equals the same run trained plainly
    _, plain = trained_run(shared_data_dir, tmp_path / "plain", method="ce", n_epoch=3)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip(saved["epochs"]) == strip(plain["epochs"])
    table = record.with_suffix(".md").read_text()
    assert "| 1 |" in table and "| 3 |" in table and "kept" in table


def test_summary_table_gives_the_median_of_each_mode_and_their_ratio():
    timings = [{"epoch": 5, "flush_denormal": f, "seconds": s}
               for f, s in ((False, 2.0), (True, 1.0), (False, 4.0), (True, 1.5),
                            (False, 3.0), (True, 0.5))]
    assert "| 5 | 3.00 | 1.00 | 0.33 |" in bench.summary_table(timings)


@pytest.mark.parametrize("flags, words", [(["--repeat", "0"], "--repeat"),
                                          (["--epochs", "100", "1"], "--epochs"),
                                          (["--method", "sgd"], "sgd")])
def test_bad_flags_exit_2_with_one_line(flags, words):
    assert words in module_error("benchmarks.flush_denormal", *flags)
