"""data/decoded.py: the cache of decoded dataset files is used, invalidated and rebuilt."""

import gzip
import os

import numpy as np
import pytest

from rdia.data.decoded import CACHE_DIR_ENV, cache_path, cached_arrays, cached_decode
from rdia.data.checksums import file_md5
from rdia.data.mnist import read_idx


def write_idx(path, array):
    """A gzip IDX file of a uint8 array (0, 0, type 0x08, ndim, big-endian sizes, data)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


def images(seed, n=5):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 4, 4), dtype=np.uint8)


class CountingDecoder:
    """read_idx, counting how often the source is really decoded."""

    def __init__(self):
        self.calls = 0

    def __call__(self, path):
        self.calls += 1
        return read_idx(path)


def test_second_load_comes_from_the_cache(tmp_path):
    source = tmp_path / "images.gz"
    write_idx(source, images(0))
    decode = CountingDecoder()
    first, second = cached_decode(source, decode), cached_decode(source, decode)
    assert decode.calls == 1
    np.testing.assert_array_equal(first, images(0))
    np.testing.assert_array_equal(second, images(0))
    assert second.dtype == np.uint8 and second.shape == (5, 4, 4)
    assert cache_path(source, file_md5(source)).is_file()


def test_a_changed_source_is_decoded_again_and_its_old_cache_removed(tmp_path):
    source = tmp_path / "images.gz"
    write_idx(source, images(0))
    decode = CountingDecoder()
    cached_decode(source, decode)
    old_cache = cache_path(source, file_md5(source))
    write_idx(source, images(1))
    np.testing.assert_array_equal(cached_decode(source, decode), images(1))
    assert decode.calls == 2
    assert not old_cache.exists() and cache_path(source, file_md5(source)).is_file()


@pytest.mark.parametrize("damage", ["flip a data byte", "truncate", "garbage"])
def test_a_corrupt_cache_is_rebuilt_never_trusted(tmp_path, damage):
    source = tmp_path / "images.gz"
    write_idx(source, images(0))
    cached_decode(source, read_idx)
    cache = cache_path(source, file_md5(source))
    content = bytearray(cache.read_bytes())
    if damage == "flip a data byte":
        position = content.index(images(0).tobytes()) + 7  # inside the stored pixels
        content[position] ^= 0xFF
    elif damage == "truncate":
        content = content[: len(content) // 2]
    else:
        content = bytearray(b"not a zip file at all")
    cache.write_bytes(bytes(content))
    decode = CountingDecoder()
    np.testing.assert_array_equal(cached_decode(source, decode), images(0))
    assert decode.calls == 1
    np.testing.assert_array_equal(cached_decode(source, decode), images(0))
    assert decode.calls == 1  # the rebuilt cache is used again


def test_a_read_only_data_folder_is_cached_elsewhere(tmp_path, monkeypatch):
    folder, elsewhere = tmp_path / "shared", tmp_path / "cache"
    folder.mkdir()
    source = folder / "images.gz"
    write_idx(source, images(2))
    os.chmod(folder, 0o555)
    monkeypatch.setenv(CACHE_DIR_ENV, str(elsewhere))
    try:
        decode = CountingDecoder()
        cached_decode(source, decode)
        np.testing.assert_array_equal(cached_decode(source, decode), images(2))
        assert decode.calls == 1
        assert sorted(p.name for p in folder.iterdir()) == ["images.gz"]
        assert [p.name for p in elsewhere.iterdir()] == [
            f"images.gz.{file_md5(source)}.npz"]
    finally:
        os.chmod(folder, 0o755)


def test_the_given_md5_names_the_cache(tmp_path):
    source = tmp_path / "images.gz"
    write_idx(source, images(0))
    cached_decode(source, read_idx, md5="ABC123")
    assert cache_path(source, "abc123").is_file()


def test_a_cache_with_other_array_names_is_decoded_again(tmp_path):
    source = tmp_path / "images.gz"
    write_idx(source, images(0))
    cached_arrays(source, lambda path: {"other": read_idx(path)[:1]})
    decode = CountingDecoder()
    np.testing.assert_array_equal(cached_decode(source, decode), images(0))
    assert decode.calls == 1
    np.testing.assert_array_equal(cached_decode(source, decode), images(0))
    assert decode.calls == 1  # rewritten under the expected name
