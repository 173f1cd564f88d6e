"""data/tables.py: your own CSV, Parquet and LIBSVM files, read, checked and encoded."""

import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from builders import mixed_table, write_libsvm
from rdia.data.errors import DataError
from rdia.data.tables import (DataWarning, TableError, align_columns, check_complete,
                         encode_labels, file_kind, labeled_columns, load_tables,
                         make_encoder, numeric_columns, read_table,
                         warn_unlikely_features)


def write_pair(tmp_path, kind, train, val, test=None):
    """Write the tables as CSV or Parquet files; return their paths."""
    suffix = ".csv" if kind == "csv" else ".parquet"
    paths = []
    for name, frame in (("train", train), ("val", val), ("test", test)):
        if frame is None:
            continue
        path = tmp_path / f"{name}{suffix}"
        if kind == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        paths.append(path)
    return paths


@pytest.mark.parametrize("name, kind", [
    ("a.csv", "csv"), ("A.CSV", "csv"), ("a.csv.gz", "csv"), ("a.parquet", "parquet"),
    ("a.pq", "parquet"), ("a.svm", "libsvm"), ("breast-cancer_scale", "libsvm"),
    ("a.csv.txt", "libsvm"),
])
def test_file_kind_follows_the_name(name, kind):
    assert file_kind(name) == kind


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_csv_and_parquet_read_to_the_same_table(tmp_path, kind):
    frame = mixed_table(20)
    (path,) = write_pair(tmp_path, kind, frame, None)
    read = read_table(path)
    assert list(read.columns) == list(frame.columns)
    np.testing.assert_allclose(read["age"], frame["age"])
    assert read["color"].tolist() == frame["color"].tolist()
    assert read["label"].tolist() == frame["label"].tolist()


def test_a_stored_parquet_index_becomes_a_column(tmp_path):
    frame = mixed_table(10).set_index("id")
    frame.to_parquet(tmp_path / "t.parquet")
    read = read_table(tmp_path / "t.parquet")
    assert read.columns[0] == "id" and isinstance(read.index, pd.RangeIndex)


