"""Mapping of raw labels to class indices."""

import numpy as np

from .errors import DataError

#: How many distinct labels an error message quotes.
SHOWN_LABELS = 5


def binary_labels(y_raw, source):
    """Map exactly two distinct label values to 0 and 1.

    The smaller value becomes 0 and the larger 1 (sorted unique values), so
    -1/+1 -> 0/1 and 2/4 -> 0/1.

    Parameters
    ----------
    y_raw : array-like of shape (n_samples,)
        Labels as read from the file.
    source : str
        Dataset name or file path, quoted in error messages.

    Returns
    -------
    y : ndarray of shape (n_samples,), int64
        Labels in {0, 1}.
    classes : ndarray of shape (2,)
        ``classes[k]`` is the raw value of class k.

    Raises
    ------
    DataError
        If there are not exactly two distinct labels.
    """
    y, classes = encode_numeric_labels(y_raw, source)
    if len(classes) != 2:
        shown = ", ".join(f"{c:g}" for c in classes[:SHOWN_LABELS])
        more = ", ..." if len(classes) > SHOWN_LABELS else ""
        raise DataError(f"{source}: found {len(classes)} distinct label(s) ({shown}{more}) "
                        f"but a binary dataset with exactly 2 labels is needed"
                        + ("; for K classes use softmax regression (RDIA.py --model "
                           "softmax)" if len(classes) > 2 else ""))
    return y, classes


def encode_numeric_labels(y_raw, source="labels"):
    """Map K distinct label values to 0 .. K-1 in sorted order.

    Parameters
    ----------
    y_raw : array-like of shape (n_samples,)
        Raw numeric labels.
    source : str, optional
        Dataset name or file path, quoted in error messages.

    Returns
    -------
    y : ndarray of shape (n_samples,), int64
        ``classes[y] == y_raw``.
    classes : ndarray of shape (K,)
        Sorted distinct raw values.

    Raises
    ------
    DataError
        If the labels are not finite numbers or there are none.
    """
    y_raw = np.asarray(y_raw)
    if y_raw.ndim != 1 or y_raw.size == 0:
        raise DataError(f"{source}: expected a non-empty 1-D label vector, "
                        f"got shape {y_raw.shape}")
    if not np.issubdtype(y_raw.dtype, np.number) or not np.isfinite(y_raw).all():
        raise DataError(f"{source}: labels must be finite numbers")
    classes, y = np.unique(y_raw, return_inverse=True)
    return y.astype(np.int64), classes
