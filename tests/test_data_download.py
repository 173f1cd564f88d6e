"""Downloads against a real http.server on 127.0.0.1 serving a temporary folder."""

import bz2
import functools
import hashlib
import io
import os
import pickle
import shutil
import socket
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from rdia.data import DataError, download_file, ensure_file, load_cifar10, mirror_urls
from rdia.data.download import (CIFAR10_ARCHIVE, CIFAR10_FILES, CIFAR10_FOLDER, CIFAR10_URL,
                           SOURCES, TIMEOUT_S, Source, download_timeout)

TRUNCATED_PREFIX = "/truncated/"
ANNOUNCED_BYTES = 100_000
SENT_BYTES = 1_000


class Handler(SimpleHTTPRequestHandler):
    """Serves files; under /truncated/ it announces more bytes than it sends."""

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path.startswith(TRUNCATED_PREFIX):
            self.send_response(200)
            self.send_header("Content-Length", str(ANNOUNCED_BYTES))
            self.end_headers()
            self.wfile.write(b"x" * SENT_BYTES)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder, list of requested paths) of a running server."""
    served = tmp_path / "served"
    served.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                functools.partial(Handler, directory=str(served)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", served, httpd.requests
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def closed_port_url():
    """URL of a port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_url():
    """URL of a port on 127.0.0.1 that accepts connections but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(autouse=True)
def no_mirror_from_environment(monkeypatch):
    monkeypatch.delenv("RDIA_MIRROR", raising=False)
    monkeypatch.delenv("RDIA_DOWNLOAD_TIMEOUT", raising=False)


def payload(n_bytes, seed=0):
    return np.random.default_rng(seed).integers(0, 256, n_bytes, dtype=np.uint8).tobytes()


def test_download_writes_the_file_with_progress(server, tmp_path, capsys):
    base, served, _ = server
    body = payload(300_000)
    (served / "blob.bin").write_bytes(body)
    dest = tmp_path / "out" / "blob.bin"
    result = download_file(f"{base}/blob.bin", dest, md5=hashlib.md5(body).hexdigest(),
                      desc="blob")
    assert result == dest and dest.read_bytes() == body
    assert os.listdir(dest.parent) == ["blob.bin"]
    progress = capsys.readouterr().err
    assert "blob" in progress and "100%" in progress


def test_md5_mismatch_leaves_no_file(server, tmp_path):
    base, served, _ = server
    (served / "blob.bin").write_bytes(payload(5_000))
    dest = tmp_path / "out" / "blob.bin"
    with pytest.raises(DataError, match="MD5 .* differs from the published 0{32}"):
        download_file(f"{base}/blob.bin", dest, md5="0" * 32)
    assert not dest.parent.exists()


def test_interrupted_transfer_leaves_no_file(server, tmp_path):
    base, _, _ = server
    dest = tmp_path / "out" / "blob.bin"
    with pytest.raises(DataError, match=f"interrupted after {SENT_BYTES} of "
                                        f"{ANNOUNCED_BYTES} bytes"):
        download_file(f"{base}{TRUNCATED_PREFIX}blob.bin", dest)
    assert not dest.parent.exists()


def test_http_error_names_the_status(server, tmp_path):
    base, _, _ = server
    with pytest.raises(DataError, match="HTTP 404"):
        download_file(f"{base}/missing.bin", tmp_path / "missing.bin")
    assert not (tmp_path / "missing.bin").exists()


def test_bz2_url_is_decompressed(server, tmp_path):
    base, served, _ = server
    body = b"+1 1:0.5\n-1 2:1\n" * 1000
    (served / "plain.bz2").write_bytes(bz2.compress(body))
    dest = tmp_path / "out" / "plain"
    download_file(f"{base}/plain.bz2", dest)
    assert dest.read_bytes() == body
    assert os.listdir(dest.parent) == ["plain"]


def test_corrupt_bz2_leaves_no_file(server, tmp_path):
    base, served, _ = server
    (served / "plain.bz2").write_bytes(bz2.compress(b"x" * 10_000)[:-20])
    dest = tmp_path / "out" / "plain"
    with pytest.raises(DataError, match="not a valid bzip2 file"):
        download_file(f"{base}/plain.bz2", dest)
    assert not dest.parent.exists()


def test_offline_error_is_one_line_with_file_url_and_env_var(closed_port_url, tmp_path):
    url = f"{closed_port_url}/a9a"
    dest = tmp_path / "adult" / "a9a"
    with pytest.raises(DataError) as info:
        download_file(url, dest)
    message = str(info.value)
    assert "\n" not in message
    assert str(dest) in message and url in message and "RDIA_DATA_DIR" in message
    assert not dest.parent.exists()


def test_ensure_file_downloads_once_through_a_mirror(server, tmp_path):
    base, served, requests = server
    text = b"-1 1:-0.5 2:1 \n+1 1:0.25 3:-1 \n"
    (served / "a1a").write_bytes(text)
    data_dir = tmp_path / "data"
    path = ensure_file("adult/a1a", data_dir, base_urls=[base])
    assert path == data_dir / "adult" / "a1a"
    assert path.read_bytes() == text
    assert ensure_file("adult/a1a", data_dir, base_urls=[base]) == path
    assert requests == ["/a1a"]


def test_a_shipped_file_is_never_downloaded(server, tmp_path, monkeypatch):
    """cancer and diabetes come with the package (data.bundled): no request is made."""
    base, served, requests = server
    (served / "breast-cancer_scale").write_bytes(b"2 1:-0.5 \n4 1:0.25 \n")
    monkeypatch.delenv("RDIA_DATA_DIR", raising=False)
    monkeypatch.setattr("rdia.data.paths.DEFAULT_DATA_DIR", tmp_path / "datasets")
    path = ensure_file("breast-cancer/breast-cancer_scale", tmp_path / "data",
                       base_urls=[base])
    assert path.parent.name == "bundled" and requests == []


def test_ensure_file_uses_rdia_mirror_and_decompresses_bz2(server, tmp_path, monkeypatch):
    base, served, requests = server
    text = b"+1 5:1 \n-1 7:0.5 \n"
    (served / "real-sim.bz2").write_bytes(bz2.compress(text))
    monkeypatch.setenv("RDIA_MIRROR", base + "/")
    path = ensure_file("real-sim/real-sim", tmp_path)
    assert path.read_bytes() == text
    assert requests == ["/real-sim.bz2"]


def test_ensure_file_tries_urls_in_turn(server, tmp_path):
    base, served, requests = server
    (served / "second").mkdir()
    (served / "second" / "a1a").write_bytes(b"+1 1:1 \n")
    path = ensure_file("adult/a1a", tmp_path, base_urls=[f"{base}/first", f"{base}/second"])
    assert path.read_bytes() == b"+1 1:1 \n"
    assert requests == ["/first/a1a", "/second/a1a"]


def test_ensure_file_checks_the_published_mnist_md5(server, tmp_path, shared_data_dir):
    base, served, _ = server
    name = "train-labels-idx1-ubyte.gz"
    shutil.copy(shared_data_dir / "mnist" / name, served / name)
    path = ensure_file(f"mnist/{name}", tmp_path / "good", base_urls=base)
    assert path.read_bytes() == (shared_data_dir / "mnist" / name).read_bytes()


def test_ensure_file_rejects_a_file_with_the_wrong_md5(server, tmp_path):
    base, served, _ = server
    name = "t10k-labels-idx1-ubyte.gz"
    (served / name).write_bytes(payload(4542))
    with pytest.raises(DataError, match="ec29112dd5afa0611ce80d1b7f02629c"):
        ensure_file(f"mnist/{name}", tmp_path, base_urls=base)
    assert not (tmp_path / "mnist").exists()


def test_ensure_file_offline_message(closed_port_url, tmp_path):
    with pytest.raises(DataError) as info:
        ensure_file("adult/a9a.t", tmp_path, base_urls=closed_port_url)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "adult" / "a9a.t") in message
    assert f"{closed_port_url}/a9a.t" in message and "RDIA_DATA_DIR" in message


# Folders that exist before the download (marked) must stay; the ones it creates go.
@pytest.mark.parametrize("existing", [[], ["data"], ["data", "data/adult"]])
def test_failed_download_removes_only_the_folders_it_created(closed_port_url, tmp_path,
                                                             existing):
    for folder in existing:
        (tmp_path / folder).mkdir()
    with pytest.raises(DataError, match="could not be downloaded"):
        ensure_file("adult/a9a.t", tmp_path / "data", base_urls=closed_port_url)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == existing


def test_failed_download_file_removes_the_folders_it_created(closed_port_url, tmp_path):
    with pytest.raises(DataError):
        download_file(f"{closed_port_url}/a9a", tmp_path / "new" / "deeper" / "a9a")
    assert os.listdir(tmp_path) == []


def test_a_silent_mirror_is_announced_given_up_and_the_next_one_used(
        server, silent_url, tmp_path, monkeypatch, capsys):
    base, served, requests = server
    (served / "a1a").write_bytes(b"+1 1:1 \n")
    monkeypatch.setenv("RDIA_DOWNLOAD_TIMEOUT", "0.5")
    path = ensure_file("adult/a1a", tmp_path, base_urls=[silent_url, base])
    assert path.read_bytes() == b"+1 1:1 \n" and requests == ["/a1a"]
    err = capsys.readouterr().err
    first = err.index(f"downloading {silent_url}/a1a to {path}\n")
    assert err.index(f"downloading {base}/a1a to {path}\n") > first


def test_a_silent_mirror_fails_in_one_line_naming_the_timeout(silent_url, tmp_path,
                                                             monkeypatch):
    monkeypatch.setenv("RDIA_DOWNLOAD_TIMEOUT", "0.5")
    with pytest.raises(DataError) as info:
        ensure_file("adult/a1a", tmp_path, base_urls=silent_url)
    message = str(info.value)
    assert f"{silent_url}/a1a (no answer within 0.5 s)" in message and "\n" not in message


def test_the_default_timeout_is_ten_seconds():
    assert download_timeout() == TIMEOUT_S == 10


@pytest.mark.parametrize("value", ["abc", "0", "-2", "nan"])
def test_a_bad_timeout_setting_is_one_line(tmp_path, monkeypatch, value):
    monkeypatch.setenv("RDIA_DOWNLOAD_TIMEOUT", value)
    expected = f"^RDIA_DOWNLOAD_TIMEOUT='{value}' is not a positive number of seconds"
    with pytest.raises(DataError, match=expected):
        ensure_file("adult/a1a", tmp_path, base_urls="http://127.0.0.1:9")


def test_ensure_file_unknown_file(tmp_path):
    with pytest.raises(DataError, match="no download source is known for nothing/here"):
        ensure_file("nothing/here", tmp_path)


def test_mirror_urls_replace_scheme_host_and_folder():
    urls = ("http://yann.lecun.com/exdb/mnist/t10k-labels-idx1-ubyte.gz",
            "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz")
    assert mirror_urls(urls, ["http://a/x/", "http://b"]) == [
        "http://a/x/t10k-labels-idx1-ubyte.gz", "http://b/t10k-labels-idx1-ubyte.gz"]
    assert mirror_urls(urls) == list(urls)


def cifar_batch_bytes(n, first_label):
    batch = {b"batch_label": b"test batch",
             b"data": np.full((n, 3072), first_label, dtype=np.uint8),
             b"labels": [(first_label + i) % 10 for i in range(n)],
             b"filenames": [b"img.png"] * n}
    return pickle.dumps(batch, protocol=2)


def add_bytes(tar, name, content, **attributes):
    info = tarfile.TarInfo(name)
    info.size = len(content)
    for key, value in attributes.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(content))


def cifar_tarball(path):
    """A tarball laid out as cifar-10-python.tar.gz, plus entries that must be skipped."""
    with tarfile.open(path, "w:gz") as tar:
        folder = tarfile.TarInfo("cifar-10-batches-py")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for i, name in enumerate(CIFAR10_FILES):
            content = (pickle.dumps({b"label_names": [b"airplane"] * 10}, protocol=2)
                       if name == "batches.meta" else cifar_batch_bytes(4, i))
            add_bytes(tar, f"cifar-10-batches-py/{name}", content)
        add_bytes(tar, "../escaped", b"no")
        add_bytes(tar, "cifar-10-batches-py/../../escaped2", b"no")
        add_bytes(tar, "other-folder/file", b"no")
        link = tarfile.TarInfo("cifar-10-batches-py/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    return path


def test_cifar_tarball_is_unpacked_safely_and_deleted(server, tmp_path, monkeypatch):
    base, served, requests = server
    tarball = cifar_tarball(served / "cifar-10-python.tar.gz")
    md5 = hashlib.md5(tarball.read_bytes()).hexdigest()
    for name in CIFAR10_FILES:
        monkeypatch.setitem(SOURCES, f"{CIFAR10_FOLDER}/{name}",
                            Source((CIFAR10_URL,), md5, CIFAR10_ARCHIVE))
    monkeypatch.setenv("RDIA_MIRROR", base)
    data_dir = tmp_path / "data"
    X_train, y_train, X_test, y_test = load_cifar10(data_dir)
    assert requests == ["/cifar-10-python.tar.gz"]
    assert sorted(os.listdir(data_dir / CIFAR10_FOLDER)) == sorted(CIFAR10_FILES)
    assert os.listdir(data_dir) == ["cifar10"]
    assert os.listdir(data_dir / "cifar10") == ["cifar-10-batches-py"]
    assert X_train.shape == (20, 3, 32, 32) and X_test.shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(X_train[::4, 0, 0, 0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(y_test, [5, 6, 7, 8])


def test_cifar_tarball_with_the_wrong_md5_is_rejected(server, tmp_path, monkeypatch):
    base, served, _ = server
    cifar_tarball(served / "cifar-10-python.tar.gz")
    monkeypatch.setenv("RDIA_MIRROR", base)
    with pytest.raises(DataError, match="c58f30108f718f92721af3b95e74349a"):
        load_cifar10(tmp_path)
    assert not (tmp_path / "cifar10").exists()
