"""Your own data: CSV, Parquet and LIBSVM files read, checked and encoded for RDIA.

A run on your own data has a noisy training file, a trusted (clean) validation file
and, optionally, a test file. This module turns them into the arrays the models fit:

- :func:`file_kind` tells the format from the file name: CSV (``.csv``, also
  ``.csv.gz``, ``.csv.bz2``, ``.csv.xz``, ``.csv.zip``), Parquet (``.parquet``,
  ``.pq``); any other name is read as LIBSVM, as ``RDIA.py --dataset PATH`` reads it.
- :func:`read_table` reads a CSV or Parquet file with pandas;
  :func:`labeled_columns` takes the label column and the feature columns from it.
- :func:`align_columns` checks a validation or test table against the training one:
  the same feature columns, and a column that is numeric in training holds numbers
  everywhere. :func:`check_complete` finds the first missing or infinite value.
- :func:`make_encoder` builds the scikit-learn ``ColumnTransformer`` that standardises
  the numeric columns and one-hot encodes the categorical ones; it is fitted on the
  training table only.
- :func:`encode_labels` maps labels of any type (strings, {-1, +1}, {2, 4}) to class
  indices with ``LabelEncoder``, and checks the other files' labels against them.
- :func:`load_tables` does all of this for the files of one run.

Every problem raises :class:`TableError`, one line that names the file, the column
and the row (rows are counted from 1, the header not counted). It is a
``data.DataError``, which the scripts print in one line before exiting with status 2,
and a ``ValueError``, which Python callers expect.
"""

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import scipy.sparse as sp

from .datasets import drop_zero_columns
from .errors import DataError, printable
from .libsvm import read_libsvm
from .paths import PARQUET_SUFFIXES

#: Name endings of CSV files (pandas decompresses the compressed ones).
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip")


#: Distinct values quoted in a message.
SHOWN_VALUES = 5


#: Largest magnitude of a feature value: the squares that scaling and the fit sum must
#: stay finite (float64 overflows above about 1.8e308, so squares above 1e154).
MAX_MAGNITUDE = 1e150

#: Fewest rows for a column of distinct integers or strings to look like an id.
ID_MIN_ROWS = 10


class DataWarning(UserWarning):
    """A column that is probably not a feature; the message is one line."""


class TableError(DataError, ValueError):
    """A problem with a data file or array that the user can fix; one line."""


def file_kind(path):
    """The format of a data file, from its name.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    kind : {"csv", "parquet", "libsvm"}
        "libsvm" for every name that is neither CSV nor Parquet.
    """
    name = Path(path).name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return "libsvm"


def check_not_folder(path, flag):
    """TableError when the data file ``path`` given by ``flag`` is a folder."""
    if path is not None and Path(path).is_dir():
        raise TableError(f"{flag} {path} is a folder, not a file; give the path of the "
                         f"CSV, Parquet or LIBSVM file")


def read_table(path):
    """Read a CSV or Parquet file into a DataFrame, in file order.

    Parameters
    ----------
    path : str or path-like
        A file whose :func:`file_kind` is "csv" or "parquet".

    Returns
    -------
    frame : pandas.DataFrame of shape (n_rows, n_columns)
        Columns as pandas infers their types; a RangeIndex (a pandas index stored in a
        Parquet file becomes a column).

    Raises
    ------
    TableError
        The file is missing, empty, holds no rows, is not valid CSV (a row with more
        fields than the header included) or not a readable Parquet file.
    """
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        raise TableError(f"{path}: a folder, not a file; give the path of a data file")
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    kind = file_kind(path)
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                frame = pd.read_csv(path, index_col=False, low_memory=False)
                header = pd.read_csv(path, header=None, nrows=1, dtype=str,
                                     keep_default_na=False).iloc[0]
    except pd.errors.EmptyDataError:
        raise TableError(f"{path}: the file is empty") from None
    except pd.errors.ParserWarning:
        raise TableError(f"{path}: a row has more fields than the header; check the "
                         f"separators and quotes") from None
    except UnicodeDecodeError as exc:
        raise TableError(f"{path}: not UTF-8 text ({_one_line(exc)})") from None
    except (ValueError, OSError) as exc:
        what = "Parquet" if kind == "parquet" else "CSV"
        raise TableError(f"{path}: cannot read it as {what} ({_one_line(exc)})") from None
    if kind == "csv":
        check_unique_header(header, path)
    if frame.index.name is not None or not frame.index.equals(pd.RangeIndex(len(frame))):
        frame = frame.reset_index()
    if len(frame) == 0:
        raise TableError(f"{path}: the file has no rows"
                         + (" below its header" if len(frame.columns) else ""))
    frame.columns = [str(name) for name in frame.columns]
    return frame.reset_index(drop=True)


