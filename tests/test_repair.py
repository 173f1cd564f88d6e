"""repair.py: the iterated repair of alpha="auto" (docs/method.md section 8), each
round and the cross-fitted number of rounds recomputed here with explicit solves."""

import numpy as np
import pytest
from builders import explicit_softmax_refit, softmax_data, train_val
from scipy.special import expit, log_softmax
from sklearn.linear_model import LogisticRegression

from rdia import estimator, influence, repair

C = 0.1


def liblinear(X, y):
    """argmin 1/2 |w|^2 + C sum_i log-loss, by liblinear (an independent solver)."""
    model = LogisticRegression(C=C, fit_intercept=False, solver="liblinear", tol=1e-10,
                               max_iter=10000).fit(X, y)
    return model.coef_.ravel()


def explicit_round(X, y, X_val, y_val, w, m):
    """One round for two classes from a dense solve: phi of section 3, the (at most) m
    rows with the largest phi > 0 flipped (R of section 2), and the refit."""
    p, p_val = expit(X @ w), expit(X_val @ w)
    H = np.eye(X.shape[1]) + C * X.T @ ((p * (1 - p))[:, None] * X)
    s = np.linalg.solve(H, C * X_val.T @ (p_val - y_val))
    phi = -C * (p - y) * (X @ s)
    top = [i for i in np.argsort(-phi, kind="stable")[:m] if phi[i] > 0]
    y = y.copy()
    y[top] = 1 - y[top]
    return y, liblinear(X, y), top


def validation_log_loss(w, X, y):
    q = expit(X @ w)
    return -np.where(y == 1, np.log(q), np.log(1 - q))


@pytest.fixture(scope="module")
def binary():
    X, y, X_val, y_val, _ = train_val(n_train=120, n_val=40, noise=0.3, seed=3)
    return X, y.astype(np.int64), X_val, y_val.astype(np.int64)


@pytest.mark.parametrize("m", [5, 120])
def test_a_round_flips_the_rows_with_the_largest_positive_phi_and_refits(binary, m):
    """m = 120 (every row) leaves the limit to phi > 0: more rows than that have
    phi <= 0, and they keep their label."""
    X, y, X_val, y_val = binary
    fit = estimator.influence_scores(X, y, X_val, y_val)
    y_new, W, rows = repair.relabel_round(fit.linear, fit.W, X, y, X_val, y_val, C, m,
                                          influence.ConjugateGradient())
    y_ref, w_ref, top = explicit_round(X, y, X_val, y_val, liblinear(X, y), m)
    assert 0 < len(top) <= m and (m > len(top)) == (m == 120)
    assert sorted(rows.tolist()) == sorted(top)
    np.testing.assert_array_equal(y_new, y_ref)
    np.testing.assert_allclose(W, w_ref, rtol=1e-5, atol=1e-6 * np.abs(w_ref).max())


def test_a_k_class_round_takes_the_rdia_refits_most_probable_other_class():
    """K classes: the harmful rows are trained with l_R (explicit L-BFGS), each takes
    its most probable other class, and the model is refitted with cross-entropy on
    the new labels."""
    X, y = softmax_data(n=160, d=4, k=3, seed=5)
    rng = np.random.default_rng(5)
    changed = rng.choice(120, 30, replace=False)
    y = y.copy()
    y[changed] = (y[changed] + rng.integers(1, 3, 30)) % 3
    X, y, X_val, y_val = X[:120], y[:120], X[120:], y[120:]
    fit = estimator.influence_scores(X, y, X_val, y_val)
    y_new, W, rows = repair.relabel_round(fit.linear, fit.W, X, y, X_val, y_val, C, 8,
                                          influence.ConjugateGradient())
    H = fit.linear.hessian(fit.W, X, C).dense()
    P = np.exp(log_softmax(X @ fit.W, axis=1))
    P_val = np.exp(log_softmax(X_val @ fit.W, axis=1))
    S = np.linalg.solve(H, (C * X_val.T @ (P_val - np.eye(3)[y_val])).ravel()).reshape(4, 3)
    phi = -C * np.sum((P - np.eye(3)[y]) * (X @ S), axis=1)
    top = [i for i in np.argsort(-phi, kind="stable")[:8] if phi[i] > 0]
    assert len(top) == 8 and sorted(rows.tolist()) == sorted(top)
    harmful = np.isin(np.arange(120), top)
    logits = X @ explicit_softmax_refit(X, y, harmful, C, 3)
    logits[np.arange(120), y] = -np.inf
    expected = np.where(harmful, logits.argmax(axis=1), y)
    np.testing.assert_array_equal(y_new, expected)
    W_ref = explicit_softmax_refit(X, expected, np.zeros(120, dtype=bool), C, 3)
    np.testing.assert_allclose(W, W_ref, rtol=1e-4, atol=1e-5)


