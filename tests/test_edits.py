"""edits.py: every training-set edit of the registry, the sampling baselines and cleanlab."""

from dataclasses import replace

import numpy as np
import pytest

from rdia import edits
from rdia import influence
from builders import digits_train_val, train_val
from rdia.models import logreg
from rdia.models.logreg import Logistic
from rdia.models.softmax import Softmax

C = 0.1
ALPHA = 0.0002


def precision_recall(selected, noisy):
    """Share of the selected rows that are noisy, and of the noisy rows selected."""
    hits = np.sum(selected & noisy)
    return hits / max(selected.sum(), 1), hits / max(noisy.sum(), 1)


def binary_problem(seed=0, noise=0.3):
    """A noisy binary TrainingProblem with phi from a real fit, and its noise mask."""
    X, y, X_val, y_val, flipped = train_val(n_train=300, d=6, noise=noise, seed=seed)
    y = y.astype(np.int64)
    model = Logistic()
    w = model.fit(X, y, C)
    phi = influence.influence(model, w, X, y, X_val, y_val.astype(np.int64), C)
    clean = np.where(flipped, 1 - y, y)
    return edits.TrainingProblem(X=X, y_noisy=y, y_clean=clean, phi=phi, alpha=ALPHA,
                                 C=C, model=model), flipped


def digits_problem():
    X, y, X_val, y_val, noisy = digits_train_val(n_train=300, n_val=150, noise=0.3)
    model = Softmax(10)
    W = model.fit(X, y, C)
    phi = influence.influence(model, W, X, y, X_val, y_val, C)
    return edits.TrainingProblem(X=X, y_noisy=y, y_clean=y, phi=phi, alpha=0.001, C=C,
                                 model=model), noisy


@pytest.mark.parametrize("name", list(edits.EDITS))
def test_every_edit_returns_a_consistent_training_set_and_is_seeded(name):
    problem, _ = binary_problem()
    edit = edits.EDITS[name](problem, 4)
    n = problem.n
    assert edit.keep.dtype.kind == "i" and np.all(np.diff(edit.keep) > 0)
    assert 0 < len(edit.keep) <= n and len(edit.labels) == n
    for mask in (edit.relabeled, edit.selected):
        assert mask is None or (mask.dtype == bool and mask.shape == (n,))
    if edit.relabeled is not None:
        assert len(edit.keep) == n  # R relabels, it never removes
    again = edits.EDITS[name](binary_problem()[0], 4)
    np.testing.assert_array_equal(edit.keep, again.keep)


def test_full_clean_rdia_and_drop_follow_their_definitions():
    problem, flipped = binary_problem()
    harmful = problem.phi > ALPHA
    assert harmful.any() and not harmful.all()
    full, clean = edits.full(problem, 0), edits.clean(problem, 0)
    np.testing.assert_array_equal(full.labels, problem.y_noisy)
    np.testing.assert_array_equal(clean.labels != problem.y_noisy, flipped)
    assert full.selected is None and clean.selected is None
    rdia, drop = edits.rdia(problem, 0), edits.drop(problem, 0)
    np.testing.assert_array_equal(rdia.relabeled, harmful)
    np.testing.assert_array_equal(rdia.selected, harmful)
    np.testing.assert_array_equal(drop.keep, np.flatnonzero(~harmful))
    assert drop.relabeled is None


@pytest.mark.parametrize("name", ["random", "uids"])
def test_sampling_edits_keep_95_percent_and_depend_on_the_seed(name):
    problem, _ = binary_problem()
    edit = edits.EDITS[name](problem, 0)
    assert len(edit.keep) == round(0.95 * problem.n)
    np.testing.assert_array_equal(edit.selected, edits.removed_mask(problem.n, edit.keep))
    assert not np.array_equal(edit.keep, edits.EDITS[name](problem, 1).keep)


def test_child_seeds_are_distinct_streams_of_the_run_seed():
    seeds = [edits.child_seed(3, s) for s in (edits.NOISE_STREAM, edits.RANDOM_STREAM,
                                              edits.UIDS_STREAM)]
    assert len(set(seeds)) == 3
    assert seeds == [int(v) for v in np.random.SeedSequence(3).generate_state(3)]