def check_unique_header(names, source):
    """TableError naming the first column name that appears twice in a header.

    pandas would rename the second one ("f1.1"), silently changing the columns.
    """
    seen = set()
    for name in names:
        if name in seen:
            raise TableError(f"{source}: the column name {name!r} appears twice in the "
                             f"header; give every column its own name")
        seen.add(name)


def warn_unlikely_features(features, numeric, source):
    """Warn, one line per column, about feature columns that are probably not features.

    A column with a single value (constant) carries no information; a column of
    integers or strings with a different value in every row looks like an id, which a
    model fits to (it tells the rows apart, not the classes).

    Parameters
    ----------
    features : pandas.DataFrame of shape (n_rows, n_features)
    numeric : sequence of str
        The numeric columns.
    source : str
        File name quoted in messages.
    """
    import pandas as pd

    n_rows = len(features)
    for name in features.columns:
        column = features[name]
        distinct = column.nunique(dropna=True)
        if distinct <= 1:
            why = "has one value in every row (constant)"
        elif (distinct == n_rows >= ID_MIN_ROWS
              and (name not in numeric or pd.api.types.is_integer_dtype(column))):
            why = "has a different value in every row (an id?)"
        else:
            continue
        warnings.warn(DataWarning(f"{source}: column {name!r} {why} and is used as a "
                                  f"feature; leave it out with --drop-columns {name}"),
                      stacklevel=2)


def labeled_columns(frame, label_column, drop_columns, source, required_drops=True):
    """Split a table into its labels and its feature columns.

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_rows, n_columns)
    label_column : str
        Name of the label column.
    drop_columns : sequence of str
        Columns that are neither label nor feature (ids, free text).
    source : str
        File name quoted in messages.
    required_drops : bool, default=True
        Whether every column of ``drop_columns`` must be present (the training file);
        elsewhere absent ones are skipped.

    Returns
    -------
    labels : pandas.Series of shape (n_rows,)
        The label column as read.
    features : pandas.DataFrame of shape (n_rows, n_features)
        The other columns, in file order.

    Raises
    ------
    TableError
        The label column or a column to drop is missing, the label column is also
        to be dropped, or no feature column is left.
    """
    if label_column not in frame.columns:
        raise TableError(f"{source}: no label column {label_column!r}; its columns are "
                         f"{_quoted(frame.columns)}")
    if label_column in drop_columns:
        raise TableError(f"--drop-columns names the label column {label_column!r}")
    absent = [name for name in drop_columns if name not in frame.columns]
    if absent and required_drops:
        raise TableError(f"{source}: no column {absent[0]!r} to drop; its columns are "
                         f"{_quoted(frame.columns)}")
    dropped = [label_column] + [name for name in drop_columns if name in frame.columns]
    features = frame.drop(columns=dropped)
    if features.shape[1] == 0:
        raise TableError(f"{source}: no feature column is left besides the label "
                         f"column {label_column!r}")
    return frame[label_column], features


