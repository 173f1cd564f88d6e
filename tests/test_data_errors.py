import pytest

from rdia.data.errors import EXCERPT_CHARS, printable


@pytest.mark.parametrize("content, expected", [
    (b"+1 1:0.5", "+1 1:0.5"),
    (b"a\tb\r\nc\x00\x1b[31m", "a\\x09b\\x0d\\x0ac\\x00\\x1b[31m"),
    (b"caf\xc3\xa9 \xff\xfe", "caf\u00e9 \\xff\\xfe"),
    ("x\u2028y\U000e0001", "x\\u2028y\\U000e0001"),
])
def test_non_printable_characters_are_escaped(content, expected):
    assert printable(content, limit=None) == expected


def test_the_limit_never_cuts_an_escape():
    text = printable(b"ab" + b"\x07" * 100)
    assert text.endswith("...") and len(text) <= EXCERPT_CHARS + 3
    assert text[:-3].startswith("ab\\x07") and text[:-3].endswith("\\x07")
    assert printable(b"x" * EXCERPT_CHARS) == "x" * EXCERPT_CHARS
