import numpy as np
import pytest

from rdia.data import DataError, binary_labels, encode_numeric_labels


@pytest.mark.parametrize("raw, expected, classes", [
    ([-1.0, 1.0, 1.0, -1.0], [0, 1, 1, 0], [-1, 1]),
    ([4.0, 2.0, 2.0], [1, 0, 0], [2, 4]),
    ([1, 0, 1], [1, 0, 1], [0, 1]),
])
def test_binary_labels_map_sorted_values_to_0_and_1(raw, expected, classes):
    y, found = binary_labels(np.array(raw), "test")
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(found, classes)


@pytest.mark.parametrize("raw, count", [([1.0, 2.0, 3.0, 1.0], "3 distinct"),
                                        ([5.0, 5.0], "1 distinct")])
def test_binary_labels_reject_other_than_two_values(raw, count):
    with pytest.raises(DataError, match=f"somefile: found {count} label.*exactly 2"):
        binary_labels(np.array(raw), "somefile")


def test_encode_labels_round_trips_multiclass():
    raw = np.array([10.0, 3.0, 7.0, 3.0, 10.0])
    y, classes = encode_numeric_labels(raw)
    np.testing.assert_array_equal(y, [2, 0, 1, 0, 2])
    np.testing.assert_array_equal(classes[y], raw)


@pytest.mark.parametrize("raw", [[1.0, np.nan], [], [[1, 2], [1, 2]]])
def test_encode_labels_reject_non_finite_or_misshapen(raw):
    with pytest.raises(DataError):
        encode_numeric_labels(np.array(raw))
