"""experiments/output.py: the printed table, the influence tables, the plot, the JSON."""

import csv

import numpy as np
import pandas as pd
import pytest

from rdia.experiments import output, pipeline
from rdia.experiments.config import RunConfig
from test_experiments_pipeline import synthetic_shards


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    shards = synthetic_shards(tmp_path_factory.mktemp("output") / "binary")
    return pipeline.run(RunConfig(dataset=shards, noise=0.3, alpha=0.001), progress=False)


def test_the_summary_names_the_data_the_noise_and_every_method(report):
    text = output.format_report(report)
    lines = text.splitlines()
    assert lines[0].startswith("data binary: train ") and "(logreg) | noise 0.3" in lines[0]
    assert lines[1].split()[:3] == ["method", "test_logloss", "test_acc"]
    assert "precision" in lines[1] and lines[-1].startswith("time: load ")
    assert [line.split()[0] for line in lines[3:-1]] == list(report["config"]["methods"])


def test_the_csv_and_the_parquet_influence_tables_agree(tmp_path, report):
    output.write_influence(tmp_path / "phi.csv", report)
    output.write_influence(tmp_path / "parts", report)
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == [
        f"part-{k:05d}.parquet" for k in range(5)]
    with open(tmp_path / "phi.csv") as handle:
        rows = list(csv.DictReader(handle))
    table = pd.read_parquet(tmp_path / "parts").sort_values("index")
    assert [int(r["index"]) for r in rows] == table["index"].tolist() == \
        list(range(report["config"]["n_train"]))
    np.testing.assert_allclose([float(r["phi"]) for r in rows], table["phi"], rtol=1e-9)
    assert table["relabeled"].tolist() == [int(p > 0.001) for p in table["phi"]]
    assert table["noisy"].sum() == report["config"]["n_flipped"]


def test_the_plot_and_the_record_are_written(tmp_path, report):
    output.plot_phi(tmp_path / "phi.png", report)
    assert (tmp_path / "phi.png").read_bytes()[:4] == b"\x89PNG"
    record = output.record(report, {"--output": "r.json", "--plot": None})
    assert record["files"]["json"].endswith("/r.json") and record["files"]["plot"] is None
    assert "rows" not in record and record["results"] == report["results"]


def test_your_files_get_suspects_before_and_after_and_their_label_types(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    labels = np.where(X[:, 0] + 0.3 * rng.normal(size=200) > 0, 4, 2)
    noisy = labels.copy()
    noisy[:40] = 6 - noisy[:40]
    for name, rows, y in (("n", slice(0, 150), noisy), ("t", slice(150, 200), labels)):
        frame = pd.DataFrame(X[rows], columns=["a", "b", "c"])
        frame["y"] = y[rows]
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    report = pipeline.run(RunConfig(train=str(tmp_path / "n.csv"), val=str(tmp_path / "t.csv"),
                                    label_column="y"), progress=False)
    text = output.format_report(report)
    header = next(line for line in text.splitlines() if line.startswith("method"))
    assert "suspects:" in text and "validation: log-loss" in text
    assert "precision" not in header and "test_acc" not in header
    table = output.relabeled_table(report)
    assert list(table.columns) == ["a", "b", "c", "y", "phi", "harmful", "suggested_label"]
    assert set(table["suggested_label"]) <= {2, 4}
    # alpha auto, the default for your files: flagged rows are relabeled where the
    # rounds and the flags agree, else kept (to review); no other row changes
    changed = table["suggested_label"] != table["y"]
    assert not (changed & ~table["harmful"]).any() and changed[:40].mean() > 0.5
    assert changed.sum() == report["alpha_auto"]["labels_changed"]


@pytest.mark.parametrize("n_harmful", [24, 5, 0])
def test_the_harmful_images_are_drawn_in_a_grid(tmp_path, n_harmful):
    rng = np.random.default_rng(0)
    report = dict(config=dict(dataset_name="digits", n_harmful=n_harmful,
                              alpha_used=0.0002),
                  images=dict(pixels=rng.random((n_harmful, 8, 8)),
                              phi=np.sort(rng.random(n_harmful))[::-1],
                              given=np.arange(n_harmful) % 10,
                              suggested=(np.arange(n_harmful) + 1) % 10, clean=None))
    output.plot_harmful_images(tmp_path / "harmful.png", report)
    assert (tmp_path / "harmful.png").read_bytes()[:4] == b"\x89PNG"


def test_the_parquet_tables_are_part_of_the_output_set(tmp_path, report):
    """A run that fails after writing its Parquet influence tables leaves none of them."""
    from rdia.experiments.files import output_set

    with pytest.raises(RuntimeError):
        with output_set({"--output": tmp_path / "r.json"}):
            output.write_influence(tmp_path / "parts", report)
            raise RuntimeError("the plot fails")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