def test_cleanlab_flags_noisy_labels_once_per_problem_and_prune_and_relabel_share_them():
    problem, flipped = binary_problem(noise=0.2)
    prune = edits.cleanlab_prune(problem, 0)
    relabel_ = edits.cleanlab_relabel(problem, 0)
    np.testing.assert_array_equal(prune.selected, relabel_.selected)
    np.testing.assert_array_equal(prune.keep, np.flatnonzero(~prune.selected))
    precision, recall = precision_recall(prune.selected, flipped)
    assert precision > 0.5 and recall > 0.2  # far above the 20% of chance
    assert list(problem.cache) == ["cleanlab"]


def test_cleanlab_works_with_k_classes():
    problem, noisy = digits_problem()
    flagged = edits.cleanlab_relabel(problem, 0).relabeled
    precision, _ = precision_recall(flagged, noisy)
    assert flagged.any() and precision > 0.5


def test_out_of_sample_probabilities_come_from_models_that_did_not_see_the_sample():
    X, y, *_ = train_val(n_train=200, d=4, seed=1)
    y = y.astype(int)
    proba = edits.out_of_sample_proba(Logistic(), X, y, C, seed=0)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    in_sample = logreg.predict_proba(logreg.fit(X, y, C), X)
    assert not np.allclose(proba[:, 1], in_sample)


@pytest.mark.parametrize("seed", [0, 1])
def test_random_subsample_keeps_95_percent_reproducibly(seed):
    kept = edits.random_subsample(1000, 0.95, seed)
    assert len(kept) == 950 and len(np.unique(kept)) == 950
    np.testing.assert_array_equal(kept, edits.random_subsample(1000, 0.95, seed))
    assert not np.array_equal(kept, edits.random_subsample(1000, 0.95, seed + 7))


def test_uids_probabilities_follow_the_scaled_sigmoid():
    phi = np.array([-0.2, 0.0, 0.3])
    a = 10 / 0.5
    np.testing.assert_allclose(edits.uids_probabilities(phi),
                               1 / (1 + np.exp(a * phi)))


def test_uids_keeps_95_percent_of_each_class_and_avoids_harmful_samples():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], [300, 100])
    phi = rng.normal(size=400)
    kept = edits.uids_subsample(phi, y, 0.95, seed=3)
    assert np.sum(y[kept] == 0) == 285 and np.sum(y[kept] == 1) == 95
    np.testing.assert_array_equal(kept, edits.uids_subsample(phi, y, 0.95, seed=3))
    dropped = np.ones(400, bool)
    dropped[kept] = False
    # Dropped samples are the harmful ones far more often than chance.
    assert phi[dropped].mean() > phi.mean() + 0.5



def test_a_drop_of_most_rows_is_fitted_on_a_copy_of_the_kept_ones():
    problem, _ = binary_problem(noise=0.8)
    phi = np.ones(problem.n)
    phi[-10:] = -1.0  # all harmful at alpha 0 but the last ten
    problem = replace(problem, phi=phi, alpha=0.0)
    edit = edits.drop(problem, seed=0)
    rows = edits.training_set(problem.X, edit)
    assert len(edit.keep) == 10 < edits.COPY_BELOW * problem.n
    assert rows.weights is None and rows.X.shape[0] == 10
    np.testing.assert_array_equal(rows.X, problem.X[-10:])
    np.testing.assert_array_equal(rows.labels, problem.y_noisy[-10:])


def test_the_weighted_and_the_copied_training_sets_give_the_same_fit():
    problem, _ = binary_problem()
    edit = edits.random(problem, seed=0)
    rows = edits.training_set(problem.X, edit)
    weighted = Logistic().fit(rows.X, rows.labels, C, weights=rows.weights)
    copied = Logistic().fit(problem.X[edit.keep], edit.labels[edit.keep], C)
    np.testing.assert_allclose(weighted, copied, rtol=1e-8, atol=1e-10)
