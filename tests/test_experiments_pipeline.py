"""experiments/pipeline.py: one run for every source and engine, checked against
independent computations: an explicit dense solve for phi, scikit-learn or an explicit
objective for the refits, and the single-partition in-memory run on the same rows."""

import logging

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.linear_model import LogisticRegression

from builders import breast_cancer_noisy, explicit_softmax_refit

from rdia.data.shards import Partition, write_shards
from rdia.experiments import pipeline
from rdia.experiments.config import RunConfig
from rdia.experiments.cluster import quiet_logs
from rdia.experiments.engines import DaskEngine, MemoryEngine
from rdia.experiments.sources import Source
from rdia.settings import ConfigError

RTOL = 1e-6

#: Methods whose training set does not depend on how rows are cut into partitions.
ROW_WISE = ("full", "drop", "rdia", "clean")


def synthetic_shards(folder, n=600, d=40, n_shards=5, classes=2, seed=0):
    """Sparse data (about 8 non-zeros a row) with a linear signal, as LIBSVM shards."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.2, format="csr", random_state=rng,
                  data_rvs=lambda k: rng.normal(size=k))
    scores = X @ rng.normal(size=(d, classes)) * 2
    y = np.array([rng.choice(classes, p=softmax(s)) for s in scores])
    write_shards(X, 3 * y + 1, folder, n_shards)
    return str(folder)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    return dict(binary=synthetic_shards(root / "binary"),
                softmax=synthetic_shards(root / "softmax", classes=3, seed=1))


@pytest.fixture(scope="module")
def dask_engine():
    distributed = pytest.importorskip("distributed")
    quiet_logs()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0",
                                  silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield DaskEngine(client)


def engine_of(name, dask_engine):
    return MemoryEngine() if name == "memory" else dask_engine


def single_partition(fitted):
    """The rows and labels of a run's partitions joined into one partition, as the
    in-memory benchmark run holds its data."""
    parts = fitted.engine.gather(fitted.source.parts)
    stack = (lambda blocks: sp.vstack(blocks, format="csr")) if sp.issparse(
        parts[0].X_train) else np.concatenate
    joined = Partition(
        index=0, X_train=stack([p.X_train for p in parts]),
        y_clean=np.concatenate([p.y_clean for p in parts]),
        y_noisy=np.concatenate([p.y_noisy for p in parts]),
        noisy=np.concatenate([p.noisy for p in parts]),
        X_val=stack([p.X_val for p in parts]), y_val=np.concatenate([p.y_val for p in parts]),
        X_test=stack([p.X_test for p in parts]),
        y_test=np.concatenate([p.y_test for p in parts]), edit_seed=0)
    source = fitted.source
    return Source(source.name, source.classes, source.n_features, [joined],
                  dict(source.info, n_train=joined.n_train))


def gathered_phi(fitted):
    return np.concatenate(fitted.engine.gather(fitted.phi))


CASES = [("binary", "memory"), ("binary", "dask"), ("softmax", "memory"),
         ("softmax", "dask")]


@pytest.mark.parametrize("data, engine_name", CASES)
def test_every_engine_equals_the_single_partition_run_on_the_same_rows(
        data, engine_name, folders, dask_engine):
    config = RunConfig(dataset=folders[data], noise=0.3, alpha=0.001,
                       engine="memory").resolved()
    fitted = pipeline.prepare(engine_of(engine_name, dask_engine), config, progress=False)
    reference = pipeline.prepare(MemoryEngine(), config, progress=False,
                                 source=single_partition(fitted))
    phi, expected = gathered_phi(fitted), gathered_phi(reference)
    assert np.max(np.abs(phi - expected)) <= RTOL * np.max(np.abs(expected))
    for method in ROW_WISE:
        row = pipeline.refit(fitted, method, config.alpha)[0]
        want = pipeline.refit(reference, method, config.alpha)[0]
        for key, value in want.items():
            if isinstance(value, float):
                assert row[key] == pytest.approx(value, rel=RTOL, abs=1e-12), (method, key)
            else:
                assert row[key] == value, (method, key)


@pytest.mark.parametrize("data, engine_name", CASES)
def test_alpha_auto_gives_each_partition_its_own_repaired_rows(data, engine_name, folders,
                                                              dask_engine):
    """alpha auto repairs the stacked rows, and each partition gets back its slice of
    the labels and flags: every method's row, the suspects and the record equal the
    run on the same rows joined in one partition."""
    config = RunConfig(dataset=folders[data], noise=0.3, alpha="auto").resolved()
    engine = engine_of(engine_name, dask_engine)
    fitted = pipeline.prepare(engine, config, progress=False)
    assert len(fitted.source.parts) > 1
    report = pipeline.run_on(engine, config, progress=False, source=fitted.source)
    joined = pipeline.run_on(MemoryEngine(), config, progress=False,
                             source=single_partition(fitted))
    assert 0 < report["config"]["n_harmful"] == joined["config"]["n_harmful"]
    assert report["alpha_auto"]["rounds"] == joined["alpha_auto"]["rounds"] > 0
    suspects = [np.concatenate([r[key] for r in run["rows"]]) for run in (report, joined)
                for key in ("harmful", "suggested")]
    for mine, theirs in zip(suspects[:2], suspects[2:]):
        np.testing.assert_array_equal(mine, theirs)
    for mine, theirs in zip(report["results"], joined["results"]):
        if mine["method"] not in ROW_WISE:
            continue
        for key, value in theirs.items():
            if isinstance(value, float):
                assert mine[key] == pytest.approx(value, rel=RTOL, abs=1e-12), key
            else:
                assert mine[key] == value, key


def explicit_binary_phi(X, y, X_val, y_val, w, C):
    """phi from docs/method.md section 3 with a dense Hessian and numpy's solve."""
    X, X_val = np.asarray(X.todense()) if sp.issparse(X) else X, \
        np.asarray(X_val.todense()) if sp.issparse(X_val) else X_val
    p, p_val = expit(X @ w), expit(X_val @ w)
    H = np.eye(len(w)) + C * X.T @ (X * (p * (1 - p))[:, None])
    s = np.linalg.solve(H, C * X_val.T @ (p_val - y_val))
    return -C * (p - y) * (X @ s)


