import bz2
import gzip

import numpy as np
import pytest
import scipy.sparse as sp

from data import DataError, read_libsvm

GOOD = """\
# a comment line
+1 1:0.5 3:-1 # trailing comment
-1 2:0.25

+1 qid:7 1:1e-3 4:2
"""


def test_reads_values_labels_and_width(tmp_path):
    path = tmp_path / "small"
    path.write_text(GOOD)
    X, y = read_libsvm(path)
    assert sp.issparse(X) and X.format == "csr" and X.dtype == np.float64
    np.testing.assert_array_equal(X.toarray(), [[0.5, 0, -1, 0],
                                                [0, 0.25, 0, 0],
                                                [1e-3, 0, 0, 2]])
    np.testing.assert_array_equal(y, [1, -1, 1])
    assert y.dtype == np.float64


def plain(content):
    return content


# The content decides, not the name: gzip and bzip2 with, without and with the wrong
# extension, and plain text named like a compressed file.
@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, plain])
@pytest.mark.parametrize("name", ["small.gz", "small.bz2", "small", "small.txt"])
def test_compression_is_recognised_by_content(tmp_path, compress, name):
    path = tmp_path / name
    path.write_bytes(compress(GOOD.encode()))
    X, y = read_libsvm(path)
    assert X.shape == (3, 4) and X[2, 3] == 2
    np.testing.assert_array_equal(y, [1, -1, 1])


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress])
def test_truncated_compressed_file_without_extension(tmp_path, compress):
    path = tmp_path / "small"
    path.write_bytes(compress(GOOD.encode() * 50)[:-30])
    with pytest.raises(DataError, match=f"^{path}: cannot read .*download it again$"):
        read_libsvm(path)


def test_n_features_widens_the_matrix(tmp_path):
    path = tmp_path / "small"
    path.write_text(GOOD)
    X, _ = read_libsvm(path, n_features=123)
    assert X.shape == (3, 123)
    assert X[2, 3] == 2 and X[:, 4:].nnz == 0


def test_multiclass_labels_are_returned_raw(tmp_path, write_libsvm):
    path = write_libsvm(tmp_path / "multi", ["3", "1", "2", "3"],
                        [{1: 1.0}, {2: 1.0}, {1: 2.0}, {2: 2.0}])
    _, y = read_libsvm(path)
    np.testing.assert_array_equal(y, [3, 1, 2, 3])


@pytest.mark.parametrize("bad_line, problem", [
    ("+1 3:1 2:1", "does not increase"),
    ("+1 a:1", "'a:1' is not index:value"),
    ("x 1:1", "label 'x'"),
    ("+1 0:1", "below 1"),
    ("+1 1:zz", "'1:zz' is not index:value"),
    ("+1 1 2", "'1' is not index:value"),
    ("+1 1:nan", "'1:nan' is not index:value"),
    ("1,2 1:1", "label '1,2'"),
])
def test_first_malformed_line_is_reported_with_its_number(tmp_path, bad_line, problem):
    path = tmp_path / "bad"
    path.write_text("+1 1:1\n\n" + bad_line + "\n-1 1:2\n" + bad_line + "\n")
    with pytest.raises(DataError) as info:
        read_libsvm(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: malformed LIBSVM line: ")
    assert problem in message
    assert "\n" not in message


def test_index_beyond_n_features_is_reported(tmp_path):
    path = tmp_path / "wide"
    path.write_text("+1 1:1\n-1 7:1\n")
    with pytest.raises(DataError, match=r":2: malformed LIBSVM line: feature index 7 "
                                        r"exceeds n_features=5"):
        read_libsvm(path, n_features=5)


@pytest.mark.parametrize("content, match", [(None, "no such file"), ("", "no samples"),
                                            ("# only a comment\n", "no samples")])
def test_missing_or_empty_file(tmp_path, content, match):
    path = tmp_path / "file"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=match):
        read_libsvm(path)


# Shapes and label counts as listed in the shared SOURCES.md.
SHARED_FILES = [
    ("breast-cancer/breast-cancer_scale", None, (683, 10), {2: 444, 4: 239}),
    ("diabetes/diabetes_scale", None, (768, 8), {-1: 268, 1: 500}),
    ("adult/a1a", None, (1605, 119), {-1: 1210, 1: 395}),
    ("adult/a1a.t", None, (30956, 123), {-1: 23510, 1: 7446}),
    ("adult/a9a", None, (32561, 123), {-1: 24720, 1: 7841}),
    ("adult/a9a.t", None, (16281, 122), {-1: 12435, 1: 3846}),
    ("adult/a9a.t", 123, (16281, 123), {-1: 12435, 1: 3846}),
]


@pytest.mark.parametrize("relpath, n_features, shape, counts", SHARED_FILES)
def test_shared_files_parse_to_the_documented_shapes(shared_data_dir, relpath,
                                                     n_features, shape, counts):
    X, y = read_libsvm(shared_data_dir / relpath, n_features=n_features)
    assert X.shape == shape
    values, found = np.unique(y, return_counts=True)
    assert dict(zip(values.tolist(), found.tolist())) == counts


def test_a_file_of_random_bytes_is_quoted_without_control_characters(tmp_path):
    noise = np.random.default_rng(7).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    path = tmp_path / "random.bin"
    path.write_bytes(b"+1 1:1\n" + b"-1 2:" + noise.replace(b"\n", b"") + b"\n")
    with pytest.raises(DataError) as info:
        read_libsvm(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2: malformed LIBSVM line: ")
    assert message.isprintable()
    assert "\\x" in message
