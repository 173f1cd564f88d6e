"""estimator.py: RDIAClassifier follows scikit-learn's conventions and computes RDIA."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from rdia import repair
from rdia import influence
from builders import (breast_cancer_noisy, digits_train_val, explicit_softmax_refit,
                      repair_problem, train_val)
from rdia import estimator
from rdia.estimator import RDIAClassifier, find_harmful
from rdia.models.softmax import Softmax

C = 0.1


class SelfValidatedRDIA(RDIAClassifier):
    """RDIAClassifier whose fit(X, y) uses the training rows as validation rows.

    scikit-learn's checks call ``fit(X, y)``; RDIA cannot fit without a trusted
    validation set, so every check would stop at that one error. This subclass only
    fills X_val and y_val in; everything the checks look at (input validation,
    fitted attributes, predict, predict_proba, pickling, cloning) is
    RDIAClassifier's own code.
    """

    def fit(self, X, y):
        return super().fit(X, y, X_val=X, y_val=y)


@parametrize_with_checks([SelfValidatedRDIA()])
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def dense_phi(w, X, y, X_val, y_val):
    """phi of docs/method.md section 3 from an explicit dense Hessian (small d only)."""
    p, p_val = expit(X @ w), expit(X_val @ w)
    H = np.eye(X.shape[1]) + C * X.T @ ((p * (1 - p))[:, None] * X)
    s = np.linalg.solve(H, C * X_val.T @ (p_val - y_val))
    return -C * (p - y) * (X @ s)


def liblinear(X, y):
    """The paper's reference learner, w of shape (d,)."""
    model = LogisticRegression(C=C, fit_intercept=False, solver="liblinear", tol=1e-7,
                               max_iter=1000).fit(X, y)
    return model.coef_.ravel()


@pytest.fixture(scope="module")
def noisy_cancer():
    return breast_cancer_noisy(n_train=400, noise=0.2, seed=0)


def test_phi_harmful_and_coef_are_those_of_the_method(noisy_cancer):
    X, y, X_val, y_val, _ = noisy_cancer
    clf = RDIAClassifier(C=C, alpha=0.002).fit(X, y, X_val=X_val, y_val=y_val)
    w = liblinear(X, y)
    np.testing.assert_allclose(clf.phi_, dense_phi(w, X, y, X_val, y_val), rtol=1e-4,
                               atol=1e-7)
    np.testing.assert_array_equal(clf.harmful_, clf.phi_ > 0.002)
    assert 0 < clf.harmful_.sum() < len(y)
    # R flips the harmful labels and the model is refitted on them (by trust-region
    # Newton; liblinear at the paper's tol stops within about 1e-6 of the minimiser,
    # relative to the weights' scale, so that is the bound against it)
    flipped = np.where(clf.harmful_, 1 - y, y)
    reference = liblinear(X, flipped)
    np.testing.assert_allclose(clf.coef_, reference[None, :], rtol=1e-6,
                               atol=1e-6 * np.abs(reference).max())
    assert clf.classes_.tolist() == [0, 1] and clf.n_features_in_ == 30
    assert isinstance(clf.n_iter_, int) and clf.n_iter_ > 0


def test_relabeling_lowers_the_validation_loss_on_noisy_cancer(noisy_cancer):
    X, y, X_val, y_val, _ = noisy_cancer
    clf = RDIAClassifier().fit(X, y, X_val=X_val, y_val=y_val)
    plain = LogisticRegression(C=C, fit_intercept=False, solver="liblinear").fit(X, y)
    from sklearn.metrics import log_loss
    assert log_loss(y_val, clf.predict_proba(X_val)) < \
        0.5 * log_loss(y_val, plain.predict_proba(X_val))