@pytest.mark.parametrize("engine_name", ["memory", "dask"])
def test_binary_phi_and_the_rdia_refit_match_an_explicit_solve_and_sklearn(
        engine_name, folders, dask_engine):
    """phi against a dense solve at the fitted w (which must zero the gradient), and the
    RDIA refit against scikit-learn on the labels flipped for phi > alpha: a no-op R
    anywhere on the path fails here."""
    config = RunConfig(dataset=folders["binary"], noise=0.3, alpha=0.001).resolved()
    fitted = pipeline.prepare(engine_of(engine_name, dask_engine), config, progress=False)
    part = single_partition(fitted).parts[0]
    X, y, C, w = part.X_train, part.y_noisy, config.C, fitted.full.W
    gradient = w + C * X.T @ (expit(X @ w) - y)
    assert np.max(np.abs(gradient)) <= 1e-8 * np.max(np.abs(C * X.T @ (0.5 - y)))
    phi = gathered_phi(fitted)
    expected = explicit_binary_phi(X, y, part.X_val, part.y_val, w, C)
    np.testing.assert_allclose(phi, expected, rtol=0, atol=1e-7 * np.abs(expected).max())

    harmful = phi > config.alpha
    flipped = np.where(harmful, 1 - y, y)
    reference = LogisticRegression(C=C, fit_intercept=False, tol=1e-12, max_iter=10000)
    reference.fit(X, flipped)
    row, fit, _ = pipeline.refit(fitted, "rdia", config.alpha)
    assert row["n_relabeled"] == harmful.sum() > 0
    np.testing.assert_allclose(fit.W, reference.coef_.ravel(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("engine_name", ["memory", "dask"])
def test_the_softmax_refit_trains_l_R_on_the_harmful_rows(engine_name, folders, dask_engine):
    config = RunConfig(dataset=folders["softmax"], noise=0.3, alpha=0.001).resolved()
    fitted = pipeline.prepare(engine_of(engine_name, dask_engine), config, progress=False)
    part = single_partition(fitted).parts[0]
    harmful = gathered_phi(fitted) > config.alpha
    row, fit, _ = pipeline.refit(fitted, "rdia", config.alpha)
    assert row["n_relabeled"] == harmful.sum() > 0
    expected = explicit_softmax_refit(part.X_train, part.y_noisy, harmful, config.C, 3)
    np.testing.assert_allclose(fit.W, expected, rtol=0, atol=1e-4 * np.abs(expected).max())


def test_same_seed_same_numbers_and_another_seed_other_numbers():
    first = pipeline.run(RunConfig(dataset="wdbc", noise=0.3, seed=1), progress=False)
    again = pipeline.run(RunConfig(dataset="wdbc", noise=0.3, seed=1), progress=False)
    other = pipeline.run(RunConfig(dataset="wdbc", noise=0.3, seed=2), progress=False)
    assert first["results"] == again["results"]
    assert first["results"] != other["results"]


def test_rdia_beats_full_at_high_noise_and_the_counts_add_up():
    report = pipeline.run(RunConfig(dataset="wdbc", noise=0.4, alpha=0.0002),
                          progress=False)
    rows = {row["method"]: row for row in report["results"]}
    cfg = report["config"]
    assert rows["rdia"]["test_logloss"] < rows["full"]["test_logloss"]
    assert rows["rdia"]["n_relabeled"] == cfg["n_harmful"] == rows["drop"]["n_removed"]
    assert rows["full"]["n_train_used"] == cfg["n_train"]
    assert cfg["n_flipped"] == int(0.4 * cfg["n_train"])
    assert [r["method"] for r in report["results"]] == list(
        RunConfig().resolved().methods)


def test_alpha_auto_never_reads_the_test_labels(tmp_path):
    """Shuffling the test labels changes the test scores but not alpha auto's repair."""
    X, y, X_val, y_val, _ = breast_cancer_noisy(n_train=300, noise=0.25)
    rng = np.random.default_rng(0)
    frames = {}
    for name, (features, labels) in dict(noisy=(X, y), trusted=(X_val[:80], y_val[:80]),
                                          test=(X_val[80:], y_val[80:])).items():
        frame = pd.DataFrame(features, columns=[f"f{j}" for j in range(X.shape[1])])
        frame["y"] = labels
        frames[name] = frame
    choices = []
    for shuffle in (False, True):
        test = frames["test"].copy()
        if shuffle:
            test["y"] = rng.permutation(test["y"].to_numpy())
        for name, frame in dict(frames, test=test).items():
            frame.to_csv(tmp_path / f"{name}.csv", index=False)
        report = pipeline.run(RunConfig(train=str(tmp_path / "noisy.csv"),
                                        val=str(tmp_path / "trusted.csv"),
                                        test=str(tmp_path / "test.csv"), label_column="y",
                                        alpha="auto"), progress=False)
        choices.append((report["config"]["n_harmful"], report["alpha_auto"],
                        report["summary"]["after"]["test_accuracy"]))
    assert choices[0][:2] == choices[1][:2]
    assert choices[0][2] != choices[1][2]


def own_files(folder):
    """Your-own-data CSV files with text labels, 20% of the training labels changed."""
    X, y, X_val, y_val, _ = breast_cancer_noisy(n_train=250, noise=0.2)
    for name, features, labels in (("noisy", X, y), ("trusted", X_val, y_val)):
        frame = pd.DataFrame(features, columns=[f"f{j}" for j in range(X.shape[1])])
        frame["y"] = np.array(["benign", "malignant"])[labels]
        frame.to_csv(folder / f"{name}.csv", index=False)
    return dict(train=str(folder / "noisy.csv"), val=str(folder / "trusted.csv"),
                label_column="y", alpha="auto")


def test_alpha_auto_on_your_files_is_the_python_apis_repair(tmp_path):
    """The default for your files: the rows, flags and labels of ``repair_labels`` on
    the same encoded rows, and rdia's refit is the plain fit on the repaired labels."""
    from rdia.estimator import repair_labels

    config = RunConfig(**dict(own_files(tmp_path), alpha=None)).resolved()
    assert config.alpha == "auto"
    report = pipeline.run(config, progress=False)
    (part,), (rows,) = report["source"].parts, report["rows"]
    expected = repair_labels(part.X_train, part.y_noisy, part.X_val, part.y_val,
                             C=config.C, check_trusted=False)
    np.testing.assert_array_equal(rows["harmful"], expected.harmful)
    np.testing.assert_array_equal(rows["suggested"], expected.labels)
    assert 0 < np.sum(expected.labels != part.y_noisy) < expected.harmful.sum()
    rdia = next(r for r in report["results"] if r["method"] == "rdia")
    assert rdia["n_relabeled"] == np.sum(expected.labels != part.y_noisy)
    model = LogisticRegression(C=config.C, fit_intercept=False,  # J: C on the summed loss
                               tol=1e-10, max_iter=10_000).fit(part.X_train, expected.labels)
    proba = expit(part.X_val @ model.coef_[0])
    sklearn_loss = -np.mean(np.where(part.y_val == 1, np.log(proba), np.log1p(-proba)))
    assert rdia["val_logloss"] == pytest.approx(sklearn_loss, rel=1e-5)


@pytest.mark.parametrize("source", ["named", "files", "mnist10-like"])
def test_a_named_dataset_and_your_files_give_the_memory_run_on_dask(source, tmp_path,
                                                                   dask_engine):
    values = {"named": dict(dataset="wdbc", noise=0.3),
              "files": own_files(tmp_path),
              "mnist10-like": dict(dataset="digits", noise=0.3, methods=("full", "rdia"))
              }[source]
    config = RunConfig(**values).resolved()
    memory = pipeline.run_on(MemoryEngine(), config, progress=False)
    dask = pipeline.run_on(dask_engine, config, progress=False)
    phi, expected = (np.concatenate([r["phi"] for r in report["rows"]])
                     for report in (dask, memory))
    assert np.max(np.abs(phi - expected)) <= RTOL * np.max(np.abs(expected))
    assert dask["config"]["alpha_used"] == memory["config"]["alpha_used"]
    if source == "mnist10-like":  # the Dask run gathers only the harmful images
        np.testing.assert_array_equal(dask["images"]["pixels"], memory["images"]["pixels"])
    else:
        assert dask["images"] is None
    for mine, theirs in zip(memory["results"], dask["results"]):
        for key, value in mine.items():
            if isinstance(value, float):
                assert theirs[key] == pytest.approx(value, rel=RTOL, abs=1e-12), key
            else:
                assert theirs[key] == value, key


def test_binary_logreg_refuses_more_than_two_labels_before_any_fit(tmp_path):
    folder = synthetic_shards(tmp_path / "k", n=300, classes=4, seed=2)
    config = RunConfig(dataset=folder, model="logreg").resolved()
    source = pipeline.sources.load(config, MemoryEngine())
    with pytest.raises(ConfigError, match="--model logreg fits two labels but k has 4"):
        pipeline.prepare(MemoryEngine(), config, progress=False, source=source)


def test_the_harmful_images_are_the_harmful_rows_of_highest_phi_across_partitions():
    """Each partition sends its own most harmful rows; the picture takes the overall
    ones from them, in the order one sort of every row gives."""
    rng = np.random.default_rng(0)
    phi = rng.normal(size=90)
    phi[[3, 50]] = phi[7]  # ties keep partition and row order
    position = np.arange(90.0)[:, None]  # each row's "pixel" is its overall position
    order = np.argsort(-phi, kind="stable")
    for count in (5, 24, 90):
        rows = []
        for part, pixels in zip(np.split(phi, [30, 31, 60]), np.split(position, [30, 31, 60])):
            top = pipeline.most_harmful(part, part > 0.2, count)
            rows.append(dict(phi=part, top=top, pixels=pixels[top], y_clean=None,
                             y_noisy=np.zeros(len(part), int), suggested=np.ones(len(part), int)))
        images = pipeline.harmful_images(rows, np.array([7, 9]), (1, 1), count)
        expected = order[:min(count, int(np.sum(phi > 0.2)))]
        np.testing.assert_array_equal(images["pixels"].ravel(), expected)
        np.testing.assert_array_equal(images["phi"], phi[expected])
        assert list(images["given"]) == [7] * len(expected) and images["clean"] is None
    assert len(pipeline.most_harmful(phi, phi > 9, 24)) == 0


def test_digits_keeps_the_pixels_and_labels_of_its_most_harmful_rows():
    """The images are the training rows of highest phi, as loaded, shown as 8x8."""
    from rdia.data.datasets import load_multiclass

    config = RunConfig(dataset="digits", noise=0.3, methods=("rdia",)).resolved()
    report = pipeline.run_on(MemoryEngine(), config, progress=False)
    (rows,) = report["rows"]
    order = np.argsort(-rows["phi"], kind="stable")[:pipeline.N_HARMFUL_IMAGES]
    assert rows["phi"][order[-1]] > 0.0002
    images = report["images"]
    dataset = load_multiclass("digits", seed=0)  # the run's partition is its first rows
    np.testing.assert_array_equal(images["pixels"],
                                  dataset.X_train[order].reshape(-1, 8, 8))
    np.testing.assert_array_equal(images["phi"], rows["phi"][order])
    np.testing.assert_array_equal(images["given"], rows["y_noisy"][order])
    np.testing.assert_array_equal(images["clean"], dataset.y_train[order])
    np.testing.assert_array_equal(images["suggested"], rows["suggested"][order])
    assert (images["given"] != images["suggested"]).all()
