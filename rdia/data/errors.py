"""The one exception type of the data package, and how its messages quote files."""

#: Longest excerpt of file content quoted in an error message, after escaping.
EXCERPT_CHARS = 60


class DataError(Exception):
    """A problem with the data that the user can fix.

    Raised for a missing file that cannot be downloaded, a corrupt or malformed
    file, labels that do not fit the experiment, an unknown dataset name or a bad
    noise setting. The message is one line that says what is wrong and what to do;
    the scripts print it and exit with status 2.
    """


def printable(content, limit=EXCERPT_CHARS):
    """File content made safe to quote on one line of a terminal.

    Parameters
    ----------
    content : bytes or str
        What the file holds. Bytes are decoded as UTF-8; a byte that is not valid
        UTF-8 becomes ``\\xNN``.
    limit : int or None, default EXCERPT_CHARS
        Longest result before ``...`` is appended; None for no limit. An escape
        sequence is never cut in two.

    Returns
    -------
    text : str
        Printable characters as they are; every other character (control
        characters, newlines, tabs, unassigned or separator code points) as
        ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``.
    """
    if isinstance(content, bytes):
        content = content.decode("utf-8", "backslashreplace")
    pieces, length = [], 0
    for char in content:
        piece = char if char.isprintable() else _escaped(char)
        if limit is not None and length + len(piece) > limit:
            pieces.append("...")
            break
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


def _escaped(char):
    """Python's escape of one character: \\xNN, \\uNNNN or \\UNNNNNNNN."""
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