@pytest.mark.parametrize("make", [np.asarray, sp.csr_matrix, sp.csc_matrix, pd.DataFrame])
def test_dense_sparse_and_frames_give_the_same_fit(make):
    X, y, X_val, y_val, _ = train_val(n_train=200, n_val=80, sparse=True, seed=2)
    reference = RDIAClassifier().fit(X.toarray(), y, X_val=X_val.toarray(), y_val=y_val)
    as_input = (lambda M: make(M.toarray())) if make in (np.asarray, pd.DataFrame) \
        else make
    clf = RDIAClassifier().fit(as_input(X), y, X_val=as_input(X_val), y_val=y_val)
    np.testing.assert_allclose(clf.phi_, reference.phi_, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(clf.predict_proba(as_input(X_val)),
                               reference.predict_proba(X_val.toarray()), rtol=1e-6)


def test_string_labels_predict_strings_and_probabilities_sum_to_one(noisy_cancer):
    X, y, X_val, y_val, _ = noisy_cancer
    names = np.array(["malignant", "benign"], dtype=object)
    clf = RDIAClassifier().fit(X, names[y], X_val=X_val, y_val=names[y_val])
    assert clf.classes_.tolist() == ["benign", "malignant"]
    proba = clf.predict_proba(X_val)
    assert proba.shape == (len(y_val), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert set(clf.predict(X_val)) <= {"benign", "malignant"}
    assert clf.score(X_val, names[y_val]) > 0.9


def test_label_issues_lists_every_training_row_with_its_suggestion(noisy_cancer):
    X, y, X_val, y_val, _ = noisy_cancer
    names = np.array(["malignant", "benign"], dtype=object)
    frame = pd.DataFrame(X, index=np.arange(len(y)) * 10 + 7)
    clf = RDIAClassifier(alpha=0.002).fit(frame, names[y], X_val=pd.DataFrame(X_val),
                                          y_val=names[y_val])
    issues = clf.label_issues()
    assert list(issues.columns) == ["given_label", "suggested_label", "phi", "harmful"]
    assert issues.index.tolist() == frame.index.tolist()
    assert issues["given_label"].tolist() == names[y].tolist()
    harmful = issues["harmful"].to_numpy()
    np.testing.assert_array_equal(harmful, issues["phi"] > clf.alpha_)
    # two classes: the suggestion is the other label where harmful, the given one elsewhere
    expected = np.where(harmful, names[1 - y], names[y])
    assert issues["suggested_label"].tolist() == expected.tolist()


def test_k_classes_suggest_the_most_probable_other_class():
    X, y, X_val, y_val, _ = digits_train_val(n_train=300, n_val=150, noise=0.3, seed=1)
    clf = RDIAClassifier(alpha=0.001).fit(X, y, X_val=X_val, y_val=y_val)
    assert clf.coef_.shape == (10, 64) and clf.classes_.tolist() == list(range(10))
    issues = clf.label_issues()
    rows = np.flatnonzero(clf.harmful_)
    assert rows.size > 0
    proba = clf.predict_proba(X[rows])
    proba[np.arange(rows.size), y[rows]] = -1.0
    np.testing.assert_array_equal(issues["suggested_label"].to_numpy()[rows],
                                  proba.argmax(axis=1))
    kept = ~clf.harmful_
    np.testing.assert_array_equal(issues["suggested_label"].to_numpy()[kept], y[kept])


def test_k_classes_at_a_number_alpha_refit_once_and_coef_is_the_l_R_refit(monkeypatch):
    """coef_ is the minimiser of the l_R objective on the harmful rows, written in the
    test (builders.explicit_softmax_refit), from the one l_R refit, the one the
    suggestions come from (the other fits are on given labels: the first, and the
    trusted check's folds)."""
    X, y, X_val, y_val, _ = digits_train_val(n_train=300, n_val=150, noise=0.3, seed=1)
    fits = []
    real_fit = Softmax.fit
    monkeypatch.setattr(Softmax, "fit", lambda self, *a, **k: fits.append(k) or
                        real_fit(self, *a, **k))
    clf = RDIAClassifier(alpha=0.001).fit(X, y, X_val=X_val, y_val=y_val)
    assert sum(k.get("relabeled") is not None for k in fits) == 1
    W = explicit_softmax_refit(X, y, clf.harmful_, C, 10)
    np.testing.assert_allclose(clf.coef_, W.T, rtol=1e-5, atol=1e-5 * np.abs(W).max())


def test_clone_get_params_and_set_params():
    clf = RDIAClassifier(C=0.5, alpha=0.01, model="softmax", solver="direct")
    params = clf.get_params()
    assert params == dict(C=0.5, alpha=0.01, model="softmax", solver="direct",
                          tol=influence.DEFAULT_TOL, max_iter=1000)
    copy = clone(clf)
    assert copy is not clf and copy.get_params() == params
    assert clf.set_params(alpha=0.002) is clf and clf.alpha == 0.002
    assert copy.alpha == 0.01
    assert not hasattr(copy, "coef_")


def test_a_pipeline_passes_validation_rows_through_its_scaler_with_val_mask():
    X, y, X_val, y_val, _ = train_val(n_train=200, n_val=80, seed=3)
    X_all = np.vstack([X, X_val]) * 5.0 + 3.0  # in other units than the model wants
    y_all = np.concatenate([y, y_val])
    is_val = np.arange(len(y_all)) >= len(y)
    pipe = make_pipeline(StandardScaler(), RDIAClassifier())
    pipe.fit(X_all, y_all, rdiaclassifier__val_mask=is_val)
    # the same as scaling every row by hand and passing the validation rows apart
    Z = StandardScaler().fit_transform(X_all)
    direct = RDIAClassifier().fit(Z[~is_val], y, X_val=Z[is_val], y_val=y_val)
    clf = pipe[-1]
    np.testing.assert_allclose(clf.phi_, direct.phi_, rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(clf.label_issues().index, np.flatnonzero(~is_val))
    np.testing.assert_allclose(pipe.predict_proba(X_all).sum(axis=1), 1.0)
    clone(pipe).fit(X_all, y_all, rdiaclassifier__val_mask=is_val)


def test_metadata_routing_passes_val_mask_when_requested():
    import sklearn

    X, y, X_val, y_val, _ = train_val(n_train=100, n_val=40, seed=7)
    X_all, y_all = np.vstack([X, X_val]), np.concatenate([y, y_val])
    is_val = np.arange(140) >= 100
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(),
                             RDIAClassifier().set_fit_request(val_mask=True))
        pipe.fit(X_all, y_all, val_mask=is_val)
    assert len(pipe[-1].phi_) == 100


def test_x_val_that_skipped_the_pipeline_steps_is_refused():
    X, y, X_val, y_val, _ = train_val(n_train=100, n_val=40, seed=4)
    pipe = make_pipeline(StandardScaler(), RDIAClassifier())
    with pytest.raises(ValueError, match="val_mask"):
        pipe.fit(pd.DataFrame(X), y, rdiaclassifier__X_val=pd.DataFrame(X_val),
                 rdiaclassifier__y_val=y_val)


def three_class_labels(y):
    labels = np.asarray(y).astype(int).copy()
    labels[:5] = 2
    return labels


@pytest.mark.parametrize("params, fit_args, words", [
    (dict(), dict(), "X_val and y_val, or mark validation rows"),
    (dict(), dict(X_val="X_VAL", y_val="Y_VAL", val_mask="MASK"), "not both"),
    (dict(), dict(X_val="NARROW", y_val="Y_VAL"), "X_val has 5 features but X has 6"),
    (dict(), dict(X_val="NAN", y_val="Y_VAL"), "X_val contains NaN or infinity at row 3, "
                                              "column 2"),
    (dict(), dict(X_val="X_VAL", y_val="UNSEEN"), "y_val: label 7 (row 1) does not occur"),
    (dict(), dict(X_val="X_VAL", y_val="SHORT"), "y_val has 3 labels for 40 rows"),
    (dict(), dict(val_mask="ALL"), "leave some for training"),
    (dict(alpha=-1.0), dict(X_val="X_VAL", y_val="Y_VAL"), "alpha must be"),
    (dict(C=0.0), dict(X_val="X_VAL", y_val="Y_VAL"), "C must be in"),
    (dict(model="svm"), dict(X_val="X_VAL", y_val="Y_VAL"), "model must be one of"),
    (dict(model="logreg"), dict(X_val="X_VAL", y_val="Y_VAL", y="THREE"),
     "model='logreg' fits two classes but the labels hold 3"),
    (dict(), dict(X_val="X_VAL", y_val="Y_VAL", y="ONE"), "at least 2 classes"),
    (dict(), dict(X_val="X_VAL", y_val="Y_VAL", X="TEXT"), "X column 'color' is not "
                                                          "numeric"),
    (dict(), dict(X_val="FRAME_SWAPPED", y_val="Y_VAL", X="FRAME"),
     "X_val's column 1 is 'c2' but X's is 'c1'"),
    (dict(), dict(X_val="FRAME_TEXT", y_val="Y_VAL", X="FRAME"),
     "X_val column 'c3' is not numeric"),
    (dict(), dict(X_val="EMPTY", y_val="NO_LABELS"), "Found array with 0 sample(s)"),
])
def test_bad_input_is_a_value_error_that_names_the_problem(params, fit_args, words):
    X, y, X_val, y_val, _ = train_val(n_train=100, n_val=40, seed=5)
    X_nan = X_val.copy()
    X_nan[3, 2] = np.nan
    values = {"X_VAL": X_val, "Y_VAL": y_val, "NARROW": X_val[:, :5], "NAN": X_nan,
              "UNSEEN": np.where(np.arange(40) == 0, 7, y_val), "SHORT": y_val[:3],
              "MASK": np.zeros(100, bool), "ALL": np.ones(100, bool),
              "THREE": three_class_labels(y), "ONE": np.zeros(100),
              "TEXT": pd.DataFrame(X).assign(color="red"),
              "FRAME": pd.DataFrame(X).add_prefix("c"),
              "FRAME_SWAPPED": pd.DataFrame(X_val).add_prefix("c")[
                  ["c0", "c2", "c1", "c3", "c4", "c5"]],
              "FRAME_TEXT": pd.DataFrame(X_val).add_prefix("c").assign(c3="high"),
              "EMPTY": X_val[:0], "NO_LABELS": y_val[:0]}
    args = {key: values.get(value, value) if isinstance(value, str) else value
            for key, value in fit_args.items()}
    X_fit, y_fit = args.pop("X", X), args.pop("y", y)
    with pytest.raises(ValueError, match=re.escape(words)):
        RDIAClassifier(**params).fit(X_fit, y_fit, **args)


@pytest.mark.parametrize("labels,words", [
    ([None] * 40, "label missing in row 1"),
    (np.array([1, "a"] * 20, dtype=object), "mix text and numbers"),
])
@pytest.mark.parametrize("call", ["fit", "find_harmful"])
def test_labels_no_classifier_can_take_are_one_value_error(labels, words, call):
    from rdia import find_harmful

    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match=words):
        if call == "fit":
            RDIAClassifier().fit(X, labels, X, labels)
        else:
            find_harmful(X, labels, X, labels)


# ------------------------------------------------------------------ label repair (issue 22)

def test_suggestions_are_the_rdia_refits_most_probable_other_class_as_strings():
    """find_harmful(..., return_suggestions=True): the given label where not harmful,
    else the most probable other class under RDIA's refit, here an L-BFGS minimum of
    the l_R objective written in the test; repair_labels(...).k_star is k* of
    method.md section 7 from a dense solve."""
    X, y, X_val, y_val, _ = digits_train_val(n_train=200, n_val=100, noise=0.3, seed=1)
    words = np.array([f"digit {k}" for k in range(10)])
    harmful, suggested, phi = find_harmful(X, words[y], X_val, words[y_val], alpha=0.0,
                                           return_suggestions=True, return_scores=True)
    fit = estimator.influence_scores(X, y, X_val, y_val)
    np.testing.assert_allclose(phi, fit.phi)
    np.testing.assert_array_equal(harmful, phi > 0)
    W = explicit_softmax_refit(X, y, harmful, C, 10)
    logits = X @ W
    logits[np.arange(len(y)), y] = -np.inf
    expected = np.where(harmful, np.argmax(logits, axis=1), y)
    assert suggested.dtype.kind == "U" and (suggested != words[y]).sum() == harmful.sum()
    np.testing.assert_array_equal(suggested, words[expected])
    H = fit.linear.hessian(fit.W, X, C).dense()
    S = np.linalg.solve(H, fit.linear.validation_gradient(fit.W, X_val, y_val, C))
    U = X @ S.reshape(64, 10)
    U[np.arange(len(y)), y] = np.inf
    record = estimator.repair_labels(X, words[y], X_val, words[y_val], alpha=0.0)
    np.testing.assert_array_equal(record.k_star, words[np.argmin(U, axis=1)])


def test_alpha_auto_relabels_in_cross_fitted_rounds_and_refits_on_the_new_labels():
    X, y, X_val, y_val, _ = train_val(n_train=200, n_val=60, noise=0.3, seed=2)
    clf = RDIAClassifier(alpha="auto").fit(X, y, X_val=X_val, y_val=y_val)
    choice = clf.alpha_choice_
    assert isinstance(choice, repair.RoundsChoice) and choice.folds == repair.AUTO_FOLDS
    assert len(choice.curve) == len(choice.n_relabeled) > repair.AUTO_ROUNDS
    assert choice.step == 4  # 2% of 200 rows a round
    # At 30% noise the rounds help the held-out trusted rows: some are chosen.
    assert 0 < choice.rounds and choice.curve[choice.rounds] < choice.curve[0]
    assert clf.alpha_ == 0.0
    # The flagged rows are those the chosen rounds against all trusted rows relabel
    # and those whose given label the model after them finds more likely wrong than
    # right (each round and the flags are checked against explicit solves in
    # test_repair.py); a row takes the rounds' label where both agree, and the
    # model is refitted on the labels.
    fit = estimator.influence_scores(X, y, X_val, y_val)
    labels, W = repair.iterated_repair(fit, X, X_val, C, choice.rounds)
    flags = repair.flag_given_labels(fit, X, X_val, C, labels, W)
    np.testing.assert_array_equal(clf.harmful_, flags.flagged | (labels != y))
    assert np.any(flags.flagged & (labels == y)) and np.any(~flags.flagged & (labels != y))
    assert clf.flag_choice_.threshold == flags.threshold
    kept = np.where(flags.flagged, labels, y)
    np.testing.assert_array_equal(clf.suggested_label_, kept)
    assert 0 < np.sum(kept != y) <= choice.rounds * choice.step
    reference = liblinear(X, kept)
    np.testing.assert_allclose(clf.coef_, reference[None, :], rtol=1e-6,
                               atol=1e-6 * np.abs(reference).max())
    # The same repair through repair_labels, and as JSON.
    record = estimator.repair_labels(X, y, X_val, y_val, check_trusted=False)
    np.testing.assert_array_equal(record.harmful, clf.harmful_)
    assert record.alpha_choice.as_dict()["rounds"] == choice.rounds
    assert record.flag_choice.as_dict()["n_flagged"] == flags.flagged.sum()


@pytest.mark.parametrize("n_errors", [1.0, 2.0])
def test_alpha_auto_is_the_held_out_optimum_within_standard_errors(n_errors):
    """The rule of choose_alpha on a hand-made loss table: the best candidate is 2;
    candidate 1 is 0.8 paired standard errors (sd 0.02 over 400 rows: 0.001) worse,
    candidate 0 fifty; so 1 is chosen, and without it the best."""
    rng = np.random.default_rng(0)
    base = rng.normal(1.0, 0.1, size=400)
    step = rng.normal(0, 0.02, 400)
    step = (step - step.mean()) / step.std(ddof=1) * 0.02 + 0.0008
    loss = np.stack([base + 0.05, base + step, base])
    assert repair.standard_error_choice(loss, n_errors) == 1
    assert repair.standard_error_choice(loss[[0, 2]], n_errors) == 1
    # Within half a standard error, candidate 1 no longer passes: the best wins.
    assert repair.standard_error_choice(loss[[1, 2]], 0.5) == 1
    assert repair.standard_error_choice(loss[[1, 2]], n_errors) == 0


@pytest.mark.parametrize("name", ["cancer", "digits", "a1a"])
def test_trusted_file_check_warns_on_20_percent_wrong_labels_and_not_on_clean(
        name, shared_data_dir):
    X, y, X_val, y_val, *_ = repair_problem(name, noise=0.1, trusted_noise=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clean = estimator.repair_labels(X, y, X_val, y_val, alpha=0.0)
    assert not clean.trusted_check.suspicious
    X, y, X_val, y_val, _, _, _, wrong = repair_problem(name, noise=0.1, trusted_noise=0.2)
    with pytest.warns(UserWarning, match="trusted file looks no cleaner") as caught:
        noisy = estimator.repair_labels(X, y, X_val, y_val, alpha=0.0)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    check = noisy.trusted_check.as_dict()
    assert check["suspicious"] and check["trusted_loss"] >= check["training_loss"]
    # Most rows it names are rows whose label was changed.
    named = check["suspicious_rows"]
    assert len(named) > 0 and np.isin(named, wrong).mean() >= 0.7
    # RDIAClassifier runs the same check and keeps it.
    with pytest.warns(UserWarning, match="trusted file looks no cleaner"):
        clf = RDIAClassifier(alpha=0.0).fit(X, y, X_val=X_val, y_val=y_val)
    assert clf.trusted_check_.as_dict() == check


@pytest.mark.parametrize("kwargs, words", [
    (dict(alpha="best"), "alpha must be a finite number >= 0 or 'auto'"),
    (dict(alpha=-0.5), "alpha must be a finite number >= 0 or 'auto'"),
    (dict(alpha=float("nan")), "alpha must be a finite number >= 0 or 'auto'"),
    (dict(return_suggestions="yes"), "return_suggestions must be True or False"),
    (dict(return_scores=1), "return_scores must be True or False"),
])
def test_bad_repair_arguments_are_one_line_value_errors(kwargs, words):
    X, y, X_val, y_val, _ = train_val(n_train=60, n_val=30, seed=1)
    with pytest.raises(ValueError, match=re.escape(words)) as caught:
        find_harmful(X, y, X_val, y_val, **kwargs)
    assert "\n" not in str(caught.value)


def test_check_trusted_must_be_a_bool():
    X, y, X_val, y_val, _ = train_val(n_train=60, n_val=30, seed=1)
    with pytest.raises(ValueError, match="check_trusted must be True or False"):
        estimator.repair_labels(X, y, X_val, y_val, check_trusted="no")
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0 or 'auto'"):
        RDIAClassifier(alpha="automatic").fit(X, y, X_val=X_val, y_val=y_val)


def test_alpha_auto_scores_each_fold_with_phi_from_the_other_folds_only():
    """The cross-fitted curve recomputed by hand: for each fold of the trusted rows, s
    from a dense solve on the other folds' gradient, phi, the flagged rows flipped,
    a refit, and the held-out fold's log-loss, averaged over the trusted rows."""
    X, y, X_val, y_val, _ = train_val(n_train=150, n_val=50, noise=0.3, seed=4)
    fit = estimator.influence_scores(X, y, X_val, y_val)
    grid = (np.inf, 0.01, 0.001, 0.0)
    choice = repair.choose_alpha(fit, X, X_val, C, grid=grid, folds=5)
    w = fit.W
    p = expit(X @ w)
    H = np.eye(X.shape[1]) + C * X.T @ ((p * (1 - p))[:, None] * X)
    expected = np.zeros(len(grid))
    for held in repair.fold_indices(fit.y_val, 5):
        used = np.setdiff1d(np.arange(50), held)
        s = np.linalg.solve(H, C * X_val[used].T @ (expit(X_val[used] @ w) - y_val[used]))
        phi = -C * (p - y) * (X @ s)
        for c, t in enumerate(grid):
            flagged = phi > C * 50 * t * len(used) / 50
            y_fix = np.where(flagged, 1 - y, y)
            w_fix = fit.linear.fit(X, y_fix.astype(int), C) if flagged.any() else w
            q = expit(X_val[held] @ w_fix)
            expected[c] -= np.sum(np.where(y_val[held] == 1, np.log(q), np.log(1 - q)))
    np.testing.assert_allclose(choice.curve, expected / 50, rtol=1e-5)
