"""reproduce.py: the quick versions of the subcommands and the alpha selection."""

import os
import re
from pathlib import Path

import pytest

import reproduce

DATA_DIR = os.environ.get("RDIA_DATA_DIR")
needs_data = pytest.mark.skipif(
    not DATA_DIR or not (Path(DATA_DIR) / "mnist").is_dir(),
    reason="set RDIA_DATA_DIR to the shared datasets")


@pytest.mark.parametrize("text, seeds", [("5", [0, 1, 2, 3, 4]), ("1", [0]),
                                         ("0,3,7", [0, 3, 7]), ("4,", [4])])
def test_parse_seeds(text, seeds):
    assert reproduce.parse_seeds(text) == seeds


def test_alpha_is_chosen_on_validation_never_on_test():
    rows = []
    for alpha in reproduce.SELECTION_ALPHAS:
        # Validation prefers 1e-3; test would prefer 0.
        val = 0.1 if alpha == 1e-3 else 0.5
        test = 0.01 if alpha == 0.0 else 0.9
        for seed in (0, 1):
            rows.append(dict(method="rdia", alpha=alpha, val_logloss=val + seed,
                             test_logloss=test, dataset="d"))
    assert reproduce.choose_alpha(rows) == 1e-3


def cells(markdown_row):
    return [c.strip() for c in markdown_row.strip().strip("|").split("|")]


@needs_data
def test_alpha_grid_quick_prints_published_values_and_draws_the_ratio(tmp_path):
    assert reproduce.main(["alpha-grid", "--quick", "--results-dir", str(tmp_path)]) == 0
    text = (tmp_path / "alpha-grid-quick.md").read_text()
    rows = [line for line in text.splitlines() if re.match(r"\| 0\.0", line)]
    assert len(rows) == 3
    for line in rows:
        alpha = float(cells(line)[0])
        for noise, cell in zip(reproduce.NOISES, cells(line)[1:]):
            assert f"(paper {reproduce.PUBLISHED_MNIST[alpha][noise]:.4f})" in cell
            ours = float(cell.split("±")[0])
            # Same conventions, so the same order of magnitude as the paper.
            assert 0.2 < ours / reproduce.PUBLISHED_MNIST[alpha][noise] < 5
    assert (tmp_path / "alpha-grid-quick-ratio.png").read_bytes()[:4] == b"\x89PNG"
    assert len((tmp_path / "alpha-grid-quick.csv").read_text().splitlines()) == 1 + 12


@needs_data
def test_lr_table_quick_bolds_the_best_method_and_records_alpha(tmp_path):
    assert reproduce.main(["lr-table", "--quick", "--results-dir", str(tmp_path)]) == 0
    text = (tmp_path / "lr-table-quick.md").read_text()
    assert re.search(r"cancer: [0-9.e-]+, wdbc: [0-9.e-]+", text)
    logloss = text.split("## Test log-loss")[1].split("##")[0]
    body = [cells(line) for line in logloss.splitlines()
            if line.startswith("| cancer") or line.startswith("| wdbc")]
    assert len(body) == 8
    methods = list(reproduce.LR_METHODS)
    for row in body:
        values = {m: float(c.strip("*").split("±")[0]) for m, c in zip(methods, row[2:])}
        best = min(v for m, v in values.items() if m != "clean")
        bold = {m for m, c in zip(methods, row[2:]) if c.startswith("**")}
        assert bold and all(values[m] == best for m in bold)
    csv_lines = (tmp_path / "lr-table-quick.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + 2 * 4 * len(methods)


@needs_data
def test_ls_curves_quick_draws_mean_curves_and_reuses_finished_runs(tmp_path, capsys):
    argv = ["ls-curves", "--quick", "--subset", "1000", "--results-dir", str(tmp_path)]
    assert reproduce.main(argv) == 0
    text = (tmp_path / "ls-curves-quick.md").read_text()
    assert "Shorter than the paper: 3 epochs instead of 200." in text
    for method in reproduce.LS_METHODS:
        assert f"| {method} | 1 x 3 |" in text
    assert "87.85" in text
    assert (tmp_path / "ls-curves-quick.png").read_bytes()[:4] == b"\x89PNG"
    rows = (tmp_path / "ls-curves-quick.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * 3
    capsys.readouterr()
    assert reproduce.main(argv) == 0
    assert capsys.readouterr().out.count("reusing") == 3
    assert (tmp_path / "ls-curves-quick.md").read_text().split("Took")[0] == text.split("Took")[0]


def test_bad_epochs_is_one_line_and_exit_code_2(tmp_path, capsys):
    code = reproduce.main(["ls-curves", "--epochs", "0", "--results-dir", str(tmp_path)])
    assert code == 2
    assert "--epochs" in capsys.readouterr().err
