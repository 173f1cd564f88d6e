from pathlib import Path

import data
from data.paths import resolve_data_dir


def test_explicit_folder_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RDIA_DATA_DIR", "/somewhere/else")
    assert resolve_data_dir(tmp_path) == tmp_path


def test_environment_variable_used_when_no_folder_given(monkeypatch, tmp_path):
    monkeypatch.setenv("RDIA_DATA_DIR", str(tmp_path))
    assert resolve_data_dir() == tmp_path


def test_default_is_a_datasets_folder_beside_the_code_not_the_package(monkeypatch):
    monkeypatch.delenv("RDIA_DATA_DIR", raising=False)
    package = Path(data.__file__).resolve().parent
    assert resolve_data_dir() == package.parent / "datasets"
    assert resolve_data_dir() != package