def numeric_columns(features):
    """Names of the numeric feature columns (booleans count as categorical)."""
    import pandas as pd

    return [name for name in features.columns
            if pd.api.types.is_numeric_dtype(features[name])
            and not pd.api.types.is_bool_dtype(features[name])]


def as_categories(column):
    """A column as text categories: object dtype, each value its str, missing kept NaN.

    A whole float is written as an integer (2.0 -> "2"), so that a column read as
    integers in one file and as floats in another (a missing value makes pandas read
    floats) gives the same categories.
    """
    values = column.astype(object)
    present = column.notna()
    values[present] = [_category(value) for value in values[present]]
    values[~present] = np.nan
    return values


def _category(value):
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def align_columns(features, train_features, numeric, source, train_source):
    """A validation or test table's features, checked against the training table's.

    Parameters
    ----------
    features : pandas.DataFrame of shape (n_rows, n_features)
        Feature columns of the validation or test file.
    train_features : pandas.DataFrame of shape (n_train, n_features)
        Feature columns of the training file.
    numeric : sequence of str
        The training file's numeric columns (:func:`numeric_columns`).
    source, train_source : str
        File names quoted in messages.

    Returns
    -------
    aligned : pandas.DataFrame of shape (n_rows, n_features)
        The columns in the training file's order; numeric columns as float64,
        the others as text categories (:func:`as_categories`).

    Raises
    ------
    TableError
        A training column is missing, a column is not in the training file, or a
        column numeric in training holds a value that is not a number (the message
        names the column, the row and the value).
    """
    import pandas as pd

    missing = [name for name in train_features.columns if name not in features.columns]
    if missing:
        raise TableError(f"{source}: column {missing[0]!r} of the training file "
                         f"{train_source} is missing")
    extra = [name for name in features.columns if name not in train_features.columns]
    if extra:
        raise TableError(f"{source}: column {extra[0]!r} is not in the training file "
                         f"{train_source}; remove it or name it in --drop-columns")
    aligned = {}
    for name in train_features.columns:
        column = features[name]
        if name in numeric:
            numbers = pd.to_numeric(column, errors="coerce")
            bad = np.flatnonzero(numbers.isna().to_numpy() & column.notna().to_numpy())
            if bad.size:
                raise TableError(
                    f"{source}: column {name!r} is numeric in the training file "
                    f"{train_source} but row {bad[0] + 1} holds "
                    f"'{printable(str(column.iloc[bad[0]]))}'")
            aligned[name] = numbers.astype(np.float64)
        else:
            aligned[name] = as_categories(column)
    return pd.DataFrame(aligned, index=features.index)


def training_columns(features, numeric):
    """The training table's features: numeric columns as float64, the others as text."""
    import pandas as pd

    return pd.DataFrame({name: (features[name].astype(np.float64) if name in numeric
                                else as_categories(features[name]))
                         for name in features.columns}, index=features.index)


def check_complete(features, numeric, source, impute=False):
    """Raise for the first missing value (unless imputed) or infinite number.

    Parameters
    ----------
    features : pandas.DataFrame of shape (n_rows, n_features)
    numeric : sequence of str
        The numeric columns, where infinities are looked for.
    source : str
        File name quoted in messages.
    impute : bool, default=False
        Missing values will be imputed: only infinities are refused.

    Raises
    ------
    TableError
        Naming the column and the row (counted from 1) of the first bad value, in
        row order: missing, infinite, or of a magnitude above MAX_MAGNITUDE, whose
        square overflows the scaling and the fit.
    """
    missing = features.isna().to_numpy()
    too_large = np.zeros_like(missing)
    columns = list(features.columns)
    for j, name in enumerate(columns):
        if name in numeric:
            values = np.abs(features[name].to_numpy(dtype=np.float64))
            too_large[:, j] = values > MAX_MAGNITUDE
    bad = too_large | (missing if not impute else np.zeros_like(missing))
    rows = np.flatnonzero(bad.any(axis=1))
    if rows.size == 0:
        return
    row = rows[0]
    column = columns[int(np.argmax(bad[row]))]
    if too_large[row, columns.index(column)]:
        value = features[column].iloc[row]
        if np.isinf(value):
            raise TableError(f"{source}: column {column!r} has an infinite value in row "
                             f"{row + 1}; replace it with a finite number")
        raise TableError(f"{source}: column {column!r} has the value {value:g} in row "
                         f"{row + 1}, too large to fit (above {MAX_MAGNITUDE:g}); rescale "
                         f"the column or replace the value")
    raise TableError(f"{source}: column {column!r} has a missing value in row {row + 1}; "
                     f"fill it, or pass --impute to fill missing values with the "
                     f"training file's median (numbers) or most frequent value")


