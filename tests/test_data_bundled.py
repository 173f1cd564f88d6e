"""The LIBSVM files shipped inside the package: checked against their SHA-256 and found
only after --data-dir, $RDIA_DATA_DIR and datasets/."""

import hashlib
import shutil

import pytest

from rdia.data import bundled, paths
from rdia.data.bundled import BUNDLED, bundled_file
from rdia.data.datasets import load_binary
from rdia.data.download import ensure_file
from rdia.data.errors import DataError

SHAPES = {"cancer": (683, 10), "diabetes": (768, 8)}


@pytest.fixture
def no_data_folders(monkeypatch, tmp_path):
    """No $RDIA_DATA_DIR, and an empty datasets/ folder."""
    monkeypatch.delenv("RDIA_DATA_DIR", raising=False)
    monkeypatch.setattr(paths, "DEFAULT_DATA_DIR", tmp_path / "datasets")
    return tmp_path


@pytest.mark.parametrize("relpath", sorted(BUNDLED))
def test_shipped_copy_has_its_sha256(relpath):
    path = bundled_file(relpath)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == BUNDLED[relpath].sha256
    assert path.name == relpath.split("/")[-1]


def test_a_damaged_copy_is_refused(monkeypatch, tmp_path):
    relpath = "diabetes/diabetes_scale"
    shutil.copy(bundled_file(relpath), tmp_path / "diabetes_scale")
    with open(tmp_path / "diabetes_scale", "ab") as handle:
        handle.write(b"+1 1:0.5 \n")
    monkeypatch.setattr(bundled, "FOLDER", tmp_path)
    with pytest.raises(DataError, match="SHA-256 .* damaged"):
        bundled_file(relpath)


@pytest.mark.parametrize("relpath", sorted(BUNDLED))
def test_the_shipped_copy_is_the_last_resort(no_data_folders, monkeypatch, relpath,
                                             write_libsvm):
    given, env, default = (no_data_folders / name for name in ("given", "env", "datasets"))
    assert ensure_file(relpath, given) == bundled_file(relpath)
    assert not given.exists()  # nothing downloaded, no folder made
    write_libsvm(default / relpath, ["1", "2"], [{1: 1.0}, {2: 1.0}])
    assert ensure_file(relpath, given) == default / relpath
    write_libsvm(env / relpath, ["1", "2"], [{1: 1.0}, {2: 1.0}])
    monkeypatch.setenv("RDIA_DATA_DIR", str(env))
    assert ensure_file(relpath, given) == env / relpath
    write_libsvm(given / relpath, ["1", "2"], [{1: 1.0}, {2: 1.0}])
    assert ensure_file(relpath, given) == given / relpath


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_named_dataset_loads_from_the_shipped_copy(shared_data_dir, no_data_folders, name):
    """The shipped copy gives the dataset the shared folder gives, and writes nothing."""
    shipped = load_binary(name, no_data_folders / "empty")
    shared = load_binary(name, shared_data_dir)
    assert shipped.X_train.shape[0] + shipped.X_test.shape[0] == SHAPES[name][0]
    assert (shipped.X_train != shared.X_train).nnz == 0
    assert (shipped.y_train == shared.y_train).all()
    assert sorted(p.name for p in bundled.FOLDER.iterdir()
                  if not p.name.startswith("__")) == sorted(
        ["README.md"] + [entry.name for entry in BUNDLED.values()])
