"""settings.py: one range and one check per shared setting, named as the caller spells it."""

import math

import numpy as np
import pytest

from rdia import settings
from rdia.settings import ConfigError


@pytest.mark.parametrize("check, good, bad", [
    (settings.check_C, [1e-8, 0.1, 1e8, np.float32(2.0)], [0, 1e-9, 1e9, math.nan, True, "1"]),
    (settings.check_alpha, [0, 0.0002, 10], [-1e-12, math.inf, math.nan, None, "auto"]),
    (settings.check_fraction, [1e-12, 0.5], [0, 1, -1, math.nan]),
    (settings.check_count, [1, np.int64(5)], [0, -1, 1.5, True]),
    (settings.check_seed, [0, 2 ** 32 - 1], [-1, 2 ** 32, 1.0, False]),
])
def test_each_check_takes_its_range_and_names_the_setting(check, good, bad):
    for value in good:
        check(value)
    for value in bad:
        with pytest.raises(ConfigError, match="^the_name ") as caught:
            check(value, "the_name")
        assert "\n" not in str(caught.value)


def test_alpha_auto_only_where_offered():
    settings.check_alpha("auto", auto=True)
    with pytest.raises(ConfigError, match="or 'auto'"):
        settings.check_alpha(-1.0, auto=True)


def test_a_config_error_is_a_value_error_for_python_callers():
    with pytest.raises(ValueError, match="^model must be one of logreg, softmax"):
        settings.check_choice("svm", settings.MODELS, "model")
