from pathlib import Path

from rdia.data.paths import resolve_data_dir


def test_explicit_folder_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RDIA_DATA_DIR", "/somewhere/else")
    assert resolve_data_dir(tmp_path) == tmp_path


def test_environment_variable_used_when_no_folder_given(monkeypatch, tmp_path):
    monkeypatch.setenv("RDIA_DATA_DIR", str(tmp_path))
    assert resolve_data_dir() == tmp_path


def test_default_is_a_datasets_folder_at_the_repository_root(monkeypatch):
    monkeypatch.delenv("RDIA_DATA_DIR", raising=False)
    root = Path(__file__).resolve().parents[1]
    assert resolve_data_dir() == root / "datasets"


def test_the_readme_quick_start_gives_the_lookup_order():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    text = " ".join(quick_start.split())
    places = [text.find(place) for place in ("`--data-dir`", "`$RDIA_DATA_DIR`",
                                             "`datasets/` at the repository root")]
    assert -1 not in places and places == sorted(places)
    assert "downloaded from its canonical site" in text
