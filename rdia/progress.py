"""Progress on stderr: a bar on a terminal, one line per stage in a pipe or a log.

A tqdm bar redraws itself with carriage returns, which a pipe (``| tee log``) shows as
nothing for minutes and a log file as one endless line. So, when stderr is not a
terminal, :func:`steps` and :func:`stage_done` print one line per finished stage with
its time instead ("fit: 2.1 s", "refit rdia: 0.4 s").

Every function takes ``progress``: None (the default) shows a bar on a terminal and
lines elsewhere, True a bar always, False nothing.
"""

import itertools
import sys
import time


def is_terminal(stream=None):
    """Whether ``stream`` (default: stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def prints_lines(progress=None):
    """Whether progress is shown as lines: ``progress`` None and stderr not a terminal."""
    return progress is None and not is_terminal()


def stage_done(name, start, progress=None):
    """A stage that began at ``start`` (``time.perf_counter()``) has ended: print "NAME:
    2.1 s" on stderr when progress is shown as lines; return (its seconds, the time)."""
    now = time.perf_counter()
    if prints_lines(progress):
        print(f"{name}: {now - start:.1f} s", file=sys.stderr, flush=True)
    return now - start, now


def steps(iterable, desc, unit, progress=None, **bar_options):
    """Iterate over ``iterable`` with a progress display.

    Parameters
    ----------
    iterable : iterable
    desc : str
        What the steps are ("refit", a run's name).
    unit : str
        One step ("method", "epoch").
    progress : bool or None, default=None
        None: a tqdm bar on a terminal, else one line per step, "DESC ITEM: 2.1 s"
        plus the postfix set during the step; True: a bar; False: nothing.
    **bar_options
        Passed to tqdm (``leave``, ``total``, ``file``).

    Returns
    -------
    steps : iterable
        With tqdm's ``set_postfix`` and ``close``.
    """
    if prints_lines(progress):
        return _Lines(iterable, desc)
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, unit=unit, disable=progress is False,
                file=bar_options.pop("file", sys.stderr), **bar_options)


class _Lines:
    """tqdm's interface for a pipe: one line per finished step, with its time."""

    def __init__(self, iterable, desc):
        self.iterable, self.desc, self.postfix = iterable, desc, ""

    def __iter__(self):
        for item in self.iterable:
            self.postfix = ""
            start = time.perf_counter()
            yield item
            print(f"{self.desc} {item}: {time.perf_counter() - start:.1f} s{self.postfix}",
                  file=sys.stderr, flush=True)

    def set_postfix(self, **values):
        self.postfix = "".join(f", {key} {value}" for key, value in values.items())

    def set_postfix_str(self, text):
        self.postfix = f", {text}"

    def close(self):
        pass


def counted(iterable, desc, unit, progress=None, **bar_options):
    """Iterate over ``iterable``, of unknown length, with a bar counting its steps on a
    terminal: a stage of many steps whose caller prints one line when it ends
    (:func:`stage_done`), so in a pipe nothing more is printed.

    ``progress`` and ``bar_options`` as for :func:`steps`, except that None shows
    nothing in a pipe. The bar is cleared when the steps end or the caller stops.
    """
    bar = steps(itertools.count(), desc, unit, False if prints_lines(progress) else progress,
                leave=False, **bar_options)
    try:
        for _, item in zip(bar, iterable):
            yield item
    finally:
        bar.close()