def test_the_path_is_the_rounds_one_after_another(binary):
    X, y, X_val, y_val = binary
    fit = estimator.influence_scores(X, y, X_val, y_val)
    path = list(repair.relabel_path(fit.linear, fit.W, X, y, X_val, y_val, C, 3,
                                    step=0.05))
    assert len(path) == 4
    np.testing.assert_array_equal(path[0][0], y)
    y_ref, w_ref = y, liblinear(X, y)
    for y_path, W_path in path[1:]:
        y_ref, w_ref, _ = explicit_round(X, y_ref, X_val, y_val, w_ref, 6)
        np.testing.assert_array_equal(y_path, y_ref)
        np.testing.assert_allclose(W_path, w_ref, rtol=1e-4,
                                   atol=1e-5 * np.abs(w_ref).max())


def test_rounds_are_scored_on_each_fold_with_phi_from_the_other_folds_only(binary):
    """The cross-fitted curve recomputed by hand: for each fold of the trusted rows,
    the rounds against the other folds, and the held-out fold's log-loss after 0, 1,
    2, ... rounds, averaged over the trusted rows. Rounds 1-2 are always scored, then
    one more while the last lowered the mean loss, up to every row once (20 rounds)."""
    X, y, X_val, y_val = binary
    fit = estimator.influence_scores(X, y, X_val, y_val)
    choice = repair.choose_rounds(fit, X, X_val, C, step=0.05, rounds=2, folds=4)
    limit = len(y) // 6
    loss = np.zeros((limit + 1, 40))
    flipped = np.zeros(limit + 1)
    for held in repair.fold_indices(fit.y_val, 4):
        used = np.setdiff1d(np.arange(40), held)
        y_k, w_k = y, liblinear(X, y)
        for k in range(limit + 1):
            if k:
                y_k, w_k, _ = explicit_round(X, y_k, X_val[used], y_val[used], w_k, 6)
            loss[k, held] = validation_log_loss(w_k, X_val[held], y_val[held])
            flipped[k] += np.sum(y_k != y) / 4
    curve = loss.mean(axis=1)
    scored = 3
    while scored <= limit and curve[scored - 1] < curve[scored - 2]:
        scored += 1
    assert 3 < scored <= limit  # the rounds went on past 2, and stopped
    np.testing.assert_allclose(choice.curve, curve[:scored], rtol=1e-4)
    np.testing.assert_allclose(choice.n_relabeled, flipped[:scored])
    assert choice.step == 6 and choice.folds == 4
    # At 30% noise the rounds lower the held-out loss by many standard errors.
    assert curve[2] < curve[0]
    chosen = repair.standard_error_choice(loss[:scored], repair.ROUNDS_STANDARD_ERRORS)
    assert choice.rounds == chosen > 0 and choice.as_dict()["rounds"] == chosen
    # max_rounds caps them; the rounds always scored are those of the longer run.
    capped = repair.choose_rounds(fit, X, X_val, C, step=0.05, rounds=2, max_rounds=2,
                                  folds=4)
    np.testing.assert_array_equal(capped.curve, choice.curve[:3])


