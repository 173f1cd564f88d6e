"""cli.py: one-line argument errors and help texts that state each default once."""

import pytest

from experiments.cli import DefaultsFormatter, OneLineParser


def build():
    parser = OneLineParser(prog="tool", formatter_class=DefaultsFormatter)
    parser.add_argument("--rate", type=float, default=0.5, help="a rate")
    parser.add_argument("--tau", type=float, default=None, help="tau (default: the rate)")
    parser.add_argument("--out", default=None, help="output path")
    parser.add_argument("--quiet", action="store_true", help="say less")
    return parser


def test_help_states_each_default_once():
    text = " ".join(build().format_help().split())
    assert "a rate (default: 0.5)" in text
    assert text.count("default") == 2
    assert "(default: None)" not in text and "(default: False)" not in text


@pytest.mark.parametrize("argv", [["--rate", "x"], ["--bogus"]])
def test_bad_flag_exits_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build().parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("tool: error: ") and err.count("\n") == 1
