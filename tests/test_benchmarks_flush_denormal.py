"""Tests of benchmarks/flush_denormal.py with tiny settings (the timings are not checked)."""

import json

import pytest

from benchmarks import flush_denormal as bench
from builders import epoch_rows, module_error, trained_run


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


def test_compare_sets_each_flushed_mean_against_the_range_of_the_committed_seeds(tmp_path):
    committed, out = tmp_path / "runs", tmp_path / "out"
    committed.mkdir()
    out.mkdir()

    def write(path, last10):  # 12 epochs; the last 10 average to last10
        path.write_text(json.dumps({"epochs": epoch_rows([0.0, 0.0] + [last10] * 10)}))
    for seed, value in zip((1, 2, 3), (80.0, 82.0, 81.0)):
        write(committed / f"mnist_ce_symmetric_0.8_seed{seed}.json", value)
        write(committed / f"mnist_coteaching_symmetric_0.8_seed{seed}.json", value + 1)
    write(out / "mnist_ce_symmetric_0.8_seed1_flush.json", 81.5)
    write(out / "mnist_ce_symmetric_0.8_seed2_flush.json", 82.4)  # mean 81.95: inside
    write(out / "mnist_coteaching_symmetric_0.8_seed1_flush.json", 83.5)  # above 83
    cells, within = bench.compare_rows(out, committed)
    assert not within
    assert cells == [["mnist_ce_symmetric_0.8", "80.00, 82.00, 81.00", "81.00",
                      "81.50, 82.40", "81.95", "yes"],
                     ["mnist_coteaching_symmetric_0.8", "81.00, 83.00, 82.00", "82.00",
                      "83.50", "83.50", "no"]]
    assert bench.main(["--compare", "--out", str(out), "--committed", str(committed)]) == 0
    assert "Every method within: no." in (out / "compare.md").read_text()
