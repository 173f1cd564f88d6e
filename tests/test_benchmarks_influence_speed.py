"""benchmarks/influence_speed.py on a small real-sim-shaped problem: both learners,
their passes, the solve's and the time of one pass, in the printed table."""

import pytest

from benchmarks import influence_speed


def test_realsim_shape_split_follows_real_sim():
    X, y, X_val, y_val = influence_speed.realsim_shaped(n_rows=7231)
    assert X.shape[0] + X_val.shape[0] == 6000  # 60,000 of 72,309 rows, scaled
    assert X.shape[0] == 4200 and X.shape[1] == 20958 and len(y) == 4200
    assert 40 < X.nnz / X.shape[0] < 60  # about 51 non-zeros a row


def test_the_table_has_both_learners_with_passes_and_one_pass(tmp_path, capsys):
    markdown = tmp_path / "speed.md"
    assert influence_speed.main(["--skip-mnist", "--repeat", "1", "--realsim-rows",
                                 "3000", "--markdown", str(markdown)]) == 0
    lines = markdown.read_text().splitlines()
    assert lines == capsys.readouterr().out.splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert {"one pass X @ v ms", "fit passes", "phi passes", "learner"} <= set(header)
    rows = [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|"))))
            for line in lines[2:]]
    assert [r["learner"] for r in rows] == ["newton", "liblinear"]
    for row in rows:
        cg = int(row["solve s (CG it)"].split("(")[1].split()[0])
        assert int(row["phi passes"]) == 2 * cg + 6  # sparse: Jacobi, its diagonal pass
        assert int(row["fit passes"]) > 0 and float(row["one pass X @ v ms"]) > 0


def test_bad_flags_end_in_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        influence_speed.main(["--learners", "sag"])
    assert stop.value.code == 2
    assert "invalid choice: 'sag'" in capsys.readouterr().err
