"""benchmarks/cg_tolerance.py: the loosest tol that keeps the harmful sets, on a small
real-sim-shaped problem (offline) and on cancer, and the rule that picks the default."""

import json

import pytest

from benchmarks import cg_tolerance
from builders import module_error


def rows_with(differing_by_tol):
    """Rows of one problem, loosest tol first, with the given counts at every alpha."""
    return [dict(problem="p", noise=0.8, tol=tol, iterations=i, relative_error=0.0,
                 differing={str(a): count for a in cg_tolerance.ALPHAS},
                 harmful={str(a): 7 for a in cg_tolerance.ALPHAS})
            for i, (tol, count) in enumerate(differing_by_tol)]


def test_the_loosest_safe_tol_is_the_one_from_which_every_tighter_one_agrees():
    rows = rows_with([(1e-2, 5), (1e-3, 0), (1e-4, 2), (1e-5, 0), (1e-6, 0)])
    assert cg_tolerance.loosest_safe_tol(rows, 0.01)["tol"] == 1e-5  # not 1e-3
    (first, *_) = cg_tolerance.summary_rows(rows)
    assert first["tol"] == 1e-5 and first["iterations"] == 3 and first["harmful"] == 7


def test_the_recommended_default_is_the_tightest_safe_tol_over_the_safety_factor():
    summary = [dict(tol=1e-3), dict(tol=1e-5), dict(tol=1e-4)]
    assert cg_tolerance.recommended_tol(summary) == pytest.approx(1e-5 / cg_tolerance.SAFETY)


def run(tmp_path, *flags):
    output, markdown = tmp_path / "rows.json", tmp_path / "table.md"
    assert cg_tolerance.main(["--noises", "0.8", "--output", str(output), "--markdown",
                              str(markdown), *flags]) == 0
    return json.loads(output.read_text()), markdown.read_text()


def test_a_small_real_sim_shaped_study_runs_offline(tmp_path):
    record, text = run(tmp_path, "--problems", "realsim-shape", "--realsim-rows", "3000")
    rows = record["rows"]
    assert [r["tol"] for r in rows] == list(cg_tolerance.TOLERANCES)
    reference = rows[-1]
    assert reference["relative_error"] == 0.0 and set(reference["differing"].values()) == {0}
    assert reference["preconditioner"] == "jacobi"  # sparse: no d x d matrix
    # tighter solves take at least as many iterations and are at least as close
    assert [r["iterations"] for r in rows] == sorted(r["iterations"] for r in rows)
    assert rows[0]["relative_error"] > rows[-2]["relative_error"]
    assert all(r["passes"] == 1 + 2 * r["iterations"] + 5 for r in rows)  # Jacobi
    safe = min(s["tol"] for s in record["summary"])
    assert record["recommended_tol"] == pytest.approx(safe / 100)
    assert f"recommended default (/ 100): {record['recommended_tol']:.0e}" in text


def test_on_cancer_the_study_supports_the_default(tmp_path, shared_data_dir):
    """The default tol is at least SAFETY times tighter than what cancer needs."""
    from rdia import influence
    record, _ = run(tmp_path, "--problems", "cancer", "--data-dir", str(shared_data_dir))
    assert all(s["tol"] >= influence.DEFAULT_TOL * cg_tolerance.SAFETY
               for s in record["summary"])
    assert all(s["harmful"] > 0 for s in record["summary"])


def test_a_k_class_study_on_digits_runs_offline_and_supports_the_default(tmp_path):
    from rdia import influence
    record, _ = run(tmp_path, "--problems", "digits")
    assert {r["preconditioner"] for r in record["rows"]} == {"kronecker"}
    assert all(s["harmful"] > 0 for s in record["summary"])
    assert all(s["tol"] >= influence.DEFAULT_TOL * cg_tolerance.SAFETY
               for s in record["summary"])


@pytest.mark.parametrize("flags, words", [
    (["--problems", "news20"], "invalid choice: 'news20'"),
    (["--noises", "x"], "invalid float value: 'x'"),
])
def test_bad_flags_exit_2_with_one_line(flags, words):
    assert words in module_error("benchmarks.cg_tolerance", *flags)
