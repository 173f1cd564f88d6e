"""Published MD5s checked on load, with verdicts remembered by size and mtime.

The files are real MNIST files copied from the shared datasets folder, so the
published checksums of ``data.download.SOURCES`` apply to them.
"""

import gzip
import hashlib
import json
import os
import shutil

import pytest

from rdia.data import DataError, ensure_file, load_mnist
from rdia.data import checksums
from rdia.data.checksums import CACHE_NAME
from rdia.data.download import SOURCES
from rdia.data.mnist import MNIST_FILES

LABELS = MNIST_FILES["test_labels"]


@pytest.fixture(autouse=True)
def fresh_process_memory(monkeypatch):
    """Each test starts as a new process would: no verdict remembered in memory."""
    monkeypatch.setattr(checksums, "_VERIFIED", {})


@pytest.fixture
def data_dir(shared_data_dir, tmp_path):
    """A data folder with copies of the four real MNIST files; made writable again
    after the test."""
    folder = tmp_path / "data"
    for relpath in MNIST_FILES.values():
        (folder / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared_data_dir / relpath, folder / relpath)
    yield folder
    folder.chmod(0o755)


def as_a_new_process(monkeypatch):
    monkeypatch.setattr(checksums, "_VERIFIED", {})
    monkeypatch.setattr(checksums, "_MD5", {})


def change_a_byte_keeping_size_and_mtime(path):
    """Corrupt ``path`` in a way that neither its size nor its mtime show."""
    stat = os.stat(path)
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_modified_mnist_file_inside_a_valid_gzip_is_refused(data_dir):
    path = data_dir / LABELS
    labels = bytearray(gzip.decompress(path.read_bytes()))
    labels[8] = (labels[8] + 1) % 10  # the first label, still a digit: a valid IDX file
    path.write_bytes(gzip.compress(bytes(labels)))
    with pytest.raises(DataError) as info:
        load_mnist(data_dir)
    message = str(info.value)
    assert message.startswith(f"{path}: MD5 ")
    assert SOURCES[LABELS].md5 in message and "\n" not in message
    assert message.endswith("delete it and download it again")


def test_the_verdict_is_written_to_a_writable_data_folder(data_dir):
    load_mnist(data_dir)
    cache = json.loads((data_dir / CACHE_NAME).read_text())
    assert sorted(cache) == sorted(MNIST_FILES.values())
    stat = os.stat(data_dir / LABELS)
    assert cache[LABELS] == [stat.st_size, stat.st_mtime_ns, SOURCES[LABELS].md5]


@pytest.mark.parametrize("writable", [True, False])
def test_a_second_load_does_not_hash_again(data_dir, monkeypatch, writable):
    # The remembered verdict is trusted while size and mtime stay: a file corrupted
    # behind the cache's back still passes, which shows that it was not hashed.
    if not writable:
        data_dir.chmod(0o555)
    path = ensure_file(LABELS, data_dir)
    assert (data_dir / CACHE_NAME).exists() == writable
    change_a_byte_keeping_size_and_mtime(path)
    ensure_file(LABELS, data_dir)
    as_a_new_process(monkeypatch)
    if writable:
        ensure_file(LABELS, data_dir)
        (data_dir / CACHE_NAME).unlink()
        as_a_new_process(monkeypatch)
    with pytest.raises(DataError, match="MD5 .* differs from the published"):
        ensure_file(LABELS, data_dir)


def test_a_touched_file_is_verified_again(data_dir):
    path = ensure_file(LABELS, data_dir)
    stat = os.stat(path)
    touched = stat.st_mtime_ns + 10**9
    os.utime(path, ns=(touched, touched))
    ensure_file(LABELS, data_dir)
    assert json.loads((data_dir / CACHE_NAME).read_text())[LABELS][1] == touched
    change_a_byte_keeping_size_and_mtime(path)
    os.utime(path, ns=(touched + 10**9, touched + 10**9))
    with pytest.raises(DataError, match=f"{path}: MD5"):
        ensure_file(LABELS, data_dir)


def test_a_corrupt_cache_file_is_ignored(data_dir):
    (data_dir / CACHE_NAME).write_text("{not json")
    ensure_file(LABELS, data_dir)
    assert LABELS in json.loads((data_dir / CACHE_NAME).read_text())


def test_a_file_is_hashed_once_while_its_size_and_mtime_hold(tmp_path, monkeypatch):
    """A run names a dataset's decoded cache by the file's MD5 before its work, then
    loads it: the file is read once. Another size or mtime is hashed anew."""
    path = tmp_path / "rows.txt"
    path.write_bytes(b"1 1:0.5\n" * 1000)
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    first = checksums.file_md5(path)
    assert checksums.file_md5(str(path)) == first == hashlib.md5(path.read_bytes()).hexdigest()
    assert [str(p) for p in opened].count(str(path)) == 1
    path.write_bytes(b"0 1:0.5\n" * 1001)
    assert checksums.file_md5(path) == hashlib.md5(path.read_bytes()).hexdigest() != first
