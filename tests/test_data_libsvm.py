import bz2
import gzip
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_svmlight_file

from rdia.data import DataError, ensure_file, read_libsvm
from rdia.data import libsvm
from rdia.data.checksums import file_md5
from rdia.data.decoded import CACHE_DIR_ENV, cache_path

REPO_ROOT = Path(__file__).resolve().parents[1]

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
    ("+1 qid 1:1", "'qid' is not qid:value"),
    ("+1 2147483648:1", "feature index 2147483648 exceeds 2147483647"),
    ("+1 1:1 9" + "9" * 5000 + ":1", "is not index:value"),
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


@pytest.mark.parametrize("read", [read_libsvm, libsvm.read_libsvm_cached])
@pytest.mark.parametrize("relpath, n_features, shape, counts", SHARED_FILES)
def test_shared_files_parse_to_the_documented_shapes(shared_data_dir, relpath, n_features,
                                                     shape, counts, read, tmp_path,
                                                     monkeypatch):
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))  # when the shared folder is read-only
    for _ in range(2):  # the cached reader: parsed, then from its cache
        X, y = read(shared_data_dir / relpath, n_features=n_features)
        assert X.shape == shape and X.format == "csr" and X.dtype == np.float64
        values, found = np.unique(y, return_counts=True)
        assert dict(zip(values.tolist(), found.tolist())) == counts


# ---------------------------------------------------------------------------
# read_libsvm_cached: the datasets known by name are parsed once


class CountingParser:
    """read_libsvm, counting how often a file is really parsed."""

    def __init__(self):
        self.calls = 0

    def __call__(self, path, n_features=None):
        self.calls += 1
        return read_libsvm(path, n_features)


@pytest.fixture
def counting_parser(monkeypatch):
    parser = CountingParser()
    monkeypatch.setattr(libsvm, "read_libsvm", parser)
    return parser


def assert_same_matrix(A, B):
    assert A.shape == B.shape and A.format == B.format == "csr"
    np.testing.assert_array_equal(A.indptr, B.indptr)
    np.testing.assert_array_equal(A.indices, B.indices)
    np.testing.assert_array_equal(A.data, B.data)


@pytest.mark.parametrize("n_features", [None, 4, 123])
def test_cached_read_equals_the_parse_and_parses_once(tmp_path, counting_parser,
                                                      n_features):
    path = tmp_path / "small"
    path.write_bytes(bz2.compress(GOOD.encode()))
    expected_X, expected_y = read_libsvm(path, n_features)
    for _ in range(3):
        X, y = libsvm.read_libsvm_cached(path, n_features)
        assert_same_matrix(X, expected_X)
        np.testing.assert_array_equal(y, expected_y)
    assert counting_parser.calls == 1
    assert cache_path(path, file_md5(path)).is_file()


def test_a_changed_file_is_parsed_again(tmp_path, counting_parser):
    path = tmp_path / "small"
    path.write_text(GOOD)
    libsvm.read_libsvm_cached(path)
    path.write_text("-1 2:3\n+1 5:1\n")
    X, y = libsvm.read_libsvm_cached(path)
    assert counting_parser.calls == 2
    np.testing.assert_array_equal(X.toarray(), [[0, 3, 0, 0, 0], [0, 0, 0, 0, 1]])
    np.testing.assert_array_equal(y, [-1, 1])


def test_cached_read_reports_an_index_beyond_n_features_with_its_line(tmp_path):
    path = tmp_path / "wide"
    path.write_text("+1 1:1\n-1 7:1\n")
    libsvm.read_libsvm_cached(path)  # cached at the file's own width, 7
    with pytest.raises(DataError, match=r":2: malformed LIBSVM line: feature index 7 "
                                        r"exceeds n_features=5"):
        libsvm.read_libsvm_cached(path, n_features=5)


@pytest.mark.parametrize("content, match", [(None, "no such file"), ("", "no samples"),
                                            ("+1 1:1\n-1 x:1\n", ":2: malformed")])
def test_cached_read_of_a_missing_empty_or_malformed_file(tmp_path, content, match):
    path = tmp_path / "file"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=match):
        libsvm.read_libsvm_cached(path)
    assert [p.name for p in tmp_path.iterdir()] == ([] if content is None else ["file"])


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


# Property: any file either reads to what scikit-learn reads, or is refused with one
# line that names the first line scikit-learn (or the finiteness check) rejects.

NUMBER_TEXT = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["+1", "-0", "1_0", "1e400", "0x1f", "1,2", "", ".", "1e", "nan"]),
)
#: Indices at the edges of what the reader and scikit-learn accept.
EDGE_INDICES = [2**31 - 1, 2**31, 2**32, 10**9, 10**20]
INDEX_TEXT = st.one_of(st.integers(-2, 40).map(str), st.sampled_from(EDGE_INDICES).map(str),
                       st.sampled_from(["+3", "0", "-0", "1_2", "x", "", "9" * 5000]))
#: Fragments whose concatenations hit the grammar's corners.
FRAGMENTS = [b"1", b"7", b":", b"#", b"qid", b"\x00", b" ", b"\t", b"\r", b"\x0b", b"nan",
             b"-", b"+", b"e", b"0", b".", b"_", b",", b"\xff", b"\xc3\xa9", b"9" * 12]


