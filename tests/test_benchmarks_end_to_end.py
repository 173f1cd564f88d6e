"""benchmarks/end_to_end.py: whole RDIA.py processes on MNIST 1 vs 7, their imports,
stages, peak memory and passes, and the paired loop with another script."""

import json
import sys

import pytest

from benchmarks import end_to_end
from builders import module_error

#: Lines as ``python -X importtime`` writes them (self us, cumulative us, indented name).
IMPORTTIME = """import time: self [us] | cumulative | imported package
import time:       120 |        120 |   _io
import time:       300 |        420 | numpy
import time:        50 |         50 |     scipy._lib
import time:        80 |        130 |   scipy.sparse
import time:        10 |        140 | influence
import time:       900 |        900 | tqdm
"""


def test_import_lines_are_read_with_their_depth():
    rows = end_to_end.import_times(IMPORTTIME)
    assert rows == [("_io", 120, 120, 1), ("numpy", 300, 420, 0), ("scipy._lib", 50, 50, 2),
                    ("scipy.sparse", 80, 130, 1), ("influence", 10, 140, 0),
                    ("tqdm", 900, 900, 0)]


def test_stage_rows_put_passes_beside_their_floor_and_keep_the_rest():
    record = dict(
        timings=dict(load=0.1, fit=0.3, influence=0.2, methods=0.5, evaluation=0.05,
                     refits=dict(full=0.01, rdia=0.4)),
        work=dict(fit=dict(learner="newton", iterations=6, passes=45, preconditioner="k"),
                  phi=dict(solver="cg", iterations=8, passes=21, preconditioner="k"),
                  refits=dict(full=dict(learner="newton", iterations=0, passes=3),
                              rdia=dict(learner="newton", iterations=8, passes=121))))
    rows = end_to_end.stage_rows(record, one_pass=0.01, process_seconds=2.0)
    assert [r["stage"] for r in rows] == ["load", "fit", "phi", "refit full", "refit rdia",
                                          "evaluation (val and test)",
                                          "rest of the process (start, imports, printing)"]
    assert rows[1]["floor_seconds"] == pytest.approx(0.45)
    assert rows[4]["floor_seconds"] == pytest.approx(1.21)
    assert rows[0]["floor_seconds"] is None
    assert rows[-1]["seconds"] == pytest.approx(2.0 - (0.1 + 0.3 + 0.2 + 0.5))


#: A script that stands where the published RDIA.py would: it records each call.
RECORDING_SCRIPT = """import json, sys, time
with open("calls.jsonl", "a") as f:
    f.write(json.dumps(dict(argv=sys.argv[1:], at=time.time())) + "\\n")
"""


def test_a_run_with_another_script_reports_processes_imports_and_stages(tmp_path,
                                                                         shared_data_dir):
    other = tmp_path / "published"
    other.mkdir()
    (other / "RDIA.py").write_text(RECORDING_SCRIPT)
    output, markdown = tmp_path / "runs.json", tmp_path / "table.md"
    assert end_to_end.main(["--repeat", "2", "--data-dir", str(shared_data_dir),
                            "--published", str(other), "--published-python",
                            sys.executable, "--output", str(output), "--markdown",
                            str(markdown)]) == 0
    record = json.loads(output.read_text())
    calls = [json.loads(line) for line in (other / "calls.jsonl").read_text().splitlines()]
    assert len(calls) == 3  # a warm-up and two timed runs, in its own folder
    assert all(call["argv"] == list(end_to_end.TASK) for call in calls)
    assert [len(record["runs"][name]) for name in ("ours", "published")] == [2, 2]
    # peak memory of each child, not of the benchmark: ours stays at its budget
    assert all(0 < run["peak_rss_mb"] <= 324 for run in record["runs"]["ours"])
    imports = record["imports"]
    assert imports["modules"] > 100 and 0 < imports["share"] < 1
    names = [top["module"] for top in imports["top"]]
    assert not {"sklearn", "pandas", "torch", "matplotlib"} & set(names)
    stages = {row["stage"]: row for row in record["stages"]}
    assert stages["fit"]["passes"] > 0 and stages["phi"]["passes"] > 0
    assert {"refit full", "refit random", "refit rdia"} <= set(stages)
    assert record["one_pass_seconds"] > 0
    text = markdown.read_text()
    assert "Published / ours, median of 2 paired runs" in text
    assert "One pass X @ v over the training X (9,088 x 784, dense)" in text


@pytest.mark.parametrize("flags, words", [
    (["--published", "x"], "--published and --published-python go together"),
    (["--published", "/", "--published-python", "python"], "no RDIA.py in that folder"),
    (["--repeat", "0"], "--repeat must be >= 1"),
])
def test_bad_flags_exit_2_with_one_line(flags, words):
    assert words in module_error("benchmarks.end_to_end", *flags)


def test_a_childs_peak_memory_is_its_own_even_from_a_large_parent(tmp_path):
    """This test process holds 400 MB more than a bare Python; the child does not."""
    import numpy as np

    held = np.ones(400 * 2 ** 20 // 8)
    run = end_to_end.run_process([sys.executable, "-c", "print('hi')"], str(tmp_path), None)
    assert run["stdout"] == "hi\n" and run["seconds"] > 0
    assert run["peak_rss_mb"] < 100
    del held


def test_a_failed_child_is_one_line_with_its_last_message(tmp_path):
    with pytest.raises(end_to_end.RunFailed, match=r"exited with 3: boom$"):
        end_to_end.run_process([sys.executable, "-c", "import sys; print('x', "
                                "file=sys.stderr); print('boom', file=sys.stderr); "
                                "sys.exit(3)"], str(tmp_path), None)