@pytest.mark.parametrize("content, words", [
    ("", "empty"),
    ("a,b,label\n", "no rows below its header"),
    ("a,b\n1,2,3\n4,5,6\n", "more fields than the header"),
    ("a,b\n1,2\n3,4,5\n", "cannot read it as CSV"),
])
def test_bad_csv_files_are_one_line_errors(tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(TableError, match=words) as error:
        read_table(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_an_unreadable_parquet_file_is_refused_by_name(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 this is not a parquet file \x00\x1b[31m")
    with pytest.raises(TableError, match="cannot read it as Parquet") as error:
        read_table(path)
    message = str(error.value)
    assert "bad.parquet" in message and "\n" not in message and "\x1b" not in message


def test_an_empty_parquet_file_is_refused(tmp_path):
    mixed_table(5).iloc[:0].to_parquet(tmp_path / "e.parquet")
    with pytest.raises(TableError, match="no rows"):
        read_table(tmp_path / "e.parquet")


def test_table_errors_are_data_errors_and_value_errors(tmp_path):
    with pytest.raises(DataError):
        read_table(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match="no such file"):
        read_table(tmp_path / "absent.csv")


def test_labeled_columns_drops_ids_and_names_a_missing_label_column():
    frame = mixed_table(8)
    labels, features = labeled_columns(frame, "label", ("id",), "t.csv")
    assert labels.tolist() == frame["label"].tolist()
    assert list(features.columns) == ["age", "dose", "color"]
    with pytest.raises(TableError, match=r"t.csv: no label column 'target'.*age"):
        labeled_columns(frame, "target", (), "t.csv")
    with pytest.raises(TableError, match="no column 'patient'"):
        labeled_columns(frame, "label", ("patient",), "t.csv")
    with pytest.raises(TableError, match="no feature column"):
        labeled_columns(frame[["id", "label"]], "label", ("id",), "t.csv")


def test_booleans_and_text_are_categorical_numbers_are_numeric():
    frame = mixed_table(8).assign(flag=True)
    assert numeric_columns(frame.drop(columns="label")) == ["id", "age", "dose"]


@pytest.mark.parametrize("change, words", [
    (lambda f: f.drop(columns="dose"), "column 'dose' of the training file t.csv is missing"),
    (lambda f: f.assign(extra=1.0), "column 'extra' is not in the training file"),
    (lambda f: f.assign(age=["n/a"] + f["age"].tolist()[1:]),
     "column 'age' is numeric in the training file t.csv but row 1 holds 'n/a'"),
])
def test_validation_columns_must_match_the_training_columns(change, words):
    train = mixed_table(8).drop(columns=["id", "label"])
    val = change(mixed_table(6, seed=1).drop(columns=["id", "label"]))
    with pytest.raises(TableError, match=re.escape(f"v.csv: {words}")):
        align_columns(val, train, numeric_columns(train), "v.csv", "t.csv")


def test_aligned_columns_follow_the_training_order_and_types():
    train = mixed_table(8).drop(columns=["id", "label"])
    val = mixed_table(6, seed=1).drop(columns=["id", "label"])[["color", "dose", "age"]]
    val["dose"] = val["dose"].astype(str)  # numbers read as text elsewhere still parse
    aligned = align_columns(val, train, numeric_columns(train), "v.csv", "t.csv")
    assert list(aligned.columns) == ["age", "dose", "color"]
    assert aligned["dose"].dtype == np.float64
    assert aligned["color"].tolist() == val["color"].tolist()


@pytest.mark.parametrize("impute", [False, True])
def test_the_first_missing_value_is_named_by_column_and_row(impute):
    features = mixed_table(8).drop(columns=["id", "label"])
    features.loc[5, "color"] = None
    features.loc[3, "age"] = np.nan
    if impute:
        check_complete(features, ["age", "dose"], "t.csv", impute=True)
        return
    with pytest.raises(TableError, match=r"t.csv: column 'age' has a missing value in "
                                         r"row 4; .*--impute"):
        check_complete(features, ["age", "dose"], "t.csv")


def test_infinities_are_refused_even_with_impute():
    features = mixed_table(8).drop(columns=["id", "label"])
    features.loc[6, "age"] = -np.inf
    with pytest.raises(TableError, match="column 'age' has an infinite value in row 7"):
        check_complete(features, ["age", "dose"], "t.csv", impute=True)


@pytest.mark.parametrize("values", [(0, 1), (-1, 1), (2, 4), ("benign", "malignant"),
                                    (False, True), (0.0, 1.0)])
def test_labels_of_any_type_become_the_same_class_indices(values):
    pattern = np.array([0, 1, 1, 0, 1])
    labels = np.asarray(values, dtype=object)[pattern]
    classes, y, (y_val,) = encode_labels(labels, "y", [(labels[::-1], "y_val")])
    np.testing.assert_array_equal(y, pattern)
    np.testing.assert_array_equal(y_val, pattern[::-1])
    # whole floats are integers (so that 1.0 in one file is 1 in another)
    assert classes.tolist() == [int(v) if isinstance(v, float) else v for v in values]


@pytest.mark.parametrize("labels, others, words", [
    (["a", "a", "a"], [], "every label is 'a'; a classification needs at least 2"),
    (["a", "b", "a"], [(["a", "c"], "v.csv")], "v.csv: label 'c' (row 2) does not occur "
                                               "in the training labels t.csv ('a', 'b')"),
    ([1, 2, 1], [([1, 3], "v.csv")], "v.csv: label 3 (row 2)"),
    (["a", None, "b"], [], "t.csv: label missing in row 2"),
    (np.array(["a", 1, 2.5], dtype=object), [], "mix types"),
])
def test_label_errors_name_the_file_the_label_and_the_row(labels, others, words):
    with pytest.raises(TableError, match=re.escape(words)):
        encode_labels(np.asarray(labels, dtype=object), "t.csv", others)


def test_the_encoder_is_fitted_on_the_training_table_only():
    train = mixed_table(40).drop(columns=["id", "label"])
    val = mixed_table(10, seed=1).drop(columns=["id", "label"])
    val.loc[0, "color"] = "purple"  # unseen in training: encodes as all zeros
    numeric = numeric_columns(train)
    encoder = make_encoder(numeric, ["color"]).fit(train)
    X_val = encoder.transform(align_columns(val, train, numeric, "v", "t"))
    mean, std = train["age"].mean(), train["age"].std(ddof=0)
    np.testing.assert_allclose(X_val[:, 0], (val["age"] - mean) / std)
    colors = sorted(train["color"].unique())  # one-hot columns in sorted order
    np.testing.assert_array_equal(X_val[0, 2:], 0.0)
    for i in range(1, 10):
        assert X_val[i, 2 + colors.index(val["color"][i])] == 1.0
        assert X_val[i, 2:].sum() == 1.0


def test_imputing_encoder_fills_with_training_medians_and_modes():
    train = pd.DataFrame({"x": [1.0, 2.0, 10.0, np.nan], "c": ["a", "b", "b", np.nan]},
                         dtype=object).astype({"x": float})
    encoder = make_encoder(["x"], ["c"], impute=True).fit(train)
    X = encoder.transform(pd.DataFrame({"x": [np.nan], "c": [np.nan]}, dtype=object)
                          .astype({"x": float}))
    x = np.array([1.0, 2.0, 10.0, 2.0])  # the median 2 filled in before scaling
    np.testing.assert_allclose(X[0, 0], (2.0 - x.mean()) / x.std())
    np.testing.assert_array_equal(X[0, 1:], [0.0, 1.0])  # most frequent: "b"


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_load_tables_encodes_train_val_and_test_alike(tmp_path, kind):
    frames = mixed_table(90), mixed_table(30, seed=1), mixed_table(20, seed=2)
    train, val, test = write_pair(tmp_path, kind, *frames)
    data = load_tables(train, val, test, label_column="label", drop_columns=("id",))
    assert data.kind == "table" and (data.n_numeric, data.n_categorical) == (2, 1)
    assert data.X_train.shape == (90, 5) and data.X_val.shape == (30, 5)
    assert data.X_test.shape == (20, 5)
    assert data.classes.tolist() == ["no", "yes"]
    np.testing.assert_array_equal(data.y_val, frames[1]["label"] == "yes")
    np.testing.assert_allclose(data.X_train[:, 0].mean(), 0.0, atol=1e-12)
    assert data.train_frame.shape == (90, 5)


def test_csv_and_parquet_files_give_the_same_arrays(tmp_path):
    frames = mixed_table(50), mixed_table(20, seed=1)
    csv = load_tables(*write_pair(tmp_path, "csv", *frames), label_column="label")
    parquet = load_tables(*write_pair(tmp_path, "parquet", *frames), label_column="label")
    np.testing.assert_allclose(csv.X_train, parquet.X_train, rtol=1e-12)
    np.testing.assert_allclose(csv.X_val, parquet.X_val, rtol=1e-12)
    np.testing.assert_array_equal(csv.y_train, parquet.y_train)


def test_libsvm_files_share_one_width_and_keep_their_labels(tmp_path):
    train = write_libsvm(tmp_path / "t.svm", [2, 4, 4, 2], [[(1, 1)], [(3, 2)], [(1, 3)],
                                                            [(5, 1)]])
    val = write_libsvm(tmp_path / "v.svm", [4, 2], [[(1, 1)], [(2, 1)]])
    data = load_tables(train, val)
    assert data.kind == "libsvm" and sp.issparse(data.X_train)
    assert data.X_train.shape[1] == data.X_val.shape[1] == 4  # column 4 is empty
    assert data.n_dropped_features == 1
    assert data.classes.tolist() == [2, 4] and data.train_labels.dtype == np.int64


@pytest.mark.parametrize("names, words", [
    (("t.csv", "v.svm"), "must all be tables"),
    (("t.csv", "v.csv"), "--label-column is required"),
])
def test_load_tables_refuses_mixed_kinds_and_a_missing_label_column(tmp_path, names, words):
    mixed_table(10).to_csv(tmp_path / "t.csv", index=False)
    mixed_table(10).to_csv(tmp_path / "v.csv", index=False)
    write_libsvm(tmp_path / "v.svm", [1, 0], [[(1, 1)], [(2, 1)]])
    with pytest.raises(TableError, match=words):
        load_tables(*(tmp_path / name for name in names))


def test_a_repeated_column_name_is_refused_naming_it(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,a,label\n1,2,3,x\n4,5,6,y\n")
    with pytest.raises(TableError, match="'a' appears twice"):
        read_table(path)


@pytest.mark.parametrize("value", [1e308, -1e200])
def test_a_value_that_overflows_the_fit_is_refused_with_column_and_row(value):
    table = mixed_table(n=20)
    table["dose"] = table["dose"].astype(np.float64)
    table.loc[6, "dose"] = value
    features = table.drop(columns=["label"])
    with pytest.raises(TableError, match=r"column 'dose' .* row 7, too large"):
        check_complete(features, numeric_columns(features), "t.csv")


def test_constant_and_id_columns_are_warned_about_one_by_one():
    table = mixed_table(n=20).drop(columns=["label"])
    table["site"] = "A"
    with pytest.warns(DataWarning) as caught:
        warn_unlikely_features(table, numeric_columns(table), "t.csv")
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert "'id'" in messages[0] and "--drop-columns id" in messages[0]
    assert "'site'" in messages[1] and "constant" in messages[1]
