"""Command-line helpers shared by RDIA.py, RDIA-LS.py and reproduce.py.

- :class:`ConfigError` is the one error type for a bad setting, raised by the typed
  configs of the engines and by the parsers; the scripts print it in one line and
  exit with status 2.
- :class:`OneLineParser` reports a bad flag in one line and accepts every long flag in
  both spellings, ``--noise-rate`` and ``--noise_rate``.
- :class:`DefaultsFormatter` states each default once in ``--help``.
- :func:`parse_seeds` reads ``--seeds``.
"""

import argparse
import sys


class ConfigError(ValueError):
    """A bad setting; the message is one line that says what to change."""


def _other_spelling(flag):
    """``--noise-rate`` <-> ``--noise_rate``; None for a flag with neither character."""
    body = flag[2:]
    if "-" in body:
        return "--" + body.replace("-", "_")
    if "_" in body:
        return "--" + body.replace("_", "-")
    return None


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line and exits with status 2.

    Every long flag is also accepted in its other spelling (hyphens for underscores
    and back), so the paper's commands (``--noise_rate``) and this project's style
    (``--noise-rate``) both work; ``--help`` lists the spelling the flag was declared
    with.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("epilog", "Every flag may be written with hyphens or "
                                    "underscores (--noise-rate or --noise_rate).")
        super().__init__(*args, **kwargs)
        self._spellings = {}

    def add_argument(self, *names, **kwargs):
        action = super().add_argument(*names, **kwargs)
        for name in names:
            other = name.startswith("--") and _other_spelling(name)
            if other:
                self._spellings[other] = name
        return action

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        return super().parse_known_args([self._canonical(a) for a in args], namespace)

    def _canonical(self, token):
        """The declared spelling of a flag token (``--flag`` or ``--flag=value``)."""
        if not token.startswith("--"):
            return token
        flag, sep, value = token.partition("=")
        return self._spellings.get(flag, flag) + sep + value

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Append "(default: X)" to a flag's help unless its help already says the default
    or there is none to say (None, False)."""

    def _get_help_string(self, action):
        # "is": a default of 0 or 0.0 equals False but is worth stating.
        if "default" in (action.help or "") or action.default is None \
                or action.default is False:
            return action.help
        return super()._get_help_string(action)


def parse_seeds(text):
    """Seeds from ``--seeds``: a count N gives 0 .. N-1, a comma list gives itself.

    ``"5"`` -> [0, 1, 2, 3, 4]; ``"0,3,7"`` -> [0, 3, 7]; ``"4,"`` -> [4].

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else (argparse turns it into a one-line error).
    """
    parts = [p for p in text.split(",") if p.strip()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes a count or a comma list, got {text!r}")
    if len(values) == 1 and "," not in text:
        if values[0] < 1:
            raise argparse.ArgumentTypeError("--seeds must be at least 1")
        return list(range(values[0]))
    return values
