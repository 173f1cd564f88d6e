"""benchmarks/kclass_influence.py on digits: every stage runs, the new and the old
methods agree, the counts favour the new ones, and bad flags end in one line."""

import json

import pytest

from benchmarks import kclass_influence
from builders import module_error


def run(tmp_path, *flags):
    """Run the benchmark's main on 600 digits; return the JSON rows and the printout."""
    output = tmp_path / "speed.json"
    markdown = tmp_path / "speed.md"
    status = kclass_influence.main(["--dataset", "digits", "--subset", "600", "--output",
                                    str(output), "--markdown", str(markdown), *flags])
    assert status == 0
    return json.loads(output.read_text())["rows"], markdown.read_text()


def test_all_stages_with_the_baselines(tmp_path):
    rows, text = run(tmp_path)
    methods = [(r["stage"], r["method"]) for r in rows]
    assert methods == [("fit", "newton (kronecker)"), ("fit", "lbfgs"),
                       ("fit", "sklearn lbfgs"), ("phi", "cg (kronecker)"),
                       ("phi", "cg (jacobi)"), ("refit", "newton (kronecker), warm"),
                       ("refit", "lbfgs, from zero")]
    by_method = dict(zip(methods, rows))
    # Fits at tol 1e-5 agree to about 1e-5; the two phi solves at 1e-10 much closer.
    for key in [("fit", "lbfgs"), ("fit", "sklearn lbfgs"), ("refit", "lbfgs, from zero")]:
        assert by_method[key]["relative_difference"] < 1e-4
    assert by_method[("phi", "cg (jacobi)")]["relative_difference"] < 1e-6
    # The counts, not the seconds, show the gain.
    assert by_method[("fit", "newton (kronecker)")]["passes"] < by_method[("fit", "lbfgs")]["passes"]
    assert (by_method[("phi", "cg (kronecker)")]["iterations"]
            < by_method[("phi", "cg (jacobi)")]["iterations"])
    assert by_method[("refit", "newton (kronecker), warm")]["relabeled"] > 0
    assert "600 training rows x 64 features, K = 10" in text
    assert "One pass X @ V (V: 64 x 10)" in text


def test_no_baselines_runs_only_the_new_methods(tmp_path):
    rows, _ = run(tmp_path, "--baselines")
    assert [r["method"] for r in rows] == ["newton (kronecker)", "cg (kronecker)",
                                           "newton (kronecker), warm"]


@pytest.mark.parametrize("flags, words", [
    (["--noise", "1.5"], "--noise must be a number in [0, 1)"),
    (["--baselines", "liblinear"], "invalid choice: 'liblinear'"),
])
def test_bad_flags_exit_2_with_one_line(flags, words):
    assert words in module_error("benchmarks.kclass_influence", "--dataset", "digits",
                                 *flags)