def make_encoder(numeric, categorical, impute=False):
    """The feature encoder of a table: standardised numbers and one-hot categories.

    Parameters
    ----------
    numeric : sequence of str
        Columns standardised to mean 0 and variance 1 (``StandardScaler``).
    categorical : sequence of str
        Columns one-hot encoded (``OneHotEncoder``); a category that the training
        table lacks encodes as all zeros.
    impute : bool, default=False
        Fill missing values first: the median of a numeric column, the most frequent
        value of a categorical one (``SimpleImputer``).

    Returns
    -------
    encoder : sklearn.compose.ColumnTransformer
        Unfitted. Fit it on the training table only; its output is a float64 array,
        or a CSR matrix when the one-hot columns make it mostly zeros.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = [StandardScaler()]
    categories = [OneHotEncoder(handle_unknown="ignore")]
    if impute:
        numbers.insert(0, SimpleImputer(strategy="median"))
        categories.insert(0, SimpleImputer(strategy="most_frequent"))
    return ColumnTransformer([("numeric", make_pipeline(*numbers), list(numeric)),
                              ("categorical", make_pipeline(*categories),
                               list(categorical))])


def as_model_input(X):
    """An encoder's output as the models take it: float64 ndarray or CSR matrix."""
    if sp.issparse(X):
        return sp.csr_matrix(X, dtype=np.float64)
    return np.asarray(X, dtype=np.float64)


def encode_labels(labels, source="y", others=()):
    """Class indices of labels of any type, and of other labels in the same classes.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Training labels: strings, integers ({0, 1}, {-1, +1}, {2, 4}, ...), floats or
        booleans.
    source : str, default="y"
        Where they come from, quoted in messages (a file name, or "y").
    others : sequence of (array-like, str)
        Labels of other sets (validation, test) and their sources.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        The distinct training labels in sorted order, in their original type;
        ``classes[k]`` is the label of class k.
    y : ndarray of shape (n_samples,), int64
        Class indices of ``labels``.
    encoded : list of ndarray of int64
        Class indices of each of ``others``.

    Raises
    ------
    TableError
        A missing label, labels that mix types that cannot be ordered, a single
        class, or a label of ``others`` that the training labels lack (named with
        its row, counted from 1).
    """
    from sklearn.preprocessing import LabelEncoder

    labels = _label_array(labels, source)
    encoder = LabelEncoder()
    try:
        y = encoder.fit_transform(labels)
    except TypeError:
        raise TableError(f"{source}: the labels mix types that cannot be ordered "
                         f"({_quoted(sorted({type(v).__name__ for v in labels}))}); "
                         f"give every label the same type") from None
    classes = encoder.classes_
    if len(classes) < 2:
        raise TableError(f"{source}: every label is {_label_text(classes[0])}; a "
                         f"classification needs at least 2 classes")
    encoded = []
    for other, other_source in others:
        other = _label_array(other, other_source)
        known = np.isin(other, classes)
        if not known.all():
            row = int(np.argmin(known))
            raise TableError(f"{other_source}: label {_label_text(other[row])} (row "
                             f"{row + 1}) does not occur in the training labels "
                             f"{source} ({_quoted(map(_label_text, classes))})")
        encoded.append(encoder.transform(other).astype(np.int64))
    return classes, y.astype(np.int64), encoded


