"""The settings every entry point shares, with their ranges and one check each.

The command lines (``RDIA.py``, ``RDIA-LS.py``, ``reproduce.py``), the engines and the
Python API (``estimator.py``) check C, alpha, tol, max_iter, the seed and the choices
of model and solver here, so a range is written once. Every check raises
:class:`ConfigError`, a ValueError whose message is one line that names the setting as
the caller spells it (``--max-iter`` on a command line, ``max_iter`` in Python).
"""

import math

import numpy as np

#: Range of C where the fit is well posed in double precision: at C = 1e-300 the
#: gradient underflows and liblinear never meets its stopping test; at 1e300 the loss
#: overflows. Large C (weak regularisation) is slow on nearly separable data.
C_RANGE = (1e-8, 1e8)

#: The linear models: binary logistic regression and K-class softmax regression.
MODELS = ("logreg", "softmax")

#: Seeds are integers in [0, 2^32), what numpy's SeedSequence takes from every script.
SEED_LIMIT = 2 ** 32


class ConfigError(ValueError):
    """A bad setting; the message is one line that says what to change."""


def is_finite_number(value):
    """True for a finite int or float (numpy's too), False for bool, NaN, inf, text."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool) and math.isfinite(value))


def check_C(C, name="--C"):
    if not is_finite_number(C) or not C_RANGE[0] <= C <= C_RANGE[1]:
        raise ConfigError(f"{name} must be in [{C_RANGE[0]:g}, {C_RANGE[1]:g}], got "
                          f"{C!r}: outside it the fit under- or overflows in double "
                          f"precision")


def check_alpha(alpha, name="--alpha", auto=False):
    """alpha >= 0, finite, in units of C x summed validation loss; or "auto" if allowed."""
    if auto and alpha == "auto":
        return
    if not is_finite_number(alpha) or alpha < 0:
        either = " or 'auto'" if auto else ""
        raise ConfigError(f"{name} must be a finite number >= 0{either} (units of C x "
                          f"summed validation log-loss), got {alpha!r}")


def check_fraction(value, name="--tol"):
    """A tolerance or a share of rows: a number in (0, 1)."""
    if not is_finite_number(value) or not 0 < value < 1:
        raise ConfigError(f"{name} must be in (0, 1), got {value!r}")


def check_count(count, name="--max-iter"):
    """An iteration limit or a number of workers: an integer >= 1."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {count!r}")


def check_seed(seed, name="--seed"):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"{name} must be an integer in [0, 2^32), got {seed!r}")


def check_choice(value, choices, name):
    """``value`` is one of ``choices``; else one line that lists them."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, "
                          f"got {value!r}")


def check_fit_settings(config):
    """C, tol, max_iter and seed of a command-line config (flags spelt as on the line)."""
    check_C(config.C)
    check_fraction(config.tol)
    check_count(config.max_iter)
    check_seed(config.seed)
