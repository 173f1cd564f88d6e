"""Tests of experiments/ls_curves.py: the deep-model figure (its runs are reused by the
rule of experiments/queue.py, tested in test_experiments_queue.py)."""

import dataclasses
import os
from pathlib import Path

import pytest

from rdia.experiments import deep, ls_curves
from rdia.experiments.cli import ConfigError

DATA_DIR = os.environ.get("RDIA_DATA_DIR")
needs_data = pytest.mark.skipif(
    not DATA_DIR or not (Path(DATA_DIR) / "mnist").is_dir(),
    reason="set RDIA_DATA_DIR to the shared datasets")


@needs_data
def test_ls_curves_quick_draws_mean_curves_and_reuses_finished_runs(tmp_path, capsys):
    written = ls_curves.ls_curves([0], 3, tmp_path, quick=True, subset=1000, threads=1)
    assert written == [tmp_path / "ls-curves-quick.md", tmp_path / "ls-curves-quick.csv",
                       tmp_path / "ls-curves-quick.png"]
    text = (tmp_path / "ls-curves-quick.md").read_text()
    assert "Shorter than the paper: 3 epochs instead of 200." in text
    for method in ls_curves.LS_METHODS:
        assert f"| {method} | 1 x 3 |" in text
    assert "87.85" in text
    assert (tmp_path / "ls-curves-quick.png").read_bytes()[:4] == b"\x89PNG"
    rows = (tmp_path / "ls-curves-quick.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * 3
    capsys.readouterr()
    ls_curves.ls_curves([0], 3, tmp_path, quick=True, subset=1000, threads=1)
    assert capsys.readouterr().out.count("reusing") == 3
    assert (tmp_path / "ls-curves-quick.md").read_text().split("Took")[0] == text.split("Took")[0]


@pytest.mark.parametrize("epochs", [0, -3])
def test_bad_epochs_raise_config_error_naming_the_flag(tmp_path, epochs):
    with pytest.raises(ConfigError, match="--epochs"):
        ls_curves.ls_curves([1], epochs, tmp_path)
    assert not any(tmp_path.iterdir())


def test_no_seeds_raise_config_error(tmp_path):
    with pytest.raises(ConfigError, match="--seeds"):
        ls_curves.ls_curves([], 5, tmp_path)


def test_bad_run_settings_raise_config_error_before_training(tmp_path):
    with pytest.raises(ConfigError, match="--subset"):
        ls_curves.ls_curves([1], 2, tmp_path, subset=1)
    with pytest.raises(ConfigError, match="--threads"):
        ls_curves.ls_curves([1], 2, tmp_path, threads=0)


def test_paper_setting_is_symmetric_noise_08_on_mnist():
    config = ls_curves.PAPER_SETTING.resolved()
    assert (config.dataset, config.noise_type, config.noise_rate, config.forget_rate) == \
        ("mnist", "symmetric", 0.8, 0.8)
    assert (config.gamma, config.weight_decay, config.n_epoch) == (0.2, 1e-5, 200)
    assert config.loss == "published"
    assert set(deep.NOT_RESULTS) <= {f.name for f in dataclasses.fields(deep.LSConfig)}


def test_default_runs_dir_shares_the_papers_runs_only():
    out = Path("results")
    assert ls_curves.default_runs_dir(out, "s", 200, None) == out / "rdia_ls_mnist" / "runs"
    assert ls_curves.default_runs_dir(out, "s", 20, None) == out / "s-runs"
    assert ls_curves.default_runs_dir(out, "s", 200, 1000) == out / "s-runs"


def test_unknown_loss_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown loss 'official'"):
        ls_curves.ls_curves([1], 2, tmp_path, loss="official")


def fake_results(n_seeds, epochs):
    """Results of ls_runs for two methods, accuracies 50 + seed + epoch (%)."""
    def run(seed):
        accs = [50.0 + seed + e for e in range(epochs)]
        return dict(config=dict(seed=seed), epochs=[dict(test_acc=a, seconds=1.0) for a in accs],
                    final=dict(test_acc_last10_mean=float(sum(accs[-10:]) / len(accs[-10:]))))
    return {method: [run(seed) for seed in range(n_seeds)] for method in ("rdia-ls", "ce")}


@pytest.mark.parametrize("n_seeds, epochs, averaged", [(1, 3, "3 epochs"),
                                                       (2, 200, "10 epochs")])
def test_the_report_names_the_epochs_it_averages_and_one_seed_has_no_spread(
        tmp_path, monkeypatch, n_seeds, epochs, averaged):
    results = fake_results(n_seeds, epochs)
    report, _ = ls_curves.ls_report(results, list(range(n_seeds)), epochs, None, tmp_path, 1.0)
    assert f"mean test accuracy of the last {averaged}" in report
    assert f"test accuracy, mean of the last {averaged} (%)" in report
    assert "last-10" not in report
    expected = results["ce"][0]["final"]["test_acc_last10_mean"]
    if n_seeds == 1:  # 50 + mean(0, 1, 2) = 51: the value alone
        assert expected == 51.0 and "| ce | 1 x 3 | 51.00 | - |" in report
        assert "± 0.00 |" not in report
    figures = []
    monkeypatch.setattr(ls_curves, "save_figure_atomic", lambda fig, path, dpi: figures.append(fig))
    ls_curves.plot_ls_curves(results, tmp_path / "curves.png", epochs)
    labels = figures[0].axes[0].get_legend_handles_labels()[1]
    seeds = "1 seed" if n_seeds == 1 else f"{n_seeds} seeds"
    assert labels == [f"rdia-ls ({seeds})", f"ce ({seeds})"]