def check_labels(labels, source="y"):
    """Labels as a 1-D ndarray, checked for what no classifier can take.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
    source : str, default="y"
        Where they come from, quoted in messages.

    Returns
    -------
    labels : ndarray of shape (n_samples,)

    Raises
    ------
    TableError
        A missing label (None, NaN), named with its row counted from 1, or labels
        that mix text and numbers.
    """
    values = _label_array(labels, source)
    if values.dtype == object:
        kinds = {"text" if isinstance(v, (str, bytes)) else "number" for v in values}
        if len(kinds) > 1:
            types = sorted({type(v).__name__ for v in values})
            raise TableError(f"{source}: the labels mix text and numbers "
                             f"({_quoted(types)}); give every label the same type")
    return values


def _label_array(labels, source):
    """Labels as a 1-D ndarray; raise TableError for a missing one."""
    import pandas as pd

    values = np.asarray(labels)
    if values.ndim != 1:
        raise TableError(f"{source}: labels must be one per sample, shape (n,), got "
                         f"shape {values.shape}")
    missing = np.asarray(pd.isna(values), dtype=bool)
    if missing.any():
        raise TableError(f"{source}: label missing in row {int(np.argmax(missing)) + 1}; "
                         f"every training, validation and test row needs a label")
    if values.dtype.kind in "fc" and np.all(values == np.round(values)):
        values = values.astype(np.int64)
    return values


def _label_text(value):
    """A label as a message quotes it: numbers as they are, text in quotes."""
    if isinstance(value, str):
        return f"'{printable(value)}'"
    return printable(str(value.item() if hasattr(value, "item") else value))


def _quoted(names):
    """Up to SHOWN_VALUES names, comma-separated, "..." for the rest."""
    names = [str(name) for name in names]
    shown = ", ".join(names[:SHOWN_VALUES])
    return shown + (", ..." if len(names) > SHOWN_VALUES else "")


def _one_line(exc):
    """An exception's message on one line, escaped and bounded."""
    return printable(" ".join(str(exc).split()) or type(exc).__name__)


# ---------------------------------------------------------------------------
# The files of one run


@dataclass
class OwnData:
    """The encoded files of one run on your own data.

    Attributes
    ----------
    X_train : ndarray or CSR matrix of shape (n_train, n_features)
        Encoded training features, float64.
    y_train : ndarray of shape (n_train,), int64
        Class indices of the (noisy) training labels.
    X_val, y_val
        The trusted validation set, encoded alike.
    X_test, y_test
        The test set, or None.
    classes : ndarray of shape (n_classes,)
        The original labels; ``classes[k]`` is class k.
    train_frame : pandas.DataFrame or None
        The training table as read (every column, file order), for the output;
        None for LIBSVM files.
    train_labels : ndarray of shape (n_train,)
        The training labels as read.
    kind : {"table", "libsvm"}
    n_numeric, n_categorical : int
        Numeric and categorical feature columns of a table (0 for LIBSVM).
    n_dropped_features : int
        LIBSVM columns that are zero in every file, left out (0 for tables).
    """

    X_train: object
    y_train: np.ndarray
    X_val: object
    y_val: np.ndarray
    X_test: object
    y_test: Optional[np.ndarray]
    classes: np.ndarray
    train_frame: object
    train_labels: np.ndarray
    kind: str
    n_numeric: int = 0
    n_categorical: int = 0
    n_dropped_features: int = 0

    @property
    def n_features(self):
        """Width of the encoded features."""
        return self.X_train.shape[1]


