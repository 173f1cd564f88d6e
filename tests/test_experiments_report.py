"""experiments/report.py: spreads over seeds and markdown tables."""

import pytest

from rdia.experiments.report import format_mean_std, markdown_table, mean_std, over_seeds, plural


def test_mean_std_uses_the_sample_standard_deviation():
    mean, std = mean_std([1.0, 2.0, 4.0])
    assert mean == pytest.approx(7 / 3)
    assert std == pytest.approx(((16 / 9 + 1 / 9 + 25 / 9) / 2) ** 0.5)
    assert mean_std([5.0]) == (5.0, 0.0)
    assert format_mean_std([1.0, 3.0], digits=2) == "2.00 ± 1.41"


def test_markdown_table():
    assert markdown_table(["a", "b"], [[1, "x"], [2.5, None]]).splitlines() == [
        "| a | b |", "|---|---|", "| 1 | x |", "| 2.5 | None |"]


def test_one_value_has_no_spread_to_print():
    assert format_mean_std([0.25]) == "0.2500"
    assert format_mean_std([0.5, 0.5]) == "0.5000 ± 0.0000"


@pytest.mark.parametrize("seeds, text", [([4], "One seed (4)"),
                                         ([0, 1, 2], "Mean ± sample std over 3 seeds (0, 1, 2)")])
def test_over_seeds(seeds, text):
    assert over_seeds(seeds) == text


def test_plural():
    assert [plural(n, "seed") for n in (1, 2, 0)] == ["1 seed", "2 seeds", "0 seeds"]