@st.composite
def well_formed_lines(draw):
    """``label [qid:N] index:value ...`` with increasing indices, optional comment."""
    label = draw(st.integers(-3, 3).map(str) | NUMBER_TEXT)
    indices = sorted(draw(st.sets(st.integers(1, 30) | st.sampled_from(EDGE_INDICES[:2]),
                                  max_size=6)))
    values = draw(st.lists(NUMBER_TEXT, min_size=len(indices), max_size=len(indices)))
    tokens = [label] + (["qid:" + draw(NUMBER_TEXT)] if draw(st.booleans()) else [])
    tokens += [f"{j}:{v}" for j, v in zip(indices, values)]
    comment = draw(st.sampled_from(["", " # note", "#:x 1:"]))
    return (draw(st.sampled_from([" ", "\t", "  "])).join(tokens) + comment).encode()


@st.composite
def mutated_lines(draw):
    """A well-formed line with one token replaced by a random one."""
    tokens = draw(well_formed_lines()).split(b" ")
    position = draw(st.integers(0, len(tokens)))
    token = draw(st.one_of(
        st.tuples(INDEX_TEXT, NUMBER_TEXT).map(lambda pair: ":".join(pair).encode()),
        st.sampled_from([b"qid", b"qid7", b"qid:x", b"qid5:3", b"1::2", b"\x001:1#"]),
        st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4).map(b"".join)))
    return b" ".join(tokens[:position] + [token] + tokens[position + 1:])


#: Mostly readable lines, so that a bad line is often preceded by good ones.
LINES = st.one_of(
    well_formed_lines(),
    well_formed_lines(),
    mutated_lines(),
    mutated_lines(),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(b"".join),
    st.binary(max_size=40),
)


def sklearn_accepts(line):
    """Whether scikit-learn reads one line alone to finite numbers."""
    try:
        X, y = load_svmlight_file(io.BytesIO(line), zero_based=False)
    except (ValueError, OverflowError):
        return False
    return bool(np.isfinite(X.data).all() and np.isfinite(y).all())


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(lines=st.lists(LINES, min_size=1, max_size=8), newline_at_end=st.booleans())
def test_reader_agrees_with_scikit_learn_or_names_the_line(tmp_path_factory, lines,
                                                           newline_at_end):
    content = b"\n".join(lines) + (b"\n" if newline_at_end else b"")
    assume(compression_of_bytes(content) is None)
    path = tmp_path_factory.getbasetemp() / "property.svm"
    path.write_bytes(content)
    rejected = [n for n, line in enumerate(content.split(b"\n"), start=1)
                if not sklearn_accepts(line)]
    try:
        X, y = read_libsvm(path)
    except DataError as error:
        message = str(error)
        assert message.isprintable()
        if rejected:
            assert message.startswith(f"{path}:{rejected[0]}: malformed LIBSVM line: ")
        else:
            assert message.startswith(f"{path}: no samples")
        return
    assert not rejected
    X_ref, y_ref = load_svmlight_file(io.BytesIO(content), zero_based=False)
    assert X.shape == X_ref.shape and (X != X_ref).nnz == 0
    np.testing.assert_array_equal(y, y_ref)


def compression_of_bytes(content):
    """"gzip", "bzip2" or None for the start of a file, read without the package."""
    if content[:3] == b"\x1f\x8b\x08":
        return "gzip"
    if content[:3] == b"BZh" and content[3:4].isdigit() and content[3:4] != b"0" \
            and content[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return "bzip2"
    return None


#: Run in a child process: cap the address space at 32 MiB above what the process
#: uses after its imports, then read the file named by argv[1].
READ_UNDER_ADDRESS_LIMIT = """
import resource, sys
from rdia.data import DataError, ensure_file, read_libsvm
from rdia.data.memory import address_space_used
_, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (address_space_used() + 32 * 2**20, hard))
try:
    X, y = read_libsvm(sys.argv[1])
except DataError as error:
    print(error)
    sys.exit(2)
print("read", X.nnz, "values")
"""


def test_a_file_too_large_for_the_address_limit_is_refused_before_reading(tmp_path):
    # 4,000,000 values: about 75 MiB to parse, more than the 32 MiB left to the child.
    line = b"+1 " + b" ".join(b"%d:1" % j for j in range(1, 21)) + b"\n"
    path = tmp_path / "large.svm"
    path.write_bytes(line * 200_000)
    child = subprocess.run([sys.executable, "-c", READ_UNDER_ADDRESS_LIMIT, str(path)],
                           capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert child.returncode == 2, child.stdout + child.stderr
    assert child.stderr == ""
    message = child.stdout.strip()
    assert "\n" not in message
    # 64 bytes per value and per line (data.libsvm.BYTES_PER_VALUE, BYTES_PER_ROW).
    assert message.startswith(f"{path}: loading at most 4,000,000 values in 200,001 lines "
                              f"needs about 256.3 MiB of memory but ")
    assert re.search(r"but [\d.]+ (KiB|MiB) is available \(RLIMIT_AS [\d.]+ [MG]iB, "
                     r"of which [\d.]+ [MG]iB in use\); free memory, raise the limit",
                     message)


def test_a_bare_dataset_file_name_is_refused_with_the_call_that_finds_it(tmp_path,
                                                                         monkeypatch):
    """read_libsvm reads paths; the README's shards example finds the file this way."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RDIA_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(DataError) as info:
        read_libsvm("breast-cancer_scale")
    message = str(info.value)
    assert "read_libsvm takes the path of a LIBSVM file" in message
    assert "ensure_file('breast-cancer/breast-cancer_scale')" in message
    assert "set RDIA_DATA_DIR" not in message
    X, y = read_libsvm(ensure_file("breast-cancer/breast-cancer_scale"))
    assert X.shape == (683, 10) and sorted(set(y)) == [2.0, 4.0]
    with pytest.raises(DataError, match="no such file; read_libsvm takes") as info:
        read_libsvm("my-own-file.txt")
    assert "ensure_file" not in str(info.value)
