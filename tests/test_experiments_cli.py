"""experiments/cli.py: one-line errors, both flag spellings, defaults stated once, seeds."""

import argparse
import pkgutil
import re
from importlib import import_module
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

import pytest

from rdia.experiments.cli import (ConfigError, DefaultsFormatter, OneLineParser, Terminated,
                             check_seed, parse_seeds, printable, run_script)


def build():
    parser = OneLineParser(prog="tool", formatter_class=DefaultsFormatter)
    parser.add_argument("--rate", type=float, default=0.5, help="a rate")
    parser.add_argument("--tau", type=float, default=None, help="tau (default: the rate)")
    parser.add_argument("--out", default=None, help="output path")
    parser.add_argument("--quiet", action="store_true", help="say less")
    parser.add_argument("--noise-rate", type=float, default=0.0, help="r")
    parser.add_argument("--result_dir", default="runs", help="folder")
    return parser


def test_help_states_each_default_once():
    text = " ".join(build().format_help().split())
    assert "a rate (default: 0.5)" in text
    assert text.count("(default") == 4
    assert "(default: None)" not in text and "(default: False)" not in text


@pytest.mark.parametrize("argv", [["--rate", "x"], ["--bogus"]])
def test_bad_flag_exits_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build().parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("tool: error: ") and err.count("\n") == 1


@pytest.mark.parametrize("argv", [
    ["--noise-rate", "0.3", "--result_dir", "a"], ["--noise_rate", "0.3", "--result-dir", "a"],
    ["--noise_rate=0.3", "--result-dir=a"],
])
def test_every_flag_is_accepted_with_hyphens_or_underscores(argv):
    args = build().parse_args(argv)
    assert args.noise_rate == 0.3 and args.result_dir == "a"


def test_help_lists_the_declared_spelling_once_and_says_both_work():
    text = build().format_help()
    assert "--noise-rate" in text and "--noise_rate" not in text.split("Every flag")[0]
    assert "hyphens or underscores" in text


def test_values_that_look_like_flags_are_left_alone():
    parser = OneLineParser(prog="tool")
    parser.add_argument("--name")
    assert parser.parse_args(["--name", "x_y-z"]).name == "x_y-z"


@pytest.mark.parametrize("text, seeds", [("5", [0, 1, 2, 3, 4]), ("1", [0]),
                                         ("0,3,7", [0, 3, 7]), ("4,", [4])])
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text, words", [(",", "no seed"), ("1,-2", "[0, 2^32)"),
                                         ("3," + "1" * 23, "[0, 2^32)"),
                                         (str(2 ** 32) + ",", "[0, 2^32)"),
                                         ("1,1", "distinct"), ("0", "[1, 1000]"),
                                         ("1.5,2", "integers")])
def test_parse_seeds_takes_distinct_integers_in_range(text, words):
    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(words)):
        parse_seeds(text)


@pytest.mark.parametrize("text, shown", [("a\x1b[31mb", "a\\x1b[31mb"),
                                         ("line\nbreak", "line\\x0abreak"),
                                         ("tab\there", "tab\\x09here"),
                                         ("plain é", "plain é")])
def test_printable_escapes_control_characters(text, shown):
    assert printable(text) == shown


@pytest.mark.parametrize("error, status, line", [
    (ConfigError("bad --alpha"), 2, "tool: error: bad --alpha"),
    (KeyboardInterrupt(), 130, "tool: interrupted"),
    (Terminated(), 143, "tool: terminated"),
    (OSError(28, "No space left on device", "/dev/full"), 2,
     "tool: error: /dev/full: No space left on device"),
    (MemoryError(), 2, "tool: error: out of memory"),
])
def test_run_script_turns_failures_into_one_line_and_a_status(error, status, line, capsys):
    def main():
        raise error

    assert run_script("tool", main) == status
    err = capsys.readouterr().err
    assert err.startswith(line) and err.count("\n") == 1


def test_run_script_lets_programming_errors_through():
    def main():
        raise ZeroDivisionError()

    with pytest.raises(ZeroDivisionError):
        run_script("tool", main)


@pytest.mark.parametrize("seed", [-1, 2 ** 32, 1.0, True])
def test_check_seed(seed):
    with pytest.raises(ConfigError, match="--seed"):
        check_seed(seed)


# ------------------------------------------------- --help of every script and benchmark

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("RDIA.py", "RDIA-LS.py", "reproduce.py")
BENCHMARKS = tuple(sorted(m.name for m in pkgutil.iter_modules([str(ROOT / "benchmarks")])
                          if hasattr(import_module(f"benchmarks.{m.name}"), "main")))


class Captured(BaseException):
    """Raised instead of parsing: carries the parser that main built."""

    def __init__(self, parser):
        super().__init__()
        self.parser = parser


def parser_of(name, monkeypatch):
    """The parser a script's or benchmark's main builds, caught before it parses."""
    if name.endswith(".py"):
        spec = spec_from_file_location(f"script_{name[:-3].replace('-', '_')}", ROOT / name)
        module = module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = import_module(f"benchmarks.{name}")

    def capture(parser, args=None, namespace=None):
        raise Captured(parser)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", capture)
    with pytest.raises(Captured) as caught:
        module.main([])
    return caught.value.parser


def parsers_within(parser, name):
    """(name, parser) of a parser and of each of its subcommands."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                yield from parsers_within(sub, f"{name} {command}")


def undocumented(parser):
    """Flags whose help is missing, or that take a value and state no default."""
    formatter = parser._get_formatter()
    bad = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) \
                or action.help == argparse.SUPPRESS:
            continue
        flag = "/".join(action.option_strings) or action.dest
        text = formatter._expand_help(action) if action.help else ""
        if not text.strip():
            bad.append(f"{flag}: no help")
        elif action.nargs != 0 and action.option_strings and "default" not in \
                (formatter._get_help_string(action) or ""):
            bad.append(f"{flag}: no default stated")
    return bad


@pytest.mark.parametrize("name", SCRIPTS + BENCHMARKS)
def test_every_flag_of_every_script_and_benchmark_has_help_and_a_default(name, monkeypatch):
    parsers = list(parsers_within(parser_of(name, monkeypatch), name))
    problems = [f"{where} {problem}" for where, parser in parsers
                for problem in undocumented(parser)]
    assert problems == []
    for where, parser in parsers:
        assert parser.description, where
        text = " ".join(parser.format_help().split())
        if "hyphens or underscores" in text:  # the example names one of its own flags
            example = re.search(r"\((--[\w-]+) or (--[\w-]+)\)", text).groups()
            assert example[0] in text.split("hyphens or underscores")[0], where