def load_tables(train, val, test=None, label_column=None, drop_columns=(),
                impute=False):
    """Read, check and encode the training, validation and test files of a run.

    Parameters
    ----------
    train, val : str or path-like
        The noisy training file and the trusted validation file.
    test : str or path-like, optional
        A test file, scored only.
    label_column : str, optional
        Name of the label column; required for CSV and Parquet files, not used for
        LIBSVM files (their first token is the label).
    drop_columns : sequence of str, default=()
        Table columns left out of the features (ids, free text).
    impute : bool, default=False
        Fill missing feature values with training medians / most frequent values
        instead of refusing them.

    Returns
    -------
    data : OwnData

    Raises
    ------
    TableError
        For any problem with the files (see :func:`read_table`,
        :func:`labeled_columns`, :func:`align_columns`, :func:`check_complete`,
        :func:`encode_labels`), or files of both kinds, tables and LIBSVM.
    """
    paths = [("training", train), ("validation", val)] + ([("test", test)] if test else [])
    kinds = {file_kind(path) == "libsvm" for _, path in paths}
    if len(kinds) > 1:
        raise TableError("the training, validation and test files must all be tables "
                         "(CSV, Parquet) or all LIBSVM files; got "
                         + ", ".join(f"{role} {Path(path).name} ({file_kind(path)})"
                                     for role, path in paths))
    if kinds == {True}:
        return _load_libsvm_files(train, val, test)
    if label_column is None:
        raise TableError("--label-column is required for CSV and Parquet files: name "
                         "the column that holds the labels")
    return _load_table_files(train, val, test, label_column, tuple(drop_columns), impute)


def _load_table_files(train, val, test, label_column, drop_columns, impute):
    frame = read_table(train)
    labels, raw_features = labeled_columns(frame, label_column, drop_columns, str(train))
    numeric = numeric_columns(raw_features)
    features = training_columns(raw_features, numeric)
    check_complete(features, numeric, str(train), impute)
    warn_unlikely_features(raw_features, numeric, str(train))
    others = []
    for path in (val, test):
        if path is None:
            continue
        other_labels, other_features = labeled_columns(
            read_table(path), label_column, drop_columns, str(path), required_drops=False)
        other_features = align_columns(other_features, raw_features, numeric, str(path),
                                       str(train))
        check_complete(other_features, numeric, str(path), impute)
        others.append((other_labels.to_numpy(), other_features, str(path)))
    classes, y, encoded = encode_labels(labels.to_numpy(), str(train),
                                        [(lab, path) for lab, _, path in others])
    categorical = [name for name in features.columns if name not in numeric]
    encoder = make_encoder(numeric, categorical, impute)
    X = as_model_input(encoder.fit_transform(features))
    Xs = [as_model_input(encoder.transform(other)) for _, other, _ in others]
    X_test, y_test = (Xs[1], encoded[1]) if len(others) > 1 else (None, None)
    return OwnData(X_train=X, y_train=y, X_val=Xs[0], y_val=encoded[0], X_test=X_test,
                   y_test=y_test, classes=classes, train_frame=frame,
                   train_labels=labels.to_numpy(), kind="table",
                   n_numeric=len(numeric), n_categorical=len(categorical))


def _load_libsvm_files(train, val, test):
    read = [read_libsvm(path) for path in (train, val, test) if path is not None]
    matrices, n_dropped = drop_zero_columns([X for X, _ in read], str(train))
    labels = [_integral(y) for _, y in read]
    sources = [str(path) for path in (train, val, test) if path is not None]
    classes, y, encoded = encode_labels(labels[0], sources[0],
                                        list(zip(labels[1:], sources[1:])))
    X_test, y_test = (matrices[2], encoded[1]) if test is not None else (None, None)
    return OwnData(X_train=matrices[0], y_train=y, X_val=matrices[1], y_val=encoded[0],
                   X_test=X_test, y_test=y_test, classes=classes, train_frame=None,
                   train_labels=labels[0], kind="libsvm", n_dropped_features=n_dropped)


def _integral(y):
    """LIBSVM labels (float64) as int64 when they are all whole numbers."""
    return y.astype(np.int64) if np.all(y == np.round(y)) else y