def test_a_round_that_relabels_nothing_ends_the_path(binary):
    """Trusted rows at the origin have zero validation gradient, so s = 0, phi = 0 for
    every row and no round relabels anything: each of the rounds yields the fit."""
    X, y, X_val, y_val = binary
    fit = estimator.influence_scores(X, y, X_val, y_val)
    path = list(repair.relabel_path(fit.linear, fit.W, X, y, np.zeros_like(X_val),
                                    y_val, C, 4))
    assert len(path) == 5
    for y_path, W_path in path:
        np.testing.assert_array_equal(y_path, y)
        np.testing.assert_array_equal(W_path, fit.W)


def brute_force_threshold(scores, trusted_scores):
    """null_threshold by a plain loop over every candidate threshold."""
    best, best_excess, best_clean = -np.inf, 0.0, 0.0
    for t in sorted(set(scores.tolist())):
        flagged = sum(score <= t for score in scores)
        clean = len(scores) * sum(q <= t for q in trusted_scores) / len(trusted_scores)
        if flagged - 2 * clean > best_excess:
            best, best_excess, best_clean = t, flagged - 2 * clean, clean
    return best, best_clean


def test_the_flag_threshold_maximises_flagged_rows_beyond_twice_the_expected_clean():
    """By hand: 8 training rows, 4 trusted rows. t = 0.05, 0.1, 0.2 flag 1, 2, 3 rows
    and no trusted row (excess 1, 2, 3); t = 0.4 flags 4 rows and a quarter of the
    trusted rows, so 8/4 = 2 clean rows are expected (excess 4 - 4 = 0); t = 0.6:
    5 - 4 = 1; t = 0.8: 6 - 8 < 0. So t = 0.2, with no clean row expected."""
    scores = np.array([0.4, 0.05, 0.9, 0.2, 0.6, 0.95, 0.1, 0.8])
    trusted = np.array([0.85, 0.3, 0.9, 0.7])
    assert repair.null_threshold(scores, trusted) == (0.2, 0.0)
    # Trusted rows that score as low as the training rows: nothing is flagged.
    assert repair.null_threshold(scores, scores) == (-np.inf, 0.0)


@pytest.mark.parametrize("seed", range(5))
def test_the_flag_threshold_is_the_brute_force_one(seed):
    rng = np.random.default_rng(seed)
    scores = np.concatenate([rng.beta(5, 2, 60), rng.beta(2, 5, 15 * seed)])
    trusted = rng.beta(5, 2, 30)
    threshold, clean = repair.null_threshold(scores, trusted)
    expected = brute_force_threshold(scores, trusted)
    assert threshold == expected[0]
    assert clean == pytest.approx(expected[1], abs=1e-12)


def test_flags_are_out_of_fold_probabilities_against_the_trusted_rows(binary):
    """Each training row's score is the probability of its given label under
    liblinear refitted on the repaired labels without the row's fold; the trusted
    rows' is under the fit on all the repaired labels; the flags are the rows at or
    below the brute-force threshold."""
    X, y, X_val, y_val = binary
    fit = estimator.influence_scores(X, y, X_val, y_val)
    repaired, W = repair.iterated_repair(fit, X, X_val, C, 3, step=0.05)
    assert np.any(repaired != y)
    choice = repair.flag_given_labels(fit, X, X_val, C, repaired, W, folds=4)
    scores = np.empty(len(y))
    for held in repair.fold_indices(repaired, 4):
        kept = np.setdiff1d(np.arange(len(y)), held)
        q = expit(X[held] @ liblinear(X[kept], repaired[kept]))
        scores[held] = np.where(y[held] == 1, q, 1 - q)
    q_val = expit(X_val @ liblinear(X, repaired))
    trusted = np.where(y_val == 1, q_val, 1 - q_val)
    np.testing.assert_allclose(choice.scores, scores, rtol=1e-5)
    np.testing.assert_allclose(choice.trusted_scores, trusted, rtol=1e-5)
    threshold, clean = brute_force_threshold(scores, trusted)
    assert choice.threshold == pytest.approx(threshold, rel=1e-5)
    assert choice.expected_clean == pytest.approx(clean)
    np.testing.assert_array_equal(choice.flagged, choice.scores <= choice.threshold)
    assert 0 < choice.flagged.sum() < len(y) and choice.folds == 4
    assert choice.as_dict()["n_flagged"] == choice.flagged.sum()
