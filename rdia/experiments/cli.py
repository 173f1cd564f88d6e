"""Command-line helpers shared by RDIA.py, RDIA-LS.py and reproduce.py.

- :class:`ConfigError` is the one error type for a bad setting, raised by the typed
  configs of the engines and by the parsers; the scripts print it in one line and
  exit with status 2.
- :class:`OneLineParser` reports a bad flag in one line and accepts every long flag in
  both spellings, ``--noise-rate`` and ``--noise_rate``; its ``--help`` states each
  default once (:class:`DefaultsFormatter`).
- :func:`parse_seeds` reads ``--seeds``.
- :func:`run_script` runs a script's main: known errors, a full disk, Ctrl-C, SIGTERM
  and a closed pipe each end in one line and an exit status, never a traceback; a
  warning is one line too.
"""

import argparse
import os
import signal
import sys
import warnings

from rdia.data.errors import printable as escape_unprintable
from rdia.settings import SEED_LIMIT, ConfigError, check_seed  # noqa: F401 (the scripts' names)


#: Exit statuses: bad input, Ctrl-C, SIGTERM and a closed pipe (128 + signal number).
EXIT_ERROR, EXIT_INTERRUPTED = 2, 128 + signal.SIGINT
EXIT_TERMINATED, EXIT_BROKEN_PIPE = 128 + signal.SIGTERM, 128 + signal.SIGPIPE


class Terminated(BaseException):
    """Raised by the SIGTERM handler of :func:`run_script`, like KeyboardInterrupt for
    SIGINT, so that ``finally`` blocks remove temporary files."""


def printable(text):
    """A message with every non-printable character escaped (``\\x1b``, ``\\x0a``), so
    that one quoting a binary file never drives the terminal; never shortened."""
    return escape_unprintable(str(text), limit=None)


def run_script(prog, main, errors=(ConfigError,)):
    """Run ``main()`` and turn every way it can fail into one line and a status.

    Parameters
    ----------
    prog : str
        Script name that starts each message ("RDIA.py").
    main : callable
        Returns the exit status.
    errors : tuple of exception types
        Errors whose message is for the user: printed as "PROG: error: MESSAGE".

    Returns
    -------
    status : int
        ``main``'s status; 2 for ``errors``, a failed file write (OSError) or lack of
        memory; 130 after Ctrl-C ("interrupted"), 143 after SIGTERM ("terminated"),
        141 when the reader of stdout went away (nothing printed).
    """
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(prog)
            return main()
    except errors as error:
        return _fail(prog, f"error: {error}", EXIT_ERROR)
    except MemoryError:
        return _fail(prog, "error: out of memory; use a smaller dataset or a machine "
                           "with more memory", EXIT_ERROR)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return _fail(prog, f"error: {where}{error.strerror or error}", EXIT_ERROR)
    except KeyboardInterrupt:
        return _fail(prog, "interrupted", EXIT_INTERRUPTED)
    except Terminated:
        return _fail(prog, "terminated", EXIT_TERMINATED)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _one_line_warning(prog):
    """A ``warnings.showwarning`` that prints "PROG: warning: MESSAGE" on stderr."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{prog}: warning: {printable(' '.join(str(message).split()))}",
              file=sys.stderr, flush=True)
    return show


def _raise_terminated(signum, frame):
    raise Terminated()


def _fail(prog, message, status):
    print(f"{prog}: {printable(message)}", file=sys.stderr)
    return status


def _silence_stdout():
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


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
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        self._spelling_note = "epilog" not in kwargs
        super().__init__(*args, **kwargs)
        self._spellings = {}

    def format_help(self):
        """The help, ending with a note on the two spellings that names one of this
        parser's own flags (none when no flag has a hyphen or an underscore)."""
        if self._spelling_note:
            declared = next(iter(self._spellings.values()), None)
            self.epilog = declared and (
                f"Every flag may be written with hyphens or underscores ({declared} or "
                f"{_other_spelling(declared)}).")
        return super().format_help()

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
        self.exit(EXIT_ERROR, f"{self.prog}: error: {printable(message)}\n")


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Append "(default: X)" to a flag's help unless its help already says the default
    or there is none to say (None, False, or a switch that takes no value)."""

    def _get_help_string(self, action):
        # "is": a default of 0 or 0.0 equals False but is worth stating.
        if "default" in (action.help or "") or action.default is None \
                or action.default is False or action.nargs == 0:
            return action.help
        return super()._get_help_string(action)


def parse_seeds(text):
    """Seeds from ``--seeds``: a count N gives 0 .. N-1, a comma list gives itself.

    ``"5"`` -> [0, 1, 2, 3, 4]; ``"0,3,7"`` -> [0, 3, 7]; ``"4,"`` -> [4]. Seeds are
    distinct integers in [0, 2^32).

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else (argparse turns it into a one-line error).
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"takes a count or a comma list of integers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"names no seed in {text!r}")
    if len(values) == 1 and "," not in text:
        if not 1 <= values[0] <= 1000:
            raise argparse.ArgumentTypeError(
                f"a count of seeds must be in [1, 1000], got {values[0]}")
        return list(range(values[0]))
    bad = [v for v in values if not 0 <= v < SEED_LIMIT]
    if bad:
        raise argparse.ArgumentTypeError(f"seeds must be integers in [0, 2^32), got {bad[0]}")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(
            f"seeds must be distinct; {', '.join(map(str, repeated))} is repeated")
    return values

