"""experiments/sweeps.py: the quick alpha grid and lr table, and the alpha selection."""

import os
import re
from pathlib import Path

import pytest

from rdia.experiments import sweeps
from rdia.experiments.report import PUBLISHED_MNIST_LOGLOSS

DATA_DIR = os.environ.get("RDIA_DATA_DIR")
needs_data = pytest.mark.skipif(
    not DATA_DIR or not (Path(DATA_DIR) / "mnist").is_dir(),
    reason="set RDIA_DATA_DIR to the shared datasets")


def test_alpha_is_chosen_on_validation_never_on_test():
    rows = []
    for alpha in sweeps.SELECTION_ALPHAS:
        # Validation prefers 1e-3; test would prefer 0.
        val = 0.1 if alpha == 1e-3 else 0.5
        test = 0.01 if alpha == 0.0 else 0.9
        for seed in (0, 1):
            rows.append(dict(method="rdia", alpha=alpha, val_logloss=val + seed,
                             test_logloss=test, dataset="d"))
    assert sweeps.choose_alpha(rows) == 1e-3


def cells(markdown_row):
    return [c.strip() for c in markdown_row.strip().strip("|").split("|")]


@needs_data
def test_alpha_grid_quick_prints_published_values_and_draws_the_ratio(tmp_path):
    paths = sweeps.alpha_grid_command([0, 1], tmp_path, quick=True)
    assert sorted(p.name for p in paths) == sorted(p.name for p in tmp_path.iterdir())
    text = (tmp_path / "alpha-grid-quick.md").read_text()
    rows = [line for line in text.splitlines() if re.match(r"\| 0\.0", line)]
    assert len(rows) == 3
    for line in rows:
        alpha = float(cells(line)[0])
        for noise, cell in zip(sweeps.NOISES, cells(line)[1:]):
            assert f"(paper {PUBLISHED_MNIST_LOGLOSS[alpha][noise]:.4f})" in cell
            ours = float(cell.split()[0])  # one seed: the value alone, no "± 0.0000"
            # Same conventions, so the same order of magnitude as the paper.
            assert 0.2 < ours / PUBLISHED_MNIST_LOGLOSS[alpha][noise] < 5
    assert (tmp_path / "alpha-grid-quick-ratio.png").read_bytes()[:4] == b"\x89PNG"
    assert len((tmp_path / "alpha-grid-quick.csv").read_text().splitlines()) == 1 + 12


@needs_data
def test_lr_table_quick_bolds_the_best_method_and_records_alpha(tmp_path):
    sweeps.lr_table_command([0, 1], tmp_path, quick=True)
    text = (tmp_path / "lr-table-quick.md").read_text()
    assert re.search(r"cancer: [0-9.e-]+, wdbc: [0-9.e-]+", text)
    logloss = text.split("## Test log-loss")[1].split("##")[0]
    body = [cells(line) for line in logloss.splitlines()
            if line.startswith("| cancer") or line.startswith("| wdbc")]
    assert len(body) == 8
    methods = list(sweeps.LR_METHODS)
    for row in body:
        values = {m: float(c.strip("*").split("±")[0]) for m, c in zip(methods, row[2:])}
        best = min(v for m, v in values.items() if m != "clean")
        bold = {m for m, c in zip(methods, row[2:]) if c.startswith("**")}
        assert bold and all(values[m] == best for m in bold)
    csv_lines = (tmp_path / "lr-table-quick.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + 2 * 4 * len(methods)
    assert (tmp_path / "lr-table-quick.png").read_bytes()[:4] == b"\x89PNG"


def test_the_lr_table_figure_draws_each_methods_mean_log_loss(tmp_path, monkeypatch):
    """One panel per dataset, one line per method: x the noises, y the mean test
    log-loss over seeds of the table's rows (checked against pandas)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = [dict(dataset=d, noise=n, seed=s, method=m, test_logloss=float(rng.random()))
            for d in ("cancer", "wdbc") for n in sweeps.NOISES for s in (0, 1)
            for m in ("full", "rdia", "clean")]
    expected = pd.DataFrame(rows).groupby(["dataset", "method", "noise"]).test_logloss.mean()
    figures = []
    monkeypatch.setattr(sweeps, "save_figure_atomic", lambda fig, path, dpi: figures.append(fig))
    sweeps.plot_lr_table(rows, tmp_path / "lr-table.png")
    panels = [ax for ax in figures[0].axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["cancer", "wdbc"]
    for ax in panels:
        assert [line.get_label() for line in ax.get_lines()] == ["full", "rdia", "clean"]
        for line in ax.get_lines():
            np.testing.assert_allclose(line.get_xdata(), sweeps.NOISES)
            np.testing.assert_allclose(line.get_ydata(),
                                       expected[ax.get_title(), line.get_label()].to_numpy())
