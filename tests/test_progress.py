"""progress.py: a bar on a terminal, one line per stage in a pipe, nothing when asked.

pytest's captured stderr is not a terminal, so progress=None behaves as in a pipe."""

import re

import pytest

from rdia import progress


def test_a_stage_is_one_line_in_a_pipe_and_silent_when_asked(capsys):
    seconds, _ = progress.stage_done("fit", 0.0)
    assert capsys.readouterr().err == f"fit: {seconds:.1f} s\n"
    progress.stage_done("fit", 0.0, progress=False)
    assert capsys.readouterr().err == ""


def test_steps_in_a_pipe_are_a_line_each_with_the_postfix(capsys):
    bar = progress.steps(["full", "rdia"], "refit", "method")
    for method in bar:
        bar.set_postfix(rows=len(method))
    lines = capsys.readouterr().err.splitlines()
    assert [re.sub(r"\d+\.\d s", "T s", line) for line in lines] == \
        ["refit full: T s, rows 4", "refit rdia: T s, rows 4"]


@pytest.mark.parametrize("shown", [True, None, False])
def test_counted_gives_every_item_and_counts_them_on_a_bar_only(capsys, shown):
    """A bar counting the steps where bars are shown; nothing in a pipe, where the
    caller's stage line says when the stage ends."""
    items = list(progress.counted(iter("abc"), "alpha auto: rounds", "round", shown,
                                  mininterval=0))
    assert items == ["a", "b", "c"]
    err = capsys.readouterr().err
    assert ("alpha auto: rounds: 3round" in err) == (shown is True)
    assert (err == "") == (shown is not True)


def test_counted_clears_its_bar_when_the_caller_stops_early(capsys):
    counting = progress.counted(iter(range(10)), "rounds", "round", True, mininterval=0)
    assert next(counting) == 0 and next(counting) == 1
    counting.close()
    err = capsys.readouterr().err
    assert "rounds: 1round" in err and "rounds: 2round" not in err
    assert err.endswith("\r")  # the bar cleared: nothing left on the line
